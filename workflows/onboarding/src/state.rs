//! The portal's and console's own state (issue 11): what their pages need,
//! and nothing of the provider's protocol state. They are a relying party of
//! the provider (client `tanu-onboarding`) over HTTP; the composition root
//! hands them the shared handles (store, journal, the address limits) and
//! the keys derived for them.
use std::sync::Arc;

use tanu_ui::web::Cookies;

use crate::{
    audit::Journal,
    crypto::{ClientSecrets, CryptoError, MasterKey},
    ratelimit::RateLimiter,
    store::Store,
};

use super::Onboarding;

pub struct OnboardingState {
    pub store: Store,
    pub journal: Journal,
    /// The browser endpoints' budget per address (shared with the provider's).
    pub limiter: RateLimiter,
    /// The connection service: Temporal client, calendar, EDS trust, mail.
    pub onboarding: Arc<Onboarding>,
    /// Registers the portal's own client at start.
    pub client_secrets: ClientSecrets,
    pub cookies: Cookies,
    /// The provider's public address, the base of every URL.
    pub issuer: String,
    /// Opens the client secrets sealed for one display; derives the portal's own client secret.
    master: MasterKey,
    csrf: tanu_ui::csrf::Csrf,
}

/// The handles the composition root shares with the portal and console.
pub struct Shared {
    pub store: Store,
    pub journal: Journal,
    pub limiter: RateLimiter,
    pub client_secrets: ClientSecrets,
    pub cookies: Cookies,
    /// Every page's CSRF key (derived once by the root).
    pub csrf: tanu_ui::csrf::Csrf,
}

impl OnboardingState {
    /// `client_secrets` and `cookies` are the provider's: one secret checker
    /// (one bound on legacy hashes) and one cookie policy per process.
    pub fn new(shared: Shared, onboarding: Arc<Onboarding>, issuer: String, master: MasterKey) -> Self {
        let Shared { store, journal, limiter, client_secrets, cookies, csrf } = shared;
        OnboardingState { client_secrets, cookies, csrf, store, journal, limiter, onboarding, issuer, master }
    }

    /// The URL of an endpoint under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// A secret derived from the master key for `purpose` (the same on every
    /// instance sharing the key).
    pub fn derived_secret(&self, purpose: &str) -> String {
        hex::encode(self.master.derive(purpose))
    }

    /// A client secret sealed by the worker ([`super::worker::seal`]), opened for its one display.
    pub fn open_secret(&self, sealed: &str, client_id: &str) -> Result<Vec<u8>, CryptoError> {
        self.master.open(sealed, &format!("tanu onboarding client secret v1 {client_id}"))
    }

    /// A CSRF token bound to a portal session and its purpose.
    pub fn csrf_token(&self, purpose: &str, session_hash: &str) -> String {
        self.csrf.token(purpose, session_hash)
    }
}
