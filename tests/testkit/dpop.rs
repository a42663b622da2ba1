//! DPoP (RFC 9449) proofs for tests: a key, its thumbprint, and proofs built
//! by hand (any header, any claims), signed with `jsonwebtoken`.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A client's DPoP key pair.
pub struct DpopKey {
    enc: EncodingKey,
    /// The public JWK.
    pub jwk: Value,
    pub alg: Algorithm,
}

impl DpopKey {
    pub fn es256() -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = sk.to_pkcs8_pem(Default::default()).unwrap();
        Self {
            enc: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwk: serde_json::from_str(&sk.public_key().to_jwk_string()).unwrap(),
            alg: Algorithm::ES256,
        }
    }

    /// A P-256 key whose JWK also carries its private part `d` (a client mistake Tanu must refuse).
    pub fn es256_leaking_private_part() -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = sk.to_pkcs8_pem(Default::default()).unwrap();
        let jwk: Value = serde_json::from_str(&sk.to_jwk_string()).unwrap();
        assert!(jwk.get("d").is_some());
        Self { enc: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(), jwk, alg: Algorithm::ES256 }
    }

    /// A symmetric key, HS256: never a DPoP key.
    pub fn hs256() -> Self {
        let secret = b"a shared secret, not a key pair!";
        Self { enc: EncodingKey::from_secret(secret), jwk: json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)}), alg: Algorithm::HS256 }
    }

    /// RFC 7638 SHA-256 thumbprint (what Tanu binds tokens to).
    pub fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
        jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
    }

    fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::ES256 => "ES256",
            Algorithm::HS256 => "HS256",
            Algorithm::PS256 => "PS256",
            _ => "RS256",
        }
    }

    /// The standard header: `typ: dpop+jwt`, this key's `alg` and `jwk`.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg_name(), "jwk": self.jwk})
    }

    /// A proof with exactly `header` and `claims`, signed by this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = jsonwebtoken::crypto::sign(format!("{h}.{c}").as_bytes(), &self.enc, self.alg).unwrap();
        format!("{h}.{c}.{sig}")
    }

    /// A proof for `htm` `htu` now, with a fresh `jti`; `ath` of `token` when given.
    pub fn proof(&self, htm: &str, htu: &str, token: Option<&str>) -> String {
        self.sign(&self.header(), &claims(htm, htu, token))
    }

    /// [`DpopKey::proof`] with the server's `nonce`.
    pub fn proof_with_nonce(&self, htm: &str, htu: &str, token: Option<&str>, nonce: &str) -> String {
        let mut c = claims(htm, htu, token);
        c["nonce"] = nonce.into();
        self.sign(&self.header(), &c)
    }
}

/// The claims of a proof made now: a fresh `jti`, `htm`, `htu`, `iat`, and `ath` of `token`.
pub fn claims(htm: &str, htu: &str, token: Option<&str>) -> Value {
    let mut c = json!({"jti": tanu_idp::crypto::random_token(16), "htm": htm, "htu": htu, "iat": chrono::Utc::now().timestamp()});
    if let Some(t) = token {
        c["ath"] = ath(t).into();
    }
    c
}

/// base64url(SHA-256(token)).
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
