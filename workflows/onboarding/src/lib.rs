//! The connection of initiators (Rules chapter 3), the onboarding service:
//! an OpenID relying party of the provider (client `tanu-onboarding`, over
//! HTTP), which needs of it only one port, [`worker::ClientRegistrar`]: the
//! Temporal client the portal and console act through, the worker that runs
//! the workflow with this process's implementation of its ports (database
//! projection, OIDC clients, mail), and the portal and console pages.
//!
//! The workflow (`tanu_workflows::temporal`) is the source of truth for an
//! application's state and deadlines; the `onboarding_applications` row is
//! the Appendix 1 form as filed plus the projection the workflow last
//! recorded, which the queue and the CSV register read.
pub mod act;
pub mod config;
pub mod form;
pub mod mail;
pub mod ports;
pub mod state;
pub mod web;
pub mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use tanu_workflows::eds::{EdsError, Signer, Trust};
use tanu_workflows::onboarding::{Actor, Application};
use tanu_workflows::temporal::{OnboardingInput, OnboardingWorkflow, Request};
use tanu_workflows::{Bin, Calendar};
use temporalio_client::{Client, ClientOptions, ConnectionOptions, WorkflowExecuteUpdateOptions, WorkflowQueryOptions, WorkflowStartOptions};

use crate::config::OnboardingConfig;

// The shared crates, under the paths the modules use.
pub use tanu_core::{crypto, domain};
pub use tanu_store as store;
pub use tanu_store::audit;
pub use tanu_ui::{i18n, ratelimit};

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("the connection service is not configured (onboarding.temporal_address)")]
    NotConfigured,
    #[error("the workflow service is unavailable: {0}")]
    Unavailable(String),
    /// The workflow refused the action, with its reason.
    #[error("{0}")]
    Refused(String),
    #[error("calendar: {0}")]
    Calendar(#[from] tanu_workflows::CalendarError),
    #[error("EDS trust: {0}")]
    Trust(#[from] EdsError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
}

/// The connection service as the web side and the worker use it.
pub struct Onboarding {
    pub config: OnboardingConfig,
    client: tokio::sync::OnceCell<Client>,
    pub calendar: Calendar,
    calendar_files: Vec<String>,
    trust: Option<Trust>,
    pub mailer: mail::Mailer,
}

impl Onboarding {
    pub fn new(config: &OnboardingConfig) -> Result<Self, OnboardingError> {
        let files: Vec<(String, String)> = if config.calendar_dir.is_dir() {
            tanu_workflows::calendar::year_files(&config.calendar_dir)?
        } else {
            tanu_workflows::calendar::EMBEDDED_FILES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
        };
        let calendar = Calendar::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))?;
        let trust = match &config.eds_roots {
            Some(roots) => Some(Trust::from_files(roots, config.eds_crls.clone())?),
            None => None,
        };
        Ok(Onboarding {
            mailer: mail::Mailer::new(&config.smtp_url, &config.mail_from)?,
            config: config.clone(),
            client: tokio::sync::OnceCell::new(),
            calendar,
            calendar_files: files.into_iter().map(|(_, t)| t).collect(),
            trust,
        })
    }

    pub fn configured(&self) -> bool {
        !self.config.temporal_address.is_empty()
    }

    /// The Temporal client, connected on first use (sign-in never waits for
    /// Temporal: only the portal and console need it).
    pub async fn client(&self) -> Result<&Client, OnboardingError> {
        if !self.configured() {
            return Err(OnboardingError::NotConfigured);
        }
        self.client.get_or_try_init(|| connect(&self.config)).await
    }

    /// Starts the workflow of a filed application.
    pub async fn start(&self, application_id: &str, filed_at: DateTime<Utc>, filed_by: Actor) -> Result<(), OnboardingError> {
        let input = OnboardingInput {
            application_id: application_id.to_owned(),
            filed_at,
            filed_by,
            calendar_years: self.calendar_files.clone(),
            time_scale: self.config.time_scale,
        };
        let options = WorkflowStartOptions::new(self.config.task_queue.as_str(), application_id).build();
        self.client().await?.start_workflow(OnboardingWorkflow::run, input, options).await.map_err(|e| OnboardingError::Unavailable(e.to_string()))?;
        Ok(())
    }

    /// Asks the workflow to take an action; it validates first and says why not.
    pub async fn act(&self, application_id: &str, request: Request) -> Result<(), OnboardingError> {
        let handle = self.client().await?.get_workflow_handle::<OnboardingWorkflow>(application_id);
        match handle.execute_update(OnboardingWorkflow::act, request, WorkflowExecuteUpdateOptions::default()).await {
            Ok(_) => Ok(()),
            Err(temporalio_client::errors::WorkflowUpdateError::Failed(f)) => Err(OnboardingError::Refused(f.message.clone())),
            Err(e) => Err(OnboardingError::Unavailable(e.to_string())),
        }
    }

    /// The application as the workflow holds it now, if it answers.
    pub async fn live(&self, application_id: &str) -> Option<Application> {
        let handle = self.client().await.ok()?.get_workflow_handle::<OnboardingWorkflow>(application_id);
        handle.query(OnboardingWorkflow::application, (), WorkflowQueryOptions::default()).await.ok().flatten()
    }

    /// Waits (briefly) until the workflow has applied what was just accepted:
    /// the timeline grew past `seen` entries.
    pub async fn settled(&self, application_id: &str, seen: usize) -> Option<Application> {
        let mut last = None;
        for _ in 0..50 {
            last = self.live(application_id).await;
            if last.as_ref().is_some_and(|a| a.timeline.len() > seen) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last
    }

    /// Procedure time for an application filed at `filed_at` (the workflow's
    /// `time_scale`; real time in production).
    pub fn procedure_now(&self, filed_at: DateTime<Utc>) -> DateTime<Utc> {
        let elapsed = (Utc::now() - filed_at).num_milliseconds().max(0) as f64 * self.config.time_scale;
        filed_at + chrono::Duration::milliseconds(elapsed as i64)
    }

    /// Verifies a detached CMS signature over `document` (eds.rs).
    pub fn verify(&self, document: &[u8], signature: &[u8], bin: Option<&Bin>) -> Result<Signer, EdsError> {
        let trust = self.trust.as_ref().ok_or_else(|| EdsError::Trust("no trusted roots are configured (onboarding.eds_roots)".into()))?;
        tanu_workflows::eds::verify_detached(document, signature, trust, bin, Utc::now())
    }
}

async fn connect(config: &OnboardingConfig) -> Result<Client, OnboardingError> {
    let url = url::Url::parse(&config.temporal_address).map_err(|e| OnboardingError::Unavailable(format!("temporal_address: {e}")))?;
    let connection = ConnectionOptions::new(url).identity(format!("tanu@{}", std::process::id())).connect_timeout(Duration::from_secs(5)).build();
    Client::connect(connection, ClientOptions::new(config.temporal_namespace.clone()).build()).await.map_err(|e| OnboardingError::Unavailable(e.to_string()))
}

/// Application ids: the filing date and a random part (`A20261123-K7Q2XW`).
pub fn new_application_id(at: DateTime<Utc>) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let tail: String = (0..6).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
    format!("A{}-{tail}", at.with_timezone(&tanu_workflows::ALMATY).format("%Y%m%d"))
}

/// The running worker thread (see [`spawn_worker`]).
pub struct WorkerHandle {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WorkerHandle {
    /// Waits, at most `grace`, for the worker to stop after the process's shutdown (`App::shutdown` in `tanu-idp`).
    pub async fn join(mut self, grace: Duration) {
        let Some(thread) = self.thread.take() else { return };
        let joined = tokio::task::spawn_blocking(move || thread.join());
        match tokio::time::timeout(grace, joined).await {
            Ok(_) => tracing::info!("onboarding worker stopped"),
            Err(_) => tracing::warn!(grace_s = grace.as_secs(), "onboarding worker did not stop within the grace period"),
        }
    }
}

/// Runs the workflow worker on a thread of its own (the SDK's worker is not
/// `Send`), reconnecting while Temporal is away. The ports run their I/O on
/// the caller's runtime, where the database pool lives. On
/// the process's shutdown (`App::shutdown` in `tanu-idp`) the worker stops polling, lets the tasks it
/// holds finish (the SDK's graceful shutdown) and the thread ends.
pub fn spawn_worker(app: std::sync::Arc<worker::WorkerState>) -> WorkerHandle {
    let handle = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new().name("onboarding-worker".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return tracing::error!(error = %e, "onboarding worker: no runtime"),
        };
        rt.block_on(async move {
            while !app.shutting_down() {
                match run_worker(&app, handle.clone()).await {
                    Ok(()) if app.shutting_down() => break,
                    Ok(()) => tracing::warn!("onboarding worker stopped; restarting"),
                    Err(e) => tracing::warn!(error = %e, "onboarding worker: Temporal unavailable; retrying in 5 s"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = app.stopping() => {}
                }
            }
        });
    });
    match spawned {
        Ok(thread) => WorkerHandle { thread: Some(thread) },
        Err(e) => {
            tracing::error!(error = %e, "onboarding worker thread did not start");
            WorkerHandle { thread: None }
        }
    }
}

async fn run_worker(app: &std::sync::Arc<worker::WorkerState>, main: tokio::runtime::Handle) -> anyhow::Result<()> {
    use tanu_workflows::temporal::OnboardingActivities;
    use temporalio_sdk::{Runtime, Worker, WorkerOptions};
    let onboarding = &app.onboarding;
    let client = connect(&onboarding.config).await?;
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let ports = std::sync::Arc::new(ports::IdpPorts::new(app.clone(), main));
    let options = WorkerOptions::new(onboarding.config.task_queue.as_str())
        .register_workflow::<OnboardingWorkflow>()?
        .register_activities(OnboardingActivities { ports })
        .build();
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    let stopping = {
        let app = app.clone();
        tokio::spawn(async move {
            app.stopping().await;
            stop();
        })
    };
    tracing::info!(queue = %onboarding.config.task_queue, "onboarding worker polling");
    let ran = worker.run().await;
    stopping.abort();
    ran?;
    Ok(())
}
