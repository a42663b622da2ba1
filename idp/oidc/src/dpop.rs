//! DPoP (RFC 9449): sender-constrained tokens.
//!
//! A proof is parsed and checked by [`verify`], pure logic with the clock
//! passed in: `typ` `dpop+jwt`, an asymmetric `alg` (ES256, PS256, RS256), a
//! public `jwk` that fits the `alg` and whose signature `jsonwebtoken`
//! verifies, `htm`/`htu` of this request (the `htu` compared without query
//! and fragment against the configured endpoint URL), `iat` within
//! `dpop_proof_lifetime` (and [`CLOCK_SKEW_SECS`] ahead), `ath` when an
//! access token is presented, and the server nonce ([`Nonces`]). The key's
//! RFC 7638 SHA-256 thumbprint ([`Jkt`]) is what tokens are bound to
//! (`cnf.jkt`).
//!
//! [`check`] is the endpoints' wiring: it reads the `DPoP` header, verifies
//! and records the proof's `jti` in the store-backed replay cache (shared by
//! every instance), so that a proof is used once in its lifetime.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash},
    Algorithm, DecodingKey, Validation,
};
use poem::Request;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::{ErrorCode, OAuthError};
use crate::OidcState;

/// The proof algorithms accepted (and advertised as `dpop_signing_alg_values_supported`).
pub const ALGS: [&str; 3] = ["ES256", "PS256", "RS256"];
/// The largest `DPoP` header accepted: a proof with an RSA-4096 key is about 1.5 KB.
pub const MAX_PROOF_BYTES: usize = 4096;
/// How far in the future `iat` may be (the client's clock ahead of ours).
pub const CLOCK_SKEW_SECS: i64 = 5;
/// A server nonce is valid in its window and the next one.
pub const NONCE_WINDOW_SECS: i64 = 300;
/// The longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;
/// RSA keys shorter than this are refused.
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// JWK members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JWK SHA-256 thumbprint (RFC 7638), base64url without padding: 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jkt(String);

impl Jkt {
    /// A `dpop_jkt` parameter or a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')).then(|| Jkt(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Jkt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a proof is refused. [`DpopError::code`] is the OAuth error code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DpopError {
    #[error("a DPoP proof is required")]
    Required,
    #[error("more than one DPoP header")]
    Repeated,
    #[error("the DPoP proof is larger than {MAX_PROOF_BYTES} bytes")]
    TooLarge,
    #[error("the DPoP proof is not a compact JWS")]
    Malformed,
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Typ,
    #[error("the DPoP proof's alg must be one of ES256, PS256, RS256")]
    Alg,
    #[error("the DPoP proof's jwk must be a public key")]
    PrivateKey,
    #[error("the DPoP proof's jwk is missing, unsupported or does not fit its alg")]
    Jwk,
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    #[error("the DPoP proof's {0} claim is missing or malformed")]
    Claim(&'static str),
    #[error("the DPoP proof's htm does not match the request method")]
    Htm,
    #[error("the DPoP proof's htu does not match this endpoint")]
    Htu,
    #[error("the DPoP proof's iat is too old")]
    Stale,
    #[error("the DPoP proof's iat is in the future")]
    Future,
    #[error("the DPoP proof's ath does not match the access token")]
    Ath,
    #[error("a fresh DPoP nonce is required (see the DPoP-Nonce header)")]
    UseNonce,
    #[error("the DPoP proof has been used before")]
    Replayed,
    #[error("the DPoP proof is signed by another key than the one the grant is bound to")]
    KeyMismatch,
}

impl DpopError {
    /// RFC 9449 §12.2: `use_dpop_nonce` when a nonce is missing or stale, else `invalid_dpop_proof`.
    pub fn code(&self) -> super::errors::ErrorCode {
        match self {
            DpopError::UseNonce => super::errors::ErrorCode::UseDpopNonce,
            _ => super::errors::ErrorCode::InvalidDpopProof,
        }
    }
}

/// Server nonces (RFC 9449 §8, §9) that every instance derives alike with no
/// shared state: the HMAC of a [`NONCE_WINDOW_SECS`] time window under a key
/// derived from the master key. The current and the previous window's are accepted.
pub struct Nonces {
    key: [u8; 32],
    /// `dpop_nonce_required`: a proof without a nonce is answered `use_dpop_nonce`.
    pub required: bool,
}

impl Nonces {
    pub fn new(key: [u8; 32], required: bool) -> Self {
        Self { key, required }
    }

    fn for_window(&self, window: i64) -> String {
        crate::crypto::mac(&self.key, &["dpop-nonce", &window.to_string()])
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: i64) -> String {
        self.for_window(now.div_euclid(NONCE_WINDOW_SECS))
    }

    pub fn accepts(&self, nonce: &str, now: i64) -> bool {
        use subtle::ConstantTimeEq;
        let w = now.div_euclid(NONCE_WINDOW_SECS);
        [w, w - 1].iter().any(|w| bool::from(self.for_window(*w).as_bytes().ct_eq(nonce.as_bytes())))
    }
}

/// What the request the proof came with must show.
pub struct Expected<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The endpoint's configured public URL.
    pub htu: &'a str,
    /// The access token presented with the proof (at a protected resource): `ath` is required.
    pub access_token: Option<&'a str>,
    /// `dpop_proof_lifetime`: how old `iat` may be, in seconds.
    pub max_age: i64,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: Jkt,
    pub jti: String,
    pub iat: i64,
}

impl Proof {
    /// Until when the replay cache must remember this proof's `jti`: after
    /// that its `iat` is too old anyway.
    pub fn remember_until(&self, max_age: i64, now: i64) -> i64 {
        self.iat.max(now) + max_age + 1
    }
}

/// The value of the request's `DPoP` header, if it has exactly one.
pub fn header(req: &Request) -> Result<Option<&str>, DpopError> {
    let mut all = req.headers().get_all("dpop").iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(DpopError::Repeated),
        (Some(v), None) => {
            if v.len() > MAX_PROOF_BYTES {
                return Err(DpopError::TooLarge);
            }
            v.to_str().map(Some).map_err(|_| DpopError::Malformed)
        }
    }
}

/// base64url(SHA-256(token)): the `ath` of a proof sent with `token`.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A URL without query and fragment, normalised by parsing (scheme and host
/// case, default port, empty path).
fn htu_form(u: &str) -> Option<String> {
    let mut u = url::Url::parse(u).ok()?;
    u.set_query(None);
    u.set_fragment(None);
    Some(u.to_string())
}

/// Checks `proof` (the `DPoP` header's value) at `now` (seconds): its form,
/// the key it carries and its signature, then its claims.
pub fn verify(proof: &str, expected: &Expected, nonces: &Nonces, now: i64) -> Result<Proof, DpopError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::TooLarge);
    }
    let parts: Vec<&str> = proof.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(DpopError::Malformed);
    }
    let (alg, jwk) = proof_key(parts[0])?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| DpopError::Jwk)?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => DpopError::Signature,
            jsonwebtoken::errors::ErrorKind::Json(_) | jsonwebtoken::errors::ErrorKind::Base64(_) | jsonwebtoken::errors::ErrorKind::Utf8(_) => {
                DpopError::Malformed
            }
            _ => DpopError::Signature,
        })?
        .claims;
    let (jti, iat) = check_claims(&claims, expected, nonces, now)?;
    Ok(Proof { jkt: Jkt(jwk.thumbprint(ThumbprintHash::SHA256)), jti, iat })
}

/// The proof's header (base64url): `typ`, an allowed `alg`, and the public
/// key it is signed with, of that algorithm's kind and size.
fn proof_key(header: &str) -> Result<(Algorithm, Jwk), DpopError> {
    // The header as JSON first: `jsonwebtoken`'s own header type keeps only
    // the public members of a JWK, and a private key must be seen to be refused.
    let header: Value =
        URL_SAFE_NO_PAD.decode(header).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(Value::is_object).ok_or(DpopError::Malformed)?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(DpopError::Typ);
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("PS256") => Algorithm::PS256,
        Some("RS256") => Algorithm::RS256,
        _ => return Err(DpopError::Alg),
    };
    let raw_jwk = header.get("jwk").and_then(Value::as_object).ok_or(DpopError::Jwk)?;
    if PRIVATE_MEMBERS.iter().any(|m| raw_jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(raw_jwk.clone())).map_err(|_| DpopError::Jwk)?;
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(p), Algorithm::ES256) => p.curve == EllipticCurve::P256,
        (AlgorithmParameters::RSA(p), Algorithm::RS256 | Algorithm::PS256) => {
            URL_SAFE_NO_PAD.decode(&p.n).is_ok_and(|n| n.iter().skip_while(|b| **b == 0).count() >= MIN_RSA_MODULUS_BYTES)
        }
        _ => false,
    };
    if !fits {
        return Err(DpopError::Jwk);
    }
    Ok((alg, jwk))
}

/// The signed proof's claims against the request: `jti`, `htm`, `htu`, `iat`
/// within its window, `ath` for the token sent with it, the nonce. Returns
/// the `jti` and `iat`.
fn check_claims(claims: &Value, expected: &Expected, nonces: &Nonces, now: i64) -> Result<(String, i64), DpopError> {
    let text = |name: &'static str| claims.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or(DpopError::Claim(name));
    let jti = text("jti")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(DpopError::Claim("jti"));
    }
    if text("htm")? != expected.htm {
        return Err(DpopError::Htm);
    }
    let htu = htu_form(text("htu")?).ok_or(DpopError::Claim("htu"))?;
    if Some(htu) != htu_form(expected.htu) {
        return Err(DpopError::Htu);
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or(DpopError::Claim("iat"))?;
    if iat < now - expected.max_age {
        return Err(DpopError::Stale);
    }
    if iat > now + CLOCK_SKEW_SECS {
        return Err(DpopError::Future);
    }
    if let Some(token) = expected.access_token {
        if text("ath")? != ath(token) {
            return Err(DpopError::Ath);
        }
    }
    match claims.get("nonce") {
        None if nonces.required => return Err(DpopError::UseNonce),
        None => {}
        Some(n) if !n.as_str().is_some_and(|n| nonces.accepts(n, now)) => return Err(DpopError::UseNonce),
        Some(_) => {}
    }
    Ok((jti.to_string(), iat))
}

/// Where a proof is checked: the error's form differs (RFC 9449 §5: 400 JSON
/// at the authorization server; §7.1: 401 with a `DPoP` challenge at a
/// protected resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    AuthorizationServer,
    Resource,
}

/// The request's DPoP proof, if it has one, verified for `method` at the
/// endpoint `path` (and `access_token`), its `jti` recorded as used. Errors in
/// the form `at` calls for, with a fresh `DPoP-Nonce` when one is needed.
pub async fn check(app: &OidcState, req: &Request, path: &str, access_token: Option<&str>, at: At) -> Result<Option<Proof>, OAuthError> {
    let now = Utc::now();
    let fail = |e: DpopError| refusal(app, &e, at, now);
    let Some(value) = header(req).map_err(fail)? else { return Ok(None) };
    let max_age = app.config.dpop_proof_lifetime.min(3600) as i64;
    let expected = Expected { htm: req.method().as_str(), htu: &app.config.endpoint(path), access_token, max_age };
    let proof = verify(value, &expected, &app.dpop_nonces, now.timestamp()).map_err(fail)?;
    let until = DateTime::from_timestamp(proof.remember_until(max_age, now.timestamp()), 0).unwrap_or(now + Duration::seconds(max_age));
    let fresh = app.store.remember_dpop_proof(proof.jkt.as_str(), &proof.jti, until, now).await.map_err(OAuthError::from)?;
    if !fresh {
        return Err(fail(DpopError::Replayed));
    }
    Ok(Some(proof))
}

/// With `dpop_nonce_required`, a successful answer to a request with a proof
/// carries the current nonce (RFC 9449 §8.2), so the client rarely needs a
/// `use_dpop_nonce` round trip.
pub fn with_fresh_nonce(app: &OidcState, proof: Option<&Proof>, mut r: poem::Response) -> poem::Response {
    if proof.is_some() && app.config.dpop_nonce_required {
        if let Ok(v) = app.dpop_nonces.current(Utc::now().timestamp()).parse() {
            r.headers_mut().insert("DPoP-Nonce", v);
        }
    }
    r
}

/// RFC 9449 §7.1 at a protected resource (userinfo, the cabinet API): a
/// token bound to a key (`bound`, its `cnf.jkt`) is used only with the DPoP
/// scheme and a proof of that key; an unbound token only as a bearer token.
pub fn resource_binding(app: &OidcState, bound: Option<&str>, proof: Option<&Proof>) -> Result<(), OAuthError> {
    let invalid = |d: &str| Err(OAuthError::dpop_resource_error(ErrorCode::InvalidToken, d, None));
    match (bound, proof) {
        (None, None) => Ok(()),
        (Some(_), None) => invalid("the access token is DPoP-bound: present it with the DPoP scheme and a proof"),
        (None, Some(_)) => invalid("the access token is not DPoP-bound: present it as a Bearer token"),
        (Some(b), Some(p)) if b == p.jkt.as_str() => Ok(()),
        (Some(_), Some(_)) => Err(refusal(app, &DpopError::KeyMismatch, At::Resource, Utc::now())),
    }
}

/// A refusal about DPoP at `at`, with a fresh nonce when the client needs one.
pub fn refusal(app: &OidcState, e: &DpopError, at: At, now: DateTime<Utc>) -> OAuthError {
    let nonce = (*e == DpopError::UseNonce).then(|| app.dpop_nonces.current(now.timestamp()));
    match at {
        At::AuthorizationServer => OAuthError::dpop_token_error(e, nonce),
        At::Resource => OAuthError::dpop_resource_error(e.code(), &e.to_string(), nonce),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;
    use p256::pkcs8::EncodePrivateKey;

    const HTU: &str = "https://id.example.kz/token";
    const NOW: i64 = 1_800_000_000;

    struct Key {
        enc: EncodingKey,
        jwk: Value,
        alg: Algorithm,
    }

    fn es256() -> Key {
        let sk = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = sk.to_pkcs8_pem(Default::default()).unwrap();
        Key {
            enc: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwk: serde_json::from_str(&sk.public_key().to_jwk_string()).unwrap(),
            alg: Algorithm::ES256,
        }
    }

    fn rsa(alg: Algorithm) -> Key {
        use rsa::{pkcs8::EncodePrivateKey, traits::PublicKeyParts};
        let sk = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = sk.to_pkcs8_pem(Default::default()).unwrap();
        let b = |v: &rsa::BigUint| URL_SAFE_NO_PAD.encode(v.to_bytes_be());
        let jwk = serde_json::json!({"kty": "RSA", "n": b(sk.n()), "e": b(sk.e())});
        Key { enc: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), jwk, alg }
    }

    /// A proof with `header` members and `claims` as given, signed by `key`.
    fn raw(key: &Key, header: Value, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = jsonwebtoken::crypto::sign(format!("{h}.{c}").as_bytes(), &key.enc, key.alg).unwrap();
        format!("{h}.{c}.{sig}")
    }

    fn alg_name(a: Algorithm) -> &'static str {
        match a {
            Algorithm::ES256 => "ES256",
            Algorithm::PS256 => "PS256",
            _ => "RS256",
        }
    }

    fn proof(key: &Key, claims: Value) -> String {
        raw(key, serde_json::json!({"typ": "dpop+jwt", "alg": alg_name(key.alg), "jwk": key.jwk}), claims)
    }

    fn claims() -> Value {
        serde_json::json!({"jti": "j-1", "htm": "POST", "htu": HTU, "iat": NOW})
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x;
        }
        v
    }

    fn expected() -> Expected<'static> {
        Expected { htm: "POST", htu: HTU, access_token: None, max_age: 60 }
    }

    fn off() -> Nonces {
        Nonces::new([7; 32], false)
    }

    #[test]
    fn a_valid_proof_gives_the_rfc7638_thumbprint() {
        for key in [es256(), rsa(Algorithm::RS256), rsa(Algorithm::PS256)] {
            let p = verify(&proof(&key, claims()), &expected(), &off(), NOW).unwrap();
            let jwk: Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
            assert_eq!(p.jkt.as_str(), jwk.thumbprint(ThumbprintHash::SHA256));
            assert_eq!(p.jti, "j-1");
        }
    }

    #[test]
    fn the_thumbprint_is_rfc7638s_example() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"})).unwrap();
        assert_eq!(jwk.thumbprint(ThumbprintHash::SHA256), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn header_rules() {
        let key = es256();
        let c = claims();
        let h = |typ: &str, alg: &str, jwk: Value| serde_json::json!({"typ": typ, "alg": alg, "jwk": jwk});
        assert_eq!(verify(&raw(&key, h("JWT", "ES256", key.jwk.clone()), c.clone()), &expected(), &off(), NOW), Err(DpopError::Typ));
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "none", key.jwk.clone()), c.clone()), &expected(), &off(), NOW), Err(DpopError::Alg));
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "HS256", key.jwk.clone()), c.clone()), &expected(), &off(), NOW), Err(DpopError::Alg));
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "ES256", Value::Null), c.clone()), &expected(), &off(), NOW), Err(DpopError::Jwk));
        let mut private = key.jwk.clone();
        private["d"] = Value::String("AAAA".into());
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "ES256", private), c.clone()), &expected(), &off(), NOW), Err(DpopError::PrivateKey));
        let symmetric = serde_json::json!({"kty": "oct", "k": "c2VjcmV0"});
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "ES256", symmetric), c.clone()), &expected(), &off(), NOW), Err(DpopError::PrivateKey));
        // An RSA key named with ES256, and a key other than the signer's.
        let r = rsa(Algorithm::RS256);
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "ES256", r.jwk.clone()), c.clone()), &expected(), &off(), NOW), Err(DpopError::Jwk));
        let other = es256();
        assert_eq!(verify(&raw(&key, h("dpop+jwt", "ES256", other.jwk.clone()), c), &expected(), &off(), NOW), Err(DpopError::Signature));
    }

    #[test]
    fn malformed_and_oversized_proofs() {
        for bad in ["", "a.b", "a.b.c.d", "..", "!!!.e30.sig", &format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("[1]"))] {
            assert_eq!(verify(bad, &expected(), &off(), NOW), Err(DpopError::Malformed), "{bad}");
        }
        let big = "a".repeat(MAX_PROOF_BYTES + 1);
        assert_eq!(verify(&big, &expected(), &off(), NOW), Err(DpopError::TooLarge));
        let key = es256();
        let long_jti = with(claims(), "jti", Value::String("j".repeat(MAX_JTI_LEN + 1)));
        assert_eq!(verify(&proof(&key, long_jti), &expected(), &off(), NOW), Err(DpopError::Claim("jti")));
        // A tampered payload.
        let p = proof(&key, claims());
        let mut parts: Vec<String> = p.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(with(claims(), "htm", "GET".into()).to_string());
        assert_eq!(verify(&parts.join("."), &expected(), &off(), NOW), Err(DpopError::Signature));
    }

    #[test]
    fn claim_rules() {
        let key = es256();
        let v = |c: Value| verify(&proof(&key, c), &expected(), &off(), NOW);
        for name in ["jti", "htm", "htu", "iat"] {
            assert_eq!(v(with(claims(), name, Value::Null)), Err(DpopError::Claim(name)), "{name}");
        }
        assert_eq!(v(with(claims(), "htm", "GET".into())), Err(DpopError::Htm));
        assert_eq!(v(with(claims(), "htm", "post".into())), Err(DpopError::Htm));
        assert_eq!(v(with(claims(), "htu", "https://id.example.kz/userinfo".into())), Err(DpopError::Htu));
        assert_eq!(v(with(claims(), "htu", "https://evil.example/token".into())), Err(DpopError::Htu));
        // Query and fragment ignored; scheme and host case and the default port normalised.
        assert!(v(with(claims(), "htu", "https://id.example.kz/token?x=1#f".into())).is_ok());
        assert!(v(with(claims(), "htu", "HTTPS://ID.example.kz:443/token".into())).is_ok());
        assert_eq!(v(with(claims(), "iat", (NOW - 61).into())), Err(DpopError::Stale));
        assert!(v(with(claims(), "iat", (NOW - 60).into())).is_ok());
        assert!(v(with(claims(), "iat", (NOW + CLOCK_SKEW_SECS).into())).is_ok());
        assert_eq!(v(with(claims(), "iat", (NOW + CLOCK_SKEW_SECS + 1).into())), Err(DpopError::Future));
        assert_eq!(v(with(claims(), "iat", "1800000000".into())), Err(DpopError::Claim("iat")));
    }

    #[test]
    fn ath_binds_the_access_token() {
        let key = es256();
        let e = Expected { access_token: Some("the-token"), ..expected() };
        assert_eq!(verify(&proof(&key, claims()), &e, &off(), NOW), Err(DpopError::Claim("ath")));
        assert_eq!(verify(&proof(&key, with(claims(), "ath", ath("another").into())), &e, &off(), NOW), Err(DpopError::Ath));
        assert!(verify(&proof(&key, with(claims(), "ath", ath("the-token").into())), &e, &off(), NOW).is_ok());
        // RFC 9449 §7.1's example.
        assert_eq!(ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    }

    #[test]
    fn nonces_are_stateless_and_expire() {
        let key = es256();
        let on = Nonces::new([7; 32], true);
        assert_eq!(verify(&proof(&key, claims()), &expected(), &on, NOW), Err(DpopError::UseNonce));
        let n = on.current(NOW);
        assert!(verify(&proof(&key, with(claims(), "nonce", n.clone().into())), &expected(), &on, NOW).is_ok());
        // Another instance with the same key accepts it; the next window too, not the one after.
        let twin = Nonces::new([7; 32], true);
        assert!(twin.accepts(&n, NOW + NONCE_WINDOW_SECS));
        assert!(!twin.accepts(&n, NOW + 2 * NONCE_WINDOW_SECS + NONCE_WINDOW_SECS));
        assert!(!Nonces::new([8; 32], true).accepts(&n, NOW), "another key's nonce");
        // A wrong nonce is refused even when nonces are not required.
        assert_eq!(verify(&proof(&key, with(claims(), "nonce", "made-up".into())), &expected(), &off(), NOW), Err(DpopError::UseNonce));
        assert_eq!(DpopError::UseNonce.code().as_str(), "use_dpop_nonce");
        assert_eq!(DpopError::Htu.code().as_str(), "invalid_dpop_proof");
    }

    #[test]
    fn jkt_parameter_form() {
        assert!(Jkt::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_some());
        assert!(Jkt::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X").is_none());
        assert!(Jkt::parse("NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs").is_none());
    }
}
