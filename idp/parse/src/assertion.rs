//! `private_key_jwt` client assertions (RFC 7523 §3 with OIDC Core §9):
//! everything about an assertion except the replay memory, which the store
//! keeps. Pure: the client's keys, the expected audiences and the time are
//! given, so that a fuzz target can call it with arbitrary bytes.
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The longest assertion read; the form's own bound on a value
/// ([`crate::params::MAX_PARAM_LEN`]) is the same.
pub const MAX_ASSERTION_BYTES: usize = crate::params::MAX_PARAM_LEN;
/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: i64 = 30;
/// How far in the future an assertion's `exp` may be, in seconds.
pub const MAX_LIFETIME: i64 = 600;

/// Which `aud` an assertion must carry.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// One of these, as a single string (the token endpoint for
    /// compatibility, the issuer identifier per draft-ietf-oauth-rfc7523bis,
    /// which refuses a multi-valued `aud`: an array, even of one, is refused).
    AnyOf(&'a [&'a str]),
    /// Exactly the issuer identifier, as a single string; and neither `iat`
    /// nor `nbf` in the future (FAPI 2.0 SP §5.3.2.1-8).
    IssuerOnly(&'a str),
}

/// What an assertion of this client must be.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// `iss` and `sub`.
    pub client_id: &'a str,
    /// The JWS algorithms of the client's profile.
    pub algs: &'a [&'a str],
    pub audience: Audience<'a>,
}

/// A valid assertion's replay key: its `jti`, remembered until `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub jti: String,
    pub exp: i64,
}

/// Why an assertion is refused; the text is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("malformed client assertion")]
    Malformed,
    #[error("client assertion algorithm not accepted")]
    Algorithm,
    #[error("client assertion algorithm not accepted for this client's profile (fapi2: PS256 or ES256)")]
    ProfileAlgorithm,
    #[error("client has no registered keys")]
    NoKeys,
    #[error("client assertion is not valid")]
    Invalid,
    #[error("client assertion aud must be the issuer identifier, as a single string")]
    Audience,
    #[error("client assertion aud must be a single string, not an array (draft-ietf-oauth-rfc7523bis)")]
    MultipleAudiences,
    #[error("client assertion was issued in the future")]
    Future,
    #[error("client assertion lives too long")]
    TooLong,
}

/// The `sub` an assertion names, **unverified**: which client's keys to
/// verify it with.
pub fn subject(assertion: &str) -> Result<String, AssertionError> {
    #[derive(Deserialize)]
    struct Sub {
        sub: String,
    }
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::Malformed);
    }
    jsonwebtoken::dangerous::insecure_decode::<Sub>(assertion).map(|t| t.claims.sub).map_err(|_| AssertionError::Malformed)
}

/// The header (`alg` among the profile's, `kid` among the client's keys),
/// the signature, then the claims: `iss` = `sub` = the client, `aud` as
/// [`Expected::audience`] says, `exp` present, not past (`now` − [`LEEWAY`])
/// and at most [`MAX_LIFETIME`] ahead, a `jti`.
pub fn verify(assertion: &str, jwks: Option<&JwkSet>, expected: &Expected<'_>, now: i64) -> Result<Verified, AssertionError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::Malformed);
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    let alg = match header.alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::PS256 => "PS256",
        _ => return Err(AssertionError::Algorithm),
    };
    if !expected.algs.contains(&alg) {
        return Err(AssertionError::ProfileAlgorithm);
    }
    let jwks = jwks.ok_or(AssertionError::NoKeys)?;
    let keys = jwks.keys.iter().filter(|k| header.kid.is_none() || k.common.key_id == header.kid);

    #[derive(Deserialize)]
    struct Claims {
        jti: String,
        exp: i64,
        aud: serde_json::Value,
        iat: Option<i64>,
        // Present (even `null`) or not; read as jsonwebtoken reads it (see `numeric`).
        #[serde(default, deserialize_with = "present")]
        nbf: Option<serde_json::Value>,
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[expected.client_id]);
    validation.sub = Some(expected.client_id.to_owned());
    match expected.audience {
        Audience::AnyOf(auds) => validation.set_audience(auds),
        Audience::IssuerOnly(issuer) => validation.set_audience(&[issuer]),
    }
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // The times are checked below against `now`, not the system's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = keys
        .filter_map(|k| DecodingKey::from_jwk(k).ok())
        .find_map(|k| jsonwebtoken::decode::<Claims>(assertion, &k, &validation).ok())
        .ok_or(AssertionError::Invalid)?
        .claims;
    if claims.exp < now - LEEWAY {
        return Err(AssertionError::Invalid);
    }
    if matches!(expected.audience, Audience::AnyOf(_)) && !claims.aud.is_string() {
        return Err(AssertionError::MultipleAudiences);
    }
    if let Audience::IssuerOnly(issuer) = expected.audience {
        // An `nbf` that is not a NumericDate is refused like one in the future.
        if claims.nbf.as_ref().is_some_and(|nbf| numeric(nbf).is_none_or(|nbf| i128::from(nbf) > i128::from(now + LEEWAY))) {
            return Err(AssertionError::Invalid);
        }
        if claims.aud.as_str() != Some(issuer) {
            return Err(AssertionError::Audience);
        }
        if claims.iat.is_some_and(|iat| iat > now + LEEWAY) {
            return Err(AssertionError::Future);
        }
    }
    if claims.exp > now + MAX_LIFETIME {
        return Err(AssertionError::TooLong);
    }
    Ok(Verified { jti: claims.jti, exp: claims.exp })
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// A NumericDate as jsonwebtoken's own validation reads it: a non-negative
/// integer, or a finite non-negative number rounded (anything else has
/// already failed its validation).
fn numeric(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64).map(|f| f.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{sign_es256, CLIENT, ISSUER, JWKS, NOW, TOKEN_ENDPOINT};

    const HEADER: &str = r#"{"alg":"ES256","kid":"ec","typ":"JWT"}"#;

    fn keys() -> JwkSet {
        serde_json::from_str(JWKS).unwrap()
    }

    fn claims(extra: serde_json::Value) -> Vec<u8> {
        let mut c = serde_json::json!({"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": "j1", "exp": NOW + 60, "iat": NOW});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        serde_json::to_vec(&c).unwrap()
    }

    const STANDARD: Expected<'static> =
        Expected { client_id: CLIENT, algs: &["RS256", "ES256", "PS256"], audience: Audience::AnyOf(&[TOKEN_ENDPOINT, ISSUER]) };
    const FAPI2: Expected<'static> = Expected { client_id: CLIENT, algs: &["PS256", "ES256"], audience: Audience::IssuerOnly(ISSUER) };

    fn check(extra: serde_json::Value, expected: &Expected<'_>) -> Result<Verified, AssertionError> {
        verify(&sign_es256(HEADER.as_bytes(), &claims(extra)), Some(&keys()), expected, NOW)
    }

    #[test]
    fn a_valid_assertion_gives_its_replay_key() {
        assert_eq!(check(serde_json::json!({}), &STANDARD), Ok(Verified { jti: "j1".into(), exp: NOW + 60 }));
        assert_eq!(check(serde_json::json!({}), &FAPI2), Ok(Verified { jti: "j1".into(), exp: NOW + 60 }));
        assert_eq!(check(serde_json::json!({"aud": TOKEN_ENDPOINT}), &STANDARD).map(|v| v.jti), Ok("j1".into()));
        assert_eq!(subject(&sign_es256(HEADER.as_bytes(), &claims(serde_json::json!({})))).as_deref(), Ok(CLIENT));
    }

    /// Each claim check, with the clock given: every one of these is signed
    /// by the client's own key and still refused.
    #[test]
    fn each_claim_is_checked_against_the_given_clock() {
        use serde_json::json;
        let cases = [
            (json!({"exp": NOW - LEEWAY - 1}), STANDARD, AssertionError::Invalid),
            (json!({"exp": NOW + MAX_LIFETIME + 1}), STANDARD, AssertionError::TooLong),
            (json!({"exp": null}), STANDARD, AssertionError::Invalid),
            (json!({"exp": "soon"}), STANDARD, AssertionError::Invalid),
            (json!({"jti": null}), STANDARD, AssertionError::Invalid),
            (json!({"iss": "other"}), STANDARD, AssertionError::Invalid),
            (json!({"sub": "other"}), STANDARD, AssertionError::Invalid),
            (json!({"aud": "https://elsewhere.example"}), STANDARD, AssertionError::Invalid),
            (json!({"aud": TOKEN_ENDPOINT}), FAPI2, AssertionError::Invalid),
            (json!({"aud": [ISSUER]}), FAPI2, AssertionError::Audience),
            (json!({"aud": [ISSUER]}), STANDARD, AssertionError::MultipleAudiences),
            (json!({"aud": [TOKEN_ENDPOINT, "https://elsewhere.example"]}), STANDARD, AssertionError::MultipleAudiences),
            (json!({"iat": NOW + LEEWAY + 1}), FAPI2, AssertionError::Future),
            (json!({"nbf": NOW + LEEWAY + 1}), FAPI2, AssertionError::Invalid),
            (json!({"nbf": (NOW + LEEWAY + 1) as f64}), FAPI2, AssertionError::Invalid),
            (json!({"nbf": "later"}), FAPI2, AssertionError::Invalid),
            (json!({"nbf": -1}), FAPI2, AssertionError::Invalid),
        ];
        for (extra, expected, error) in cases {
            assert_eq!(check(extra.clone(), &expected), Err(error), "{extra}");
        }
        // The standard profile does not ask for iat or nbf.
        assert!(check(json!({"iat": NOW + 3600, "nbf": NOW + 3600}), &STANDARD).is_ok());
        assert!(check(json!({"nbf": "later"}), &STANDARD).is_ok());
        assert!(check(json!({"nbf": (NOW - 10) as f64 + 0.4}), &FAPI2).is_ok(), "a fractional NumericDate");
        assert!(check(json!({"exp": NOW - LEEWAY}), &STANDARD).is_ok(), "within the leeway");
    }

    #[test]
    fn header_and_keys_are_checked_before_the_signature() {
        let jwks = keys();
        let payload = claims(serde_json::json!({}));
        let with = |header: &str| verify(&sign_es256(header.as_bytes(), &payload), Some(&jwks), &STANDARD, NOW);
        assert_eq!(with(r#"{"alg":"HS256"}"#), Err(AssertionError::Algorithm));
        assert_eq!(with(r#"{"alg":"none"}"#), Err(AssertionError::Malformed));
        assert_eq!(with(r#"{"alg":"ES256","kid":"rsa"}"#), Err(AssertionError::Invalid), "another key's kid");
        assert_eq!(with(r#"{"alg":"ES256","kid":"nobody"}"#), Err(AssertionError::Invalid));
        assert!(with(r#"{"alg":"ES256"}"#).is_ok(), "no kid: every key is tried");
        let rs = sign_es256(br#"{"alg":"RS256","kid":"rsa"}"#, &payload);
        assert_eq!(verify(&rs, Some(&jwks), &FAPI2, NOW), Err(AssertionError::ProfileAlgorithm));
        assert_eq!(verify(&rs, None, &STANDARD, NOW), Err(AssertionError::NoKeys));
        let long = sign_es256(HEADER.as_bytes(), &claims(serde_json::json!({"pad": "x".repeat(MAX_ASSERTION_BYTES)})));
        assert_eq!(verify(&long, Some(&jwks), &STANDARD, NOW), Err(AssertionError::Malformed));
        assert_eq!(subject(&long), Err(AssertionError::Malformed));
        for junk in ["", ".", "..", "a.b.c", "eyJ9.e30.", "\u{0}"] {
            assert_eq!(verify(junk, Some(&jwks), &STANDARD, NOW), Err(AssertionError::Malformed), "{junk:?}");
        }
    }
}
