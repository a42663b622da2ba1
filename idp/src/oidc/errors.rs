//! Protocol errors in the protocol's own form: RFC 6749 §5.2 JSON for the
//! token endpoint, RFC 6750 §3 for userinfo, redirects with `error`, `state`
//! and `iss` (RFC 9207) for the authorization endpoint.
use poem::{http::StatusCode, IntoResponse, Response};
use serde::Serialize;

/// The error codes Tanu answers with: RFC 6749 §4.1.2.1 and §5.2, OIDC Core
/// §3.1.2.6, RFC 6750 §3.1, RFC 8628 §3.5 (`slow_down`), RFC 9449 §5 and §8.
/// Each has its usual HTTP status here, the one place they are mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    SlowDown,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InvalidDpopProof,
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// The status an error of this code answers with, unless its endpoint says otherwise.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Serialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: ErrorCode,
    pub error_description: String,
    #[serde(skip)]
    pub www_authenticate: Option<String>,
    /// Seconds for `Retry-After` (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// A fresh server nonce for the `DPoP-Nonce` header (RFC 9449 §8, §9).
    #[serde(skip)]
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    /// An error with its code's usual status.
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        Self::with_status(error.status(), error, description)
    }

    /// An error whose endpoint answers it with another status (413, 404, 429…).
    pub fn with_status(status: StatusCode, error: ErrorCode, description: impl Into<String>) -> Self {
        Self { status, error, error_description: description.into(), www_authenticate: None, retry_after: None, dpop_nonce: None }
    }

    /// A refused DPoP proof at the authorization server (`/token`, `/par`):
    /// 400 with `invalid_dpop_proof` or `use_dpop_nonce` (RFC 9449 §5, §8).
    pub fn dpop_token_error(e: &super::dpop::DpopError, nonce: Option<String>) -> Self {
        Self { dpop_nonce: nonce, ..Self::with_status(StatusCode::BAD_REQUEST, e.code(), e.to_string()) }
    }

    /// A refusal at a protected resource for a DPoP-bound token or its proof:
    /// 401 with a `DPoP` challenge naming the error and the accepted
    /// algorithms (RFC 9449 §7.1), and a fresh nonce when one is needed.
    pub fn dpop_resource_error(error: ErrorCode, description: &str, nonce: Option<String>) -> Self {
        let algs = super::dpop::ALGS.join(" ");
        Self {
            www_authenticate: Some(format!("DPoP error=\"{error}\", error_description=\"{description}\", algs=\"{algs}\"")),
            dpop_nonce: nonce,
            ..Self::with_status(StatusCode::UNAUTHORIZED, error, description)
        }
    }

    /// 429 with `Retry-After`: a budget is spent for `wait` seconds.
    pub fn too_many(error: ErrorCode, description: impl Into<String>, wait: u64) -> Self {
        Self { retry_after: Some(wait), ..Self::with_status(StatusCode::TOO_MANY_REQUESTS, error, description) }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_client(d: impl Into<String>, basic_used: bool) -> Self {
        let mut e = Self::new(ErrorCode::InvalidClient, d);
        if basic_used {
            e.www_authenticate = Some("Basic realm=\"tanu\"".into());
        }
        e
    }
    pub fn server_error(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "server error");
        Self::new(ErrorCode::ServerError, "internal error; it has been logged")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = poem::web::Json(&self).with_status(self.status).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache").into_response();
        if let Some(h) = &self.www_authenticate {
            r.headers_mut().insert("WWW-Authenticate", h.parse().expect("static header value"));
        }
        if let Some(wait) = self.retry_after {
            r.headers_mut().insert("Retry-After", wait.into());
        }
        if let Some(nonce) = self.dpop_nonce.as_deref().and_then(|n| n.parse().ok()) {
            r.headers_mut().insert("DPoP-Nonce", nonce);
        }
        r
    }
}

/// RFC 9457 problem details, for endpoints outside OAuth's own error forms.
pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail });
    Response::builder().status(status).content_type("application/problem+json").header("Cache-Control", "no-store").body(body.to_string())
}

/// Parameters of a request, from a query string or a form body.
/// RFC 6749 §3.1: a parameter must not appear more than once.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

pub const MAX_PARAM_LEN: usize = 4096;
pub const MAX_PARAMS: usize = 40;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("parameter {0} is repeated")]
    Repeated(String),
    #[error("parameter {0} is too long")]
    TooLong(String),
    #[error("too many parameters")]
    TooMany,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Self {
        Self { pairs: url::form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect() }
    }

    /// The value of `name` if it appears exactly once; empty values count as absent
    /// (RFC 6749 §3.1: "parameters sent without a value MUST be treated as if
    /// they were omitted").
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        match (it.next(), it.next()) {
            (Some((_, v)), None) if !v.is_empty() => Some(v.as_str()),
            _ => None,
        }
    }

    /// Every name and value, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.pairs.iter().filter(|(k, _)| k == name).count() > 1
    }

    pub fn check(&self) -> Result<(), ParamError> {
        if self.pairs.len() > MAX_PARAMS {
            return Err(ParamError::TooMany);
        }
        let mut seen = std::collections::HashSet::new();
        for (k, v) in &self.pairs {
            if !seen.insert(k) {
                return Err(ParamError::Repeated(k.clone()));
            }
            if v.len() > MAX_PARAM_LEN || k.len() > 100 {
                return Err(ParamError::TooLong(k.chars().take(100).collect()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_code_is_sent_under_its_registered_name() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::UnsupportedResponseType,
            ErrorCode::InvalidScope,
            ErrorCode::AccessDenied,
            ErrorCode::ServerError,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::SlowDown,
            ErrorCode::LoginRequired,
            ErrorCode::ConsentRequired,
            ErrorCode::RequestNotSupported,
            ErrorCode::RequestUriNotSupported,
            ErrorCode::InvalidToken,
            ErrorCode::InvalidDpopProof,
            ErrorCode::UseDpopNonce,
        ] {
            let body = serde_json::to_value(OAuthError::new(code, "d")).unwrap();
            assert_eq!(body["error"], code.as_str());
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
        }
        assert_eq!(OAuthError::new(ErrorCode::InvalidClient, "d").status, StatusCode::UNAUTHORIZED);
        assert_eq!(OAuthError::new(ErrorCode::InvalidGrant, "d").status, StatusCode::BAD_REQUEST);
        assert_eq!(OAuthError::new(ErrorCode::ServerError, "d").status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn params_reject_repeats_and_oversize() {
        let p = Params::parse(b"a=1&b=2&a=3");
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.check(), Err(ParamError::Repeated("a".into())));
        let long = format!("x={}", "y".repeat(MAX_PARAM_LEN + 1));
        assert!(matches!(Params::parse(long.as_bytes()).check(), Err(ParamError::TooLong(_))));
        assert_eq!(Params::parse(b"e=").get("e"), None, "empty means absent");
    }
}
