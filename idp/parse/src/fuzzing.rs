//! What the fuzz targets of `idp/fuzz` run on each input, kept here so that
//! `tests/fuzz_corpus.rs` replays the kept corpus through the same code on
//! every `make test`. Each function panics only when a parser breaks its
//! contract: a bound not kept, or a result that contradicts the input; it
//! returns whether the input was accepted.
#![allow(clippy::expect_used, reason = "the fixed keys below parse, and a fuzz harness's failures are panics")]
use std::sync::OnceLock;

use jsonwebtoken::{jwk::JwkSet, Algorithm, EncodingKey};

use crate::{
    assertion::{self, Audience, Expected},
    forms::{self, CodeForm, ConsentForm, ConsoleActForm, CsrfForm, FieldMap, IinForm, OpenForm, TestForm},
    multipart::{self, Limits, Part},
    params::{Params, MAX_NAME_LEN, MAX_PARAMS, MAX_PARAM_LEN},
};

/// Decoding never grows text by more than this (an invalid byte becomes U+FFFD, three bytes).
const GROWTH: usize = 3;

/// `params`: a form body of `/token`, `/par`, `/revoke`, `/introspect`.
pub fn params(data: &[u8]) -> bool {
    let parsed = Params::parse(data);
    let decoded: usize = parsed.pairs().map(|(k, v)| k.len() + v.len()).sum();
    assert!(decoded <= GROWTH * data.len(), "{decoded} bytes decoded from {}", data.len());
    let checked = Params::parse_checked(data);
    if let Ok(p) = &checked {
        let pairs: Vec<(&str, &str)> = p.pairs().collect();
        assert!(pairs.len() <= MAX_PARAMS);
        for (i, (k, v)) in pairs.iter().enumerate() {
            assert!(k.len() <= MAX_NAME_LEN && v.len() <= MAX_PARAM_LEN);
            assert!(pairs[..i].iter().all(|(seen, _)| seen != k), "RFC 6749 §3.2: {k} repeated");
            assert!(!p.is_repeated(k));
            assert_eq!(p.get(k), Some(*v).filter(|v| !v.is_empty()));
        }
    }
    checked.is_ok()
}

/// `forms`: every browser form type, as poem's `Form` reads it.
pub fn forms(data: &[u8]) -> bool {
    let bound = GROWTH * data.len();
    let short = |s: &str| assert!(s.len() <= bound, "{} bytes from {}", s.len(), data.len());
    if let Ok(f) = forms::urlencoded::<CsrfForm>(data) {
        short(&f.csrf);
    }
    if let Ok(f) = forms::urlencoded::<IinForm>(data) {
        short(&f.csrf);
        short(&f.iin);
    }
    if let Ok(f) = forms::urlencoded::<ConsentForm>(data) {
        short(&f.decision);
    }
    if let Ok(f) = forms::urlencoded::<OpenForm>(data) {
        short(&f.document);
    }
    if let Ok(f) = forms::urlencoded::<CodeForm>(data) {
        short(&f.code);
    }
    if let Ok(f) = forms::urlencoded::<ConsoleActForm>(data) {
        short(&f.command);
        f.reason.iter().chain(&f.result).chain(&f.note).for_each(|s| short(s));
    }
    if let Ok(f) = forms::urlencoded::<TestForm>(data) {
        short(&f.note);
    }
    if let Ok(m) = forms::urlencoded::<FieldMap>(data) {
        short(&m.iter().map(|(k, v)| k.clone() + v).collect::<String>());
    }
    forms::urlencoded::<CsrfForm>(data).is_ok()
}

/// The bounds the multipart target reads with: small, so that inputs of a
/// few kilobytes reach every refusal.
pub const MULTIPART_LIMITS: Limits = Limits { stream: 1 << 12, parts: 1 << 9, count: multipart::MAX_PARTS };

/// `multipart`: the first byte sets the size of the chunks the body
/// arrives in (1 to 64 bytes), the line after it is the `Content-Type`,
/// the rest the body; read as the portal and the console read it.
pub fn multipart(data: &[u8]) -> bool {
    let Some((&first, rest)) = data.split_first() else { return false };
    let chunk = 1 + usize::from(first % 64);
    let (content_type, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(boundary) = multipart::boundary(std::str::from_utf8(content_type).ok()) else { return false };
    let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> = body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    let read = crate::block_on(multipart::read_parts(futures_util::stream::iter(chunks), boundary, MULTIPART_LIMITS));
    let accepted = read.is_ok();
    if let Ok(parts) = read {
        assert!(parts.len() <= MULTIPART_LIMITS.count);
        let held: usize = parts.iter().map(|p| p.bytes.len()).sum();
        assert!(held <= MULTIPART_LIMITS.parts && held <= body.len(), "{held} bytes held from a body of {}", body.len());
        let upload = multipart::application(parts.clone(), &["organisation_name", "bin"]);
        assert!(upload.fields.len() <= 2);
        let signed = multipart::signed(parts.clone());
        let named: Vec<&Part> = parts.iter().filter(|p| p.name == "signature").collect();
        assert_eq!(signed.signature, named.last().map(|p| p.bytes.clone()).unwrap_or_default());
    }
    accepted
}

/// The time the assertion target checks assertions at.
pub const NOW: i64 = 1_800_000_000;
/// The client whose assertions the target checks.
pub const CLIENT: &str = "tanu-fuzz";
/// The issuer and token endpoint the target expects as `aud`.
pub const ISSUER: &str = "https://tanu.example";
pub const TOKEN_ENDPOINT: &str = "https://tanu.example/token";

/// The private half of the `ec` key of [`JWKS`] (generated for the fuzz
/// target only; it signs nothing else).
pub const EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRr2ZvXS9VB4Lq6av
o9VlBzzac5yY3q72qyE3rFnEHA2hRANCAATM8wOtzGvEoZvYZvUkGnUCnvFR1Qr2
Hzngi86KxVQKs4jAyNxtQz4vInDLcA9RV3Vv89PD3EfzsWnOM1hPzlOP
-----END PRIVATE KEY-----
";

/// The client's keys: the P-256 key above and an RSA key (public only).
pub const JWKS: &str = r#"{"keys":[
 {"kty":"EC","crv":"P-256","kid":"ec","use":"sig","alg":"ES256","x":"zPMDrcxrxKGb2Gb1JBp1Ap7xUdUK9h854IvOisVUCrM","y":"iMDI3G1DPi8icMtwD1FXdW_z08PcR_Oxac4zWE_OU48"},
 {"kty":"RSA","kid":"rsa","use":"sig","alg":"PS256","e":"AQAB","n":"7OttH53gSSCV6B67r9BSyQLdTkeiggqQ8YSFNj3t-oUyno7xqu1NhlPVBgsaZKx6aMQNL_8cF3vRXbFgLptT_SfjFwwwaJ3V-hx7XcjKy8vRza-A7fP2UFqY8oKdeXc_unYUtH-vsP8PBdbQ0dbpYwJdGuSGgAvqvG5BjNqt_4ojMETCET2RaZZRlr5oD93WOlsBpC9PXAskaOx3KtdQFK4TDM7bxQGWYUtBKiMFkdCr_7_t9CYpFTgKAb49fk1WK450AVT47CBk3Och63RtDz_IDKbl2q6r_L9_D4sEtT3EIa4zu4I15ii0z8j9CibcEjAWeKba_quxq56rSGlrXQ"}
]}"#;

/// Signs `header.payload` (each given raw, base64url-encoded here) with the
/// `ec` key: an assertion whose signature is valid whatever its content.
pub fn sign_es256(header: &[u8], payload: &[u8]) -> String {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    let key = KEY.get_or_init(|| EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).expect("the fuzz key parses"));
    let input = format!("{}.{}", base64_url(header), base64_url(payload));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, Algorithm::ES256).expect("ES256 signs");
    format!("{input}.{signature}")
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `assertion`: an even first byte makes the rest the assertion as sent;
/// an odd one splits the rest at its first newline into a header and a
/// payload that are signed with the `ec` key, so that the claim checks
/// behind the signature are reached. Checked as a `standard` client's and
/// as a `fapi2` client's.
pub fn assertion(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else { return false };
    let jwt = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let (header, payload) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        sign_es256(header, payload)
    };
    static KEYS: OnceLock<JwkSet> = OnceLock::new();
    let jwks = KEYS.get_or_init(|| serde_json::from_str(JWKS).expect("the fuzz key set parses"));
    let _ = assertion::subject(&jwt);
    let standard = Expected { client_id: CLIENT, algs: &["RS256", "ES256", "PS256"], audience: Audience::AnyOf(&[TOKEN_ENDPOINT, ISSUER]) };
    let fapi2 = Expected { client_id: CLIENT, algs: &["PS256", "ES256"], audience: Audience::IssuerOnly(ISSUER) };
    let mut accepted = false;
    for expected in [standard, fapi2] {
        if let Ok(v) = assertion::verify(&jwt, Some(jwks), &expected, NOW) {
            accepted = true;
            assert!(v.exp >= NOW - assertion::LEEWAY && v.exp <= NOW + assertion::MAX_LIFETIME, "exp {} accepted", v.exp);
            assert!(v.jti.len() <= jwt.len());
            assert_eq!(assertion::subject(&jwt).as_deref(), Ok(CLIENT), "a valid assertion names its client");
        }
    }
    assert!(assertion::verify(&jwt, None, &standard, NOW).is_err(), "no keys, no client");
    accepted
}
