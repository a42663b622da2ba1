//! What the provider's own relying parties — the onboarding portal and
//! console, and the citizen's cabinet — share: the authorization request
//! each sends to `/authorize` (code flow, PKCE S256, state and nonce), as any
//! relying party would.
use crate::Lang;

pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub lang: Lang,
}

impl AuthorizationRequest<'_> {
    /// The request as a URL of the provider's authorization endpoint
    /// (`authorize`, an absolute URL under the issuer).
    pub fn url(&self, authorize: &str) -> String {
        let Ok(mut url) = url::Url::parse(authorize) else { return authorize.to_string() };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", self.redirect_uri)
            .append_pair("scope", self.scope)
            .append_pair("state", self.state)
            .append_pair("nonce", self.nonce)
            .append_pair("code_challenge", &crate::crypto::pkce_s256(self.code_verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", self.lang.code());
        url.into()
    }
}
