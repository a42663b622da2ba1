//! The FAPI 2.0 Security Profile (final, 2025) per client: the checks of the
//! OpenID Foundation's `fapi2-security-profile-final` plan that apply to a
//! `private_key_jwt` + PAR provider, as our own tests against a real Tanu.
//! Each test is named after the plan's module it mirrors
//! (`fapi2-security-profile-final-<module>` → `fapi2_sp_final_<module>`);
//! `fapi2_profile_*` tests cover rules the plan cannot see (registration,
//! /revoke and /introspect, the profile being per client).
//! Sender-constrained tokens are DPoP-bound (RFC 9449): the harness sends a
//! proof with every token request and uses the DPoP scheme at userinfo.
use jsonwebtoken::Algorithm::{ES256, PS256, RS256};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use tanu_idp::{
    domain::{ClientProfile, Environment, SigningAlg, TokenAuthMethod},
    oidc::token::JWT_BEARER,
    store::{entities::authorization_code, Client, NewClient},
};
use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/cb";

/// Registers `c` as a FAPI 2.0 client authenticating with `key`.
fn fapi2(c: &mut NewClient, key: &ClientKey) {
    c.profile = ClientProfile::Fapi2;
    c.auth_method = TokenAuthMethod::PrivateKeyJwt;
    c.jwks = Some(key.jwks.clone().into());
    c.id_token_alg = SigningAlg::Es256;
}

/// A running Tanu, a citizen the test authenticator signs in, and one
/// `fapi2` client with an ES256 key.
struct Fapi {
    tanu: Tanu,
    client: Client,
    key: ClientKey,
    /// The relying party's DPoP key: every token request carries a proof.
    dpop: tanu_tests::dpop::DpopKey,
}

type Form = Vec<(String, String)>;

fn form(pairs: &[(&str, &str)]) -> Form {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl Fapi {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(config: impl FnOnce(&mut tanu_idp::config::Config)) -> Self {
        let tanu = Tanu::start_with(config).await;
        let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
        tanu.sign_in_as(Some(&citizen));
        let key = ClientKey::es256("fapi-es256");
        let (client, secret) = tanu.client(CB, |c| fapi2(c, &key)).await;
        assert!(secret.is_none(), "a fapi2 client has no secret");
        tanu.consent(&citizen, &client.id, "offline_access").await;
        Fapi { tanu, client, key, dpop: tanu_tests::dpop::DpopKey::es256() }
    }

    /// A valid assertion: ES256, aud = the issuer as a string.
    fn assertion(&self) -> String {
        self.key.assertion(ES256, self.client.id.as_str(), json!(self.tanu.base), &[])
    }

    fn auth_with(&self, assertion: String) -> Form {
        form(&[("client_assertion_type", JWT_BEARER), ("client_assertion", &assertion)])
    }

    fn auth(&self) -> Form {
        self.auth_with(self.assertion())
    }

    /// Posts `body`; to `/token` with a fresh DPoP proof of the client's key.
    async fn post(&self, path: &str, body: Form) -> (u16, Value) {
        self.post_with(path, body, path == "/token").await
    }

    async fn post_with(&self, path: &str, body: Form, dpop: bool) -> (u16, Value) {
        let mut request = reqwest::Client::new().post(self.tanu.url(path)).form(&body);
        if dpop {
            request = request.header("DPoP", self.dpop.proof("POST", &self.tanu.url(path), None));
        }
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The authorization request's parameters, as pushed; `extra` replaces
    /// or adds (an empty value removes).
    fn request(&self, pkce: &Pkce, extra: &[(&str, &str)]) -> Form {
        let mut p = form(&[
            ("response_type", "code"),
            ("client_id", self.client.id.as_str()),
            ("redirect_uri", CB),
            ("scope", "openid offline_access"),
            ("state", "fapi-state"),
            ("nonce", "fapi-nonce"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ]);
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                p.push((k.to_string(), v.to_string()));
            }
        }
        p
    }

    async fn push_with(&self, request: Form, auth: Form) -> (u16, Value) {
        self.post("/par", request.into_iter().chain(auth).collect()).await
    }

    async fn push(&self, pkce: &Pkce, extra: &[(&str, &str)]) -> (u16, Value) {
        self.push_with(self.request(pkce, extra), self.auth()).await
    }

    async fn pushed(&self, pkce: &Pkce) -> String {
        let (status, body) = self.push(pkce, &[]).await;
        assert_eq!(status, 201, "{body}");
        body["request_uri"].as_str().unwrap().to_string()
    }

    fn authorize(&self, client_id: &str, request_uri: &str) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("client_id", client_id).append_pair("request_uri", request_uri).finish();
        self.tanu.url(&format!("/authorize?{q}"))
    }

    /// Pushes, authorizes in a fresh browser, returns the landing and PKCE.
    async fn land(&self) -> (Landing, Pkce) {
        let pkce = Pkce::new();
        let uri = self.pushed(&pkce).await;
        (Browser::new(&self.tanu).navigate(&self.authorize(self.client.id.as_str(), &uri)).await, pkce)
    }

    async fn code(&self) -> (String, Pkce) {
        let (landing, pkce) = self.land().await;
        (landing.param("code").unwrap_or_else(|| panic!("no code: {landing:?}")), pkce)
    }

    async fn redeem_with(&self, code: &str, verifier: &str, auth: Form) -> (u16, Value) {
        let grant = form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", verifier)]);
        self.post("/token", grant.into_iter().chain(auth).collect()).await
    }

    async fn redeem(&self, code: &str, pkce: &Pkce) -> (u16, Value) {
        self.redeem_with(code, &pkce.verifier, self.auth()).await
    }

    async fn tokens(&self) -> Value {
        let (code, pkce) = self.code().await;
        let (status, body) = self.redeem(&code, &pkce).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let grant = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
        self.post("/token", grant.into_iter().chain(self.auth()).collect()).await
    }

    /// Userinfo with the DPoP scheme and a proof bound to the token (`ath`).
    async fn userinfo(&self, access_token: &str) -> u16 {
        let url = self.tanu.url("/userinfo");
        reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("DPoP {access_token}"))
            .header("DPoP", self.dpop.proof("GET", &url, Some(access_token)))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Another `fapi2` client of the same Tanu, with its own key.
    async fn second_client(&self) -> (Client, ClientKey) {
        let key = ClientKey::es256("fapi-es256-2");
        let (client, _) = self.tanu.client(CB, |c| fapi2(c, &key)).await;
        (client, key)
    }
}

/// 401 `invalid_client`, or 400 `invalid_request`: what the plan accepts
/// for a refused client authentication.
fn refused_client(status: u16, body: &Value) {
    assert!(matches!((status, body["error"].as_str()), (401, Some("invalid_client")) | (400, Some("invalid_request"))), "{status} {body}");
}

// ---------------------------------------------------------------- discovery

#[tokio::test]
async fn fapi2_sp_final_discovery_end_point_verification() {
    let f = Fapi::start().await;
    let md: Value = reqwest::get(f.tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["issuer"], f.tanu.base);
    let has = |field: &str, v: &str| md[field].as_array().unwrap_or_else(|| panic!("{field}")).iter().any(|x| x == v);
    assert!(has("token_endpoint_auth_methods_supported", "private_key_jwt"), "FAPI2-SP-FINAL-5.3.2.1-6");
    assert!(
        has("token_endpoint_auth_signing_alg_values_supported", "ES256") && has("token_endpoint_auth_signing_alg_values_supported", "PS256"),
        "FAPI2-SP-FINAL-5.4-1"
    );
    assert!(has("id_token_signing_alg_values_supported", "ES256"), "FAPI2-SP-FINAL-5.4-1");
    assert!(has("code_challenge_methods_supported", "S256"), "FAPI2-SP-FINAL-5.3.2.2-5");
    assert_eq!(md["pushed_authorization_request_endpoint"], f.tanu.url("/par"));
    assert_eq!(md["authorization_response_iss_parameter_supported"], true);
    assert_eq!(md["token_endpoint"], f.tanu.url("/token"));
    assert_eq!(md["jwks_uri"], f.tanu.url("/jwks"));
    // The profile is per client: the provider does not require PAR of every client.
    assert_eq!(md["require_pushed_authorization_requests"], false);
}

// ---------------------------------------------------------------- happy path

/// PAR (request_uri lifetime under 600 s), PKCE S256, `iss` in the
/// response (RFC 9207), a code for the pushed redirect URI, an ES256 ID token
/// that verifies against the JWKS, userinfo.
#[tokio::test]
async fn fapi2_sp_final_happy_flow() {
    let f = Fapi::start().await;
    let pkce = Pkce::new();
    let (status, pushed) = f.push(&pkce, &[]).await;
    assert_eq!(status, 201, "{pushed}");
    assert!(pushed["expires_in"].as_i64().unwrap() < 600, "FAPI 2.0 SP §5.3.2.2: request_uri lives under 600 s: {pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let landing = Browser::new(&f.tanu).navigate(&f.authorize(f.client.id.as_str(), pushed["request_uri"].as_str().unwrap())).await;
    assert_eq!(landing.param("iss").as_deref(), Some(f.tanu.base.as_str()), "RFC 9207 iss: {landing:?}");
    assert_eq!(landing.param("state").as_deref(), Some("fapi-state"));
    let url = landing.redirect();
    assert!(url.as_str().starts_with(&format!("{CB}?")), "{url}");
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let (status, tokens) = f.redeem(&code, &pkce).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["token_type"].as_str().unwrap().eq_ignore_ascii_case("dpop"), "sender-constrained: {tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, ES256, "a fapi2 client's ID tokens are ES256");
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(f.tanu.url("/jwks")).await.unwrap().json().await.unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the signing key is published");
    let mut v = jsonwebtoken::Validation::new(ES256);
    v.set_audience(&[f.client.id.as_str()]);
    v.set_issuer(&[f.tanu.base.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v).expect("signature, aud, iss").claims;
    assert_eq!(claims["nonce"], "fapi-nonce");
    assert_eq!(f.userinfo(tokens["access_token"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn fapi2_sp_final_user_rejects_authentication() {
    let f = Fapi::start().await;
    f.tanu.sign_in_as(None);
    let (landing, _) = f.land().await;
    assert_eq!(landing.param("error").as_deref(), Some("access_denied"), "{landing:?}");
    assert_eq!(landing.param("iss").as_deref(), Some(f.tanu.base.as_str()));
}

// ---------------------------------------------------------------- authorization request

/// FAPI 2.0 SP §5.3.2.2: a fapi2 client's request must be pushed. The
/// refusal goes back to the registered redirect URI with `iss`.
#[tokio::test]
async fn fapi2_sp_final_ensure_unsigned_authorization_request_without_using_par_fails() {
    let f = Fapi::start().await;
    let landing = Browser::new(&f.tanu).navigate(&authorize_url(&f.tanu, &f.client.id, CB, &Pkce::new(), &[])).await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"), "{landing:?}");
    assert_eq!(landing.param("iss").as_deref(), Some(f.tanu.base.as_str()));
    assert!(landing.param("code").is_none());
    // A standard client of the same provider is not held to it: the profile is per client.
    let (other, _) = f.tanu.client(CB, |_| {}).await;
    assert!(Browser::new(&f.tanu).navigate(&authorize_url(&f.tanu, &other.id, CB, &Pkce::new(), &[])).await.param("code").is_some());
}

#[tokio::test]
async fn fapi2_sp_final_ensure_response_type_code_id_token_fails() {
    let f = Fapi::start().await;
    let (status, body) = f.push(&Pkce::new(), &[("response_type", "code id_token")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_response_type")), "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_ensure_response_type_token_fails() {
    let f = Fapi::start().await;
    let (status, body) = f.push(&Pkce::new(), &[("response_type", "token")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_response_type")), "{body}");
    // response_mode: query only (no fragment, no form_post).
    for mode in ["fragment", "form_post"] {
        let (status, body) = f.push(&Pkce::new(), &[("response_mode", mode)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{mode}: {body}");
    }
    let (status, body) = f.push(&Pkce::new(), &[("response_mode", "query")]).await;
    assert_eq!(status, 201, "{body}");
}

/// Exact redirect URI matching: an unregistered one, or a near variant of
/// the registered one, is refused at /par.
#[tokio::test]
async fn fapi2_sp_final_ensure_registered_redirect_uri() {
    let f = Fapi::start().await;
    for uri in ["http://127.0.0.1:9/other", "http://127.0.0.1:9/cb/", "http://127.0.0.1:9/cb?x=1", "http://localhost:9/cb", "http://127.0.0.1:09/cb"] {
        let (status, body) = f.push(&Pkce::new(), &[("redirect_uri", uri)]).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{uri}: {body}");
    }
}

/// FAPI 2.0 SP §5.3.2.2: redirect_uri is required in the pushed request.
#[tokio::test]
async fn fapi2_sp_final_ensure_redirect_uri_in_authorization_request() {
    let f = Fapi::start().await;
    let (status, body) = f.push(&Pkce::new(), &[("redirect_uri", "")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
}

// ---------------------------------------------------------------- PKCE

#[tokio::test]
async fn fapi2_sp_final_par_ensure_pkce_required() {
    let f = Fapi::start().await;
    let (status, body) = f.push(&Pkce::new(), &[("code_challenge", ""), ("code_challenge_method", "")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_par_ensure_plain_pkce_rejected() {
    let f = Fapi::start().await;
    let pkce = Pkce::new();
    let (status, body) = f.push(&pkce, &[("code_challenge", &pkce.verifier), ("code_challenge_method", "plain")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_par_ensure_pkce_code_verifier_required() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let grant = form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)]);
    let (status, body) = f.post("/token", grant.into_iter().chain(f.auth()).collect()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
    // The refusal did not consume the code: with the verifier it works.
    assert_eq!(f.redeem(&code, &pkce).await.0, 200);
}

#[tokio::test]
async fn fapi2_sp_final_par_incorrect_pkce_code_verifier_rejected() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let (status, body) = f.redeem(&code, &Pkce::new()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(f.redeem(&code, &pkce).await.0, 400, "a wrong verifier burns the code");
}

// ---------------------------------------------------------------- PAR

#[tokio::test]
async fn fapi2_sp_final_par_attempt_reuse_request_uri() {
    let f = Fapi::start().await;
    let uri = f.pushed(&Pkce::new()).await;
    let browser = Browser::new(&f.tanu);
    assert!(browser.navigate(&f.authorize(f.client.id.as_str(), &uri)).await.param("code").is_some());
    let again = browser.navigate(&f.authorize(f.client.id.as_str(), &uri)).await;
    assert!(matches!(again, Landing::Page { status: 400, .. }), "{again:?}");
}

/// Expired: pushed through the store with a life already over, instead of waiting a minute.
#[tokio::test]
async fn fapi2_sp_final_par_attempt_to_use_expired_request_uri() {
    let f = Fapi::start().await;
    let params = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(f.request(&Pkce::new(), &[])).finish();
    let uri = f.tanu.app.store.push_authorization_request(&f.client.id, &params, chrono::Utc::now(), chrono::Duration::seconds(-1)).await.unwrap();
    let landing = Browser::new(&f.tanu).navigate(&f.authorize(f.client.id.as_str(), &uri)).await;
    assert!(matches!(landing, Landing::Page { status: 400, .. }), "{landing:?}");
}

#[tokio::test]
async fn fapi2_sp_final_par_ensure_request_uri_is_bound_to_client() {
    let f = Fapi::start().await;
    let uri = f.pushed(&Pkce::new()).await;
    let (other, _) = f.second_client().await;
    let landing = Browser::new(&f.tanu).navigate(&f.authorize(other.id.as_str(), &uri)).await;
    assert!(matches!(landing, Landing::Page { status: 400, .. }), "{landing:?}");
    assert!(Browser::new(&f.tanu).navigate(&f.authorize(f.client.id.as_str(), &uri)).await.param("code").is_some());
}

#[tokio::test]
async fn fapi2_sp_final_par_reject_request_uri_in_par_authorization_form_params() {
    let f = Fapi::start().await;
    let (status, body) = f.push(&Pkce::new(), &[("request_uri", "urn:ietf:params:oauth:request_uri:abc")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_par_reject_invalid_http_verb() {
    let f = Fapi::start().await;
    let status = reqwest::get(f.tanu.url("/par")).await.unwrap().status().as_u16();
    assert_eq!(status, 405);
}

// ---------------------------------------------------------------- client authentication

/// FAPI 2.0 SP §5.4.1: RS256 assertions are refused, at /par and /token,
/// even with a key the client registered; PS256 with the same key works.
#[tokio::test]
async fn fapi2_sp_final_ensure_signed_client_assertion_with_rs256_fails() {
    let f = Fapi::start().await;
    let rsa = ClientKey::rsa("fapi-rsa", 2048, None);
    let (client, _) = f.tanu.client(CB, |c| fapi2(c, &rsa)).await;
    let request = |pkce: &Pkce| {
        let mut r = f.request(pkce, &[("client_id", client.id.as_str())]);
        r.retain(|(k, _)| k != "scope");
        r.push(("scope".into(), "openid".into()));
        r
    };
    let rs256 = |f: &Fapi| f.auth_with(rsa.assertion(RS256, client.id.as_str(), json!(f.tanu.base), &[]));
    let (status, body) = f.push_with(request(&Pkce::new()), rs256(&f)).await;
    refused_client(status, &body);
    // PS256 with the same key is accepted: the algorithm was the refusal.
    let pkce = Pkce::new();
    let (status, body) = f.push_with(request(&pkce), f.auth_with(rsa.assertion(PS256, client.id.as_str(), json!(f.tanu.base), &[]))).await;
    assert_eq!(status, 201, "{body}");
    let landing = Browser::new(&f.tanu).navigate(&f.authorize(client.id.as_str(), body["request_uri"].as_str().unwrap())).await;
    let code = landing.param("code").unwrap();
    let (status, body) = f.redeem_with(&code, &pkce.verifier, rs256(&f)).await;
    refused_client(status, &body);
    let (status, body) = f.redeem_with(&code, &pkce.verifier, f.auth_with(rsa.assertion(PS256, client.id.as_str(), json!(f.tanu.base), &[]))).await;
    assert_eq!(status, 200, "{body}");
}

/// No client authentication, or a client secret, at the token endpoint.
#[tokio::test]
async fn fapi2_sp_final_ensure_client_assertion_in_token_endpoint() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let (status, body) = f.redeem_with(&code, &pkce.verifier, form(&[("client_id", f.client.id.as_str())])).await;
    refused_client(status, &body);
    let (status, body) = f.redeem_with(&code, &pkce.verifier, form(&[("client_id", f.client.id.as_str()), ("client_secret", "guess")])).await;
    refused_client(status, &body);
    let resp = reqwest::Client::new()
        .post(f.tanu.url("/token"))
        .basic_auth(f.client.id.as_str(), Some("guess"))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "client_secret_basic is refused for a fapi2 client");
    assert_eq!(f.redeem(&code, &pkce).await.0, 200, "the code was not consumed by the refusals");
}

/// client_id that is not the assertion's client.
#[tokio::test]
async fn fapi2_sp_final_ensure_client_id_in_token_endpoint() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let (other, _) = f.second_client().await;
    let mut auth = f.auth();
    auth.push(("client_id".into(), other.id.to_string()));
    let (status, body) = f.redeem_with(&code, &pkce.verifier, auth).await;
    refused_client(status, &body);
}

#[tokio::test]
async fn fapi2_sp_final_ensure_client_assertion_with_wrong_aud_fails() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!("https://elsewhere.example"), &[]);
    let (status, body) = f.redeem_with(&code, &pkce.verifier, f.auth_with(a)).await;
    refused_client(status, &body);
    // FAPI 2.0 SP §5.3.2.1-8: the token endpoint is not the issuer either.
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.url("/token")), &[]);
    let (status, body) = f.redeem_with(&code, &pkce.verifier, f.auth_with(a)).await;
    refused_client(status, &body);
    assert_eq!(f.redeem(&code, &pkce).await.0, 200);
}

#[tokio::test]
async fn fapi2_sp_final_par_token_endpoint_as_audience_fails() {
    let f = Fapi::start().await;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.url("/token")), &[]);
    let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
    refused_client(status, &body);
}

#[tokio::test]
async fn fapi2_sp_final_par_endpoint_as_audience_fails() {
    let f = Fapi::start().await;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.url("/par")), &[]);
    let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
    refused_client(status, &body);
}

/// Even an array holding only the issuer: the issuer must be a string.
#[tokio::test]
async fn fapi2_sp_final_par_endpoint_as_array_audience_fails() {
    let f = Fapi::start().await;
    for aud in [json!([f.tanu.url("/par")]), json!([f.tanu.base.clone()]), json!([f.tanu.base.clone(), f.tanu.url("/par")])] {
        let a = f.key.assertion(ES256, f.client.id.as_str(), aud.clone(), &[]);
        let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
        refused_client(status, &body);
    }
    let (status, body) = f.push(&Pkce::new(), &[]).await;
    assert_eq!(status, 201, "the issuer as a string: {body}");
}

#[tokio::test]
async fn fapi2_sp_final_ensure_client_assertion_with_exp_is_5_minutes_in_past_fails() {
    let f = Fapi::start().await;
    let past = chrono::Utc::now().timestamp() - 300;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.base), &[("exp", json!(past)), ("iat", json!(past - 60))]);
    let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
    refused_client(status, &body);
}

#[tokio::test]
async fn fapi2_sp_final_ensure_client_assertion_with_no_sub_fails() {
    let f = Fapi::start().await;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.base), &[("sub", Value::Null)]);
    let mut auth = f.auth_with(a);
    auth.push(("client_id".into(), f.client.id.to_string()));
    let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), auth).await;
    refused_client(status, &body);
}

#[tokio::test]
async fn fapi2_sp_final_par_ensure_jwt_client_assertion_with_iat_nbf_8_seconds_in_the_future_is_accepted() {
    let f = Fapi::start().await;
    let soon = chrono::Utc::now().timestamp() + 8;
    let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.base), &[("iat", json!(soon)), ("nbf", json!(soon)), ("exp", json!(soon + 60))]);
    let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_par_ensure_jwt_client_assertion_with_iat_nbf_over_60_seconds_in_the_future_fails() {
    let f = Fapi::start().await;
    let later = chrono::Utc::now().timestamp() + 70;
    for claims in [vec![("iat", json!(later)), ("exp", json!(later + 60))], vec![("nbf", json!(later)), ("exp", json!(later + 60))]] {
        let a = f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.base), &claims);
        let (status, body) = f.push_with(f.request(&Pkce::new(), &[]), f.auth_with(a)).await;
        refused_client(status, &body);
    }
}

/// /revoke and /introspect hold a fapi2 client to the same authentication:
/// RS256, a token-endpoint aud or a client secret are refused there too.
#[tokio::test]
async fn fapi2_profile_revoke_and_introspect_need_the_profiles_client_authentication() {
    let f = Fapi::start().await;
    let tokens = f.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let rsa = ClientKey::rsa("fapi-rsa", 2048, None);
    let (rsa_client, _) = f.tanu.client(CB, |c| fapi2(c, &rsa)).await;
    for path in ["/introspect", "/revoke"] {
        let body = |auth: Form| form(&[("token", access)]).into_iter().chain(auth).collect::<Form>();
        let (status, answer) = f.post(path, body(f.auth_with(f.key.assertion(ES256, f.client.id.as_str(), json!(f.tanu.url("/token")), &[])))).await;
        refused_client(status, &answer);
        let (status, answer) = f.post(path, body(f.auth_with(rsa.assertion(RS256, rsa_client.id.as_str(), json!(f.tanu.base), &[])))).await;
        refused_client(status, &answer);
        let (status, answer) = f.post(path, body(form(&[("client_id", f.client.id.as_str()), ("client_secret", "guess")]))).await;
        refused_client(status, &answer);
    }
    let (status, answer) = f.post("/introspect", form(&[("token", access)]).into_iter().chain(f.auth()).collect()).await;
    assert_eq!((status, answer["active"].as_bool()), (200, Some(true)), "{answer}");
    let (status, _) = f.post("/revoke", form(&[("token", access)]).into_iter().chain(f.auth()).collect()).await;
    assert_eq!(status, 200);
    assert_eq!(f.userinfo(access).await, 401, "revoked");
}

// ---------------------------------------------------------------- token endpoint

#[tokio::test]
async fn fapi2_sp_final_ensure_authorization_code_is_bound_to_client() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let (other, other_key) = f.second_client().await;
    let a = other_key.assertion(ES256, other.id.as_str(), json!(f.tanu.base), &[]);
    let (status, body) = f.redeem_with(&code, &pkce.verifier, f.auth_with(a)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn fapi2_sp_final_attempt_reuse_authorization_code_after_one_second() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let (status, tokens) = f.redeem(&code, &pkce).await;
    assert_eq!(status, 200, "{tokens}");
    f.tanu.app.clock.advance(std::time::Duration::from_secs(1));
    let (status, body) = f.redeem(&code, &pkce).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(f.userinfo(tokens["access_token"].as_str().unwrap()).await, 401, "a replayed code revokes what it gave");
}

/// FAPI 2.0 SP §5.3.2.1-11: a fapi2 client's codes live 60 s at most, even
/// where the provider is configured for 600 s (a standard client there gets
/// 600 s). The expiry itself without waiting: the code's row is moved 61 s
/// into the past, as if the clock had run.
#[tokio::test]
async fn fapi2_sp_final_ensure_token_endpoint_fails_with_expired_auth_code() {
    let f = Fapi::start_with(|c| c.authorization_code_ttl = 600).await;
    let (code, pkce) = f.code().await;
    let db = f.tanu.app.store.raw_connection();
    let row = authorization_code::Entity::find_by_id(tanu_idp::crypto::token_hash(&code)).one(db).await.unwrap().unwrap();
    assert_eq!((row.expires_at - row.created_at).num_seconds(), 60, "capped at 60 s for the profile");
    let (standard, secret) = f.tanu.client(CB, |_| {}).await;
    let std_code = Browser::new(&f.tanu).navigate(&authorize_url(&f.tanu, &standard.id, CB, &Pkce::new(), &[])).await.param("code").unwrap();
    let std_row = authorization_code::Entity::find_by_id(tanu_idp::crypto::token_hash(&std_code)).one(db).await.unwrap().unwrap();
    assert_eq!((std_row.expires_at - std_row.created_at).num_seconds(), 600, "the global setting for a standard client");
    drop(secret);

    let past = chrono::Duration::seconds(61);
    authorization_code::Entity::update_many()
        .col_expr(authorization_code::Column::CreatedAt, sea_orm::sea_query::Expr::value(row.created_at - past))
        .col_expr(authorization_code::Column::ExpiresAt, sea_orm::sea_query::Expr::value(row.expires_at - past))
        .filter(authorization_code::Column::CodeHash.eq(row.code_hash.clone()))
        .exec(db)
        .await
        .unwrap();
    let (status, body) = f.redeem(&code, &pkce).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

/// FAPI 2.0 SP §5.3.2.1-9: the refresh token is not rotated — the same one
/// comes back, and a retry with it after a lost response succeeds; it is
/// bound to its client; revoking it ends the grant.
#[tokio::test]
async fn fapi2_sp_final_refresh_token() {
    let f = Fapi::start().await;
    let tokens = f.tokens().await;
    let rt = tokens["refresh_token"].as_str().expect("offline_access gives a refresh token");
    let (status, first) = f.refresh(rt).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["refresh_token"], rt, "not rotated");
    assert_ne!(first["access_token"], tokens["access_token"]);
    assert_eq!(jwt_claims(first["id_token"].as_str().unwrap())["sub"], jwt_claims(tokens["id_token"].as_str().unwrap())["sub"]);
    // The response was "lost": the client retries with the same token.
    let (status, again) = f.refresh(rt).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(f.userinfo(first["access_token"].as_str().unwrap()).await, 200, "the earlier access token is not revoked by a retry");
    // Another client cannot use it.
    let (other, other_key) = f.second_client().await;
    let grant = form(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let a = other_key.assertion(ES256, other.id.as_str(), json!(f.tanu.base), &[]);
    let (status, body) = f.post("/token", grant.into_iter().chain(f.auth_with(a)).collect()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // Revoked, it ends the grant.
    let (status, _) = f.post("/revoke", form(&[("token", rt), ("token_type_hint", "refresh_token")]).into_iter().chain(f.auth()).collect()).await;
    assert_eq!(status, 200);
    let (status, body) = f.refresh(rt).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(f.userinfo(again["access_token"].as_str().unwrap()).await, 401);
}

/// A standard client's refresh tokens still rotate, and a reused one still
/// ends the grant: the fapi2 rule is the profile's alone.
#[tokio::test]
async fn fapi2_profile_leaves_standard_clients_rotating_refresh_tokens() {
    let s = Scenario::start(CB).await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let tokens = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = refresh(&s.tanu, &s.client.id, &s.secret, rt).await;
    assert_eq!(status, 200);
    assert_ne!(rotated["refresh_token"], rt);
    assert_eq!(refresh(&s.tanu, &s.client.id, &s.secret, rt).await.0, 400);
}

/// FAPI 2.0 SP §5.3.2.1: sender-constrained tokens only. A token request
/// without a DPoP proof is refused (and does not burn the code), and a
/// bearer use of the bound token is refused at userinfo.
#[tokio::test]
async fn fapi2_sp_final_ensure_holder_of_key_required() {
    let f = Fapi::start().await;
    let (code, pkce) = f.code().await;
    let grant = form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &pkce.verifier)]);
    let (status, body) = f.post_with("/token", grant.into_iter().chain(f.auth()).collect(), false).await;
    assert_eq!(status, 400, "no DPoP proof: {body}");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    let (status, tokens) = f.redeem(&code, &pkce).await;
    assert_eq!(status, 200, "the refused request left the code: {tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let bearer = reqwest::Client::new().get(f.tanu.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(bearer.status(), 401, "a bound token used as a bearer token");
    assert_eq!(f.userinfo(access).await, 200);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refresh = form(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let (status, body) = f.post_with("/token", refresh.into_iter().chain(f.auth()).collect(), false).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_dpop_proof")), "a refresh without a proof: {body}");
}

// ---------------------------------------------------------------- registration

/// What registration refuses for the profile, and what it stores.
#[tokio::test]
async fn fapi2_profile_registration_refuses_secrets_rs256_and_weak_keys() {
    let tanu = Tanu::start().await;
    let key = ClientKey::es256("k");
    let register = |tweak: Box<dyn FnOnce(&mut NewClient)>| {
        let mut new = NewClient::new("Bank", vec![CB.parse().unwrap()]);
        fapi2(&mut new, &key);
        tweak(&mut new);
        let store = tanu.app.store.clone();
        let secrets = tanu.app.client_secrets.clone();
        async move { store.register_client(new, &secrets).await.map(|r| r.client).map_err(|e| e.to_string()) }
    };
    let refused = |r: Result<Client, String>, what: &str| assert!(r.is_err(), "{what} must be refused");
    refused(
        register(Box::new(|c| {
            c.auth_method = TokenAuthMethod::ClientSecretBasic;
            c.jwks = None;
        }))
        .await,
        "client_secret_basic",
    );
    refused(register(Box::new(|c| c.auth_method = TokenAuthMethod::ClientSecretPost)).await, "client_secret_post");
    refused(register(Box::new(|c| c.id_token_alg = SigningAlg::Rs256)).await, "RS256 ID tokens");
    let rs256_key = ClientKey::rsa("rs", 2048, Some("RS256"));
    refused(register(Box::new(move |c| c.jwks = Some(rs256_key.jwks.clone().into()))).await, "a key for RS256 assertions");
    let small = ClientKey::rsa("small", 1024, Some("PS256"));
    refused(register(Box::new(move |c| c.jwks = Some(small.jwks.clone().into()))).await, "an RSA key under 2048 bits");
    refused(register(Box::new(|c| c.jwks = None)).await, "no keys");
    // https only for a production client; http on loopback only in the sandbox.
    refused(
        register(Box::new(|c| {
            c.environment = Environment::Production;
        }))
        .await,
        "http redirect URI in production",
    );
    refused(register(Box::new(|c| c.redirect_uris = vec!["http://bank.example.kz/cb".parse().unwrap()])).await, "http on a public host");
    let prod = register(Box::new(|c| {
        c.environment = Environment::Production;
        c.redirect_uris = vec!["https://bank.example.kz/cb".parse().unwrap()];
    }))
    .await
    .expect("https in production");
    assert_eq!(prod.profile, ClientProfile::Fapi2);
    let ps256_key = ClientKey::rsa("ps", 2048, Some("PS256"));
    let ok = register(Box::new(move |c| c.jwks = Some(ps256_key.jwks.clone().into()))).await.expect("a PS256 key, sandbox loopback");
    assert!(ok.require_pushed_authorization_requests && ok.requires_par(), "the profile implies PAR, and says so");
    let shown = tanu_idp::cli::clients::client_json(&ok);
    assert_eq!(shown["profile"], "fapi2");
    assert_eq!(shown["require_pushed_authorization_requests"], true);
    assert_eq!(shown["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(shown["id_token_signed_response_alg"], "ES256");
    // Read back from the store, the profile survives.
    let stored = tanu.app.store.client(&ok.id).await.unwrap().unwrap();
    assert_eq!(stored.profile, ClientProfile::Fapi2);
    let (standard, _) = tanu.client(CB, |_| {}).await;
    assert_eq!(tanu_idp::cli::clients::client_json(&standard)["profile"], "standard");
}
