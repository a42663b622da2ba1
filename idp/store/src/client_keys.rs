//! A client's public JWK Set as it registered it: signature keys (for
//! `private_key_jwt`) and encryption keys (for encrypted ID tokens and
//! userinfo responses).
//!
//! The set is kept **verbatim**: `jsonwebtoken` parses the signature keys,
//! but it reads an `alg` it does not know (such as `"ECDH-ES"`) as
//! `UNKNOWN_ALGORITHM` and would write that back, so the JSON the client
//! gave is what is stored and what encryption keys are chosen from.
use jsonwebtoken::jwk::{JwkSet, PublicKeyUse};
use serde_json::Value;
use tanu_core::domain::KeyEncryptionAlg;

/// The most keys a client may register (a set is parsed on every assertion).
pub const MAX_KEYS: usize = 20;

#[derive(Debug, Clone)]
pub struct ClientJwks {
    raw: Value,
    set: JwkSet,
    /// The keys not marked `"use": "enc"`, the ones assertions are checked with.
    signing: JwkSet,
}

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("not a JWK Set: {0}")]
    Malformed(String),
    #[error("a JWK Set of at most {MAX_KEYS} keys")]
    TooMany,
    #[error("key {0} holds a private or symmetric member: register public keys only")]
    NotPublic(String),
}

impl ClientJwks {
    /// Parses a set as registered (the JSON text of a `--jwks` file).
    pub fn parse(raw: Value) -> Result<Self, JwksError> {
        let keys = raw.get("keys").and_then(Value::as_array).ok_or_else(|| JwksError::Malformed("no \"keys\" array".into()))?;
        if keys.len() > MAX_KEYS {
            return Err(JwksError::TooMany);
        }
        for k in keys {
            // RFC 7518 §6.3.2, §6.2.2, §6.4: private RSA and EC members, and a symmetric key.
            if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|m| k.get(m).is_some()) {
                return Err(JwksError::NotPublic(k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)").to_string()));
            }
        }
        let set: JwkSet = serde_json::from_value(raw.clone()).map_err(|e| JwksError::Malformed(e.to_string()))?;
        Ok(Self::of(raw, set))
    }

    fn of(raw: Value, set: JwkSet) -> Self {
        let signing = JwkSet { keys: set.keys.iter().filter(|k| k.common.public_key_use != Some(PublicKeyUse::Encryption)).cloned().collect() };
        ClientJwks { raw, set, signing }
    }

    /// The keys as `jsonwebtoken` reads them (signature checks).
    pub fn set(&self) -> &JwkSet {
        &self.set
    }

    /// The signature keys: those not marked `"use": "enc"`.
    pub fn signature_keys(&self) -> impl Iterator<Item = &jsonwebtoken::jwk::Jwk> {
        self.signing.keys.iter()
    }

    /// The signature keys as a set (what client assertions are checked with).
    pub fn signature_set(&self) -> &JwkSet {
        &self.signing
    }

    /// The set as the client registered it.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The first key the client registered for encrypting to it with `alg`:
    /// `use` absent or `enc`; `key_ops`, when present, allowing it; `alg`
    /// absent or this one; the key type the algorithm needs (RSA for
    /// RSA-OAEP-256; EC P-256, P-384, P-521 or OKP X25519 for ECDH-ES).
    /// A key that names its algorithm comes before one that does not.
    pub fn encryption_key(&self, alg: KeyEncryptionAlg) -> Option<&Value> {
        let keys = self.raw.get("keys").and_then(Value::as_array)?;
        let text = |k: &Value, m: &str| k.get(m).and_then(Value::as_str).map(str::to_string);
        let fits = |k: &&Value| {
            let use_ok = text(k, "use").is_none_or(|u| u == "enc");
            let op = match alg {
                KeyEncryptionAlg::RsaOaep256 => "wrapKey",
                KeyEncryptionAlg::EcdhEs => "deriveKey",
            };
            let ops_ok = match k.get("key_ops") {
                None => true,
                Some(Value::Array(ops)) => ops.iter().any(|o| o.as_str() == Some(op) || o.as_str() == Some("encrypt")),
                Some(_) => false,
            };
            let alg_ok = text(k, "alg").is_none_or(|a| a == alg.as_str());
            let kind_ok = matches!(
                (alg, text(k, "kty").as_deref(), text(k, "crv").as_deref()),
                (KeyEncryptionAlg::RsaOaep256, Some("RSA"), _)
                    | (KeyEncryptionAlg::EcdhEs, Some("EC"), Some("P-256" | "P-384" | "P-521"))
                    | (KeyEncryptionAlg::EcdhEs, Some("OKP"), Some("X25519"))
            );
            use_ok && ops_ok && alg_ok && kind_ok
        };
        let named = keys.iter().filter(fits).find(|k| k.get("alg").is_some());
        named.or_else(|| keys.iter().find(|k| fits(k)))
    }
}

/// Tests build sets with `jsonwebtoken`'s types; what they hold is what is kept.
impl From<JwkSet> for ClientJwks {
    fn from(set: JwkSet) -> Self {
        let raw = serde_json::to_value(&set).unwrap_or(Value::Null);
        Self::of(raw, set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rsa(extra: Value) -> Value {
        let mut k = json!({"kty": "RSA", "kid": "r", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
        k.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        k
    }
    fn ec(kid: &str, extra: Value) -> Value {
        let mut k = json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        k.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        k
    }

    #[test]
    fn an_unknown_alg_survives_storage() {
        let set = ClientJwks::parse(json!({"keys": [ec("e", json!({"use": "enc", "alg": "ECDH-ES"}))]})).unwrap();
        assert_eq!(set.raw()["keys"][0]["alg"], "ECDH-ES");
        assert_eq!(set.encryption_key(KeyEncryptionAlg::EcdhEs).unwrap()["kid"], "e");
    }

    #[test]
    fn keys_are_chosen_by_use_alg_and_type() {
        let set = ClientJwks::parse(json!({"keys": [
            ec("sig", json!({"use": "sig", "alg": "ES256"})),
            ec("other", json!({"use": "enc", "alg": "ECDH-ES+A256KW"})),
            ec("plain", json!({})),
            rsa(json!({"use": "enc", "alg": "RSA-OAEP-256"})),
        ]}))
        .unwrap();
        assert_eq!(set.encryption_key(KeyEncryptionAlg::EcdhEs).unwrap()["kid"], "plain", "not a signature key, not another algorithm");
        assert_eq!(set.encryption_key(KeyEncryptionAlg::RsaOaep256).unwrap()["kid"], "r");
        assert_eq!(set.signature_keys().count(), 2, "keys marked enc are not signature keys");
        let sig_only = ClientJwks::parse(json!({"keys": [ec("sig", json!({"use": "sig"})), rsa(json!({"key_ops": ["verify"]}))]})).unwrap();
        assert!(sig_only.encryption_key(KeyEncryptionAlg::EcdhEs).is_none());
        assert!(sig_only.encryption_key(KeyEncryptionAlg::RsaOaep256).is_none());
    }

    #[test]
    fn private_members_and_floods_are_refused() {
        assert!(matches!(ClientJwks::parse(json!({"keys": [ec("e", json!({"d": "AAAA"}))]})), Err(JwksError::NotPublic(_))));
        assert!(matches!(ClientJwks::parse(json!({"keys": [{"kty": "oct", "k": "AAAA"}]})), Err(JwksError::NotPublic(_))));
        let many: Vec<Value> = (0..=MAX_KEYS).map(|i| ec(&i.to_string(), json!({}))).collect();
        assert!(matches!(ClientJwks::parse(json!({ "keys": many })), Err(JwksError::TooMany)));
        assert!(matches!(ClientJwks::parse(json!({"key": []})), Err(JwksError::Malformed(_))));
    }
}
