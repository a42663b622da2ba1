//! The citizen's cabinet (`/me`, issue 14): who holds my consent, what did
//! they receive and when, my biometric data, and taking each of them back.
//!
//! Like the onboarding portal it is an OIDC relying party of this very
//! provider (client `tanu-cabinet`, public subject, scope `openid`): the
//! citizen signs in with Tanu itself (face sign-in), `/me/callback` redeems
//! the code over HTTP with the `openidconnect` crate and verifies the ID
//! token, whose `sub` is the citizen. It reads and changes the store only
//! through named operations (`store::cabinet`). Every state-changing form
//! carries a CSRF token bound to the cabinet session.
pub mod api;
pub mod documents;
pub mod web;

// The shared crates under the names the cabinet's modules use.
use tanu_core::{crypto, domain};
use tanu_oidc as oidc;
use tanu_oidc::{audit, interaction, notify, ratelimit};
use tanu_onboarding as onboarding;
use tanu_store as store;
use tanu_ui::i18n;

use crate::{
    audit::{Event, Journal, Outcome},
    store::{Citizen, Store, StoreError},
};

pub const CABINET_CLIENT_ID: &str = "tanu-cabinet";

/// The journal step of a withdrawal of biometric consent.
pub const WITHDRAWAL_STEP: &str = "biometric_consent_withdrawn";

/// Withdraws the citizen's biometric consent (Rules §11): consent withdrawn
/// and reference template (with its wrapped key) deleted in one transaction,
/// the withdrawal journalled with `by` (who did it), then every open session
/// of the citizen ended. The next sign-in is a first one again. Returns
/// whether a consent was in force.
pub async fn withdraw_biometrics(store: &Store, journal: &Journal, citizen: &Citizen, by: &str) -> Result<bool, StoreError> {
    let had = store.withdraw_biometric_consent(&citizen.id).await?;
    journal
        .append(Event {
            client_id: None,
            subject: Some(journal.subject(citizen)),
            step: WITHDRAWAL_STEP,
            outcome: if had { Outcome::Success } else { Outcome::Failure },
            reason: Some(if had { by.to_string() } else { format!("{by}; none in force") }.as_str()),
        })
        .await?;
    store.end_citizen_sessions(&citizen.id).await?;
    Ok(had)
}

/// The cabinet's own state (issue 11): the shared handles it works with,
/// the provider's state (the cabinet checks DPoP proofs and client
/// authentication as the provider does, and tells relying parties of a
/// revoked consent), the onboarding sign-in the verifier page reuses, its
/// settings and the keys derived for it. Registered on `/me`; no handler of
/// the cabinet takes the composition root's `App`.
pub struct CabinetState {
    pub store: Store,
    pub journal: Journal,
    /// The browser endpoints' budget per address (shared with the provider's).
    pub limiter: crate::ratelimit::RateLimiter,
    pub oidc: std::sync::Arc<crate::oidc::OidcState>,
    pub portal: std::sync::Arc<crate::onboarding::state::OnboardingState>,
    pub config: CabinetConfig,
    /// Registers the cabinet's own client at start.
    pub client_secrets: crate::crypto::ClientSecrets,
    /// The cabinet's own client secret (a first-party client of the provider).
    pub client_secret: String,
    /// Keys the hashes short document codes are stored as.
    pub document_code_key: [u8; 32],
}

/// The cabinet's part of the configuration.
pub struct CabinetConfig {
    pub issuer: String,
    /// The provider's browser session lifetime: the cabinet's session lasts as long.
    pub session_ttl: u64,
    pub documents: DocumentsConfig,
}

impl CabinetConfig {
    /// The URL of an endpoint under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

/// `[documents]`: the cabinet's documents shared by a short code (issue 14).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsConfig {
    /// Seconds a code is valid from the moment the citizen opens access.
    pub code_ttl: u64,
    /// Redemption requests per minute of one verifier (a client or an
    /// organisation user), right or wrong.
    pub redeem_per_minute: u32,
    /// Redemption requests per minute of all verifiers together: the whole
    /// code space's budget.
    pub redeem_per_minute_total: u32,
    /// Wrong codes one verifier may type within `lockout_window` seconds;
    /// the next attempt is refused until the oldest of them is that old.
    pub lockout_failures: u32,
    pub lockout_window: u64,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig { code_ttl: 300, redeem_per_minute: 10, redeem_per_minute_total: 600, lockout_failures: 5, lockout_window: 900 }
    }
}
