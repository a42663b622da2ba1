//! Small, well-known building blocks over maintained crates: random tokens,
//! token hashing for storage, password hashing (argon2) and sealing of
//! secrets at rest (AES-256-GCM).
use aes_gcm::{aead::{Aead, KeyInit}, Aes256Gcm, Nonce};
use argon2::{password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString}, Argon2};
use base64::{engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD}, Engine};
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("sealed data is corrupt or was sealed under another master key")]
    Unseal,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Tokens and codes are stored only as their SHA-256: a database leak gives no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_secret(secret: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hash(e.to_string()))
}

pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// AES-256-GCM under the configured master key, random 96-bit nonce per seal.
#[derive(Clone)]
pub struct MasterKey {
    aead: Aes256Gcm,
    raw: [u8; 32],
}

impl MasterKey {
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let raw = STANDARD.decode(s.trim()).map_err(|_| CryptoError::BadMasterKey)?;
        if raw.len() != 32 {
            return Err(CryptoError::BadMasterKey);
        }
        let aead = Aes256Gcm::new_from_slice(&raw).map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self { aead, raw: raw.try_into().map_err(|_| CryptoError::BadMasterKey)? })
    }

    /// A separate key for one purpose (HMAC-SHA256 of the label), so that the
    /// pairwise-subject and CSRF keys never equal the sealing key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.raw).expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn generate_base64() -> String {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        STANDARD.encode(k)
    }

    /// Returns base64(nonce || ciphertext); `context` is bound as associated data
    /// so a sealed value cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(&Nonce::from(nonce), aes_gcm::aead::Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let raw = STANDARD.decode(sealed).map_err(|_| CryptoError::Unseal)?;
        if raw.len() < 12 {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Unseal)?;
        self.aead
            .decrypt(&Nonce::from(nonce), aes_gcm::aead::Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Unseal)
    }
}

/// HMAC-SHA256 of `parts` joined with a separator, base64url.
pub fn mac(key: &[u8; 32], parts: &[&str]) -> String {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p.as_bytes());
        m.update(&[0x1f]);
    }
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// Constant-time string equality, for comparing MACs and tokens.
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// PKCE S256 challenge of a verifier (RFC 7636 §4.2), for clients and tests.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_roundtrip_and_context_binding() {
        let k = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let s = k.seal(b"secret", "kid-1");
        assert_eq!(k.open(&s, "kid-1").unwrap(), b"secret");
        assert!(k.open(&s, "kid-2").is_err());
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert!(other.open(&s, "kid-1").is_err());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn secrets_hash_and_verify() {
        let h = hash_secret("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_secret("s3cret", &h));
        assert!(!verify_secret("s3cret!", &h));
        assert!(!verify_secret("s3cret", "not a hash"));
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
