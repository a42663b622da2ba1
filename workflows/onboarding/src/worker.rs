//! The onboarding service's own state (issue 11): what the workflow worker
//! needs of this process, and nothing more. `tanu worker` builds only this (`tanu-idp`'s `app::worker_state`):
//! no signing keys, no authenticator, no browser sessions. The provider is
//! reached through one narrow port, [`ClientRegistrar`].
use std::sync::Arc;

use crate::{
    crypto::{ClientSecrets, MasterKey},
    store::{NewClient, Store, StoreError},
};

use super::Onboarding;

/// The one thing the connection procedure needs of the provider: registering
/// a relying party's client, with its secret sealed until the initiator has
/// seen it once.
#[derive(Clone)]
pub struct ClientRegistrar {
    store: Store,
    secrets: ClientSecrets,
    master: MasterKey,
}

impl ClientRegistrar {
    pub fn new(store: Store, secrets: ClientSecrets, master: MasterKey) -> Self {
        ClientRegistrar { store, secrets, master }
    }

    /// Registers the client of an application in `environment` with its
    /// credential (the secret sealed for the portal), at most once.
    pub async fn register_for(&self, application_id: &str, environment: &str, new: NewClient) -> Result<String, StoreError> {
        let master = &self.master;
        self.store.register_application_client(application_id, environment, new, &self.secrets, |id, secret| seal(master, secret.as_bytes(), id)).await
    }
}

/// Seals an onboarding client's secret (opened by the portal, once).
pub fn seal(master: &MasterKey, secret: &[u8], client_id: &str) -> String {
    master.seal(secret, &format!("tanu onboarding client secret v1 {client_id}"))
}

/// What the worker runs with.
#[derive(Clone)]
pub struct WorkerState {
    pub store: Store,
    pub registrar: ClientRegistrar,
    pub onboarding: Arc<Onboarding>,
    /// The provider's public address (links in mail, logo URIs).
    issuer: String,
    /// Becomes true when the process stops.
    stop: tokio::sync::watch::Receiver<bool>,
}

impl WorkerState {
    pub fn new(store: Store, registrar: ClientRegistrar, onboarding: Arc<Onboarding>, issuer: String, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        WorkerState { store, registrar, onboarding, issuer, stop }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    pub fn shutting_down(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once the process is stopping.
    pub async fn stopping(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}
