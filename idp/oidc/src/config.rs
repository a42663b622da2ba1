//! The protocol's settings: the part of Tanu's configuration the provider
//! reads. The composition root projects it from the one typed configuration
//! (file + `TANU_*`, `tanu-idp`'s `config.rs`, where each is documented);
//! durations are in seconds.
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    /// The issuer identifier (`iss`), the base URL of every endpoint.
    pub issuer: String,
    pub authorization_code_ttl: u64,
    pub access_token_ttl: u64,
    pub id_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub refresh_grant_lifetime: u64,
    pub session_ttl: u64,
    pub login_request_ttl: u64,
    pub token_rate_limit_per_minute: u32,
    pub client_auth_failures_per_minute: u32,
    pub notification_retry_base_ms: u64,
    pub require_pushed_authorization_requests: bool,
    pub dpop_proof_lifetime: u64,
    pub dpop_nonce_required: bool,
    /// The assurance levels the configured authentication method asserts
    /// (`acr_values_supported`); empty when no method is enabled.
    pub acr_values_supported: Vec<String>,
}

impl ProviderConfig {
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Cookies are `Secure` whenever the issuer is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// How this provider's cookies are set.
    pub fn cookies(&self) -> tanu_ui::web::Cookies {
        tanu_ui::web::Cookies { secure: self.secure_cookies() }
    }
}
