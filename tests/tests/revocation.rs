//! Token revocation (RFC 7009) and introspection (RFC 7662): each rule of
//! the RFCs and each attack on them, against a real Tanu.
use serde_json::{json, Value};
use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/cb";

/// POSTs a form to `path` with client_secret_basic (`None`: no credentials).
async fn call(s: &Scenario, path: &str, creds: Option<(&str, &str)>, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().post(s.tanu.url(path)).form(form);
    if let Some((id, secret)) = creds {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn revoke(s: &Scenario, form: &[(&str, &str)]) -> u16 {
    let (status, headers, _) = call(s, "/revoke", Some((s.client.id.as_str(), &s.secret)), form).await;
    assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    status
}

async fn introspect(s: &Scenario, form: &[(&str, &str)]) -> Value {
    let (status, headers, body) = call(s, "/introspect", Some((s.client.id.as_str(), &s.secret)), form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    body
}

async fn userinfo(s: &Scenario, access: &str) -> (u16, Option<String>) {
    let resp = reqwest::Client::new().get(s.tanu.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    let www = resp.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), www)
}

async fn refresh(s: &Scenario, token: &str) -> (u16, Value) {
    let (status, _, body) = call(s, "/token", Some((s.client.id.as_str(), &s.secret)), &[("grant_type", "refresh_token"), ("refresh_token", token)]).await;
    (status, body)
}

/// A scenario whose citizen consented to offline access, and its first tokens.
async fn offline() -> (Scenario, String, String) {
    let s = Scenario::start(CB).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    let t = s.tokens(&s.browser(), &[("scope", "openid profile offline_access")]).await;
    let (access, refresh) = (t["access_token"].as_str().unwrap().to_string(), t["refresh_token"].as_str().unwrap().to_string());
    (s, access, refresh)
}

#[tokio::test]
async fn discovery_advertises_revocation_and_introspection() {
    let s = Scenario::start(CB).await;
    let md: Value = reqwest::get(s.tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["revocation_endpoint"], s.tanu.url("/revoke"));
    assert_eq!(md["introspection_endpoint"], s.tanu.url("/introspect"));
    for key in ["revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"] {
        assert_eq!(md[key], md["token_endpoint_auth_methods_supported"], "{key}: the same client authentication as /token");
    }
    for key in ["revocation_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported"] {
        assert_eq!(md[key], md["token_endpoint_auth_signing_alg_values_supported"], "{key}");
    }
}

/// RFC 7662 §2.2: an active token's description, with the client's own (pairwise) `sub`.
#[tokio::test]
async fn introspection_describes_an_active_access_token() {
    let (s, access, _) = offline().await;
    let v = introspect(&s, &[("token", &access)]).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], s.client.id.as_str());
    assert_eq!(v["aud"], s.client.id.as_str());
    assert_eq!(v["iss"], s.tanu.base);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
    assert_eq!(v["scope"], "openid profile offline_access");
    let exp = v["exp"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(exp > now && exp <= now + s.tanu.app.config.access_token_ttl as i64 + 5, "exp {exp}");
    let r = introspect(&s, &[("token", &access), ("token_type_hint", "access_token")]).await;
    assert_eq!(r["active"], true);
}

/// RFC 7662 §2.1 / RFC 7009 §2.1: the hint orders the search, a wrong or
/// unknown hint does not hide the token.
#[tokio::test]
async fn a_wrong_token_type_hint_is_not_trusted() {
    let (s, access, refresh_token) = offline().await;
    let v = introspect(&s, &[("token", &access), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(v["active"], true, "an access token hinted as a refresh token is still found");
    let v = introspect(&s, &[("token", &refresh_token), ("token_type_hint", "access_token")]).await;
    assert_eq!(v["active"], true);
    assert!(v.get("token_type").is_none(), "no RFC 6749 §7.1 type for a refresh token: {v}");
    let v = introspect(&s, &[("token", &access), ("token_type_hint", "something_else")]).await;
    assert_eq!(v["active"], true, "an unknown hint is no hint");
    // Revocation with a wrong hint still revokes.
    assert_eq!(revoke(&s, &[("token", &access), ("token_type_hint", "refresh_token")]).await, 200);
    assert_eq!(introspect(&s, &[("token", &access)]).await, json!({"active": false}));
}

/// RFC 7009 §2.1: revoking an access token ends it at once: userinfo says
/// invalid_token, introspection inactive. The refresh token is the client's
/// to keep.
#[tokio::test]
async fn a_revoked_access_token_no_longer_works() {
    let (s, access, refresh_token) = offline().await;
    assert_eq!(userinfo(&s, &access).await.0, 200);
    assert_eq!(revoke(&s, &[("token", &access), ("token_type_hint", "access_token")]).await, 200);
    let (status, www) = userinfo(&s, &access).await;
    assert_eq!(status, 401);
    assert!(www.unwrap().contains("invalid_token"));
    assert_eq!(introspect(&s, &[("token", &access)]).await, json!({"active": false}), "nothing but active: false");
    assert_eq!(refresh(&s, &refresh_token).await.0, 200, "revoking an access token leaves the grant");
    assert_eq!(revoke(&s, &[("token", &access)]).await, 200, "revoking twice is still 200 (§2.2)");
}

/// RFC 7009 §2.1: revoking a refresh token revokes its grant and the access
/// tokens issued from it; the refresh token is then refused with invalid_grant.
#[tokio::test]
async fn revoking_a_refresh_token_revokes_the_grant() {
    let (s, access, refresh_token) = offline().await;
    // A second access token of the same grant, from a rotation.
    let (status, rotated) = refresh(&s, &refresh_token).await;
    assert_eq!(status, 200);
    let (access2, refresh2) = (rotated["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap());
    assert_eq!(revoke(&s, &[("token", refresh2), ("token_type_hint", "refresh_token")]).await, 200);
    let (status, body) = refresh(&s, refresh2).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    for a in [access.as_str(), access2] {
        let (status, www) = userinfo(&s, a).await;
        assert_eq!(status, 401, "every access token of the grant");
        assert!(www.unwrap().contains("invalid_token"));
        assert_eq!(introspect(&s, &[("token", a)]).await, json!({"active": false}));
    }
    assert_eq!(introspect(&s, &[("token", refresh2)]).await, json!({"active": false}));
}

/// Another client can neither see nor revoke a token: revocation answers 200
/// and changes nothing, introspection says inactive.
#[tokio::test]
async fn another_clients_token_is_neither_seen_nor_revoked() {
    let (s, access, refresh_token) = offline().await;
    let (other, other_secret) = s.tanu.client("http://127.0.0.1:9/other", |_| {}).await;
    let other_secret = other_secret.unwrap();
    for (token, hint) in [(&access, "access_token"), (&refresh_token, "refresh_token")] {
        let (status, _, body) = call(&s, "/introspect", Some((other.id.as_str(), &other_secret)), &[("token", token), ("token_type_hint", hint)]).await;
        assert_eq!((status, &body), (200, &json!({"active": false})), "another client's {hint} looks unknown");
        let (status, _, _) = call(&s, "/revoke", Some((other.id.as_str(), &other_secret)), &[("token", token)]).await;
        assert_eq!(status, 200, "the same answer as for a revoked token");
    }
    assert_eq!(userinfo(&s, &access).await.0, 200, "the access token still works");
    assert_eq!(introspect(&s, &[("token", &refresh_token)]).await["active"], true);
    assert_eq!(refresh(&s, &refresh_token).await.0, 200, "the grant is intact");
}

/// Both endpoints need the client's registered authentication: none, a wrong
/// secret, another client's secret, or a disabled client get invalid_client,
/// and nothing is revoked.
#[tokio::test]
async fn unauthenticated_and_wrongly_authenticated_calls_are_refused() {
    let (s, access, _) = offline().await;
    let (other, other_secret) = s.tanu.client("http://127.0.0.1:9/other", |_| {}).await;
    let other_secret = other_secret.unwrap();
    for path in ["/revoke", "/introspect"] {
        let (status, _, body) = call(&s, path, None, &[("token", &access)]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{path} without credentials: {body}");
        let (status, headers, body) = call(&s, path, Some((s.client.id.as_str(), "wrong-secret")), &[("token", &access)]).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{path} wrong secret");
        assert!(headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Basic"), "RFC 6749 §5.2");
        let (status, _, _) = call(&s, path, Some((s.client.id.as_str(), &other_secret)), &[("token", &access)]).await;
        assert_eq!(status, 401, "{path}: another client's secret");
        // client_secret_post for a client registered with client_secret_basic.
        let (status, _, _) = call(&s, path, None, &[("token", &access), ("client_id", s.client.id.as_str()), ("client_secret", &s.secret)]).await;
        assert_eq!(status, 401, "{path}: only the registered method");
        // Unknown client.
        let (status, _, _) = call(&s, path, Some(("tanu-nobody", "x")), &[("token", &access)]).await;
        assert_eq!(status, 401, "{path}: unknown client");
    }
    assert_eq!(userinfo(&s, &access).await.0, 200, "no refused call revoked anything");
    // A disabled client can no longer call either.
    s.tanu.app.store.disable_client(&other.id).await.unwrap();
    let (status, _, _) = call(&s, "/introspect", Some((other.id.as_str(), &other_secret)), &[("token", "x")]).await;
    assert_eq!(status, 401, "disabled client");
}

/// Bad requests in RFC 6749 §5.2's form: no token, a repeated parameter, a
/// body that is not a form, an oversized body (413 before the body is
/// parsed, whether under or over the edge's budget).
#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let (s, access, _) = offline().await;
    let creds = Some((s.client.id.as_str(), s.secret.as_str()));
    for path in ["/revoke", "/introspect"] {
        let (status, _, body) = call(&s, path, creds, &[("token_type_hint", "access_token")]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{path}: token is required");
        let (status, _, body) = call(&s, path, creds, &[("token", &access), ("token", "other")]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{path}: repeated parameter");
        let resp = reqwest::Client::new()
            .post(s.tanu.url(path))
            .basic_auth(s.client.id.as_str(), Some(&s.secret))
            .json(&json!({"token": access}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{path}: JSON is not a form");
        for size in [20 * 1024, 200 * 1024] {
            let (status, headers, body) = call(&s, path, creds, &[("token", &access), ("pad", &"x".repeat(size))]).await;
            assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")), "{path} with {size} bytes: {body}");
            assert_eq!(headers.get("content-type").unwrap().to_str().unwrap(), "application/json; charset=utf-8");
        }
        let resp = reqwest::Client::new().get(s.tanu.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 405, "{path}: POST only");
    }
    assert_eq!(userinfo(&s, &access).await.0, 200);
}

/// RFC 7009 §2.2: an unknown or malformed token is answered 200; RFC 7662:
/// `{"active":false}`.
#[tokio::test]
async fn unknown_tokens_are_inactive_and_revoking_them_succeeds() {
    let s = Scenario::start(CB).await;
    for token in ["not-a-token", &"A".repeat(4000), "ü"] {
        assert_eq!(revoke(&s, &[("token", token)]).await, 200);
        assert_eq!(introspect(&s, &[("token", token)]).await, json!({"active": false}));
    }
}

/// A rotated refresh token and an expired access token are inactive.
#[tokio::test]
async fn rotated_and_expired_tokens_are_inactive() {
    let s = Scenario::start_with(CB, |c| c.access_token_ttl = 1, |_| {}).await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let t = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let (access, first) = (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
    let (status, rotated) = refresh(&s, first).await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&s, &[("token", first)]).await, json!({"active": false}), "a rotated refresh token");
    assert_eq!(introspect(&s, &[("token", rotated["refresh_token"].as_str().unwrap())]).await["active"], true);
    // Wait until the one-second access token has certainly expired (bounded).
    for _ in 0..50 {
        if introspect(&s, &[("token", access)]).await["active"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(introspect(&s, &[("token", access)]).await, json!({"active": false}), "an expired access token");
}

/// A `private_key_jwt` client revokes and introspects with an assertion, as
/// at /token; an assertion is accepted once.
#[tokio::test]
async fn private_key_jwt_clients_authenticate_with_assertions() {
    use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let b64 = |b: Vec<u8>| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({"keys": [{
        "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be()),
    }]}))
    .unwrap();
    let tanu = Tanu::start().await;
    let (client, _) = tanu
        .client(CB, |c| {
            c.auth_method = tanu_idp::domain::TokenAuthMethod::PrivateKeyJwt;
            c.jwks = Some(jwks.into());
        })
        .await;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let assertion = |aud: &str| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some("k1".into());
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": client.id, "sub": client.id, "aud": aud, "iat": now, "exp": now + 60, "jti": tanu_idp::crypto::random_token(12)});
        jsonwebtoken::encode(&h, &claims, &encoding).unwrap()
    };
    let post = |path: &str, a: String| {
        reqwest::Client::new().post(tanu.url(path)).form(&[
            ("token", "unknown"),
            ("client_assertion_type", tanu_idp::oidc::token::JWT_BEARER),
            ("client_assertion", a.as_str()),
        ])
    };
    let a = assertion(&tanu.base);
    let r = post("/introspect", a.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"active": false}));
    assert_eq!(post("/introspect", a).send().await.unwrap().status().as_u16(), 401, "an assertion is accepted once");
    assert_eq!(post("/revoke", assertion(&tanu.base)).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(post("/revoke", assertion("https://elsewhere.example")).send().await.unwrap().status().as_u16(), 401, "wrong audience");
}
