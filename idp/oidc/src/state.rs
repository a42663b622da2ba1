//! The protocol's own state: what the OpenID endpoints, the interaction
//! (login hand-off, consent, browser sessions) and the relying parties'
//! notifications need — and nothing of face sign-in, the cabinet or
//! onboarding. The composition root (`App::build`) builds it from the shared
//! handles and registers it on the routes; the protocol's handlers take
//! `Data<&Arc<OidcState>>`, never the whole `App`.
use crate::{
    audit::Journal,
    config::ProviderConfig,
    crypto::{ClientSecrets, MasterKey},
    domain::{ClientId, Environment, SubjectType},
    dpop::Nonces,
    keys::KeyRing,
    ratelimit::RateLimiter,
    store::{Client, Store},
};

pub struct OidcState {
    pub config: ProviderConfig,
    pub store: Store,
    pub keys: KeyRing,
    pub journal: Journal,
    /// The time protocol logic decides on (the system clock in service).
    pub clock: tanu_core::Clock,
    /// The browser endpoints' budget per address.
    pub limiter: RateLimiter,
    /// `/token`'s own budget per address (a relying party's backend is not a browser).
    pub token_limiter: RateLimiter,
    /// Failed authentications per registered client (from any address).
    pub client_failures: RateLimiter<ClientId>,
    /// Stores and checks client secrets (HMAC under a derived key; legacy Argon2 bounded).
    pub client_secrets: ClientSecrets,
    /// DPoP server nonces (RFC 9449 §8), alike on every instance.
    pub dpop_nonces: Nonces,
    pairwise_key: [u8; 32],
    /// The sandbox's own pairwise key: a `sub` seen by a sandbox client never
    /// equals one a production client sees.
    sandbox_pairwise_key: [u8; 32],
    csrf: tanu_ui::csrf::Csrf,
    /// The discovery document, serialised once (it depends on the configuration only).
    pub(crate) discovery_json: bytes::Bytes,
}

/// The shared handles the composition root gives the protocol.
pub struct Shared {
    pub config: ProviderConfig,
    pub store: Store,
    pub keys: KeyRing,
    pub journal: Journal,
    pub clock: tanu_core::Clock,
    pub limiter: RateLimiter,
    pub instances: crate::ratelimit::Instances,
    pub client_secrets: ClientSecrets,
    /// Every page's CSRF key (derived once by the root).
    pub csrf: tanu_ui::csrf::Csrf,
}

/// A state that cannot be built: its discovery document cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("issuer or endpoint is not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("discovery document: {0}")]
    Json(#[from] serde_json::Error),
}

impl OidcState {
    /// The protocol's keys are derived here from the master key; the master
    /// key itself is not kept.
    pub fn new(shared: Shared, master: &MasterKey) -> Result<Self, StateError> {
        let Shared { config, store, keys, journal, clock, limiter, instances, client_secrets, csrf } = shared;
        let discovery_json = bytes::Bytes::from(serde_json::to_vec(&crate::metadata(&config)?)?);
        Ok(Self {
            token_limiter: RateLimiter::shared(config.token_rate_limit_per_minute, instances.clone()),
            client_failures: RateLimiter::shared(config.client_auth_failures_per_minute, instances),
            dpop_nonces: Nonces::new(master.derive("tanu dpop nonce v1"), config.dpop_nonce_required),
            pairwise_key: master.derive("tanu pairwise subject v1"),
            sandbox_pairwise_key: master.derive("tanu sandbox pairwise subject v1"),
            csrf,
            discovery_json,
            config,
            store,
            keys,
            journal,
            clock,
            limiter,
            client_secrets,
        })
    }

    /// `sub` for a citizen as seen by a client: pairwise per sector by default
    /// (OIDC Core §8.1), so relying parties cannot correlate citizens; under
    /// the sandbox's own key for a sandbox client (whose citizens are test
    /// persons, accounts of their own).
    pub fn subject(&self, client: &Client, citizen_id: &str) -> String {
        let key = match client.environment {
            Environment::Production => &self.pairwise_key,
            Environment::Sandbox => &self.sandbox_pairwise_key,
        };
        match client.subject_type {
            SubjectType::Public => citizen_id.to_string(),
            SubjectType::Pairwise => crate::crypto::mac(key, &[&client.sector_identifier, citizen_id]),
        }
    }

    /// A CSRF token bound to an interaction (or a signed-in page's session)
    /// and the browser that started it.
    pub fn csrf_token(&self, interaction: &str, browser_binding: &str) -> String {
        self.csrf.token(interaction, browser_binding)
    }
}
