//! Domain types, parsed once at the edge: the core never handles raw strings
//! for these.
use std::{collections::BTreeSet, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Why a value was refused at the edge.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("client_id must be 1 to 64 characters of [A-Za-z0-9._-]")]
    ClientId,
    #[error("redirect URI {0:?} is not an absolute URL without a fragment")]
    RedirectUri(String),
    #[error("{0}")]
    Other(String),
}

/// A relying party's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> Self {
        Self(format!("tanu-{}", crate::crypto::random_token(12)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(ParseError::ClientId)
        }
    }
}
impl TryFrom<String> for ClientId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}
impl From<ClientId> for String {
    fn from(c: ClientId) -> String {
        c.0
    }
}
impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered redirect URI. Matching is exact, character for character
/// (RFC 9700 §4.1.3): the registered string is kept as given (after checking
/// it parses as an absolute URL) and compared as a string, never as a
/// normalised URL, so no case folding, default port, trailing-slash or
/// percent-encoding tolerance can creep in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    /// Exact match of a presented value against this registration.
    pub fn matches(&self, presented: &str) -> bool {
        self.as_str() == presented
    }
    /// The host.
    pub fn host(&self) -> Option<String> {
        url::Url::parse(self.as_str()).ok().and_then(|u| u.host_str().map(str::to_string))
    }
    /// The pairwise sector (OIDC Core §8.1) this URI implies: its host; on a
    /// loopback host, host and port, since every sandbox client on
    /// `127.0.0.1` is a different initiator.
    pub fn sector(&self) -> Option<String> {
        sector_of(self.as_str())
    }
    /// http is allowed only on loopback hosts (native apps, sandbox testing).
    pub fn is_secure_or_loopback(&self) -> bool {
        let Ok(u) = url::Url::parse(self.as_str()) else { return false };
        u.scheme() == "https" || (u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
    }
}

/// The sector of a URL: its host, with the port on a loopback host.
pub fn sector_of(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let host = u.host_str()?;
    let loopback = match u.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
    };
    Some(match (loopback, u.port_or_known_default()) {
        (true, Some(port)) => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

impl FromStr for RedirectUri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::RedirectUri(s.to_string());
        let parsed = url::Url::parse(s).map_err(|_| err())?;
        // A fragment is forbidden (RFC 6749 §3.1.2); userinfo is a phishing vector.
        if parsed.fragment().is_some() || s.contains('#') || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(err());
        }
        if s.len() > 2000 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err());
        }
        Ok(Self(s.to_owned()))
    }
}
impl TryFrom<String> for RedirectUri {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}
impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> String {
        r.as_str().to_string()
    }
}

/// Scopes this provider knows. Unknown requested scopes are ignored, as
/// RFC 6749 §3.3 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Openid,
    Profile,
    Iin,
    OfflineAccess,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Openid, Scope::Profile, Scope::Iin, Scope::OfflineAccess];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Openid => "openid",
            Scope::Profile => "profile",
            Scope::Iin => "iin",
            Scope::OfflineAccess => "offline_access",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Scopes that release personal data and so need the citizen's consent.
    pub fn needs_consent(self) -> bool {
        // offline_access: refresh tokens only with the citizen's consent (OIDC Core §11).
        matches!(self, Scope::Profile | Scope::Iin | Scope::OfflineAccess)
    }
}

/// A set of known scopes, serialised space-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(pub BTreeSet<Scope>);

impl ScopeSet {
    pub fn parse_lenient(s: &str) -> Self {
        Self(s.split(' ').filter_map(Scope::parse).collect())
    }
    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }
    pub fn needing_consent(&self) -> ScopeSet {
        Self(self.0.iter().copied().filter(|s| s.needs_consent()).collect())
    }
}
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&v.join(" "))
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $( #[serde(rename = $text)] $variant ),+ }
        impl $name {
            pub fn as_str(self) -> &'static str { match self { $( $name::$variant => $text ),+ } }
        }
        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(ParseError::Other(format!(
                        concat!("unknown ", stringify!($name), " {:?} (expected one of: ", $( $text, " " ),+ , ")"),
                        s
                    ))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// Where a client may be used: the test environment or production (Rules §14, §17).
    Environment { Sandbox => "sandbox", Production => "production" }
);
string_enum!(
    /// OIDC Core §8. Pairwise is the default; public only by the operator's decision.
    SubjectType { Pairwise => "pairwise", Public => "public" }
);
string_enum!(
    /// How a client authenticates at the token endpoint.
    TokenAuthMethod {
        ClientSecretBasic => "client_secret_basic",
        ClientSecretPost => "client_secret_post",
        PrivateKeyJwt => "private_key_jwt",
    }
);
string_enum!(
    /// ID token signature algorithms the provider signs with.
    SigningAlg { Rs256 => "RS256", Es256 => "ES256" }
);
string_enum!(
    /// JWE key management algorithms Tanu encrypts to (OIDC Dynamic
    /// Client Registration 1.0 §2 `id_token_encrypted_response_alg`,
    /// `userinfo_encrypted_response_alg`): RSAES-OAEP with SHA-256 to an RSA
    /// key, ECDH-ES (direct key agreement) to an EC key.
    KeyEncryptionAlg { RsaOaep256 => "RSA-OAEP-256", EcdhEs => "ECDH-ES" }
);
string_enum!(
    /// JWE content encryption (`*_encrypted_response_enc`). `A128CBC-HS256`
    /// is the registration default when only the algorithm is given.
    ContentEncryption { A256Gcm => "A256GCM", A128CbcHs256 => "A128CBC-HS256" }
);

/// How a response (an ID token, a userinfo JWT) is encrypted to a client:
/// a nested JWT, signed by Tanu, then encrypted to the client's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encryption {
    pub alg: KeyEncryptionAlg,
    pub enc: ContentEncryption,
}

impl Encryption {
    /// From the two registration parameters: `enc` alone is refused, `alg`
    /// alone takes the default `A128CBC-HS256` (OIDC Registration §2).
    pub fn from_registration(alg: Option<KeyEncryptionAlg>, enc: Option<ContentEncryption>) -> Result<Option<Self>, ParseError> {
        match (alg, enc) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(ParseError::Other("an encryption `enc` needs its `alg`".into())),
            (Some(alg), enc) => Ok(Some(Encryption { alg, enc: enc.unwrap_or(ContentEncryption::A128CbcHs256) })),
        }
    }
}

string_enum!(
    /// A client's security profile. `standard` is the provider's baseline;
    /// `fapi2` holds the client to the FAPI 2.0 Security Profile (final,
    /// February 2025), every rule behind one method below so that the
    /// endpoints ask the profile, not the name.
    ClientProfile { Standard => "standard", Fapi2 => "fapi2" }
);

impl ClientProfile {
    /// FAPI 2.0 SP §5.3.2.2: "shall reject authorization requests sent
    /// without [RFC9126]" (PAR).
    pub fn requires_par(self) -> bool {
        self == ClientProfile::Fapi2
    }

    /// FAPI 2.0 SP §5.3.2.1-6: client authentication by mTLS or
    /// `private_key_jwt`; Tanu offers the latter.
    pub fn allows_auth_method(self, m: TokenAuthMethod) -> bool {
        match self {
            ClientProfile::Standard => true,
            ClientProfile::Fapi2 => m == TokenAuthMethod::PrivateKeyJwt,
        }
    }

    /// JWS algorithms of `private_key_jwt` assertions. FAPI 2.0 SP §5.4.1
    /// allows PS256, ES256 and EdDSA (Ed25519); Tanu accepts the first two
    /// (no EdDSA client keys are expected), never RS256.
    pub fn assertion_algs(self) -> &'static [&'static str] {
        match self {
            ClientProfile::Standard => &["RS256", "ES256", "PS256"],
            ClientProfile::Fapi2 => &["PS256", "ES256"],
        }
    }

    /// The ID token algorithms this profile may register (FAPI 2.0 SP
    /// §5.4.1: PS256, ES256 or EdDSA). Tanu's keys sign RS256 and ES256,
    /// so a `fapi2` client signs with ES256.
    pub fn allows_id_token_alg(self, alg: SigningAlg) -> bool {
        match self {
            ClientProfile::Standard => true,
            ClientProfile::Fapi2 => alg == SigningAlg::Es256,
        }
    }

    /// FAPI 2.0 SP §5.3.2.1-8: "shall only accept its issuer identifier
    /// value (as defined in [RFC8414]) as a string in the aud claim received
    /// in client authentication assertions" (the rule of
    /// draft-ietf-oauth-rfc7523bis §4: the issuer, a single string — not the
    /// token or PAR endpoint, not an array).
    pub fn requires_issuer_as_assertion_audience(self) -> bool {
        self == ClientProfile::Fapi2
    }

    /// The longest authorization code life, whatever the global
    /// `authorization_code_ttl` says (FAPI 2.0 SP §5.3.2.1-11: "shall issue
    /// authorization codes with a maximum lifetime of 60 seconds").
    pub fn authorization_code_ttl(self, configured: u64) -> u64 {
        match self {
            ClientProfile::Standard => configured,
            ClientProfile::Fapi2 => configured.min(60),
        }
    }

    /// Whether a refresh token is replaced on use. FAPI 2.0 SP §5.3.2.1-9:
    /// "shall not use refresh token rotation unless, in the case a response
    /// with a new refresh token is not received and stored by the client,
    /// retrying the request (with the previous refresh token) will succeed"
    /// (and its note: rotation brings no security benefit for confidential
    /// clients). A `fapi2` refresh token is therefore kept: the same token
    /// is returned and stays valid until it expires, the grant ends or it is
    /// revoked; it is bound to the client's `private_key_jwt` authentication
    /// (RFC 9700 §4.14.2) and, being DPoP-bound, to the DPoP key.
    pub fn rotates_refresh_tokens(self) -> bool {
        self == ClientProfile::Standard
    }

    /// FAPI 2.0 SP §5.3.2.1: only sender-constrained access tokens
    /// (mTLS or DPoP). Tanu binds them by DPoP (RFC 9449): the token
    /// endpoint refuses such a client's request without a proof
    /// (`oidc::token`; test `fapi2_sp_final_ensure_holder_of_key_required`).
    pub fn requires_sender_constrained_tokens(self) -> bool {
        self == ClientProfile::Fapi2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_matching_is_exact() {
        let r: RedirectUri = "https://rp.example.kz/cb".parse().unwrap();
        assert!(r.matches("https://rp.example.kz/cb"));
        for variant in [
            "https://rp.example.kz/cb/",
            "https://RP.example.kz/cb",
            "https://rp.example.kz:443/cb",
            "http://rp.example.kz/cb",
            "https://rp.example.kz/cb?x=1",
            "https://rp.example.kz/cb#f",
            "https://rp.example.kz/%63b",
            "https://rp.example.kz/a/../cb",
            "https://rp.example.kz@evil.example/cb",
        ] {
            assert!(!r.matches(variant), "{variant} must not match");
        }
    }

    #[test]
    fn redirect_uri_registration_rejects_fragments_userinfo_and_junk() {
        for bad in ["https://rp.example.kz/cb#x", "https://u:p@rp.example.kz/cb", "not a url", "/relative", "https://rp.example.kz/a b"] {
            assert!(bad.parse::<RedirectUri>().is_err(), "{bad}");
        }
        assert!("https://rp.example.kz/cb".parse::<RedirectUri>().unwrap().is_secure_or_loopback());
        assert!("http://127.0.0.1:9000/cb".parse::<RedirectUri>().unwrap().is_secure_or_loopback());
        assert!(!"http://rp.example.kz/cb".parse::<RedirectUri>().unwrap().is_secure_or_loopback());
    }

    #[test]
    fn the_fapi2_profile_tightens_and_the_standard_one_does_not() {
        let (s, f) = (ClientProfile::Standard, ClientProfile::Fapi2);
        assert_eq!("fapi2".parse::<ClientProfile>().unwrap(), f);
        assert!("fapi1".parse::<ClientProfile>().is_err());
        assert_eq!((s.authorization_code_ttl(600), f.authorization_code_ttl(600), f.authorization_code_ttl(30)), (600, 60, 30));
        assert!(!f.assertion_algs().contains(&"RS256") && s.assertion_algs().contains(&"RS256"));
        assert!(f.allows_auth_method(TokenAuthMethod::PrivateKeyJwt) && !f.allows_auth_method(TokenAuthMethod::ClientSecretBasic));
        assert!(f.allows_id_token_alg(SigningAlg::Es256) && !f.allows_id_token_alg(SigningAlg::Rs256));
        assert!(f.requires_par() && !s.requires_par());
        assert!(s.rotates_refresh_tokens() && !f.rotates_refresh_tokens());
        assert!(f.requires_issuer_as_assertion_audience() && f.requires_sender_constrained_tokens());
        assert!(!s.requires_issuer_as_assertion_audience() && !s.requires_sender_constrained_tokens());
    }

    #[test]
    fn client_id_charset() {
        assert!("tanu-abc_1.2".parse::<ClientId>().is_ok());
        for bad in ["", "a b", "é", &"x".repeat(65)] {
            assert!(bad.parse::<ClientId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_ignore_unknown_and_know_consent() {
        let s = ScopeSet::parse_lenient("openid profile email iin");
        assert_eq!(s.to_string(), "openid profile iin");
        assert_eq!(s.needing_consent().to_string(), "profile iin");
    }

    #[test]
    fn the_sector_is_the_host_and_on_loopback_the_port_too() {
        let sector = |u: &str| u.parse::<RedirectUri>().unwrap().sector().unwrap();
        assert_eq!(sector("https://bank.kz/cb"), "bank.kz");
        assert_eq!(sector("https://bank.kz:8443/cb"), "bank.kz", "one host, one sector");
        assert_eq!(sector("http://127.0.0.1:8400/cb"), "127.0.0.1:8400");
        assert_ne!(sector("http://127.0.0.1:8400/cb"), sector("http://127.0.0.1:8401/cb"), "two sandbox clients");
        assert_eq!(sector("http://localhost/cb"), "localhost:80");
        assert_eq!(sector("http://[::1]:9/cb"), "[::1]:9");
    }
}
