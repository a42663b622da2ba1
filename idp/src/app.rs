//! The running provider: configuration, storage and keys in one shared state,
//! and the HTTP server built from it. `tanu serve` and the test kit both start
//! the provider through [`App::build`] and [`App::serve`]: there is no second
//! code path.
use std::{net::SocketAddr, sync::Arc};

use poem::{
    listener::{Acceptor, TcpAcceptor},
    EndpointExt, Route,
};

use crate::{config::Config, crypto::MasterKey, interaction::Authenticator, keys::KeyRing, oidc::OidcState, ratelimit::RateLimiter, store::Store};

pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: KeyRing,
    pub authenticator: Arc<dyn Authenticator>,
    /// The browser endpoints' budget per address (shared with the protocol's state).
    pub limiter: RateLimiter,
    pub journal: crate::audit::Journal,
    /// How many instances serve: the per-minute budgets are shared by them.
    pub instances: crate::ratelimit::Instances,
    /// The protocol's own state (endpoints, interaction, notifications),
    /// registered on the routes for its handlers.
    pub oidc: Arc<OidcState>,
    /// Seals client secrets until the initiator has seen them once.
    master: MasterKey,
    /// Stores and checks client secrets (HMAC under a derived key; legacy Argon2 bounded).
    pub client_secrets: crate::crypto::ClientSecrets,
    /// The connection of initiators (portal, console, workflow worker).
    pub onboarding: Arc<crate::onboarding::Onboarding>,
    /// The cabinet's own state, registered on `/me` for its handlers.
    pub cabinet: Arc<crate::cabinet::CabinetState>,
    /// The portal's and console's own state, registered on the routes for their handlers.
    pub portal: Arc<crate::onboarding::state::OnboardingState>,
    /// Set by whoever built the face authenticator, once its models loaded
    /// (`/readyz`).
    face_models: std::sync::atomic::AtomicBool,
    /// Becomes true when the process is asked to stop (SIGTERM): the server
    /// stops accepting, `/readyz` answers 503, background loops end.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The time protocol logic decides on (the system clock in service).
    pub clock: tanu_core::Clock,
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    #[serde(serialize_with = "ok_or_error")]
    pub database: Result<(), String>,
    /// `loaded`, `not_loaded`, or `disabled` (face sign-in switched off).
    pub face_models: &'static str,
    pub shutting_down: bool,
}

fn ok_or_error<S: serde::Serializer>(r: &Result<(), String>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Ok(()) => s.serialize_str("ok"),
        Err(_) => s.serialize_str("unavailable"),
    }
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.is_ok() && self.face_models != "not_loaded" && !self.shutting_down
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("master key file {path}: {source}")]
    MasterKeyFile { path: std::path::PathBuf, source: std::io::Error },
    #[error("master key file {path} has mode {mode:o}: it must be readable by its owner only (chmod 600)")]
    MasterKeyExposed { path: std::path::PathBuf, mode: u32 },
    #[error(transparent)]
    Provider(#[from] crate::oidc::state::StateError),
    #[error("onboarding: {0}")]
    Onboarding(#[from] crate::onboarding::OnboardingError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// The master key from configuration, or from `<data_dir>/master.key`,
/// generated there (mode 0600, the directory 0700) on first start. A key file
/// readable by group or others is refused: the process does not start.
pub fn master_key(config: &Config) -> Result<MasterKey, StartError> {
    if !config.master_key.is_empty() {
        return Ok(MasterKey::from_base64(&config.master_key)?);
    }
    let path = config.data_dir.join("master.key");
    let io = |source| StartError::MasterKeyFile { path: path.clone(), source };
    if !path.exists() {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&config.data_dir).map_err(io)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        use std::io::Write;
        opts.open(&path).and_then(|mut f| f.write_all(MasterKey::generate_base64().as_bytes())).map_err(io)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StartError::MasterKeyExposed { path, mode: mode & 0o777 });
        }
    }
    Ok(MasterKey::from_base64(&std::fs::read_to_string(&path).map_err(io)?)?)
}

impl App {
    /// Connects, migrates and makes sure signing keys exist.
    pub async fn build(config: Config, authenticator: Arc<dyn Authenticator>) -> Result<Arc<App>, StartError> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let master = master_key(&config)?;
        let keys = KeyRing::new(store.clone(), master.clone(), config.key_publish_lead, config.id_token_ttl).with_poll_interval(config.key_poll_interval);
        keys.ensure_initial_keys().await?;
        let onboarding = Arc::new(crate::onboarding::Onboarding::new(&config.onboarding)?);
        let instances = crate::ratelimit::Instances::default();
        let config = Arc::new(config);
        let provider = config.provider(authenticator.acr_values());
        let limiter = RateLimiter::shared(config.rate_limit_per_minute, instances.clone());
        let journal = crate::audit::Journal::new(store.clone(), master.derive("tanu audit pseudonym v1"));
        let client_secrets = crate::crypto::ClientSecrets::new(&master);
        let clock = tanu_core::Clock::system();
        let csrf = tanu_ui::csrf::Csrf::derive(&master);
        let oidc = Arc::new(OidcState::new(
            crate::oidc::state::Shared {
                config: provider,
                store: store.clone(),
                keys: keys.clone(),
                journal: journal.clone(),
                clock: clock.clone(),
                limiter: limiter.clone(),
                instances: instances.clone(),
                client_secrets: client_secrets.clone(),
                csrf: csrf.clone(),
            },
            &master,
        )?);
        let portal = Arc::new(crate::onboarding::state::OnboardingState::new(
            crate::onboarding::state::Shared {
                store: store.clone(),
                journal: journal.clone(),
                limiter: limiter.clone(),
                client_secrets: client_secrets.clone(),
                cookies: oidc.config.cookies(),
                csrf,
            },
            onboarding.clone(),
            config.issuer.clone(),
            master.clone(),
        ));
        let cabinet = Arc::new(crate::cabinet::CabinetState {
            store: store.clone(),
            journal: journal.clone(),
            limiter: limiter.clone(),
            oidc: oidc.clone(),
            portal: portal.clone(),
            config: crate::cabinet::CabinetConfig { issuer: config.issuer.clone(), session_ttl: config.session_ttl, documents: config.documents.clone() },
            client_secrets: client_secrets.clone(),
            client_secret: hex::encode(master.derive("tanu cabinet client secret v1")),
            document_code_key: master.derive("tanu document code v1"),
        });
        let app = Arc::new(App {
            cabinet,
            portal,
            limiter,
            instances,
            journal,
            oidc,
            client_secrets,
            master,
            onboarding,
            face_models: Default::default(),
            shutdown: tokio::sync::watch::channel(false).0,
            clock,
            config,
            store,
            keys,
            authenticator,
        });
        crate::onboarding::web::ensure_portal_client(&app.portal).await?;
        crate::cabinet::web::ensure_cabinet_client(&app.cabinet).await?;
        Ok(app)
    }

    /// Records that the face models are loaded (the face authenticator was built).
    pub fn face_models_loaded(&self) {
        self.face_models.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Asks the server to stop gracefully: no new connections, in-flight
    /// requests finish within `shutdown_grace`, the worker stops.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves once [`App::shutdown`] was called.
    pub async fn stopping(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// What `/readyz` checks: the database answers, the face models are
    /// loaded when face sign-in is enabled, and the process is not stopping.
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            // Bounded: a probe must answer even while the pool waits for a
            // database that refuses connections.
            database: match tokio::time::timeout(std::time::Duration::from_secs(2), self.store.ping()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err("no answer within 2 s".into()),
            },
            face_models: if !self.config.face.enabled {
                "disabled"
            } else if self.face_models.load(std::sync::atomic::Ordering::Acquire) {
                "loaded"
            } else {
                "not_loaded"
            },
            shutting_down: self.shutting_down(),
        }
    }
}

/// For `tanu worker`: the onboarding service's state alone — the store
/// (migrated), the master key and the connection service; no signing keys,
/// no authenticator. `stop` ends it.
pub async fn worker_state(config: &Config, stop: tokio::sync::watch::Receiver<bool>) -> Result<crate::onboarding::worker::WorkerState, StartError> {
    use crate::onboarding::worker::{ClientRegistrar, WorkerState};
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    let master = master_key(config)?;
    let registrar = ClientRegistrar::new(store.clone(), crate::crypto::ClientSecrets::new(&master), master);
    let onboarding = Arc::new(crate::onboarding::Onboarding::new(&config.onboarding)?);
    Ok(WorkerState::new(store, registrar, onboarding, config.issuer.clone(), stop))
}

impl App {
    /// The onboarding worker's narrow state, from this provider's parts.
    pub fn worker_state(&self) -> crate::onboarding::worker::WorkerState {
        let registrar = crate::onboarding::worker::ClientRegistrar::new(self.store.clone(), self.client_secrets.clone(), self.master.clone());
        let stop = self.shutdown.subscribe();
        crate::onboarding::worker::WorkerState::new(self.store.clone(), registrar, self.onboarding.clone(), self.config.issuer.clone(), stop)
    }

    /// The documents the cabinet shares, from the registry face sign-in reads.
    pub fn documents(&self) -> crate::cabinet::documents::Documents {
        let biometrics = &self.config.biometrics;
        crate::cabinet::documents::Documents::new(biometrics.registry_http.as_ref(), &biometrics.registry_dir)
    }

    pub fn routes(self: &Arc<Self>) -> impl poem::Endpoint + 'static {
        Route::new()
            .at("/.well-known/openid-configuration", poem::get(crate::oidc::discovery))
            .at("/jwks", poem::get(crate::oidc::jwks))
            .at("/authorize", poem::get(crate::oidc::authorize::authorize).post(crate::oidc::authorize::authorize))
            .at("/authorize/resume/:id", poem::get(crate::oidc::authorize::resume))
            .at("/consent/:id", poem::get(crate::interaction::consent_page).post(crate::interaction::consent_submit))
            .at("/token", poem::post(crate::oidc::token::token))
            .at("/revoke", poem::post(crate::oidc::revoke::revoke))
            .at("/introspect", poem::post(crate::oidc::introspect::introspect))
            .at("/par", poem::post(crate::oidc::par::par))
            .at("/userinfo", poem::get(crate::oidc::userinfo::userinfo).post(crate::oidc::userinfo::userinfo))
            .at("/logout", poem::get(crate::oidc::logout::logout).post(crate::oidc::logout::logout))
            .at("/healthz", poem::get(crate::probes::healthz))
            .at("/readyz", poem::get(crate::probes::readyz))
            .at("/metrics", poem::get(crate::probes::metrics))
            .nest("/login", self.authenticator.routes(self.oidc.clone()))
            .nest("/onboarding", crate::onboarding::web::auth_routes())
            .nest("/portal", crate::onboarding::web::portal_routes())
            .nest("/console", crate::onboarding::web::console_routes())
            .nest("/me", crate::cabinet::web::routes(&self.cabinet.config, self.documents()).data(self.cabinet.clone()))
            // Before any handler: the client's address, the body budget.
            .around({
                let app = self.clone();
                move |ep, req| {
                    let app = app.clone();
                    async move { crate::edge::guard(&app, &*ep, req).await }
                }
            })
            .with(poem::middleware::CookieJarManager::new())
            .with(self.security_headers())
            .with(poem::middleware::CatchPanic::new())
            .with(crate::metrics::Track)
            .with(crate::telemetry::Traced)
            .data(self.oidc.clone())
            .data(self.portal.clone())
            .data(self.clone())
    }

    /// Headers on every response; HSTS when the issuer is https (a browser
    /// that has seen it never tries plain http again for a year).
    fn security_headers(&self) -> poem::middleware::SetHeader {
        let headers = poem::middleware::SetHeader::new()
            .overriding("X-Content-Type-Options", "nosniff")
            .overriding("X-Frame-Options", "DENY")
            .overriding("Referrer-Policy", "no-referrer");
        if self.config.secure_cookies() {
            headers.overriding("Strict-Transport-Security", "max-age=31536000")
        } else {
            headers
        }
    }

    /// Binds `config.listen` (port 0 picks a free one) and returns the bound
    /// address and the running server.
    pub async fn serve(self: Arc<Self>) -> Result<(SocketAddr, impl std::future::Future<Output = std::io::Result<()>>), StartError> {
        let addr = self.config.listen;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
        self.serve_on(listener)
    }

    /// Serves on a listener already bound: what [`App::serve`] does after
    /// binding. The test kit binds its port itself before the issuer is
    /// configured and keeps it bound, so no other process can take it
    /// between choosing the port and serving on it.
    pub fn serve_on(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
    ) -> Result<(SocketAddr, impl std::future::Future<Output = std::io::Result<()>>), StartError> {
        let addr = self.config.listen;
        let acceptor = TcpAcceptor::from_tokio(listener).map_err(|source| StartError::Listen { addr, source })?;
        let bound = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).unwrap_or(addr);
        crate::metrics::install();
        let app = self.routes();
        let worker = (self.onboarding.configured() && self.config.onboarding.worker).then(|| crate::onboarding::spawn_worker(Arc::new(self.worker_state())));
        Ok((bound, async move {
            let mail =
                tokio::spawn(crate::onboarding::mail::run_delivery(self.store.clone(), self.onboarding.mailer.clone(), std::time::Duration::from_secs(60)));
            let delivery = tokio::spawn(crate::notify::run_delivery(self.oidc.clone()));
            let instance = crate::crypto::random_token(16);
            let heartbeat = tokio::spawn(self.clone().beat(instance.clone()));
            let grace = std::time::Duration::from_secs(self.config.shutdown_grace);
            let stop = {
                let app = self.clone();
                async move { app.stopping().await }
            };
            // Graceful: once `stop` resolves no connection is accepted, each
            // open one finishes its request in flight and closes; whatever
            // still runs after `grace` is cut.
            let served = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(app, stop, Some(grace)).await;
            // The loops only wait between passes; a pass cut here is retried
            // by the next start (their state is in the database).
            delivery.abort();
            mail.abort();
            heartbeat.abort();
            if let Err(e) = self.store.instance_gone(&instance).await {
                tracing::warn!(error = %e, "instance heartbeat: could not say goodbye");
            }
            if let Some(worker) = worker {
                self.shutdown();
                worker.join(grace).await;
            }
            tracing::info!("tanu stopped");
            served
        }))
    }

    /// Beats in the database every `instance_heartbeat` seconds and counts
    /// the instances serving, which share the per-minute budgets. When the
    /// database cannot be reached the last count stands.
    async fn beat(self: Arc<Self>, instance: String) {
        let every = std::time::Duration::from_secs(self.config.instance_heartbeat.max(1));
        let alive = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::seconds(15));
        loop {
            let now = self.clock.now();
            match self.store.instance_heartbeat(&instance, now, now - alive, now - chrono::Duration::hours(1)).await {
                Ok(n) => self.instances.set(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(e) => tracing::warn!(error = %e, "instance heartbeat"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// `sub` for a citizen as seen by a client ([`OidcState::subject`]).
    pub fn subject(&self, client: &crate::store::Client, citizen_id: &str) -> String {
        self.oidc.subject(client, citizen_id)
    }

    /// A CSRF token bound to a page's session and its browser ([`OidcState::csrf_token`]).
    pub fn csrf_token(&self, purpose: &str, browser_binding: &str) -> String {
        self.oidc.csrf_token(purpose, browser_binding)
    }
}
