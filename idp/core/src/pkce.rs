//! PKCE with S256 (RFC 7636), the only method Tanu takes: a challenge is
//! parsed once at the authorization endpoint and checked against the
//! verifier at the token endpoint. Stored as the challenge followed by `S`
//! (the form oxide-auth, which did this before, kept in the database), so
//! codes and requests stored before still verify.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An S256 challenge: BASE64URL(SHA-256(verifier)), 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256")]
    Method,
    #[error("code_challenge is not a S256 challenge")]
    Challenge,
}

impl PkceChallenge {
    /// `code_challenge_method` and `code_challenge` as sent.
    pub fn parse(method: Option<&str>, challenge: &str) -> Result<Self, PkceError> {
        if method != Some("S256") {
            return Err(PkceError::Method);
        }
        if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(PkceError::Challenge);
        }
        Ok(PkceChallenge(challenge.to_owned()))
    }

    /// The stored form.
    pub fn stored(&self) -> String {
        format!("{}S", self.0)
    }

    /// Whether `verifier` answers the challenge stored as `stored` (RFC 7636
    /// §4.6), compared in constant time. A stored value of another form
    /// (a `plain` challenge was never taken) answers nothing.
    pub fn verifies(stored: &str, verifier: &str) -> bool {
        let Some(challenge) = stored.strip_suffix('S') else { return false };
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        computed.as_bytes().ct_eq(challenge.as_bytes()).into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifies_and_nothing_else_does() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = PkceChallenge::parse(Some("S256"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        let stored = c.stored();
        assert!(PkceChallenge::verifies(&stored, verifier));
        assert!(!PkceChallenge::verifies(&stored, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"));
        assert!(!PkceChallenge::verifies("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMp", verifier), "a plain-method encoding");
        assert!(!PkceChallenge::verifies("", verifier));
        assert_eq!(PkceChallenge::parse(Some("plain"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Err(PkceError::Method));
        assert_eq!(PkceChallenge::parse(None, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Err(PkceError::Method));
        assert_eq!(PkceChallenge::parse(Some("S256"), "short"), Err(PkceError::Challenge));
        assert_eq!(PkceChallenge::parse(Some("S256"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), Err(PkceError::Challenge));
    }
}
