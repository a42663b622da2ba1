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

/// A storage failure in OAuth's form: `temporarily_unavailable` (503, with
/// `Retry-After`) when the database cannot serve for now — the request may be
/// repeated as it was, nothing was consumed — else `server_error`.
impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return Self { retry_after: Some(5), ..Self::new(ErrorCode::TemporarilyUnavailable, "the service cannot reach its database; try again shortly") };
        }
        Self::server_error(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut r = poem::web::Json(&self).with_status(self.status).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache").into_response();
        if let Some(Ok(h)) = self.www_authenticate.as_deref().map(str::parse) {
            r.headers_mut().insert("WWW-Authenticate", h);
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

/// Parameters of a request, parsed in `tanu-parse` (fuzzed there).
pub use tanu_parse::params::{ParamError, Params, MAX_PARAMS, MAX_PARAM_LEN};

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
}
