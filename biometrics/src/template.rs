//! Reference templates at rest (§5, §11): the embedding is sealed with
//! AES-256-GCM under a data key of its own, and the data key is sealed under the
//! configured master key. Deleting the wrapped data key makes the template
//! unreadable everywhere it was copied (backups included): crypto-shredding.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};

use crate::decision::Embedding;

/// The master key that wraps every citizen's data key (from configuration).
pub struct TemplateMasterKey(Key<Aes256Gcm>);

impl TemplateMasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TemplateMasterKey(bytes.into())
    }
}

/// What is stored for one citizen: both parts are ciphertext (nonce ‖ sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTemplate {
    pub wrapped_key: Vec<u8>,
    pub sealed_embedding: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the template cannot be opened (wrong key, tampering, or another citizen's record)")]
    Unreadable,
}

/// Seals `embedding` for the citizen named by `subject` (bound as associated
/// data, so a template moved to another citizen's row fails to open).
pub fn seal(master: &TemplateMasterKey, subject: &str, embedding: &Embedding) -> SealedTemplate {
    let data_key = Aes256Gcm::generate_key(OsRng);
    let wrapped_key = encrypt(&master.0, subject.as_bytes(), &data_key[..]);
    let sealed_embedding = encrypt(&data_key, subject.as_bytes(), &embedding.to_bytes());
    SealedTemplate { wrapped_key, sealed_embedding }
}

pub fn open(master: &TemplateMasterKey, subject: &str, sealed: &SealedTemplate) -> Result<Embedding, TemplateError> {
    let data_key = decrypt(&master.0, subject.as_bytes(), &sealed.wrapped_key)?;
    let key: [u8; 32] = data_key.try_into().map_err(|_| TemplateError::Unreadable)?;
    let bytes = decrypt(&Key::<Aes256Gcm>::from(key), subject.as_bytes(), &sealed.sealed_embedding)?;
    Embedding::from_bytes(&bytes).ok_or(TemplateError::Unreadable)
}

/// Seals short-lived biometric data (a sign-in's frame measurements while it
/// runs) under `key`, bound to `context` (the row it is kept in), so that a
/// copy of the database holds no measurement in clear and a value moved to
/// another row fails to open.
pub fn seal_bytes(key: &[u8; 32], context: &[u8], plaintext: &[u8]) -> Vec<u8> {
    encrypt(&Key::<Aes256Gcm>::from(*key), context, plaintext)
}

pub fn open_bytes(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, TemplateError> {
    decrypt(&Key::<Aes256Gcm>::from(*key), context, sealed)
}

#[allow(clippy::expect_used, reason = "AES-GCM fails only past 64 GiB of plaintext; templates and sign-in state are kilobytes")]
fn encrypt(key: &Key<Aes256Gcm>, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = Aes256Gcm::generate_nonce(OsRng);
    let sealed = Aes256Gcm::new(key).encrypt(&nonce, Payload { msg: plaintext, aad }).expect("AES-GCM encryption of a small buffer");
    [&nonce[..], &sealed].concat()
}

fn decrypt(key: &Key<Aes256Gcm>, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, TemplateError> {
    if sealed.len() < 12 + 16 {
        return Err(TemplateError::Unreadable);
    }
    let (nonce, body) = sealed.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| TemplateError::Unreadable)?;
    Aes256Gcm::new(key).decrypt(&Nonce::from(nonce), Payload { msg: body, aad }).map_err(|_| TemplateError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedding() -> Embedding {
        Embedding::normalised(&[0.1, -0.2, 0.3, 0.4]).unwrap()
    }

    #[test]
    fn sealed_bytes_open_only_in_their_context() {
        let sealed = seal_bytes(&[3; 32], b"sign-in-1:0", b"measurements");
        assert_eq!(open_bytes(&[3; 32], b"sign-in-1:0", &sealed).unwrap(), b"measurements");
        assert_eq!(open_bytes(&[3; 32], b"sign-in-2:0", &sealed), Err(TemplateError::Unreadable));
        assert_eq!(open_bytes(&[4; 32], b"sign-in-1:0", &sealed), Err(TemplateError::Unreadable));
        assert_eq!(open_bytes(&[3; 32], b"sign-in-1:0", &sealed[..20]), Err(TemplateError::Unreadable));
    }

    #[test]
    fn round_trip_and_no_plaintext_at_rest() {
        let master = TemplateMasterKey::from_bytes([7; 32]);
        let sealed = seal(&master, "subject-1", &embedding());
        assert_eq!(open(&master, "subject-1", &sealed).unwrap(), embedding());
        let plain = embedding().to_bytes();
        assert!(!sealed.sealed_embedding.windows(plain.len()).any(|w| w == plain.as_slice()));
        // Each seal uses a fresh data key and nonces.
        assert_ne!(seal(&master, "subject-1", &embedding()), sealed);
    }

    #[test]
    fn wrong_key_subject_or_tampering_fail() {
        let master = TemplateMasterKey::from_bytes([7; 32]);
        let sealed = seal(&master, "subject-1", &embedding());
        assert_eq!(open(&TemplateMasterKey::from_bytes([8; 32]), "subject-1", &sealed), Err(TemplateError::Unreadable));
        assert_eq!(open(&master, "subject-2", &sealed), Err(TemplateError::Unreadable));
        let mut tampered = sealed.clone();
        let last = tampered.sealed_embedding.len() - 1;
        tampered.sealed_embedding[last] ^= 1;
        assert_eq!(open(&master, "subject-1", &tampered), Err(TemplateError::Unreadable));
        let shredded = SealedTemplate { wrapped_key: vec![], ..sealed };
        assert_eq!(open(&master, "subject-1", &shredded), Err(TemplateError::Unreadable));
    }
}
