//! The onboarding procedure on Temporal: one workflow per application (the
//! workflow id is the application id) carrying the pure [`Application`]
//! through every step, with durable timers for reminders and deadlines and
//! activities for the I/O.
//!
//! Determinism: the workflow's inputs carry the calendar data it computes
//! deadlines with (recorded in history), its time is Temporal's workflow time,
//! and everything with side effects runs in activities behind
//! [`OnboardingPorts`], which the `idp` crate implements (database projection,
//! OIDC clients, mail).
//!
//! Time scale: `time_scale` maps workflow time to procedure time
//! (procedure time = filing time + elapsed × scale). Production runs at 1;
//! tests run days in seconds on the real server. It is an input of the
//! workflow, so a history replays with the scale it ran with.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{ActivityOptions, ApplicationFailure, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

use crate::calendar::{Calendar, YearData};
use crate::onboarding::{Action, Actor, Application, Effect, Side, Step};

/// The task queue the onboarding worker polls.
pub const TASK_QUEUE: &str = "tanu-onboarding";

/// How an application's workflow starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnboardingInput {
    pub application_id: String,
    pub filed_at: DateTime<Utc>,
    pub filed_by: Actor,
    /// The `kz-YYYY.toml` files in force when the application was filed.
    pub calendar_years: Vec<String>,
    /// 1 in production (see the module docs).
    pub time_scale: f64,
}

/// What the portal and the console ask for: an action, or a grant, for which
/// the workflow first creates the OIDC client in an activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    GrantSandbox,
    GrantProduction,
    Act { action: Action },
}

impl Command {
    /// The action this command becomes, given the client created for a grant.
    pub fn into_action(self, client_id: Option<String>) -> Action {
        match self {
            Command::GrantSandbox => Action::GrantSandbox { client_id: client_id.unwrap_or_default() },
            Command::GrantProduction => Action::GrantProduction { client_id: client_id.unwrap_or_default() },
            Command::Act { action } => action,
        }
    }

    /// The action as it will be applied, with a stand-in for a client not yet created.
    fn preview(&self) -> Action {
        self.clone().into_action(self.environment().map(|_| "pending".to_owned()))
    }

    fn environment(&self) -> Option<ClientEnvironment> {
        match self {
            Command::GrantSandbox => Some(ClientEnvironment::Sandbox),
            Command::GrantProduction => Some(ClientEnvironment::Production),
            Command::Act { .. } => None,
        }
    }

    /// Grants name no client of the caller's choosing: only the workflow's own.
    fn smuggles_a_client(&self) -> bool {
        matches!(self, Command::Act { action: Action::GrantSandbox { .. } | Action::GrantProduction { .. } })
    }
}

/// A command and who gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub actor: Actor,
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientEnvironment {
    Sandbox,
    Production,
}

/// The I/O the workflow needs, implemented by the `idp` crate.
#[async_trait::async_trait]
pub trait OnboardingPorts: Send + Sync + 'static {
    /// Projects the application's state (step, deadline, timeline) for the UIs.
    async fn record(&self, application: &Application) -> anyhow::Result<()>;
    /// Registers the OIDC client for the application in `environment`; returns its id.
    async fn create_client(&self, application_id: &str, environment: ClientEnvironment) -> anyhow::Result<String>;
    /// Tells people (mail): every transition, reminder, breach and lapse.
    async fn notify(&self, application: &Application, effect: &Effect) -> anyhow::Result<()>;
}

pub struct OnboardingActivities {
    pub ports: Arc<dyn OnboardingPorts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientRequest {
    pub application_id: String,
    pub environment: ClientEnvironment,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    pub application: Application,
    pub effect: Effect,
}

#[activities]
impl OnboardingActivities {
    #[activity]
    pub async fn record(self: Arc<Self>, _ctx: ActivityContext, application: Application) -> Result<(), ActivityError> {
        Ok(self.ports.record(&application).await?)
    }

    #[activity]
    pub async fn create_client(self: Arc<Self>, _ctx: ActivityContext, req: ClientRequest) -> Result<String, ActivityError> {
        Ok(self.ports.create_client(&req.application_id, req.environment).await?)
    }

    #[activity]
    pub async fn notify(self: Arc<Self>, _ctx: ActivityContext, n: Notification) -> Result<(), ActivityError> {
        Ok(self.ports.notify(&n.application, &n.effect).await?)
    }
}

#[workflow]
pub struct OnboardingWorkflow {
    input: OnboardingInput,
    started: Option<SystemTime>,
    /// The workflow time last seen by the run loop (queries and validators
    /// have no clock of their own).
    last_seen: Option<SystemTime>,
    application: Option<Application>,
    inbox: VecDeque<Request>,
    /// Parsed once from the input's calendar files; `None` if they are invalid.
    calendar: Option<Calendar>,
}

fn activity_options() -> ActivityOptions {
    ActivityOptions::start_to_close_timeout(Duration::from_secs(30))
}

fn parse_calendar(files: &[String]) -> Result<Calendar, String> {
    let years = files.iter().map(|t| YearData::from_toml_str(t)).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    Calendar::from_years(years).map_err(|e| e.to_string())
}

impl OnboardingWorkflow {
    /// Procedure time: the filing time plus the elapsed workflow time, scaled.
    fn procedure_time(&self, workflow_now: Option<SystemTime>) -> DateTime<Utc> {
        let elapsed = match (self.started, workflow_now) {
            (Some(s), Some(n)) => n.duration_since(s).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let scaled = elapsed.as_secs_f64() * self.input.time_scale.max(f64::MIN_POSITIVE);
        self.input.filed_at + chrono::Duration::milliseconds((scaled * 1000.0) as i64)
    }

    /// Whether `request` would be accepted after the `queued` requests: the
    /// same check the workflow applies, run on a copy so the caller learns at once.
    fn check<'a>(&self, now: DateTime<Utc>, queued: impl IntoIterator<Item = &'a Request>, request: &Request) -> Result<(), String> {
        let (Some(app), Some(calendar)) = (&self.application, &self.calendar) else {
            return Err("the application could not be filed".into());
        };
        if request.command.smuggles_a_client() {
            return Err("access is granted with grant_sandbox / grant_production, which create the client".into());
        }
        let mut copy = app.clone();
        for q in queued {
            let _ = copy.apply(q.command.preview(), q.actor.clone(), now, calendar);
        }
        copy.apply(request.command.preview(), request.actor.clone(), now, calendar).map(|_| ()).map_err(|e| e.to_string())
    }
}

#[workflow_methods]
impl OnboardingWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OnboardingInput) -> Self {
        // Filed here, not in `run`, so that an update arriving with the first
        // workflow task already finds the application.
        let calendar = parse_calendar(&input.calendar_years).ok();
        let application = calendar.as_ref().and_then(|c| Application::filed(input.application_id.clone(), input.filed_at, input.filed_by.clone(), c).ok());
        OnboardingWorkflow { input, started: None, last_seen: None, application, inbox: VecDeque::new(), calendar }
    }

    #[run]
    #[allow(clippy::expect_used, reason = "the application is set before the loop; replayed workflow code keeps its shape")]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Step> {
        let started = ctx.workflow_time();
        let calendar = ctx.state(|s| s.calendar.clone()).ok_or_else(|| ApplicationFailure::new("the workflow's calendar files do not parse"))?;
        let Some(app) = ctx.state(|s| s.application.clone()) else {
            // Only a calendar without the filing year gets here.
            let year = ctx.state(|s| s.input.filed_at.format("%Y").to_string());
            return Err(ApplicationFailure::new(format!("no working-day calendar for {year}")).into());
        };
        ctx.state_mut(|s| s.started = started);
        ctx.execute_activity(OnboardingActivities::record, app.clone(), activity_options()).await?;
        let filed = Effect::Notify { to: Side::Operator, step: Step::Review, event: "filed".into() };
        ctx.execute_activity(OnboardingActivities::notify, Notification { application: app, effect: filed }, activity_options()).await?;

        loop {
            remember_time(ctx);
            let (closed, wake) = ctx.state(|s| {
                let a = s.application.as_ref().expect("set above");
                (a.step.is_closed(), a.next_wakeup())
            });
            if closed && ctx.state(|s| s.inbox.is_empty()) {
                return Ok(ctx.state(|s| s.application.as_ref().expect("set").step));
            }
            let now = ctx.state(|s| s.procedure_time(ctx.workflow_time()));
            let effects = match wake {
                Some(at) => {
                    let scale = ctx.state(|s| s.input.time_scale.max(f64::MIN_POSITIVE));
                    let wait_ms = ((at - now).num_milliseconds().max(0) as f64 / scale).ceil().max(1.0) as u64;
                    let mut fired = false;
                    temporalio_sdk::workflows::select! {
                        _ = ctx.timer(Duration::from_millis(wait_ms)) => { fired = true; }
                        _ = ctx.wait_condition(|s: &Self| !s.inbox.is_empty()) => {}
                    }
                    if fired {
                        // Time is let pass to the instant the timer was for, not to
                        // "now": a worker that wakes late (down, overloaded) still
                        // sends the reminder before the breach or lapse, in order;
                        // the next turn of the loop reaches the next instant at once.
                        ctx.state_mut(|s| s.application.as_mut().expect("set").tick(at))
                    } else {
                        handle_request(ctx, &calendar).await?
                    }
                }
                None => {
                    ctx.wait_condition(|s: &Self| !s.inbox.is_empty()).await?;
                    handle_request(ctx, &calendar).await?
                }
            };
            let app = ctx.state(|s| s.application.clone().expect("set"));
            ctx.execute_activity(OnboardingActivities::record, app.clone(), activity_options()).await?;
            for effect in effects {
                ctx.execute_activity(OnboardingActivities::notify, Notification { application: app.clone(), effect }, activity_options()).await?;
            }
        }
    }

    #[update_validator(act)]
    fn validate_act(&self, _ctx: &WorkflowContextView, request: &Request) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let now = self.procedure_time(self.last_seen);
        self.check(now, &self.inbox, request).map_err(Into::into)
    }

    /// An action on the application (validated first; applied in order).
    #[update]
    pub fn act(&mut self, _ctx: &mut SyncWorkflowContext<Self>, request: Request) -> String {
        let name = request.command.clone().into_action(None).name().to_owned();
        self.inbox.push_back(request);
        name
    }

    /// The application as the workflow holds it.
    #[query]
    pub fn application(&self, _ctx: &WorkflowContextView) -> Option<Application> {
        self.application.clone()
    }

    /// The procedure time now (for the console's "working days left").
    #[query]
    pub fn procedure_now(&self, _ctx: &WorkflowContextView) -> DateTime<Utc> {
        self.procedure_time(self.last_seen)
    }
}

/// Remembers the workflow time for queries and validators (they have no clock).
fn remember_time(ctx: &WorkflowContext<OnboardingWorkflow>) {
    let t = ctx.workflow_time();
    ctx.state_mut(|s| s.last_seen = t);
}

/// Applies the oldest request: creates the client a grant needs, then the action.
#[allow(clippy::expect_used, reason = "requests are handled only once the application is set (run)")]
async fn handle_request(ctx: &mut WorkflowContext<OnboardingWorkflow>, calendar: &Calendar) -> WorkflowResult<Vec<Effect>> {
    // The request stays at the head of the inbox until it is applied, so that
    // validators of later requests see it while its client is being created.
    let Some(request) = ctx.state(|s| s.inbox.front().cloned()) else { return Ok(Vec::new()) };
    let now = ctx.state(|s| s.procedure_time(ctx.workflow_time()));
    // Checked again on its own: it was valid when accepted, but time may have
    // moved the state since (e.g. the application lapsed). Then it is dropped
    // and the step stays as the caller's next query shows.
    if ctx.state(|s| s.check(now, [], &request)).is_err() {
        ctx.state_mut(|s| s.inbox.pop_front());
        return Ok(Vec::new());
    }
    let client_id = match request.command.environment() {
        Some(environment) => {
            let application_id = ctx.state(|s| s.input.application_id.clone());
            let req = ClientRequest { application_id, environment };
            Some(ctx.execute_activity(OnboardingActivities::create_client, req, activity_options()).await?)
        }
        None => None,
    };
    let action = request.command.into_action(client_id);
    let now = ctx.state(|s| s.procedure_time(ctx.workflow_time()));
    let result = ctx.state_mut(|s| {
        s.inbox.pop_front();
        s.application.as_mut().expect("set").apply(action, request.actor, now, calendar)
    });
    Ok(result.unwrap_or_default())
}
