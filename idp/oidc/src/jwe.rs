//! Responses encrypted to a relying party (OIDC Core §10.2, §16.14): an ID
//! token or a userinfo JWT, signed by Tanu first, then encrypted to the
//! client's registered key as a nested JWT (`cty: "JWT"`, RFC 7519 §5.2).
//! The JWE itself is `josekit`'s (RFC 7516 compact serialization); this
//! module only chooses the key (`ClientJwks::encryption_key`, the rules
//! there) and the algorithms the client registered.
use josekit::jwe::{JweEncrypter, JweHeader, ECDH_ES, RSA_OAEP_256};

use crate::{
    domain::{Encryption, KeyEncryptionAlg},
    store::ClientJwks,
};

#[derive(Debug, thiserror::Error)]
pub enum JweError {
    /// Registration checks that a key exists; this is a set changed since, or unusable.
    #[error("the client has no usable key for {0}")]
    NoKey(KeyEncryptionAlg),
    #[error("encryption: {0}")]
    Jose(#[from] josekit::JoseError),
}

/// Encrypts the compact JWS `jws` to the client's key for `e`.
pub fn nest(jwks: Option<&ClientJwks>, e: Encryption, jws: &str) -> Result<String, JweError> {
    let key = jwks.and_then(|j| j.encryption_key(e.alg)).ok_or(JweError::NoKey(e.alg))?;
    let map = key.as_object().cloned().ok_or(JweError::NoKey(e.alg))?;
    let jwk = josekit::jwk::Jwk::from_map(map)?;
    let encrypter: Box<dyn JweEncrypter> = match e.alg {
        KeyEncryptionAlg::RsaOaep256 => Box::new(RSA_OAEP_256.encrypter_from_jwk(&jwk)?),
        KeyEncryptionAlg::EcdhEs => Box::new(ECDH_ES.encrypter_from_jwk(&jwk)?),
    };
    let mut header = JweHeader::new();
    header.set_content_encryption(e.enc.as_str());
    header.set_content_type("JWT");
    if let Some(kid) = jwk.key_id() {
        header.set_key_id(kid);
    }
    Ok(josekit::jwe::serialize_compact(jws.as_bytes(), &header, &*encrypter)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContentEncryption;
    use josekit::jwe::{JweDecrypter, ECDH_ES, RSA_OAEP_256};

    fn jwks_of(public: &josekit::jwk::Jwk) -> ClientJwks {
        let v = serde_json::Value::Object(public.as_ref().clone());
        ClientJwks::parse(serde_json::json!({ "keys": [v] })).expect("a public set")
    }

    fn round_trip(alg: KeyEncryptionAlg, enc: ContentEncryption) {
        let mut private = match alg {
            KeyEncryptionAlg::RsaOaep256 => josekit::jwk::Jwk::generate_rsa_key(2048).expect("RSA"),
            KeyEncryptionAlg::EcdhEs => josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).expect("EC"),
        };
        private.set_key_id("rp-enc");
        let mut public = private.to_public_key().expect("public part");
        public.set_key_id("rp-enc"); // to_public_key keeps only the key material and `use`
        let jwe = nest(Some(&jwks_of(&public)), Encryption { alg, enc }, "a.b.c").expect("encrypts");
        assert_eq!(jwe.split('.').count(), 5, "compact JWE");
        let decrypter: Box<dyn JweDecrypter> = match alg {
            KeyEncryptionAlg::RsaOaep256 => Box::new(RSA_OAEP_256.decrypter_from_jwk(&private).expect("decrypter")),
            KeyEncryptionAlg::EcdhEs => Box::new(ECDH_ES.decrypter_from_jwk(&private).expect("decrypter")),
        };
        let (payload, header) = josekit::jwe::deserialize_compact(&jwe, &*decrypter).expect("decrypts");
        assert_eq!(payload, b"a.b.c");
        assert_eq!(header.algorithm(), Some(alg.as_str()));
        assert_eq!(header.content_encryption(), Some(enc.as_str()));
        assert_eq!(header.content_type(), Some("JWT"), "a nested JWT says so");
        assert_eq!(header.key_id(), Some("rp-enc"));
    }

    #[test]
    fn nested_jwts_decrypt_with_the_clients_private_key() {
        for enc in [ContentEncryption::A256Gcm, ContentEncryption::A128CbcHs256] {
            round_trip(KeyEncryptionAlg::RsaOaep256, enc);
            round_trip(KeyEncryptionAlg::EcdhEs, enc);
        }
    }

    #[test]
    fn no_key_for_the_algorithm_is_an_error_not_a_plain_token() {
        let ec = josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).expect("EC").to_public_key().expect("public");
        let e = Encryption { alg: KeyEncryptionAlg::RsaOaep256, enc: ContentEncryption::A256Gcm };
        assert!(matches!(nest(Some(&jwks_of(&ec)), e, "a.b.c"), Err(JweError::NoKey(_))));
        assert!(matches!(nest(None, e, "a.b.c"), Err(JweError::NoKey(_))));
    }
}
