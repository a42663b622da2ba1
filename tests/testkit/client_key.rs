//! A relying party's `private_key_jwt` key (RFC 7523): the public JWK Set it
//! registers, its private JWK for relying parties in other languages, and
//! client assertions signed with it.
use serde_json::{json, Value};

pub struct ClientKey {
    /// The public keys, as registered.
    pub jwks: jsonwebtoken::jwk::JwkSet,
    /// The private key as a JWK (EC keys only), for `openid-client`.
    pub private_jwk: Option<String>,
    pub kid: String,
    encoding: jsonwebtoken::EncodingKey,
}

impl ClientKey {
    /// A P-256 key for ES256 assertions.
    pub fn es256(kid: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let mut public: Value = serde_json::from_str(&secret.public_key().to_jwk_string()).unwrap();
        public["kid"] = json!(kid);
        public["use"] = json!("sig");
        public["alg"] = json!("ES256");
        let mut private: Value = serde_json::from_str(&secret.to_jwk_string()).unwrap();
        private["kid"] = json!(kid);
        let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
        Self {
            jwks: serde_json::from_value(json!({ "keys": [public] })).unwrap(),
            private_jwk: Some(private.to_string()),
            kid: kid.into(),
            encoding: jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        }
    }

    /// An RSA key of `bits` for RS256 or PS256 assertions; `alg`, if given,
    /// is the JWK's `alg` member.
    pub fn rsa(kid: &str, bits: usize, alg: Option<&str>) -> Self {
        use rsa::{pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).unwrap();
        let b64 = |b: Vec<u8>| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
        let mut public = json!({ "kty": "RSA", "kid": kid, "use": "sig", "n": b64(key.n().to_bytes_be()), "e": b64(key.e().to_bytes_be()) });
        if let Some(alg) = alg {
            public["alg"] = json!(alg);
        }
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        Self {
            jwks: serde_json::from_value(json!({ "keys": [public] })).unwrap(),
            private_jwk: None,
            kid: kid.into(),
            encoding: jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        }
    }

    /// A client assertion for `client_id` with `aud`, fresh `jti`, `iat`
    /// now and `exp` a minute on; `extra` claims replace or add members
    /// (`Value::Null` removes one).
    pub fn assertion(&self, alg: jsonwebtoken::Algorithm, client_id: &str, aud: Value, extra: &[(&str, Value)]) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
            "jti": tanu_idp::crypto::random_token(12),
        });
        for (k, v) in extra {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(*k);
            } else {
                claims[*k] = v.clone();
            }
        }
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}
