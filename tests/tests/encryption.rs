//! Encrypted responses (issue 15; OIDC Core §10.2, §5.3.2; Registration §2):
//! ID tokens and userinfo JWTs signed by Tanu, then encrypted to the key the
//! client registered, as nested JWTs. Each test decrypts with the client's
//! private key and verifies the inner signature against `/jwks`; the attacks
//! are the registrations that must be refused and the responses that must
//! never fall back to plain text. (openid-client's own decryption is in
//! interop.rs, `node_openid_client_v6_encrypted_responses`.)
use josekit::{
    jwe::{JweDecrypter, ECDH_ES, RSA_OAEP_256},
    jwk::Jwk,
};
use serde_json::{json, Value};
use tanu_idp::{
    domain::{ContentEncryption, Encryption, KeyEncryptionAlg, SigningAlg},
    store::{ClientJwks, NewClient},
};
use tanu_tests::*;

const CB: &str = "http://127.0.0.1:9/callback";

/// A client's encryption key pair: the private half stays with the "client".
struct EncKey {
    private: Jwk,
    alg: KeyEncryptionAlg,
}

impl EncKey {
    fn new(alg: KeyEncryptionAlg) -> Self {
        let mut private = match alg {
            KeyEncryptionAlg::RsaOaep256 => Jwk::generate_rsa_key(2048).unwrap(),
            KeyEncryptionAlg::EcdhEs => Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap(),
        };
        private.set_key_id(format!("rp-enc-{alg}"));
        private.set_key_use("enc");
        private.set_algorithm(alg.as_str());
        EncKey { private, alg }
    }
    /// The public half as the client registers it (`to_public_key` keeps
    /// only the key material and `use`: the `kid` and `alg` are set again).
    fn public(&self) -> Value {
        let mut public = self.private.to_public_key().unwrap();
        public.set_key_id(self.private.key_id().unwrap());
        public.set_algorithm(self.alg.as_str());
        Value::Object(public.as_ref().clone())
    }
    fn jwks(&self) -> ClientJwks {
        ClientJwks::parse(json!({ "keys": [self.public()] })).unwrap()
    }
    /// Decrypts a compact JWE; returns the payload and the JWE header.
    fn open(&self, jwe: &str) -> (String, josekit::jwe::JweHeader) {
        let d: Box<dyn JweDecrypter> = match self.alg {
            KeyEncryptionAlg::RsaOaep256 => Box::new(RSA_OAEP_256.decrypter_from_jwk(&self.private).unwrap()),
            KeyEncryptionAlg::EcdhEs => Box::new(ECDH_ES.decrypter_from_jwk(&self.private).unwrap()),
        };
        let (payload, header) = josekit::jwe::deserialize_compact(jwe, &*d).expect("decrypts with the client's key");
        (String::from_utf8(payload).unwrap(), header)
    }
}

/// Verifies a compact JWS against Tanu's published keys; returns its claims.
async fn verified(tanu: &Tanu, jws: &str, audience: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(tanu.url("/jwks")).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(jws).expect("a JWS inside");
    let key = jwks.find(header.kid.as_deref().expect("kid")).expect("a published key");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_issuer(&[tanu.base.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(jws, &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(), &v).expect("signed by Tanu").claims
}

async fn scenario(key: &EncKey, tweak: impl FnOnce(&mut NewClient)) -> Scenario {
    let jwks = key.jwks();
    let s = Scenario::start_with(
        CB,
        |_| {},
        |c| {
            c.jwks = Some(jwks);
            tweak(c);
        },
    )
    .await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile iin").await;
    s
}

#[tokio::test]
async fn discovery_advertises_response_encryption() {
    let tanu = Tanu::start().await;
    let md: Value = reqwest::get(tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["id_token_encryption_alg_values_supported"], json!(["RSA-OAEP-256", "ECDH-ES"]));
    assert_eq!(md["id_token_encryption_enc_values_supported"], json!(["A256GCM", "A128CBC-HS256"]));
    assert_eq!(md["userinfo_signing_alg_values_supported"], json!(["RS256", "ES256"]));
    assert_eq!(md["userinfo_encryption_alg_values_supported"], json!(["RSA-OAEP-256", "ECDH-ES"]));
    assert_eq!(md["userinfo_encryption_enc_values_supported"], json!(["A256GCM", "A128CBC-HS256"]));
}

/// Both algorithms, both content encryptions: the token response's
/// `id_token` is a JWE (five parts) that opens, with the client's private
/// key only, to Tanu's signed ID token for this client, nonce included.
#[tokio::test]
async fn id_tokens_are_signed_then_encrypted_to_the_clients_key() {
    for (alg, enc, sig) in [
        (KeyEncryptionAlg::RsaOaep256, ContentEncryption::A256Gcm, SigningAlg::Rs256),
        (KeyEncryptionAlg::EcdhEs, ContentEncryption::A128CbcHs256, SigningAlg::Es256),
    ] {
        let key = EncKey::new(alg);
        let s = scenario(&key, |c| {
            c.id_token_encryption = Some(Encryption { alg, enc });
            c.id_token_alg = sig;
        })
        .await;
        let tokens = s.tokens(&s.browser(), &[("nonce", "n-enc")]).await;
        let jwe = tokens["id_token"].as_str().expect("an id_token");
        assert_eq!(jwe.split('.').count(), 5, "a compact JWE, not a JWS: {jwe}");
        let (inner, header) = key.open(jwe);
        assert_eq!(header.algorithm(), Some(alg.as_str()));
        assert_eq!(header.content_encryption(), Some(enc.as_str()));
        assert_eq!(header.content_type(), Some("JWT"), "a nested JWT (RFC 7519 §5.2)");
        assert_eq!(header.key_id(), key.private.key_id(), "the client's key is named");
        assert_eq!(format!("{:?}", jsonwebtoken::decode_header(&inner).unwrap().alg), sig.as_str(), "signed with the registered algorithm");
        let claims = verified(&s.tanu, &inner, s.client.id.as_str()).await;
        assert_eq!(claims["nonce"], "n-enc");
        assert_eq!(claims["sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
        // Another key cannot open it.
        let stranger = EncKey::new(alg);
        let d: Box<dyn JweDecrypter> = match alg {
            KeyEncryptionAlg::RsaOaep256 => Box::new(RSA_OAEP_256.decrypter_from_jwk(&stranger.private).unwrap()),
            KeyEncryptionAlg::EcdhEs => Box::new(ECDH_ES.decrypter_from_jwk(&stranger.private).unwrap()),
        };
        assert!(josekit::jwe::deserialize_compact(jwe, &*d).is_err(), "only the client's key opens it");
    }
}

/// Userinfo for a client registered for it: `application/jwt`, signed with
/// `iss` and `aud`, and encrypted when registered so; the claims are the
/// grant's. A client registered for nothing still gets JSON.
#[tokio::test]
async fn userinfo_answers_as_a_signed_and_encrypted_jwt() {
    let key = EncKey::new(KeyEncryptionAlg::EcdhEs);
    let s = scenario(&key, |c| {
        c.userinfo_alg = Some(SigningAlg::Es256);
        c.userinfo_encryption = Some(Encryption { alg: KeyEncryptionAlg::EcdhEs, enc: ContentEncryption::A256Gcm });
    })
    .await;
    let tokens = s.tokens(&s.browser(), &[("scope", "openid profile iin")]).await;
    assert_eq!(tokens["id_token"].as_str().unwrap().split('.').count(), 3, "ID tokens stay signed only: not registered for encryption");
    let resp = reqwest::Client::new().get(s.tanu.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = resp.text().await.unwrap();
    let (inner, header) = key.open(&body);
    assert_eq!(header.content_type(), Some("JWT"));
    let claims = verified(&s.tanu, &inner, s.client.id.as_str()).await;
    assert_eq!(claims["iin"], "900517300124");
    assert_eq!(claims["given_name"], "Aigerim");

    // Signed only.
    let signed = scenario(&EncKey::new(KeyEncryptionAlg::RsaOaep256), |c| c.userinfo_alg = Some(SigningAlg::Rs256)).await;
    let tokens = signed.tokens(&signed.browser(), &[("scope", "openid profile")]).await;
    let resp = reqwest::Client::new().get(signed.tanu.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/jwt");
    let jws = resp.text().await.unwrap();
    assert_eq!(jws.split('.').count(), 3);
    let claims = verified(&signed.tanu, &jws, signed.client.id.as_str()).await;
    assert_eq!(claims["family_name"], "Seitkali");
    assert!(claims.get("iin").is_none(), "only the grant's scopes");
}

/// A refresh of an encrypted client's grant gives an encrypted ID token too.
#[tokio::test]
async fn refreshed_id_tokens_are_encrypted_too() {
    let key = EncKey::new(KeyEncryptionAlg::RsaOaep256);
    let s = scenario(&key, |c| c.id_token_encryption = Some(Encryption { alg: KeyEncryptionAlg::RsaOaep256, enc: ContentEncryption::A256Gcm })).await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let tokens = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let rt = tokens["refresh_token"].as_str().expect("a refresh token for offline_access");
    let (status, refreshed) = refresh(&s.tanu, &s.client.id, &s.secret, rt).await;
    assert_eq!(status, 200, "{refreshed}");
    let jwe = refreshed["id_token"].as_str().unwrap();
    assert_eq!(jwe.split('.').count(), 5);
    let (inner, _) = key.open(jwe);
    assert_eq!(verified(&s.tanu, &inner, s.client.id.as_str()).await["sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
}

/// The attacks on registration: encryption to a key the client did not
/// register (none, a signature key only, a key of the other type, a key for
/// another algorithm), a private key in the set, encrypted userinfo without
/// a signature — each refused, nothing stored.
#[tokio::test]
async fn registration_refuses_encryption_without_a_registered_key() {
    let tanu = Tanu::start().await;
    let register = |tweak: Box<dyn FnOnce(&mut NewClient)>| {
        let tanu = &tanu;
        async move {
            let mut c = NewClient::new("Enc RP", vec![CB.parse().unwrap()]);
            tweak(&mut c);
            tanu.app.store.register_client(c, &tanu.app.client_secrets).await.map(|r| r.client)
        }
    };
    let rsa_oaep = Some(Encryption { alg: KeyEncryptionAlg::RsaOaep256, enc: ContentEncryption::A256Gcm });
    let ecdh = Some(Encryption { alg: KeyEncryptionAlg::EcdhEs, enc: ContentEncryption::A256Gcm });
    let refused = |r: Result<_, tanu_idp::store::StoreError>, why: &str| {
        let e = r.err().unwrap_or_else(|| panic!("registered although {why}"));
        assert!(e.to_string().contains("encrypt"), "{why}: {e}");
    };
    refused(register(Box::new(move |c| c.id_token_encryption = rsa_oaep)).await, "no JWKS at all");
    let sig_only = ClientKey::es256("rp-sig");
    let sig_jwks: ClientJwks = sig_only.jwks.clone().into();
    refused(
        register(Box::new(move |c| {
            c.jwks = Some(sig_jwks);
            c.id_token_encryption = ecdh;
        }))
        .await,
        "a signature key only",
    );
    let ec = EncKey::new(KeyEncryptionAlg::EcdhEs).jwks();
    refused(
        register(Box::new(move |c| {
            c.jwks = Some(ec);
            c.id_token_encryption = rsa_oaep;
        }))
        .await,
        "an EC key for RSA-OAEP-256",
    );
    let mut other = EncKey::new(KeyEncryptionAlg::EcdhEs).public();
    other["alg"] = json!("ECDH-ES+A256KW");
    let other = ClientJwks::parse(json!({ "keys": [other] })).unwrap();
    refused(
        register(Box::new(move |c| {
            c.jwks = Some(other);
            c.id_token_encryption = ecdh;
        }))
        .await,
        "a key registered for another algorithm",
    );
    let ec = EncKey::new(KeyEncryptionAlg::EcdhEs).jwks();
    refused(
        register(Box::new(move |c| {
            c.jwks = Some(ec);
            c.userinfo_encryption = ecdh;
        }))
        .await,
        "encrypted userinfo without a signing algorithm",
    );
    let private = Value::Object(EncKey::new(KeyEncryptionAlg::EcdhEs).private.as_ref().clone());
    assert!(ClientJwks::parse(json!({ "keys": [private] })).is_err(), "a private key is not registered");
    let clients = tanu.app.store.clients().await.unwrap();
    assert!(!clients.iter().any(|c| c.name == "Enc RP"), "nothing stored");

    // The same set, the right algorithm: registered, and what was registered is kept verbatim.
    let mut named = EncKey::new(KeyEncryptionAlg::EcdhEs).public();
    named["alg"] = json!("ECDH-ES");
    let kept = ClientJwks::parse(json!({ "keys": [named] })).unwrap();
    let c = register(Box::new(move |c| {
        c.jwks = Some(kept);
        c.id_token_encryption = ecdh;
    }))
    .await
    .expect("an ECDH-ES key for ECDH-ES");
    let again = tanu.app.store.client(&c.id).await.unwrap().unwrap();
    assert_eq!(again.jwks.unwrap().raw()["keys"][0]["alg"], "ECDH-ES", "the JWKS as registered, not as jsonwebtoken reads it");
    assert_eq!(again.id_token_encryption, ecdh);
}
