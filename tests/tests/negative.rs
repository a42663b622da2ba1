//! The negative suite: every refusal with its exact error, and never a 5xx.
use tanu_tests::*;

const CB: &str = "https://rp.example.kz/cb";

/// An authorization request whose redirect URI is not registered must show
/// our error page and never redirect.
#[tokio::test]
async fn redirect_uri_variants_are_refused_without_redirecting() {
    let tanu = Tanu::start().await;
    let (client, _) = tanu.client(CB, |_| {}).await;
    let browser = Browser::new(&tanu);
    for variant in [
        "https://rp.example.kz/cb/",
        "https://RP.example.kz/cb",
        "https://rp.example.kz/CB",
        "https://rp.example.kz/cb?x=1",
        "https://rp.example.kz/cb#frag",
        "https://rp.example.kz:443/cb",
        "http://rp.example.kz/cb",
        "https://rp.example.kz@evil.example/cb",
        "https://evil.example@rp.example.kz/cb",
        "https://rp.example.kz/x/../cb",
        "https://rp.example.kz/%63b",
        "https://rp.example.kz/cb%2F",
        "https://rp.example.kz.evil.example/cb",
        "https://rp.example.kz/cb ",
        "",
    ] {
        let landing = browser.navigate(&authorize_url(&tanu, &client.id, variant, &Pkce::new(), &[("redirect_uri", variant)])).await;
        match landing {
            Landing::Page { status: 400, body, .. } => assert!(body.contains("id=\"reason\""), "{variant}: error page"),
            other => panic!("{variant:?} must not redirect: {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_or_missing_client_gets_an_error_page() {
    let tanu = Tanu::start().await;
    let browser = Browser::new(&tanu);
    for q in [
        "/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Frp.example.kz%2Fcb&response_type=code",
        "/authorize?response_type=code",
        "/authorize?client_id=%00%01",
    ] {
        assert!(matches!(browser.navigate(&tanu.url(q)).await, Landing::Page { status: 400, .. }), "{q}");
    }
}

#[tokio::test]
async fn request_errors_redirect_back_with_error_state_and_iss() {
    let tanu = Tanu::start().await;
    let (client, _) = tanu.client(CB, |_| {}).await;
    let browser = Browser::new(&tanu);
    let pkce = Pkce::new();
    let long = "x".repeat(5000);
    for (extra, error) in [
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("response_type", "code id_token")], "unsupported_response_type"),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("max_age", "soon")], "invalid_request"),
        (vec![("request", "eyJ.e30.")], "request_not_supported"),
        (vec![("request_uri", "https://rp.example.kz/r")], "request_uri_not_supported"),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (vec![("nonce", long.as_str())], "invalid_request"),
    ] {
        let landing = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &extra)).await;
        let url = landing.redirect();
        assert!(url.as_str().starts_with(CB), "{extra:?}");
        let get = |n: &str| url.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
        assert_eq!(get("error").as_deref(), Some(error), "{extra:?}");
        assert!(get("error_description").is_some());
        assert_eq!(get("state").as_deref(), Some("st-123"));
        assert_eq!(get("iss").as_deref(), Some(tanu.base.as_str()));
    }
    // A repeated parameter (RFC 6749 §3.1).
    let dup = format!("{}&scope=openid", authorize_url(&tanu, &client.id, CB, &pkce, &[]));
    assert_eq!(browser.navigate(&dup).await.param("error").as_deref(), Some("invalid_request"));
}

async fn flow() -> Scenario {
    Scenario::start(CB).await
}

async fn flow_with(tweak: impl FnOnce(&mut tanu_idp::config::Config)) -> Scenario {
    Scenario::start_with(CB, tweak, |_| {}).await
}

/// Token requests that check the protocol's invariants on every answer.
trait TokenProbe {
    async fn token(&self, auth: Option<(&str, &str)>, form: &[(&str, &str)]) -> (u16, serde_json::Value);
    fn auth(&self) -> Option<(&str, &str)>;
}

impl TokenProbe for Scenario {
    async fn token(&self, auth: Option<(&str, &str)>, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new().post(self.tanu.url("/token")).form(form);
        if let Some((id, secret)) = auth {
            req = req.basic_auth(id, Some(secret));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert!(status < 500);
        assert_eq!(r.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
        (status, r.json().await.unwrap_or_default())
    }
    fn auth(&self) -> Option<(&str, &str)> {
        Some((self.client.id.as_str(), self.secret.as_str()))
    }
}

async fn fresh_code(f: &Scenario) -> (String, Pkce) {
    f.code(&f.browser(), &[]).await
}

#[tokio::test]
async fn token_endpoint_refusals() {
    let f = flow().await;
    let (code, pkce) = fresh_code(&f).await;
    let grant = |code: &'static str| code;
    let _ = grant;
    type Case<'a> = (Option<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (f.auth(), vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)], 400, "invalid_request"),
        (f.auth(), vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", "short")], 400, "invalid_request"),
        (
            f.auth(),
            vec![("grant_type", "authorization_code"), ("code", "not-a-code"), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)],
            400,
            "invalid_grant",
        ),
        (f.auth(), vec![("grant_type", "password"), ("username", "a"), ("password", "b")], 400, "unsupported_grant_type"),
        (f.auth(), vec![("code", &code)], 400, "invalid_request"),
        (
            Some((f.client.id.as_str(), "wrong-secret")),
            vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)],
            401,
            "invalid_client",
        ),
        (
            Some(("tanu-nobody", "x")),
            vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)],
            401,
            "invalid_client",
        ),
        (None, vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)], 401, "invalid_client"),
        (
            f.auth(),
            vec![("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier), ("client_secret", "also")],
            400,
            "invalid_request",
        ),
    ];
    for (auth, form, status, error) in cases {
        let (s, body) = f.token(auth, &form).await;
        assert_eq!((s, body["error"].as_str()), (status, Some(error)), "{form:?}");
    }
    // Wrong verifier consumes the code: the right one then fails too.
    let wrong = Pkce::new();
    let (s, body) = f.token(f.auth(), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &wrong.verifier)]).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = f.token(f.auth(), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)]).await;
    assert_eq!(s, 400, "a code is spent by its first use");
    // Redirect URI must be the one the code was issued for.
    let (code, pkce) = fresh_code(&f).await;
    let (s, body) = f
        .token(
            f.auth(),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://rp.example.kz/cb/"), ("code_verifier", &pkce.verifier)],
        )
        .await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    // Wrong Basic header shapes.
    let r = reqwest::Client::new()
        .post(f.tanu.url("/token"))
        .header("Authorization", "Basic !!!")
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    // Not a form.
    let r = reqwest::Client::new().post(f.tanu.url("/token")).json(&serde_json::json!({"grant_type": "authorization_code"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Oversized body.
    let big = "a".repeat(100_000);
    let r = reqwest::Client::new()
        .post(f.tanu.url("/token"))
        .basic_auth(f.client.id.as_str(), Some(&f.secret))
        .form(&[("grant_type", "authorization_code"), ("code", &big)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "over the body budget, refused before it is read");
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn code_of_another_client_is_refused() {
    let f = flow().await;
    let (other, other_secret) = f.tanu.client(CB, |_| {}).await;
    let (code, pkce) = fresh_code(&f).await;
    let (s, body) = redeem(&f.tanu, &other.id, other_secret.as_deref().unwrap(), &code, CB, &pkce.verifier).await;
    assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = redeem(&f.tanu, &f.client.id, &f.secret, &code, CB, &pkce.verifier).await;
    assert_eq!(s, 200, "the rightful client can still redeem it");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let f = flow_with(|c| c.authorization_code_ttl = 1).await;
    let (code, pkce) = fresh_code(&f).await;
    f.tanu.app.clock.advance(std::time::Duration::from_millis(2100));
    let (s, body) = redeem(&f.tanu, &f.client.id, &f.secret, &code, CB, &pkce.verifier).await;
    assert_eq!((s, body["error"].as_str(), body["error_description"].as_str()), (400, Some("invalid_grant"), Some("the authorization code has expired")));
}

#[tokio::test]
async fn disabled_client_is_refused_everywhere() {
    let f = flow().await;
    let (code, pkce) = fresh_code(&f).await;
    f.tanu.app.store.disable_client(&f.client.id).await.unwrap();
    let (s, body) = redeem(&f.tanu, &f.client.id, &f.secret, &code, CB, &pkce.verifier).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    let landing = Browser::new(&f.tanu).navigate(&authorize_url(&f.tanu, &f.client.id, CB, &Pkce::new(), &[])).await;
    assert!(matches!(landing, Landing::Page { status: 400, .. }));
}

#[tokio::test]
async fn userinfo_refusals() {
    let f = flow().await;
    let http = reqwest::Client::new();
    let r = http.get(f.tanu.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let r = http.get(f.tanu.url("/userinfo")).bearer_auth("forged").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    // Without the profile/iin scopes nothing but sub is released.
    let (code, pkce) = fresh_code(&f).await;
    let (_, t) = redeem(&f.tanu, &f.client.id, &f.secret, &code, CB, &pkce.verifier).await;
    let info: serde_json::Value =
        http.get(f.tanu.url("/userinfo")).bearer_auth(t["access_token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    assert_eq!(info.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["sub"]);
}

#[tokio::test]
async fn malformed_requests_never_get_a_server_error() {
    let f = flow().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let junk = ["%", "%zz", "a=%ff%fe", "&&&", "=", "client_id=%C0%AF", "scope=\u{0}"];
    for path in ["/authorize", "/token", "/userinfo", "/logout", "/consent/nope", "/login/nope", "/authorize/resume/nope"] {
        for q in junk {
            for method in ["GET", "POST"] {
                let url = format!("{}{path}?{q}", f.tanu.base);
                let r = http
                    .request(method.parse().unwrap(), &url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(q.to_string())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().as_u16() < 500, "{method} {path}?{q} -> {}", r.status());
            }
        }
    }
}
