//! DPoP (RFC 9449): each rule and the attack on it, against a real Tanu;
//! then two independent relying parties (openid-client v6's `client.DPoP`,
//! and proofs built by hand with Python's joserfc).
use serde_json::{json, Value};
use tanu_tests::{dpop::DpopKey, *};

const CB: &str = "http://127.0.0.1:9/cb";

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
    fn challenge(&self) -> String {
        self.headers.get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
    fn nonce(&self) -> Option<String> {
        self.headers.get("dpop-nonce").map(|v| v.to_str().unwrap().to_string())
    }
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Answer { status, headers, body: resp.json().await.unwrap_or(Value::Null) }
}

/// A token request of the scenario's client with `proofs` as DPoP headers.
async fn token(s: &Scenario, form: &[(&str, &str)], proofs: &[&str]) -> Answer {
    let mut req = reqwest::Client::new().post(s.tanu.url("/token")).basic_auth(s.client.id.as_str(), Some(&s.secret)).form(form);
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    answer(req.send().await.unwrap()).await
}

/// Userinfo with `authorization` and `proofs` as DPoP headers.
async fn userinfo(s: &Scenario, authorization: &str, proofs: &[&str]) -> Answer {
    let mut req = reqwest::Client::new().get(s.tanu.url("/userinfo")).header("Authorization", authorization);
    for p in proofs {
        req = req.header("DPoP", *p);
    }
    answer(req.send().await.unwrap()).await
}

/// A scenario whose citizen has consented to offline access.
async fn offline(config: impl FnOnce(&mut tanu_idp::config::Config), client: impl FnOnce(&mut tanu_idp::store::NewClient)) -> Scenario {
    let s = Scenario::start_with(CB, config, client).await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    s
}

/// A code for `extra` authorization parameters and its token form.
async fn code_form(s: &Scenario, extra: &[(&str, &str)]) -> (String, Pkce) {
    let mut all = vec![("scope", "openid offline_access")];
    all.extend_from_slice(extra);
    s.code(&s.browser(), &all).await
}

fn exchange<'a>(code: &'a str, pkce: &'a Pkce) -> [(&'a str, &'a str); 4] {
    [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", pkce.verifier.as_str())]
}

/// Tokens bound to `key`: a code exchanged with its proof.
async fn bound_tokens(s: &Scenario, key: &DpopKey) -> Value {
    let (code, pkce) = code_form(s, &[]).await;
    let a = token(s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

fn at(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn introspect(s: &Scenario, token: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(s.tanu.url("/introspect"))
        .basic_auth(s.client.id.as_str(), Some(&s.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

fn refused_at_token(a: &Answer, what: &str) {
    assert_eq!(a.status, 400, "{what}: {}", a.body);
    assert_eq!(a.error(), "invalid_dpop_proof", "{what}: {}", a.body);
}

fn refused_at_userinfo(a: &Answer, error: &str, what: &str) {
    assert_eq!(a.status, 401, "{what}: {}", a.body);
    assert_eq!(a.error(), error, "{what}: {}", a.body);
    let c = a.challenge();
    assert!(c.starts_with("DPoP ") && c.contains(&format!("error=\"{error}\"")) && c.contains("algs=\"ES256 PS256 RS256\""), "{what}: {c}");
}

#[tokio::test]
async fn discovery_advertises_dpop_algorithms() {
    let s = Scenario::start(CB).await;
    let md: Value = reqwest::get(s.tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["dpop_signing_alg_values_supported"], json!(["ES256", "PS256", "RS256"]));
}

/// §5, §6, §7: a proof at /token binds the access token (token_type DPoP,
/// cnf.jkt at introspection) and the refresh token; userinfo answers the
/// DPoP scheme with a proof carrying ath.
#[tokio::test]
async fn a_proof_binds_the_tokens_to_the_key() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    assert!(tokens["refresh_token"].is_string());
    let i = introspect(&s, at(&tokens)).await;
    assert_eq!((i["active"].clone(), i["token_type"].clone(), i["cnf"]["jkt"].clone()), (json!(true), json!("DPoP"), json!(key.jkt())), "{i}");
    let r = introspect(&s, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r["cnf"]["jkt"], key.jkt(), "the refresh token is bound too: {r}");
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)))]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
    // A refresh with the same key: a new bound pair.
    let rt = tokens["refresh_token"].as_str().unwrap();
    let a = token(&s, &[("grant_type", "refresh_token"), ("refresh_token", rt)], &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    assert_eq!(introspect(&s, at(&a.body)).await["cnf"]["jkt"], key.jkt());
    // A bearer client's tokens stay bearer tokens.
    let plain = s.tokens(&s.browser(), &[]).await;
    assert_eq!(plain["token_type"], "bearer");
    assert!(introspect(&s, at(&plain)).await.get("cnf").is_none());
}

/// §11.1: a proof is used once; the same proof again, at /token or at
/// userinfo, is refused.
#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let proof = key.proof("POST", &s.tanu.url("/token"), None);
    let (code, pkce) = code_form(&s, &[]).await;
    assert_eq!(token(&s, &exchange(&code, &pkce), &[&proof]).await.status, 200);
    let (code, pkce) = code_form(&s, &[]).await;
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[&proof]).await, "replayed at /token");
    // The refused replay did not burn the code.
    assert_eq!(token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await.status, 200);
    let tokens = bound_tokens(&s, &key).await;
    let p = key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)));
    let auth = format!("DPoP {}", at(&tokens));
    assert_eq!(userinfo(&s, &auth, &[&p]).await.status, 200);
    refused_at_userinfo(&userinfo(&s, &auth, &[&p]).await, "invalid_dpop_proof", "replayed at userinfo");
}

/// The replay cache is the database's: of concurrent uses of one proof, one wins.
#[tokio::test]
async fn concurrent_replays_of_one_proof_succeed_once() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let p = key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)));
    let auth = format!("DPoP {}", at(&tokens));
    let proofs = [p.as_str()];
    let all = futures::future::join_all((0..8).map(|_| userinfo(&s, &auth, &proofs))).await;
    assert_eq!(all.iter().filter(|a| a.status == 200).count(), 1);
    assert!(all.iter().filter(|a| a.status != 200).all(|a| a.status == 401 && a.error() == "invalid_dpop_proof"));
}

/// Expired entries leave the replay cache when a proof is recorded.
#[tokio::test]
async fn the_replay_cache_prunes_expired_proofs() {
    let s = Scenario::start(CB).await;
    let store = &s.tanu.app.store;
    let now = chrono::Utc::now();
    assert!(store.remember_dpop_proof("k", "old", now - chrono::Duration::seconds(1), now - chrono::Duration::seconds(70)).await.unwrap());
    assert!(
        !store.remember_dpop_proof("k", "old", now + chrono::Duration::seconds(60), now - chrono::Duration::seconds(69)).await.unwrap(),
        "a replay while remembered"
    );
    assert_eq!(store.dpop_proofs_remembered().await.unwrap(), 1);
    assert!(store.remember_dpop_proof("k", "new", now + chrono::Duration::seconds(60), now).await.unwrap());
    assert_eq!(store.dpop_proofs_remembered().await.unwrap(), 1, "the expired proof was pruned");
}

#[tokio::test]
async fn a_proof_for_another_method_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let (code, pkce) = code_form(&s, &[]).await;
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[&key.proof("GET", &s.tanu.url("/token"), None)]).await, "htm GET at POST /token");
    let tokens = bound_tokens(&s, &key).await;
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("POST", &s.tanu.url("/userinfo"), Some(at(&tokens)))]).await;
    refused_at_userinfo(&a, "invalid_dpop_proof", "htm POST at GET /userinfo");
}

#[tokio::test]
async fn a_proof_for_another_url_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let (code, pkce) = code_form(&s, &[]).await;
    for htu in [s.tanu.url("/userinfo"), "https://elsewhere.example/token".to_string(), s.tanu.url("/token").replace("127.0.0.1", "localhost")] {
        refused_at_token(&token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &htu, None)]).await, &htu);
    }
    // Query and fragment are not compared (§4.3).
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &format!("{}?x=1#y", s.tanu.url("/token")), None)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = userinfo(&s, &format!("DPoP {}", at(&a.body)), &[&key.proof("GET", &s.tanu.url("/token"), Some(at(&a.body)))]).await;
    refused_at_userinfo(&a, "invalid_dpop_proof", "htu /token at /userinfo");
}

async fn with_iat(s: &Scenario, key: &DpopKey, iat: i64) -> Answer {
    let (code, pkce) = code_form(s, &[]).await;
    let mut c = tanu_tests::dpop::claims("POST", &s.tanu.url("/token"), None);
    c["iat"] = iat.into();
    token(s, &exchange(&code, &pkce), &[&key.sign(&key.header(), &c)]).await
}

/// `iat` older than `dpop_proof_lifetime` (60 s by default).
#[tokio::test]
async fn a_stale_proof_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let a = with_iat(&s, &DpopKey::es256(), chrono::Utc::now().timestamp() - 120).await;
    refused_at_token(&a, "iat two minutes old");
    assert!(a.body["error_description"].as_str().unwrap().contains("too old"), "{}", a.body);
}

/// `iat` ahead of the clock by more than the 5 s tolerated.
#[tokio::test]
async fn a_proof_from_the_future_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let a = with_iat(&s, &DpopKey::es256(), chrono::Utc::now().timestamp() + 120).await;
    refused_at_token(&a, "iat two minutes ahead");
    assert!(a.body["error_description"].as_str().unwrap().contains("future"), "{}", a.body);
}

#[tokio::test]
async fn userinfo_refuses_a_proof_without_ath() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("GET", &s.tanu.url("/userinfo"), None)]).await;
    refused_at_userinfo(&a, "invalid_dpop_proof", "no ath");
}

#[tokio::test]
async fn userinfo_refuses_a_proof_for_another_token() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("GET", &s.tanu.url("/userinfo"), Some("another-token"))]).await;
    refused_at_userinfo(&a, "invalid_dpop_proof", "wrong ath");
}

/// §7.1: a bound token presented as a bearer token (header or form) is
/// refused with a DPoP challenge; so is the DPoP scheme without a proof.
#[tokio::test]
async fn a_bound_token_used_as_a_bearer_token_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    refused_at_userinfo(&userinfo(&s, &format!("Bearer {}", at(&tokens)), &[]).await, "invalid_token", "Bearer header");
    // Even with a valid proof alongside.
    let p = key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)));
    refused_at_userinfo(&userinfo(&s, &format!("Bearer {}", at(&tokens)), &[&p]).await, "invalid_token", "Bearer header with a proof");
    let resp = reqwest::Client::new().post(s.tanu.url("/userinfo")).form(&[("access_token", at(&tokens))]).send().await.unwrap();
    refused_at_userinfo(&answer(resp).await, "invalid_token", "form body");
    refused_at_userinfo(&userinfo(&s, &format!("DPoP {}", at(&tokens)), &[]).await, "invalid_dpop_proof", "DPoP scheme without a proof");
    // A bearer token is not accepted under the DPoP scheme either.
    let plain = s.tokens(&s.browser(), &[]).await;
    let a = userinfo(&s, &format!("DPoP {}", at(&plain)), &[&key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&plain)))]).await;
    refused_at_userinfo(&a, "invalid_token", "bearer token under DPoP");
    // The bound token still works properly presented.
    assert_eq!(userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)))]).await.status, 200);
}

/// §5: the refresh token is bound; another key's proof, or none, is refused
/// without consuming it (the rightful client refreshes afterwards).
#[tokio::test]
async fn a_refresh_with_another_key_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let thief = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    let a = token(&s, &form, &[&thief.proof("POST", &s.tanu.url("/token"), None)]).await;
    refused_at_token(&a, "another key");
    refused_at_token(&token(&s, &form, &[]).await, "no proof");
    let a = token(&s, &form, &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    assert_eq!(a.status, 200, "the token was not consumed: {}", a.body);
}

#[tokio::test]
async fn userinfo_refuses_a_proof_of_another_key() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let thief = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&thief.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)))]).await;
    refused_at_userinfo(&a, "invalid_dpop_proof", "another key");
}

/// Only asymmetric algorithms: an HS256 proof (with its `oct` key) is refused.
#[tokio::test]
async fn a_symmetric_proof_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::hs256();
    let (code, pkce) = code_form(&s, &[]).await;
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    refused_at_token(&a, "HS256");
    // And an asymmetric alg named over a symmetric key.
    let es = DpopKey::es256();
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk});
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[&es.sign(&header, &dpop::claims("POST", &s.tanu.url("/token"), None))]).await, "oct jwk");
}

#[tokio::test]
async fn a_private_key_in_the_proof_is_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256_leaking_private_part();
    let (code, pkce) = code_form(&s, &[]).await;
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    refused_at_token(&a, "jwk with d");
    assert!(a.body["error_description"].as_str().unwrap().contains("public"), "{}", a.body);
}

/// Malformed, oversized, repeated and mistyped DPoP headers: 400
/// `invalid_dpop_proof`, never a 5xx.
#[tokio::test]
async fn malformed_and_oversized_proofs_are_refused() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let (code, pkce) = code_form(&s, &[]).await;
    let good = key.proof("POST", &s.tanu.url("/token"), None);
    let mut typ = key.header();
    typ["typ"] = "JWT".into();
    let no_typ = key.sign(&json!({"alg": "ES256", "jwk": key.jwk}), &dpop::claims("POST", &s.tanu.url("/token"), None));
    let cases: Vec<(String, Vec<String>)> = vec![
        ("not a JWS".into(), vec!["garbage".into()]),
        ("four parts".into(), vec![format!("{good}.x")]),
        ("bad base64".into(), vec!["!!!.???.***".into()]),
        ("oversized".into(), vec![format!("{good}{}", "A".repeat(5000))]),
        ("two headers".into(), vec![good.clone(), key.proof("POST", &s.tanu.url("/token"), None)]),
        ("typ JWT".into(), vec![key.sign(&typ, &dpop::claims("POST", &s.tanu.url("/token"), None))]),
        ("no typ".into(), vec![no_typ]),
        ("no jti".into(), vec![key.sign(&key.header(), &json!({"htm": "POST", "htu": s.tanu.url("/token"), "iat": chrono::Utc::now().timestamp()}))]),
        (
            "alg none".into(),
            vec![format!(
                "{}.{}.",
                base64_url(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk})),
                base64_url(&dpop::claims("POST", &s.tanu.url("/token"), None))
            )],
        ),
    ];
    for (what, proofs) in cases {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        refused_at_token(&token(&s, &exchange(&code, &pkce), &refs).await, &what);
    }
    // The code survived every refusal.
    assert_eq!(token(&s, &exchange(&code, &pkce), &[&good]).await.status, 200);
}

fn base64_url(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// §10: `dpop_jkt` at /authorize binds the code: the token request must
/// prove that key; another key or none is refused (and does not burn the code).
#[tokio::test]
async fn dpop_jkt_binds_the_code_to_the_key() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let (code, pkce) = code_form(&s, &[("dpop_jkt", &key.jkt())]).await;
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[&DpopKey::es256().proof("POST", &s.tanu.url("/token"), None)]).await, "another key");
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[]).await, "no proof");
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    // A malformed dpop_jkt is an authorization error sent back to the client.
    let landing = s.browser().navigate(&authorize_url(&s.tanu, &s.client.id, CB, &Pkce::new(), &[("dpop_jkt", "not-a-thumbprint")])).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));
}

/// §10.1: a DPoP proof at /par binds the code like dpop_jkt; a dpop_jkt of
/// another key than the proof's is refused.
#[tokio::test]
async fn a_proof_at_par_binds_the_code() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let pkce = Pkce::new();
    let form = [
        ("response_type", "code"),
        ("client_id", s.client.id.as_str()),
        ("redirect_uri", CB),
        ("scope", "openid offline_access"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let par = |proof: String, extra: Option<(&'static str, String)>| {
        let mut f: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        f.extend(extra.map(|(k, v)| (k.to_string(), v)));
        reqwest::Client::new().post(s.tanu.url("/par")).basic_auth(s.client.id.as_str(), Some(&s.secret)).header("DPoP", proof).form(&f).send()
    };
    let a = answer(par(key.proof("POST", &s.tanu.url("/par"), None), Some(("dpop_jkt", DpopKey::es256().jkt()))).await.unwrap()).await;
    refused_at_token(&a, "dpop_jkt of another key than the proof's");
    let a = answer(par(key.proof("POST", &s.tanu.url("/par"), None), None).await.unwrap()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", s.client.id.as_str()).append_pair("request_uri", a.body["request_uri"].as_str().unwrap());
    let code = s.browser().navigate(&s.tanu.url(&format!("/authorize?{}", q.finish()))).await.param("code").expect("a code");
    refused_at_token(&token(&s, &exchange(&code, &pkce), &[&DpopKey::es256().proof("POST", &s.tanu.url("/token"), None)]).await, "another key");
    assert_eq!(token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &s.tanu.url("/token"), None)]).await.status, 200);
}

/// §8, §9 with `dpop_nonce_required`: a proof without the server's nonce is
/// answered `use_dpop_nonce` with a `DPoP-Nonce` header (400 at /token, 401
/// at userinfo); with it, accepted; a made-up nonce is refused.
#[tokio::test]
async fn the_server_nonce_flow() {
    let s = offline(|c| c.dpop_nonce_required = true, |_| {}).await;
    let key = DpopKey::es256();
    let url = s.tanu.url("/token");
    let (code, pkce) = code_form(&s, &[]).await;
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof("POST", &url, None)]).await;
    assert_eq!((a.status, a.error()), (400, "use_dpop_nonce"), "{}", a.body);
    let nonce = a.nonce().expect("a DPoP-Nonce header");
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof_with_nonce("POST", &url, None, "made-up")]).await;
    assert_eq!((a.status, a.error()), (400, "use_dpop_nonce"), "{}", a.body);
    let a = token(&s, &exchange(&code, &pkce), &[&key.proof_with_nonce("POST", &url, None, &nonce)]).await;
    assert_eq!(a.status, 200, "the code survived the round trip: {}", a.body);
    assert!(a.nonce().is_some(), "a successful answer carries the current nonce");
    let access = at(&a.body).to_string();
    let ui = s.tanu.url("/userinfo");
    let a = userinfo(&s, &format!("DPoP {access}"), &[&key.proof("GET", &ui, Some(&access))]).await;
    refused_at_userinfo(&a, "use_dpop_nonce", "no nonce at userinfo");
    let nonce = a.nonce().expect("a DPoP-Nonce header");
    let a = userinfo(&s, &format!("DPoP {access}"), &[&key.proof_with_nonce("GET", &ui, Some(&access), &nonce)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.nonce().is_some());
}

/// §5.2: a client registered with dpop_bound_access_tokens cannot get a
/// bearer token: its token request without a proof is refused.
#[tokio::test]
async fn a_dpop_bound_client_needs_a_proof() {
    let s = offline(|_| {}, |c| c.dpop_bound_access_tokens = true).await;
    assert!(s.client.dpop_bound_access_tokens);
    let (code, pkce) = code_form(&s, &[]).await;
    let a = token(&s, &exchange(&code, &pkce), &[]).await;
    refused_at_token(&a, "no proof");
    let a = token(&s, &exchange(&code, &pkce), &[&DpopKey::es256().proof("POST", &s.tanu.url("/token"), None)]).await;
    assert_eq!((a.status, a.body["token_type"].as_str()), (200, Some("DPoP")), "{}", a.body);
}

/// RFC 7009 works on bound tokens: revoked, they stop working.
#[tokio::test]
async fn bound_tokens_can_be_revoked() {
    let s = offline(|_| {}, |_| {}).await;
    let key = DpopKey::es256();
    let tokens = bound_tokens(&s, &key).await;
    let revoke = |t: String| reqwest::Client::new().post(s.tanu.url("/revoke")).basic_auth(s.client.id.as_str(), Some(&s.secret)).form(&[("token", t)]).send();
    assert_eq!(revoke(at(&tokens).to_string()).await.unwrap().status(), 200);
    assert_eq!(introspect(&s, at(&tokens)).await, json!({"active": false}));
    let a = userinfo(&s, &format!("DPoP {}", at(&tokens)), &[&key.proof("GET", &s.tanu.url("/userinfo"), Some(at(&tokens)))]).await;
    refused_at_userinfo(&a, "invalid_token", "revoked");
    assert_eq!(revoke(tokens["refresh_token"].as_str().unwrap().to_string()).await.unwrap().status(), 200);
    let form = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    assert_eq!(token(&s, &form, &[&key.proof("POST", &s.tanu.url("/token"), None)]).await.error(), "invalid_grant");
}

// ---------------------------------------------------------------- interop

/// Runs `program` as the relying party of a fresh Tanu (configured by
/// `config`, its client by `client`) and returns its JSON report.
async fn run_rp(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
    config: impl FnOnce(&mut tanu_idp::config::Config),
    client: impl FnOnce(&mut tanu_idp::store::NewClient),
) -> (Scenario, Value) {
    let s = Scenario::start_with(CB, config, client).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile iin offline_access").await;
    let out = tokio::task::spawn_blocking({
        let (program, args, base, id, secret) =
            (program.to_string(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), s.tanu.base.clone(), s.client.id.to_string(), s.secret.clone());
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move || {
            std::process::Command::new(program)
                .args(args)
                .current_dir(workspace_root())
                .env("TANU_ISSUER", base)
                .env("CLIENT_ID", id)
                .env("CLIENT_SECRET", secret)
                .env("REDIRECT_URI", CB)
                .envs(env)
                .output()
                .expect("the relying party runs (make setup installs node and the Python venv)")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{program} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).expect("a JSON report");
    (s, report)
}

fn node_report_is_sound(s: &Scenario, r: &Value) {
    assert_eq!(r["token_type"], "dpop", "{r}");
    assert_eq!(r["refreshed_token_type"], "dpop", "{r}");
    let sub = s.tanu.app.subject(&s.client, &s.citizen.id);
    assert_eq!(
        (r["sub"].as_str(), r["userinfo_sub"].as_str(), r["userinfo_refreshed_sub"].as_str()),
        (Some(sub.as_str()), Some(sub.as_str()), Some(sub.as_str())),
        "{r}"
    );
    assert_eq!(r["userinfo_iin"], "900517300124");
    assert_eq!(r["bearer_use"], "invalid_token", "{r}");
    assert_eq!(r["refresh_without_proof"], "invalid_dpop_proof", "{r}");
    assert_eq!(r["introspection"]["cnf"]["jkt"], r["jkt"], "{r}");
    assert_eq!(r["introspection"]["token_type"], "DPoP", "{r}");
    assert_eq!(r["after_revoke"], json!({"active": false}), "{r}");
}

/// openid-client v6 with `client.DPoP`, the request pushed with a proof
/// (§10.1): code exchange, userinfo, refresh, introspection, revocation.
#[tokio::test]
async fn node_openid_client_v6_dpop() {
    let (s, r) = run_rp("node", &["tests/interop/node/dpop.mjs"], &[("USE_PAR", "1")], |_| {}, |_| {}).await;
    assert_eq!(r["pushed"], true);
    node_report_is_sound(&s, &r);
}

/// The same library against a Tanu that requires server nonces, for a
/// client registered as DPoP-bound: the library follows `use_dpop_nonce`.
#[tokio::test]
async fn node_openid_client_v6_dpop_with_nonces() {
    let (s, r) = run_rp("node", &["tests/interop/node/dpop.mjs"], &[], |c| c.dpop_nonce_required = true, |c| c.dpop_bound_access_tokens = true).await;
    node_report_is_sound(&s, &r);
}

/// Proofs built by hand with Python's joserfc, the code bound by dpop_jkt
/// at /authorize, server nonces required.
#[tokio::test]
async fn python_joserfc_dpop() {
    let python = workspace_root().join("ops/vendor/venv/bin/python");
    let (s, r) = run_rp(python.to_str().unwrap(), &["tests/interop/python/dpop.py"], &[], |c| c.dpop_nonce_required = true, |_| {}).await;
    assert_eq!(r["wrong_key_code"], "invalid_dpop_proof", "{r}");
    assert_eq!(r["token_type"], "DPoP", "{r}");
    assert_eq!(r["userinfo_status"], 200, "{r}");
    assert_eq!(r["userinfo_sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
    assert_eq!(r["bearer_status"], 401);
    assert!(r["bearer_challenge"].as_str().unwrap().contains("DPoP error=\"invalid_token\""), "{r}");
    assert_eq!(r["other_key_status"], 401);
    assert!(r["other_key_challenge"].as_str().unwrap().contains("invalid_dpop_proof"), "{r}");
    assert_eq!(r["refreshed_token_type"], "DPoP", "{r}");
    assert_eq!(r["introspection"]["cnf"]["jkt"], r["jkt"], "{r}");
}
