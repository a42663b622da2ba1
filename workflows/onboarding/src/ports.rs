//! This process's side of the workflow's activities: the projection the UIs
//! read, the OIDC clients it grants, and the mail it sends.
use std::sync::Arc;

use anyhow::Context as _;
use tanu_workflows::onboarding::{Application, Effect};
use tanu_workflows::temporal::{ClientEnvironment, OnboardingPorts};

use super::mail::{audience, compose, enqueue_and_send, Audience, LetterFacts, Recipient};
use super::worker::WorkerState;
use crate::domain::{Environment, RedirectUri};
use crate::i18n::Lang;
use crate::store::onboarding::{Mail, StaffRole};
use crate::store::NewClient;

type Job<T> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<T>> + Send>>;

pub struct IdpPorts {
    app: Arc<WorkerState>,
    /// The runtime the database pool and the mailer live on.
    main: tokio::runtime::Handle,
}

impl IdpPorts {
    pub fn new(app: Arc<WorkerState>, main: tokio::runtime::Handle) -> Self {
        IdpPorts { app, main }
    }

    /// Runs `f` on the main runtime and waits for it from the worker's.
    async fn on_main<T: Send + 'static>(&self, f: impl FnOnce(Arc<WorkerState>) -> Job<T> + Send + 'static) -> anyhow::Result<T> {
        let app = self.app.clone();
        self.main.spawn(async move { f(app).await }).await.context("activity task")?
    }
}

#[async_trait::async_trait]
impl OnboardingPorts for IdpPorts {
    async fn record(&self, application: &Application) -> anyhow::Result<()> {
        let a = application.clone();
        self.on_main(move |app| Box::pin(async move { Ok(app.store.project_application(&a).await?) })).await
    }

    async fn create_client(&self, application_id: &str, environment: ClientEnvironment) -> anyhow::Result<String> {
        let id = application_id.to_owned();
        self.on_main(move |app| Box::pin(async move { create_client(&app, &id, environment).await })).await
    }

    async fn notify(&self, application: &Application, effect: &Effect) -> anyhow::Result<()> {
        let (a, e) = (application.clone(), effect.clone());
        self.on_main(move |app| Box::pin(async move { notify(&app, &a, &e).await })).await
    }
}

fn env_str(e: ClientEnvironment) -> &'static str {
    match e {
        ClientEnvironment::Sandbox => "sandbox",
        ClientEnvironment::Production => "production",
    }
}

/// Registers the application's client in `environment`, once: an activity
/// retried after success finds the credential and returns the same client.
async fn create_client(app: &WorkerState, application_id: &str, environment: ClientEnvironment) -> anyhow::Result<String> {
    if let Some(c) = app.store.credential(application_id, env_str(environment)).await? {
        return Ok(c.client_id);
    }
    let row = app.store.application(application_id).await?.with_context(|| format!("no application {application_id}"))?.row;
    let redirect = match environment {
        ClientEnvironment::Sandbox => row.sandbox_redirect_uri.clone().unwrap_or_else(|| row.redirect_uri.clone()),
        ClientEnvironment::Production => row.redirect_uri.clone(),
    };
    let mut new = NewClient::new(format!("{} ({})", row.system_name, env_str(environment)), vec![redirect.parse::<RedirectUri>()?]);
    new.organisation_name = Some(row.organisation_name.clone());
    new.system_name = Some(row.system_name.clone());
    new.policy_uri = Some(row.policy_uri.clone());
    new.tos_uri = Some(row.tos_uri.clone());
    new.logo_uri = row.logo.as_ref().map(|_| app.endpoint(&format!("/onboarding/logo/{application_id}")));
    new.environment = match environment {
        ClientEnvironment::Sandbox => Environment::Sandbox,
        ClientEnvironment::Production => Environment::Production,
    };
    // The client and its credential in one transaction: an activity killed
    // after registering and retried finds the credential, never a second client.
    let client_id = app.registrar.register_for(application_id, env_str(environment), new).await?;
    tracing::info!(application = application_id, client = %client_id, environment = env_str(environment), "client created");
    Ok(client_id)
}

async fn recipients(app: &WorkerState, row: &crate::store::onboarding::ApplicationRow, who: Audience) -> anyhow::Result<Vec<Recipient>> {
    Ok(match who {
        Audience::Initiator => vec![Recipient { address: row.contact_email.clone(), lang: Lang::from_code(&row.lang) }],
        Audience::Reviewers => staff_recipients(app, StaffRole::Reviewer).await?,
        Audience::Supervisors => staff_recipients(app, StaffRole::Supervisor).await?,
    })
}

async fn staff_recipients(app: &WorkerState, role: StaffRole) -> anyhow::Result<Vec<Recipient>> {
    Ok(app.store.staff_with_role(role).await?.into_iter().map(|s| Recipient { address: s.email, lang: s.lang }).collect())
}

async fn notify(app: &WorkerState, application: &Application, effect: &Effect) -> anyhow::Result<()> {
    let row = app.store.application(&application.id).await?.with_context(|| format!("no application {}", application.id))?.row;
    let (audiences, event) = audience(effect);
    let due = match effect {
        Effect::Remind { due, .. } | Effect::Breach { due, .. } | Effect::Lapse { due, .. } => Some(*due),
        Effect::Notify { .. } => application.deadline.as_ref().map(|d| d.due),
    };
    // A refusal, a return or a lapse carries its reason to the reader.
    let detail = match event {
        "refuse" | "return_act" | "lapsed" => application.timeline.last().and_then(|e| e.detail.clone()).or_else(|| application.closing_reason.clone()),
        _ => None,
    };
    let effect_key = serde_json::to_string(effect)?;
    for who in audiences {
        let path = if who == Audience::Initiator { "/portal/applications/" } else { "/console/applications/" };
        for r in recipients(app, &row, who).await? {
            let letter = compose(
                r.lang,
                &LetterFacts {
                    application_id: &application.id,
                    organisation: &row.organisation_name,
                    system: &row.system_name,
                    event,
                    step: application.step,
                    due: if application.step.is_closed() && !matches!(effect, Effect::Lapse { .. }) { None } else { due },
                    detail: detail.as_deref(),
                    link: app.endpoint(&format!("{path}{}", application.id)),
                },
            );
            // The same effect at the same point of the record is the same mail.
            let id = crate::crypto::token_hash(&format!("{}|{}|{effect_key}|{}", application.id, application.timeline.len(), r.address));
            let m = Mail {
                id,
                application_id: application.id.clone(),
                recipient: r.address.clone(),
                lang: r.lang.code().into(),
                subject: letter.subject,
                body: letter.body,
                event: event.to_owned(),
                created_at: chrono::Utc::now(),
                sent_at: None,
                error: None,
            };
            enqueue_and_send(&app.store, &app.onboarding.mailer, m).await?;
        }
    }
    Ok(())
}
