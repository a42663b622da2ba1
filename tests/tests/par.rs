//! Pushed authorization requests (RFC 9126): each rule and the attacks on
//! it, against a real Tanu.
use serde_json::Value;
use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/cb";

/// The authorization parameters of a request with PKCE, as pushed.
fn request(s: &Scenario, pkce: &Pkce, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", s.client.id.as_str()),
        ("redirect_uri", s.redirect_uri.as_str()),
        ("scope", "openid"),
        ("state", "pushed-state"),
        ("nonce", "pushed-nonce"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            p.push((k.to_string(), v.to_string()));
        }
    }
    p
}

async fn push(s: &Scenario, creds: Option<(&str, &str)>, form: &[(String, String)]) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(s.tanu.url("/par")).form(form);
    if let Some((id, secret)) = creds {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn pushed(s: &Scenario, pkce: &Pkce, extra: &[(&str, &str)]) -> String {
    let (status, body) = push(s, Some((s.client.id.as_str(), &s.secret)), &request(s, pkce, extra)).await;
    assert_eq!(status, 201, "{body}");
    body["request_uri"].as_str().unwrap().to_string()
}

fn authorize_with(s: &Scenario, client_id: &str, request_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id).append_pair("request_uri", request_uri);
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    s.tanu.url(&format!("/authorize?{}", q.finish()))
}

fn refused(landing: &Landing) {
    match landing {
        Landing::Page { status, body, .. } => {
            assert_eq!(*status, 400);
            assert!(body.contains("request_uri"), "{body}");
        }
        other => panic!("a refused request_uri must not redirect: {other:?}"),
    }
}

#[tokio::test]
async fn discovery_advertises_par() {
    let s = Scenario::start(CB).await;
    let md: Value = reqwest::get(s.tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["pushed_authorization_request_endpoint"], s.tanu.url("/par"));
    assert_eq!(md["require_pushed_authorization_requests"], false, "by default per client, not provider-wide");
}

/// §5: the provider-wide setting refuses every client's unpushed request.
#[tokio::test]
async fn the_provider_can_require_par_of_every_client() {
    let s = Scenario::start_with(CB, |c| c.require_pushed_authorization_requests = true, |_| {}).await;
    let md: Value = reqwest::get(s.tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["require_pushed_authorization_requests"], true);
    let landing = s.browser().navigate(&authorize_url(&s.tanu, &s.client.id, CB, &Pkce::new(), &[])).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));
    let uri = pushed(&s, &Pkce::new(), &[]).await;
    assert!(s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await.param("code").is_some());
}

/// §2.2 and §4: 201 with a short-lived request_uri; /authorize with it and
/// client_id completes the flow with the pushed parameters.
#[tokio::test]
async fn a_pushed_request_signs_in() {
    let s = Scenario::start(CB).await;
    let pkce = Pkce::new();
    let (status, body) = push(&s, Some((s.client.id.as_str(), &s.secret)), &request(&s, &pkce, &[])).await;
    assert_eq!(status, 201, "{body}");
    let uri = body["request_uri"].as_str().unwrap();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:") && uri.len() > 60, "{uri}");
    assert_eq!(body["expires_in"], 60);
    let landing = s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), uri, &[])).await;
    assert_eq!(landing.param("state").as_deref(), Some("pushed-state"));
    let code = landing.param("code").expect("a code");
    let (status, tokens) = redeem(&s.tanu, &s.client.id, &s.secret, &code, CB, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["nonce"], "pushed-nonce");
}

/// §4: a request_uri is single-use.
#[tokio::test]
async fn a_request_uri_is_used_once() {
    let s = Scenario::start(CB).await;
    let uri = pushed(&s, &Pkce::new(), &[]).await;
    let browser = s.browser();
    assert!(browser.navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await.param("code").is_some());
    refused(&browser.navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await);
    refused(&s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await);
}

/// §2.2: an expired request_uri is refused (pushed through the store with a
/// life already over, rather than waiting a minute).
#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let s = Scenario::start(CB).await;
    let pkce = Pkce::new();
    let form = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(request(&s, &pkce, &[])).finish();
    let uri = s.tanu.app.store.push_authorization_request(&s.client.id, &form, chrono::Utc::now(), chrono::Duration::seconds(-1)).await.unwrap();
    refused(&s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await);
    // The same, alive, works: the refusal was the expiry.
    let uri = s.tanu.app.store.push_authorization_request(&s.client.id, &form, chrono::Utc::now(), chrono::Duration::seconds(60)).await.unwrap();
    assert!(s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await.param("code").is_some());
}

/// §4: only the pushed parameters count; those added at /authorize (another
/// registered redirect URI, state, scope, PKCE challenge) are ignored.
#[tokio::test]
async fn parameters_outside_the_pushed_request_are_ignored() {
    let other_cb = "http://127.0.0.1:9/cb2";
    let s = Scenario::start_with(CB, |_| {}, |c| c.redirect_uris.push(other_cb.parse().unwrap())).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile").await;
    let pkce = Pkce::new();
    let uri = pushed(&s, &pkce, &[]).await;
    let attacker = Pkce::new();
    let landing = s
        .browser()
        .navigate(&authorize_with(
            &s,
            s.client.id.as_str(),
            &uri,
            &[
                ("redirect_uri", other_cb),
                ("state", "evil"),
                ("scope", "openid profile"),
                ("code_challenge", attacker.challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("response_type", "code"),
            ],
        ))
        .await;
    let url = landing.redirect();
    assert!(url.as_str().starts_with(&format!("{CB}?")), "the pushed redirect URI: {url}");
    let param = |n: &str| url.query_pairs().find(|(k, _)| k == n).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("pushed-state"));
    let code = param("code").unwrap();
    let (status, _) = redeem(&s.tanu, &s.client.id, &s.secret, &code, CB, &attacker.verifier).await;
    assert_eq!(status, 400, "the pushed PKCE challenge binds the code, not the added one");
    let (status, tokens) = redeem(&s.tanu, &s.client.id, &s.secret, &code, CB, &pkce.verifier).await;
    assert_eq!(status, 400, "{tokens}: the code was burnt by the failed attempt");
    // And the scope was the pushed one: a fresh flow shows it.
    let pkce = Pkce::new();
    let uri = pushed(&s, &pkce, &[]).await;
    let code = s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[("scope", "openid profile")])).await.param("code").unwrap();
    let (_, tokens) = redeem(&s.tanu, &s.client.id, &s.secret, &code, CB, &pkce.verifier).await;
    assert_eq!(tokens["scope"], "openid", "the added scope is ignored");
}

/// §4: a request_uri is bound to the client that pushed it.
#[tokio::test]
async fn another_clients_request_uri_is_refused() {
    let s = Scenario::start(CB).await;
    let uri = pushed(&s, &Pkce::new(), &[]).await;
    let (other, _) = s.tanu.client("http://127.0.0.1:9/other", |_| {}).await;
    refused(&s.browser().navigate(&authorize_with(&s, other.id.as_str(), &uri, &[])).await);
    let no_client = s.tanu.url(&format!("/authorize?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair("request_uri", &uri).finish()));
    assert!(matches!(s.browser().navigate(&no_client).await, Landing::Page { status: 400, .. }), "client_id is required");
    // Not used up by the attempts: its own client still can.
    assert!(s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await.param("code").is_some());
    // A guessed request_uri is refused.
    refused(&s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), "urn:ietf:params:oauth:request_uri:guess", &[])).await);
}

/// §6: a client registered with require_pushed_authorization_requests is
/// refused at /authorize without a request_uri, and served with one.
#[tokio::test]
async fn a_client_that_requires_par_cannot_skip_it() {
    let s = Scenario::start_with(CB, |_| {}, |c| c.require_pushed_authorization_requests = true).await;
    let landing = s.browser().navigate(&authorize_url(&s.tanu, &s.client.id, CB, &Pkce::new(), &[])).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"), "{landing:?}");
    assert!(landing.param("code").is_none());
    let uri = pushed(&s, &Pkce::new(), &[]).await;
    assert!(s.browser().navigate(&authorize_with(&s, s.client.id.as_str(), &uri, &[])).await.param("code").is_some());
}

/// §2.1–§2.3: the endpoint authenticates the client, validates the request
/// as /authorize would and answers errors as JSON; nothing is stored then.
#[tokio::test]
async fn bad_pushes_are_refused() {
    let s = Scenario::start(CB).await;
    let pkce = Pkce::new();
    let creds = Some((s.client.id.as_str(), s.secret.as_str()));
    let (status, body) = push(&s, None, &request(&s, &pkce, &[])).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, _) = push(&s, Some((s.client.id.as_str(), "wrong")), &request(&s, &pkce, &[])).await;
    assert_eq!(status, 401);
    let (other, other_secret) = s.tanu.client("http://127.0.0.1:9/other", |_| {}).await;
    let (status, body) = push(&s, Some((other.id.as_str(), other_secret.as_deref().unwrap())), &request(&s, &pkce, &[])).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "client_id of another client: {body}");
    for (extra, error) in [
        (vec![("request_uri", "urn:ietf:params:oauth:request_uri:x")], "invalid_request"),
        (vec![("redirect_uri", "http://127.0.0.1:9/not-registered")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("request", "eyJ.x.y")], "request_not_supported"),
    ] {
        let (status, body) = push(&s, creds, &request(&s, &pkce, &extra)).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{extra:?}: {body}");
    }
    let mut big = request(&s, &pkce, &[]);
    big.push(("pad".into(), "x".repeat(20 * 1024)));
    let (status, body) = push(&s, creds, &big).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")));
    use sea_orm::{EntityTrait, PaginatorTrait};
    let stored = tanu_idp::store::entities::pushed_request::Entity::find().count(s.tanu.app.store.raw_connection()).await.unwrap();
    assert_eq!(stored, 0, "no refused push is kept");
    // The client's credentials are not kept with the request.
    let (other_post, post_secret) = s.tanu.client(CB, |c| c.auth_method = tanu_idp::domain::TokenAuthMethod::ClientSecretPost).await;
    let mut f = request(&s, &pkce, &[("client_id", other_post.id.as_str())]);
    f.push(("client_secret".into(), post_secret.unwrap()));
    let (status, body) = push(&s, None, &f).await;
    assert_eq!(status, 201, "{body}");
    let rows = tanu_idp::store::entities::pushed_request::Entity::find().all(s.tanu.app.store.raw_connection()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].params.contains("client_secret"), "{}", rows[0].params);
}
