//! Small, well-known building blocks over maintained crates: random tokens,
//! token hashing for storage, client-secret hashing (HMAC-SHA-256, with
//! Argon2 kept only to verify hashes stored before) and sealing of secrets at
//! rest (AES-256-GCM).
use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc,
};

use aes_gcm::{
    aead::{Aead, KeyInit},
    Aes256Gcm, Nonce,
};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
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
    #[error("a client secret must be generated: at least {0} characters (256 random bits)")]
    WeakSecret(usize),
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

/// An Argon2id hash, the form client secrets were stored in before
/// [`ClientSecrets`]; kept for tests of the migration path.
pub fn argon2_hash(secret: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(secret.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| CryptoError::Hash(e.to_string()))
}

fn argon2_verify(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// The shortest client secret Tanu hashes: 43 characters, the base64url
/// form of 32 random bytes (256 bits). Every secret Tanu stores is generated
/// (`random_token(32)`) or derived from the master key (the portal's own
/// client, 64 hex digits); none is chosen by an operator, so a fast keyed
/// hash is as strong as the secret. Shorter input is refused outright.
pub const CLIENT_SECRET_MIN_CHARS: usize = 43;

const HMAC_PREFIX: &str = "hmac-sha256$";

/// The outcome of checking a presented client secret against its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretCheck {
    Valid,
    /// Valid against a legacy Argon2 hash; this is the HMAC form to store instead.
    ValidRehash(String),
    Invalid,
}

/// Client secrets are stored as `hmac-sha256$<base64url(HMAC-SHA-256)>` under
/// a key derived from the master key (`client-secret`) and compared in
/// constant time: one MAC per token request instead of ~20 ms and 19 MiB of
/// Argon2. A hash stored before (`$argon2…`) still verifies, at most
/// `argon2_bound` at once (a semaphore around the blocking pool, so memory
/// stays bounded under a burst), and is replaced by the HMAC form on success.
#[derive(Clone)]
pub struct ClientSecrets {
    key: [u8; 32],
    argon2: Arc<tokio::sync::Semaphore>,
    argon2_bound: usize,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    runs: Arc<AtomicU64>,
}

impl ClientSecrets {
    /// Argon2 bounded to the number of cores.
    pub fn new(master: &MasterKey) -> Self {
        Self::with_argon2_bound(master, std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    pub fn with_argon2_bound(master: &MasterKey, bound: usize) -> Self {
        let bound = bound.max(1);
        Self {
            key: master.derive("client-secret"),
            argon2: Arc::new(tokio::sync::Semaphore::new(bound)),
            argon2_bound: bound,
            running: Default::default(),
            peak: Default::default(),
            runs: Default::default(),
        }
    }

    /// The stored form of a generated secret; refuses one shorter than
    /// [`CLIENT_SECRET_MIN_CHARS`].
    pub fn hash(&self, secret: &str) -> Result<String, CryptoError> {
        if secret.chars().count() < CLIENT_SECRET_MIN_CHARS {
            return Err(CryptoError::WeakSecret(CLIENT_SECRET_MIN_CHARS));
        }
        Ok(self.mac(secret))
    }

    fn mac(&self, secret: &str) -> String {
        use hmac::Mac;
        let mut m = hmac_sha256(&self.key);
        m.update(secret.as_bytes());
        format!("{HMAC_PREFIX}{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
    }

    /// Whether `stored` is in the current (HMAC) form.
    pub fn is_current(stored: &str) -> bool {
        stored.starts_with(HMAC_PREFIX)
    }

    /// Checks `secret` against `stored` without any slow path: `None` when
    /// `stored` is a legacy hash (use [`ClientSecrets::verify`]).
    pub fn verify_fast(&self, secret: &str, stored: &str) -> Option<bool> {
        Self::is_current(stored).then(|| ct_eq(&self.mac(secret), stored))
    }

    pub async fn verify(&self, secret: &str, stored: &str) -> SecretCheck {
        if let Some(ok) = self.verify_fast(secret, stored) {
            return if ok { SecretCheck::Valid } else { SecretCheck::Invalid };
        }
        if !stored.starts_with("$argon2") {
            return SecretCheck::Invalid;
        }
        // The permit is held until the blocking task ends, so no more than
        // `argon2_bound` Argon2 computations (19 MiB each) exist at once.
        let Ok(permit) = self.argon2.clone().acquire_owned().await else { return SecretCheck::Invalid };
        let (running, peak, runs) = (self.running.clone(), self.peak.clone(), self.runs.clone());
        let (s, h) = (secret.to_string(), stored.to_string());
        let ok = tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            runs.fetch_add(1, Ordering::Relaxed);
            let ok = argon2_verify(&s, &h);
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false);
        match (ok, self.hash(secret)) {
            (true, Ok(new)) => SecretCheck::ValidRehash(new),
            (true, Err(_)) => SecretCheck::Valid,
            (false, _) => SecretCheck::Invalid,
        }
    }

    /// How many Argon2 verifications may run at once.
    pub fn argon2_bound(&self) -> usize {
        self.argon2_bound
    }

    /// The most Argon2 verifications that ever ran at once in this process.
    pub fn argon2_peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Argon2 verifications run so far.
    pub fn argon2_runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
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
        use hmac::Mac;
        let mut mac = hmac_sha256(&self.raw);
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
        // AES-GCM refuses only inputs beyond 64 GiB; these are secrets of bytes.
        #[allow(clippy::expect_used)]
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
        self.aead.decrypt(&Nonce::from(nonce), aes_gcm::aead::Payload { msg: ct, aad: context.as_bytes() }).map_err(|_| CryptoError::Unseal)
    }
}

/// HMAC-SHA256 under `key`: HMAC takes a key of any length, so this cannot fail.
fn hmac_sha256(key: &[u8]) -> hmac::Hmac<Sha256> {
    use hmac::Mac;
    #[allow(clippy::expect_used)]
    <hmac::Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length")
}

/// HMAC-SHA256 of `parts` joined with a separator, base64url.
pub fn mac(key: &[u8; 32], parts: &[&str]) -> String {
    use hmac::Mac;
    let mut m = hmac_sha256(key);
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

    fn master() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()
    }

    #[test]
    fn argon2_legacy_hashes_verify() {
        let h = argon2_hash("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(argon2_verify("s3cret", &h));
        assert!(!argon2_verify("s3cret!", &h));
        assert!(!argon2_verify("s3cret", "not a hash"));
    }

    #[test]
    fn client_secrets_are_hmac_under_the_derived_key() {
        let m = master();
        let cs = ClientSecrets::new(&m);
        let secret = random_token(32);
        let h = cs.hash(&secret).unwrap();
        assert!(h.starts_with("hmac-sha256$"), "{h}");
        assert!(!h.contains(&secret));
        assert_eq!(cs.verify_fast(&secret, &h), Some(true));
        // Same length, one character changed; a prefix; empty.
        let mut other = secret.clone().into_bytes();
        other[42] = if other[42] == b'A' { b'B' } else { b'A' };
        assert_eq!(cs.verify_fast(std::str::from_utf8(&other).unwrap(), &h), Some(false));
        assert_eq!(cs.verify_fast(&secret[..42], &h), Some(false));
        assert_eq!(cs.verify_fast("", &h), Some(false));
        // Keyed: another master key (another deployment) gives another MAC,
        // and a plain SHA-256 of the secret is not the stored value.
        let cs2 = ClientSecrets::new(&master());
        assert_eq!(cs2.verify_fast(&secret, &h), Some(false));
        assert_ne!(h.trim_start_matches("hmac-sha256$"), URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes())));
        // The key is the master key's `client-secret` derivation, not the master key.
        assert_eq!(cs.key, m.derive("client-secret"));
        assert_ne!(cs.key, m.raw);
    }

    #[test]
    fn short_client_secrets_are_refused() {
        let cs = ClientSecrets::new(&master());
        assert!(matches!(cs.hash("correct horse battery staple"), Err(CryptoError::WeakSecret(43))));
        assert!(cs.hash(&"x".repeat(42)).is_err());
        assert!(cs.hash(&random_token(32)).is_ok());
        assert!(cs.hash(&hex::encode([7u8; 32])).is_ok());
    }

    #[tokio::test]
    async fn legacy_argon2_verifies_once_and_asks_for_the_hmac_form() {
        let cs = ClientSecrets::new(&master());
        let secret = random_token(32);
        let old = argon2_hash(&secret).unwrap();
        assert_eq!(cs.verify_fast(&secret, &old), None);
        let SecretCheck::ValidRehash(new) = cs.verify(&secret, &old).await else { panic!("legacy hash must verify") };
        assert_eq!(cs.verify(&secret, &new).await, SecretCheck::Valid);
        assert_eq!(cs.verify("wrong", &old).await, SecretCheck::Invalid);
        assert_eq!(cs.argon2_runs(), 2, "the HMAC form never runs Argon2");
        assert_eq!(cs.verify(&secret, "plain text").await, SecretCheck::Invalid);
        assert_eq!(cs.verify(&secret, "").await, SecretCheck::Invalid);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn argon2_runs_at_most_the_bound_at_once() {
        let cs = ClientSecrets::with_argon2_bound(&master(), 2);
        let old = argon2_hash("legacy").unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let cs = cs.clone();
                let old = old.clone();
                tokio::spawn(async move { cs.verify("nope", &old).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), SecretCheck::Invalid);
        }
        assert_eq!(cs.argon2_runs(), 8);
        assert!(cs.argon2_peak() <= 2, "peak {}", cs.argon2_peak());
        assert!(cs.argon2_peak() >= 1);
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
