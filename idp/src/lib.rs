//! Tanu: the national biometric sign-in service, an OpenID Connect provider.
//!
//! Layers, from the edge in: `oidc` (HTTP endpoints and protocol errors),
//! `interaction` (login sessions, consent), `keys` and `store` (persistence),
//! `domain` (types parsed once at the edge), `config`. `face` is the face
//! authenticator; `onboarding` the connection of initiators (portal, console,
//! Temporal worker).
pub mod app;
pub mod audit;
pub mod cabinet;
pub mod cli;
pub mod config;
pub mod edge;
pub mod face;
pub mod first_party;
pub mod i18n;
pub mod interaction;
pub mod keys;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod onboarding;
pub mod probes;
pub mod ratelimit;
pub mod sector;
pub mod telemetry;
pub mod web;

// The core's modules, under the paths the rest of this crate uses.
pub use tanu_core::{crypto, domain};
/// Persistence, its own crate: the only owner of SQL.
pub use tanu_store as store;
