//! Tanu: the national biometric sign-in service, an OpenID Connect provider.
//!
//! This crate is the composition root (`app`: the shared handles, each area's
//! state, the routes), the CLI and face sign-in (`face`, the authenticator
//! of `tanu-oidc`'s `Authenticator` interface). The protocol is `tanu-oidc`,
//! the citizen's cabinet `tanu-cabinet`, the onboarding service (portal,
//! console, Temporal worker) `tanu-onboarding`, the pages' common parts
//! `tanu-ui`, persistence `tanu-store`, the domain types `tanu-core`.
pub mod app;
pub mod cli;
pub mod config;
pub mod edge;
pub mod face;
pub mod metrics;
pub mod probes;
pub mod sector;
pub mod telemetry;
pub mod web;

// The core's modules, under the paths the rest of this crate uses.
/// The citizen's cabinet, its own crate.
pub use tanu_cabinet as cabinet;
pub use tanu_core::{crypto, domain};
/// The protocol, its own crate: endpoints, interaction, keys, journal.
pub use tanu_oidc as oidc;
pub use tanu_oidc::{audit, interaction, keys, notify, ratelimit};
/// The connection of initiators (portal, console, Temporal worker), its own crate.
pub use tanu_onboarding as onboarding;
/// Persistence, its own crate: the only owner of SQL.
pub use tanu_store as store;
/// The three languages.
pub use tanu_ui::i18n;
