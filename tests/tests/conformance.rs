//! The checks of the OpenID Foundation's oidcc-basic and oidcc-config
//! certification plans, as our own tests against a real Tanu.
use std::time::Duration;

use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/cb";

async fn signed_in_flow(tanu: &Tanu, browser: &Browser, client_id: &tanu_idp::domain::ClientId, extra: &[(&str, &str)]) -> (String, Pkce) {
    let pkce = Pkce::new();
    let landing = browser.navigate(&authorize_url(tanu, client_id, CB, &pkce, extra)).await;
    let code = landing.param("code").unwrap_or_else(|| panic!("no code: {landing:?}"));
    (code, pkce)
}

#[tokio::test]
async fn discovery_is_complete_and_consistent_with_jwks() {
    let tanu = Tanu::start().await;
    let md: serde_json::Value = reqwest::get(tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["issuer"], tanu.base);
    for (field, expected) in [
        ("response_types_supported", serde_json::json!(["code"])),
        ("code_challenge_methods_supported", serde_json::json!(["S256"])),
        ("grant_types_supported", serde_json::json!(["authorization_code", "refresh_token"])),
        ("token_endpoint_auth_methods_supported", serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])),
        ("id_token_signing_alg_values_supported", serde_json::json!(["RS256", "ES256"])),
        ("subject_types_supported", serde_json::json!(["pairwise", "public"])),
        ("authorization_response_iss_parameter_supported", serde_json::json!(true)),
    ] {
        assert_eq!(md[field], expected, "{field}");
    }
    for endpoint in ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"] {
        assert!(md[endpoint].as_str().unwrap().starts_with(&tanu.base), "{endpoint}");
    }
    for claim in ["sub", "iin", "acr", "amr", "auth_time", "sid"] {
        assert!(md["claims_supported"].as_array().unwrap().iter().any(|c| c == claim), "{claim}");
    }
    assert!(!md["acr_values_supported"].as_array().unwrap().is_empty());
    let jwks: serde_json::Value = reqwest::get(md["jwks_uri"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    for alg in md["id_token_signing_alg_values_supported"].as_array().unwrap() {
        assert!(keys.iter().any(|k| &k["alg"] == alg && k["use"] == "sig"), "a key for {alg}");
    }
    let kids: std::collections::HashSet<_> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), keys.len(), "kids are unique");
    assert!(keys.iter().all(|k| k.get("d").is_none() && k.get("p").is_none()), "no private parts published");
}

/// The Rust `openidconnect` crate as a relying party: discovery, code + PKCE,
/// ID token signature and claims, userinfo, refresh. RS256 and ES256.
#[tokio::test]
async fn openidconnect_crate_relying_party_completes_the_flow() {
    use openidconnect::{
        core::{CoreAuthenticationFlow, CoreUserInfoClaims},
        AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope, TokenResponse,
    };
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
    tanu.sign_in_as(Some(&citizen));
    for alg in [tanu_idp::domain::SigningAlg::Rs256, tanu_idp::domain::SigningAlg::Es256] {
        let (client, secret) = tanu.client(CB, |c| c.id_token_alg = alg).await;
        tanu.consent(&citizen, &client.id, "profile iin offline_access").await;
        let (rp, http) = oidc_rp(&tanu, client.id.as_str(), &secret.unwrap(), CB).await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = rp
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("iin".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let landing = Browser::new(&tanu).navigate(url.as_str()).await;
        assert_eq!(landing.param("state").as_deref(), Some(state.secret().as_str()));
        assert_eq!(landing.param("iss").as_deref(), Some(tanu.base.as_str()), "RFC 9207 iss");
        let code = landing.param("code").unwrap();
        let tokens = rp.exchange_code(AuthorizationCode::new(code)).unwrap().set_pkce_verifier(verifier).request_async(&http).await.unwrap();
        let id_token = tokens.id_token().expect("an ID token");
        let verifier = rp.id_token_verifier();
        let claims = id_token.claims(&verifier, &nonce).expect("signature, iss, aud, exp and nonce verify");
        assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "face");
        assert!(claims.auth_time().is_some());
        assert_eq!(claims.auth_context_ref().unwrap().as_str(), tanu_idp::face::ACR_FACE_LIVENESS);
        let raw = jwt_claims(&id_token.to_string());
        assert!(raw["sid"].is_string() && raw["at_hash"].is_string());
        assert_ne!(claims.subject().as_str(), citizen.id, "pairwise subject, not the internal id");
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id_token.to_string().split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg.as_str());

        let info: CoreUserInfoClaims = rp.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http).await.unwrap();
        assert_eq!(info.subject(), claims.subject());
        assert_eq!(info.given_name().unwrap().get(None).unwrap().as_str(), "Aigerim");
        let raw_info: serde_json::Value =
            reqwest::Client::new().get(tanu.url("/userinfo")).bearer_auth(tokens.access_token().secret()).send().await.unwrap().json().await.unwrap();
        assert_eq!(raw_info["iin"], "900517300124");

        let refreshed = rp.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request_async(&http).await.unwrap();
        assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
        assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret(), "rotated");
    }
}

#[tokio::test]
async fn pairwise_subjects_differ_between_relying_parties_and_public_is_stable() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    let mut subs = vec![];
    for (host, public) in [("http://127.0.0.1:9/cb", false), ("http://localhost:9/cb", false), ("http://127.0.0.1:9/cb", true)] {
        let (client, secret) = tanu
            .client(host, |c| {
                if public {
                    c.subject_type = tanu_idp::domain::SubjectType::Public
                }
            })
            .await;
        let browser = Browser::new(&tanu);
        let pkce = Pkce::new();
        let code = browser.navigate(&authorize_url(&tanu, &client.id, host, &pkce, &[])).await.param("code").unwrap();
        let (status, body) = redeem(&tanu, &client.id, secret.as_deref().unwrap(), &code, host, &pkce.verifier).await;
        assert_eq!(status, 200, "{body}");
        subs.push(jwt_claims(body["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string());
    }
    assert_ne!(subs[0], subs[1], "two sectors see two subjects");
    assert_eq!(subs[2], citizen.id, "public subject type");
}

#[tokio::test]
async fn acr_values_are_accepted_and_acr_returned() {
    let s = Scenario::start(CB).await;
    let body = s.tokens(&s.browser(), &[("acr_values", "urn:kz:tanu:loa:face-liveness urn:other")]).await;
    assert_eq!(jwt_claims(body["id_token"].as_str().unwrap())["acr"], tanu_idp::face::ACR_FACE_LIVENESS);
}

async fn auth_time(s: &Scenario, browser: &Browser, extra: &[(&str, &str)]) -> i64 {
    jwt_claims(s.tokens(browser, extra).await["id_token"].as_str().unwrap())["auth_time"].as_i64().unwrap()
}

#[tokio::test]
async fn max_age_and_prompt_login_force_a_new_authentication() {
    let s = Scenario::start(CB).await;
    let browser = s.browser();
    let first = auth_time(&s, &browser, &[]).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let long = auth_time(&s, &browser, &[("max_age", "10000")]).await;
    assert_eq!(long, first, "max_age=10000: the session is recent enough");
    let short = auth_time(&s, &browser, &[("max_age", "1")]).await;
    assert!(short > first, "max_age=1: re-authenticated");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let forced = auth_time(&s, &browser, &[("prompt", "login")]).await;
    assert!(forced > short, "prompt=login: re-authenticated");
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required_and_with_session_succeeds() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    let (client, _) = tanu.client(CB, |_| {}).await;
    let browser = Browser::new(&tanu);
    let pkce = Pkce::new();
    let landing = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("prompt", "none")])).await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));
    assert_eq!(landing.param("state").as_deref(), Some("st-123"));
    assert_eq!(landing.param("iss").as_deref(), Some(tanu.base.as_str()));
    tanu.sign_in_as(Some(&citizen));
    assert!(browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[])).await.param("code").is_some());
    tanu.sign_in_as(None);
    let silent = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("prompt", "none")])).await;
    assert!(silent.param("code").is_some(), "the session carries prompt=none: {silent:?}");
    let no_consent = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("prompt", "none"), ("scope", "openid iin")])).await;
    assert_eq!(no_consent.param("error").as_deref(), Some("consent_required"));
}

#[tokio::test]
async fn consent_is_asked_once_recorded_and_asked_again_with_prompt_consent() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    let (client, _) = tanu.client(CB, |c| c.organisation_name = Some("Halyk Test".into())).await;
    let browser = Browser::new(&tanu);
    let pkce = Pkce::new();
    let page = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("scope", "openid profile iin"), ("ui_locales", "ru")])).await;
    let Landing::Page { status: 200, ref body, .. } = page else { panic!("consent page expected: {page:?}") };
    assert!(body.contains("Halyk Test") && body.contains("ИИН"), "names the relying party and the claims, in Russian");
    let denied = browser.consent(&page, "deny").await;
    assert_eq!(denied.param("error").as_deref(), Some("access_denied"));

    let page = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("scope", "openid profile iin")])).await;
    let forged = browser
        .post_form(
            &tanu.url(&format!("/consent/{}", between(&format!("{page:?}"), "/consent/", "\\\"").unwrap())),
            &[("csrf", "forged"), ("decision", "allow")],
        )
        .await;
    assert!(matches!(forged, Landing::Page { status: 403, .. }), "CSRF token required: {forged:?}");
    let page = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("scope", "openid profile iin")])).await;
    assert!(browser.consent(&page, "allow").await.param("code").is_some());
    let again = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("scope", "openid profile iin")])).await;
    assert!(again.param("code").is_some(), "consent not asked twice");
    let forced = browser.navigate(&authorize_url(&tanu, &client.id, CB, &pkce, &[("scope", "openid profile"), ("prompt", "consent")])).await;
    assert!(matches!(forced, Landing::Page { status: 200, .. }), "prompt=consent asks again");
}

async fn code_reuse(wait: Duration) {
    let Scenario { tanu, client, secret, citizen, .. } = Scenario::start(CB).await;
    tanu.consent(&citizen, &client.id, "offline_access").await;
    let (code, pkce) = signed_in_flow(&tanu, &Browser::new(&tanu), &client.id, &[("scope", "openid offline_access")]).await;
    let (status, first) = redeem(&tanu, &client.id, &secret, &code, CB, &pkce.verifier).await;
    assert_eq!(status, 200);
    // "Later" as the provider's clock sees it, without waiting.
    tanu.app.clock.advance(wait);
    let (status, second) = redeem(&tanu, &client.id, &secret, &code, CB, &pkce.verifier).await;
    assert_eq!((status, second["error"].as_str()), (400, Some("invalid_grant")));
    let userinfo = reqwest::Client::new().get(tanu.url("/userinfo")).bearer_auth(first["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(userinfo.status(), 401, "tokens issued from a replayed code are revoked");
    assert!(userinfo.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let refresh = reqwest::Client::new()
        .post(tanu.url("/token"))
        .basic_auth(client.id.as_str(), Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400, "refresh token revoked too");
}

#[tokio::test]
async fn code_reuse_immediately_revokes_tokens() {
    code_reuse(Duration::ZERO).await;
}

#[tokio::test]
async fn code_reuse_after_30_seconds_revokes_tokens() {
    code_reuse(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn both_client_secret_methods_work_and_only_the_registered_one() {
    use tanu_idp::domain::TokenAuthMethod;
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    for method in [TokenAuthMethod::ClientSecretBasic, TokenAuthMethod::ClientSecretPost] {
        let (client, secret) = tanu.client(CB, |c| c.auth_method = method).await;
        let secret = secret.unwrap();
        let browser = Browser::new(&tanu);
        let form = |code: &str, verifier: &str| -> Vec<(String, String)> {
            vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.into()),
                ("redirect_uri".into(), CB.into()),
                ("code_verifier".into(), verifier.into()),
            ]
        };
        let http = reqwest::Client::new();
        let (code, pkce) = signed_in_flow(&tanu, &browser, &client.id, &[]).await;
        let basic = http.post(tanu.url("/token")).basic_auth(client.id.as_str(), Some(&secret)).form(&form(&code, &pkce.verifier));
        let mut post_form = form(&code, &pkce.verifier);
        post_form.push(("client_id".into(), client.id.to_string()));
        post_form.push(("client_secret".into(), secret.clone()));
        let post = http.post(tanu.url("/token")).form(&post_form);
        let (right, wrong) = match method {
            TokenAuthMethod::ClientSecretBasic => (basic, post),
            _ => (post, basic),
        };
        let wrong = wrong.send().await.unwrap();
        assert_eq!(wrong.status(), 401, "{method}: the other method is refused");
        let right = right.send().await.unwrap();
        assert_eq!(right.status(), 200, "{method}");
        let body: serde_json::Value = right.json().await.unwrap();
        assert!(body["token_type"].as_str().unwrap().eq_ignore_ascii_case("bearer"), "RFC 6749 §7.1: case-insensitive");
    }
}

#[tokio::test]
async fn private_key_jwt_client_authenticates_and_assertions_are_single_use() {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let b64 = |b: Vec<u8>| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "kid": "rp-1", "use": "sig", "alg": "RS256",
        "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be())}]});
    let (client, secret) = tanu
        .client(CB, |c| {
            c.auth_method = tanu_idp::domain::TokenAuthMethod::PrivateKeyJwt;
            c.jwks = Some(tanu_idp::store::ClientJwks::parse(jwks).unwrap());
        })
        .await;
    assert!(secret.is_none(), "no secret for private_key_jwt");
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    let enc = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("rp-1".into());
    let now = chrono::Utc::now().timestamp();
    let assertion = |jti: &str, aud: &str| {
        jsonwebtoken::encode(&header, &serde_json::json!({"iss": client.id, "sub": client.id, "aud": aud, "jti": jti, "iat": now, "exp": now + 60}), &enc)
            .unwrap()
    };
    let token_url = tanu.url("/token");
    let redeem_with = |code: String, verifier: String, a: String| {
        let client_id = client.id.to_string();
        let url = token_url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                    ("code_verifier", &verifier),
                    ("client_id", &client_id),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", &a),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let browser = Browser::new(&tanu);
    let (code, pkce) = signed_in_flow(&tanu, &browser, &client.id, &[]).await;
    let ok = redeem_with(code, pkce.verifier, assertion("j1", &token_url)).await;
    assert_eq!(ok.status(), 200);
    let (code, pkce) = signed_in_flow(&tanu, &browser, &client.id, &[]).await;
    let replay = redeem_with(code.clone(), pkce.verifier.clone(), assertion("j1", &token_url)).await;
    assert_eq!(replay.status(), 401, "a jti is accepted once");
    let wrong_aud = redeem_with(code.clone(), pkce.verifier.clone(), assertion("j2", "https://elsewhere.example/token")).await;
    assert_eq!(wrong_aud.status(), 401);
    // draft-ietf-oauth-rfc7523bis: a multi-valued aud is refused, even one
    // holding only accepted audiences (it could be replayed at each).
    let claims =
        serde_json::json!({"iss": client.id, "sub": client.id, "aud": [tanu.base.as_str(), token_url.as_str()], "jti": "j4", "iat": now, "exp": now + 60});
    let many = redeem_with(code.clone(), pkce.verifier.clone(), jsonwebtoken::encode(&header, &claims, &enc).unwrap()).await;
    assert_eq!(many.status(), 401);
    let body: serde_json::Value = many.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("single string"), "{body}");
    let ok = redeem_with(code, pkce.verifier, assertion("j3", &tanu.base)).await;
    assert_eq!(ok.status(), 200, "the issuer is an accepted audience");
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_grant() {
    let s = Scenario::start(CB).await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let first = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let (tanu, client, secret) = (&s.tanu, &s.client, &s.secret);
    let refresh = |rt: String| {
        let url = tanu.url("/token");
        let id = client.id.to_string();
        let secret = secret.clone();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let (status, second) = refresh(rt1.clone()).await;
    assert_eq!(status, 200);
    let claims = jwt_claims(second["id_token"].as_str().unwrap());
    assert!(claims.get("nonce").is_none(), "no nonce on refresh");
    let (status, reused) = refresh(rt1).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = refresh(second["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(status, 400, "reuse of an old token revokes the newest too");
    let userinfo = reqwest::Client::new().get(tanu.url("/userinfo")).bearer_auth(second["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(userinfo.status(), 401);
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_only_to_a_registered_uri() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    let (client, secret) = tanu.client(CB, |c| c.post_logout_redirect_uris = vec!["http://127.0.0.1:9/bye".parse().unwrap()]).await;
    let browser = Browser::new(&tanu);
    let (code, pkce) = signed_in_flow(&tanu, &browser, &client.id, &[]).await;
    let (_, tokens) = redeem(&tanu, &client.id, secret.as_deref().unwrap(), &code, CB, &pkce.verifier).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let q = |uri: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", uri)
            .append_pair("state", "bye-1")
            .finish()
    };
    let evil = browser.navigate(&tanu.url(&format!("/logout?{}", q("http://127.0.0.1:9/bye/")))).await;
    assert!(matches!(evil, Landing::Page { status: 400, .. }), "unregistered post-logout URI: {evil:?}");
    let out = browser.navigate(&tanu.url(&format!("/logout?{}", q("http://127.0.0.1:9/bye")))).await.redirect();
    assert_eq!(out.as_str(), "http://127.0.0.1:9/bye?state=bye-1");
    tanu.sign_in_as(None);
    let after = browser.navigate(&authorize_url(&tanu, &client.id, CB, &Pkce::new(), &[("prompt", "none")])).await;
    assert_eq!(after.param("error").as_deref(), Some("login_required"), "the session is over");
    let forged = browser.navigate(&tanu.url("/logout?id_token_hint=eyJhbGciOiJub25lIn0.e30.")).await;
    assert!(matches!(forged, Landing::Page { status: 400, .. }), "unsigned hint refused");
}

#[tokio::test]
async fn key_rotation_publishes_before_signing_and_keeps_old_keys_published() {
    let s = Scenario::start_with(CB, |c| c.key_publish_lead = 3, |_| {}).await;
    let tanu = &s.tanu;
    let browser = s.browser();
    let kid_now = || async {
        let t = s.tokens(&browser, &[]).await;
        let header = t["id_token"].as_str().unwrap().split('.').next().unwrap().to_string();
        let h: serde_json::Value = serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap()).unwrap();
        h["kid"].as_str().unwrap().to_string()
    };
    let published = || async {
        let j: serde_json::Value = reqwest::get(tanu.url("/jwks")).await.unwrap().json().await.unwrap();
        j["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let old = kid_now().await;
    let new = tanu.app.keys.rotate().await.unwrap();
    let new_rs = new.iter().find(|k| k.alg == tanu_idp::domain::SigningAlg::Rs256).unwrap().kid.clone();
    assert!(published().await.contains(&new_rs), "published at once");
    assert_eq!(kid_now().await, old, "but not signing yet");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(kid_now().await, new_rs, "signs after the lead");
    assert!(published().await.contains(&old), "the old key stays published while its tokens live");
}
