#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report
//! `tanu serve` and `tanu worker` as processes: a full disk, SIGTERM and its
//! grace period, the systemd units, JSON logs, traces to an OTLP collector,
//! the worker without the provider's keys, a withdrawal by the operator.
use std::process::Command;

mod common;
use common::tanu;

/// `tanu serve` as a process on a free port; returns it and its address.
fn serve(dir: &std::path::Path, grace_s: u64) -> (std::process::Child, std::net::SocketAddr) {
    serve_with(dir, grace_s, &[])
}

fn serve_with(dir: &std::path::Path, grace_s: u64, env: &[(&str, &str)]) -> (std::process::Child, std::net::SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tanu"));
    command.arg("serve");
    serve_command(command, dir, grace_s, env)
}

/// `tanu serve` whose files may not grow beyond `kib` KiB (RLIMIT_FSIZE, and
/// SIGXFSZ ignored, so that a write beyond it fails as on a full disk).
fn serve_on_a_small_disk(dir: &std::path::Path, kib: u64) -> (std::process::Child, std::net::SocketAddr) {
    let mut command = Command::new("bash");
    command.args(["-c", "trap '' XFSZ; ulimit -f \"$1\"; exec \"$0\" serve", env!("CARGO_BIN_EXE_tanu"), &kib.to_string()]);
    serve_command(command, dir, 5, &[])
}

fn serve_command(mut command: Command, dir: &std::path::Path, grace_s: u64, env: &[(&str, &str)]) -> (std::process::Child, std::net::SocketAddr) {
    use std::io::BufRead;
    let mut child = command
        .envs(env.iter().copied())
        .current_dir(dir)
        .env("TANU_DATABASE_URL", format!("sqlite://{}/t.db?mode=rwc", dir.display()))
        .env("TANU_DATA_DIR", dir)
        .env("TANU_LISTEN", "127.0.0.1:0")
        .env("TANU_FACE_ENABLED", "false")
        .env("TANU_TEMPORAL_ADDRESS", "")
        .env("TANU_SHUTDOWN_GRACE", grace_s.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("tanu printed where it serves").unwrap();
        if let Some(rest) = line.strip_prefix("Tanu is serving on http://") {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

fn sigterm(child: &std::process::Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
}

fn wait_exit(child: &mut std::process::Child, within: std::time::Duration) -> Option<std::process::ExitStatus> {
    let until = std::time::Instant::now() + within;
    while std::time::Instant::now() < until {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

/// Issue 16: the disk fills under SQLite (the database file may not grow).
/// Writes are refused in the protocol's own form — 503
/// `temporarily_unavailable`, not a 500, not a dead process — nothing is
/// half-written, the database stays intact, and it takes writes again once
/// there is room.
#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_and_corrupts_nothing() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tanu(dir.path(), &["clients", "add", "--name", "Bank", "--redirect-uri", "https://bank.kz/cb", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (id, secret) = (v["client_id"].as_str().unwrap().to_owned(), v["client_secret"].as_str().unwrap().to_owned());
    let db = dir.path().join("t.db");
    // The database is the file and its write-ahead log, which the server
    // checkpoints into the file when it starts: room for both, plus 96 KiB.
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let room = (size(db.clone()) + size(dir.path().join("t.db-wal"))) / 1024 + 96;
    let (child, addr) = serve_on_a_small_disk(dir.path(), room);
    let http = reqwest::Client::new();
    // Pushed authorization requests (RFC 9126), each kept with a 4 KB state.
    let push = |k: usize, addr: std::net::SocketAddr| {
        let state = format!("{k:04}{}", "s".repeat(4000));
        http.post(format!("http://{addr}/par"))
            .basic_auth(&id, Some(&secret))
            .form(&[
                ("response_type", "code"),
                ("redirect_uri", "https://bank.kz/cb"),
                ("scope", "openid"),
                ("code_challenge", "E9Melhoe2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
                ("state", state.as_str()),
            ])
            .send()
    };
    let (mut pushed, mut refused) = (0, 0);
    for k in 0..120 {
        let resp = push(k, addr).await.expect("the process answers every request");
        match resp.status().as_u16() {
            201 => pushed += 1,
            503 => {
                assert!(resp.headers().contains_key("retry-after"));
                let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {}", resp.text().await.unwrap()),
        }
    }
    assert!(pushed >= 1 && refused >= 1, "{pushed} pushed, {refused} refused");
    assert!(reqwest::get(format!("http://{addr}/healthz")).await.unwrap().status() == 200, "still serving");
    let mut child = child;
    sigterm(&child);
    assert_eq!(wait_exit(&mut child, std::time::Duration::from_secs(10)).and_then(|s| s.code()), Some(0));

    // Intact, holding exactly what was acknowledged.
    let store = tanu_idp::store::Store::connect(&format!("sqlite://{}?mode=rw", db.display())).await.unwrap();
    let one = |sql: &'static str| {
        let conn = store.raw_connection();
        async move { conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap().unwrap() }
    };
    assert_eq!(one("PRAGMA integrity_check").await.try_get_by_index::<String>(0).unwrap(), "ok");
    let kept = one("SELECT COUNT(*) FROM pushed_requests").await.try_get_by_index::<i64>(0).unwrap();
    assert_eq!(kept, pushed, "every acknowledged request kept, no refused one");
    drop(store);

    // With room again, writes go on.
    let (mut child, addr) = serve(dir.path(), 5);
    assert_eq!(push(999, addr).await.unwrap().status(), 201);
    sigterm(&child);
    wait_exit(&mut child, std::time::Duration::from_secs(10));
}

/// Starts a POST /token whose body is only half sent.
fn half_sent_request(addr: std::net::SocketAddr, body: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    s.write_all(&body[..body.len() / 2]).unwrap();
    s.flush().unwrap();
    s
}

fn slow_body() -> Vec<u8> {
    format!("grant_type=authorization_code&code={}", "c".repeat(4000)).into_bytes()
}

fn ready(addr: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else { return false };
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    if write!(s, "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

/// With face sign-in switched off `tanu serve` runs the authenticator of no
/// method, which asserts no assurance level: discovery publishes none (the
/// levels are the method's, `Authenticator::acr_values`).
#[test]
fn without_a_sign_in_method_discovery_names_no_assurance_level() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), 5);
    assert!(ready(addr), "ready");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    write!(s, "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"authorization_endpoint\""), "{out}");
    assert!(!out.contains("acr_values_supported"), "no method, no level: {out}");
    sigterm(&child);
    wait_exit(&mut child, std::time::Duration::from_secs(10));
}

/// SIGTERM: new connections are refused at once, the request in flight is
/// answered in full, then the process exits 0 (well before the grace period).
#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), 20);
    assert!(ready(addr), "ready before the signal");
    let body = slow_body();
    let mut inflight = half_sent_request(addr, &body);
    std::thread::sleep(std::time::Duration::from_millis(300));
    sigterm(&child);
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(child.try_wait().unwrap().is_none(), "still running while a request is in flight");
    assert!(std::net::TcpStream::connect(addr).is_err(), "no new connection once stopping");
    inflight.write_all(&body[body.len() / 2..]).unwrap();
    inflight.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    let _ = inflight.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "the in-flight request got its whole answer (no client authentication): {answer:?}");
    assert!(answer.contains("invalid_client"), "{answer}");
    let status = wait_exit(&mut child, std::time::Duration::from_secs(5)).expect("exits once the request is answered");
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("tanu stopped"), "{log}");
}

/// A request that never completes is cut when the grace period ends: the
/// process still exits, 0, within about `shutdown_grace`.
#[test]
fn sigterm_cuts_what_outlasts_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), 1);
    assert!(ready(addr));
    let _stuck = half_sent_request(addr, &slow_body());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let signalled = std::time::Instant::now();
    sigterm(&child);
    let status = wait_exit(&mut child, std::time::Duration::from_secs(8)).expect("exits after the grace period");
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0));
    assert!(took >= std::time::Duration::from_millis(900), "waited for the grace period: {took:?}");
    assert!(took < std::time::Duration::from_secs(4), "not much longer: {took:?}");
}

#[tokio::test]
async fn citizens_withdraw_biometrics_deletes_the_template_journals_who_and_ends_sessions() {
    use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
    use tanu_idp::store::entities::browser_session;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    // The master key file first, as the server would create it.
    assert!(tanu(dir.path(), &["migrate"]).0);
    let store = tanu_idp::store::Store::connect(&url).await.unwrap();
    let citizen = store.upsert_citizen(tanu_idp::domain::Environment::Production, "900101300017", "Aigerim", "Seitkali", None).await.unwrap();
    store.record_biometric_consent(&citizen.id, "2026-11-22.1").await.unwrap();
    let sealed = tanu_biometrics::template::SealedTemplate { wrapped_key: vec![1; 40], sealed_embedding: vec![2; 2100] };
    store.save_reference_template(&citizen.id, &sealed).await.unwrap();
    let now = chrono::Utc::now();
    browser_session::ActiveModel {
        id: Set("s1".into()),
        cookie_hash: Set("h1".into()),
        citizen_id: Set(citizen.id.clone()),
        auth_time: Set(now),
        acr: Set("x".into()),
        amr: Set("[]".into()),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::hours(1)),
        ended_at: Set(None),
        environment: Set("production".into()),
    }
    .insert(store.raw_connection())
    .await
    .unwrap();

    // Bad input: a clear error, never a panic.
    let (ok, _, err) = tanu(dir.path(), &["citizens", "withdraw-biometrics", "--iin", "900101300018"]);
    assert!(!ok && err.contains("check digit") && !err.contains("panicked"), "{err}");
    let (ok, _, err) = tanu(dir.path(), &["citizens", "withdraw-biometrics", "--iin", "000101500011"]);
    assert!(!ok && err.contains("no citizen"), "{err}");

    let (ok, out, err) = tanu(dir.path(), &["citizens", "withdraw-biometrics", "--iin", "900101300017", "--by", "Operator Dana", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["withdrawn"], true);
    assert!(store.biometric_consent(&citizen.id).await.unwrap().is_none(), "consent withdrawn");
    assert!(store.reference_template(&citizen.id).await.unwrap().is_none(), "template and its wrapped key deleted");
    for table in ["reference_templates", "template_keys"] {
        let rows = store
            .raw_connection()
            .query_all_raw(sea_orm::Statement::from_string(store.raw_connection().get_database_backend(), format!("SELECT citizen_id FROM {table}")))
            .await
            .unwrap();
        assert!(rows.is_empty(), "{table}");
    }
    let session = browser_session::Entity::find_by_id("s1").one(store.raw_connection()).await.unwrap().unwrap();
    assert!(session.ended_at.is_some(), "open sessions ended");
    let (_, list, _) = tanu(dir.path(), &["audit", "list", "--json"]);
    let last: serde_json::Value = serde_json::from_str(list.lines().last().unwrap()).unwrap();
    assert_eq!(last["step"], "biometric_consent_withdrawn");
    assert_eq!(last["outcome"], "success");
    assert_eq!(last["reason"], "operator: Operator Dana", "who did it is journalled");
    assert!(tanu(dir.path(), &["audit", "verify"]).0, "the chain stays intact");
    // Again: nothing in force, said so, still journalled.
    let (ok, out, _) = tanu(dir.path(), &["citizens", "withdraw-biometrics", "--iin", "900101300017", "--by", "Dana"]);
    assert!(ok && out.contains("no biometric consent was in force"), "{out}");
}

/// Issue 16: `TANU_LOG_FORMAT=json` writes one JSON object a line (level,
/// target, message, fields), for a log collector; a wrong value is refused.
#[test]
fn json_logs_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve_with(dir.path(), 5, &[("TANU_LOG_FORMAT", "json")]);
    assert!(ready(addr));
    sigterm(&child);
    assert_eq!(wait_exit(&mut child, std::time::Duration::from_secs(10)).and_then(|s| s.code()), Some(0));
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let serving = lines.iter().find(|l| l["fields"]["message"] == "tanu is serving").expect("the start is logged");
    assert_eq!(serving["level"], "INFO");
    assert!(serving["fields"]["addr"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{serving}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "tanu stopped"));
    let out = Command::new(env!("CARGO_BIN_EXE_tanu")).arg("--help").env("TANU_LOG_FORMAT", "xml").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("TANU_LOG_FORMAT"), "{err}");
}

/// `ops/deploy/*.service` as kept: `systemd-analyze verify` finds nothing to
/// say about them (with the binary path pointed at this build), and
/// `tanu.service`'s own ExecStart and Environment, with
/// `ops/deploy/tanu.toml` as its configuration file, serve and stop on
/// SIGTERM with exit 0. Only what a test machine lacks is overridden: the
/// installation prefix and state directory, the database (a scratch SQLite
/// file instead of the PostgreSQL server), the listen port, Temporal, models.
#[test]
fn the_systemd_units_verify_and_serve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let deploy = root.join("ops/deploy");
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_tanu");
    let mut units = 0;
    for entry in std::fs::read_dir(&deploy).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "service") {
            continue;
        }
        units += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("/opt/tanu/target/release/tanu"), "{path:?} runs the installed binary");
        let here = dir.path().join(path.file_name().unwrap());
        std::fs::write(&here, text.replace("/opt/tanu/target/release/tanu", bin)).unwrap();
        let out = Command::new("systemd-analyze").arg("verify").arg(&here).output().expect("systemd-analyze (make setup installs systemd)");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.trim().is_empty(), "{path:?}: {said}");
    }
    assert_eq!(units, 2, "tanu.service and tanu-worker.service");

    let unit = std::fs::read_to_string(deploy.join("tanu.service")).unwrap();
    let env: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap())
        .collect();
    assert!(env.iter().any(|(k, v)| k == "TANU_LOG_FORMAT" && v == "json"));
    let exec: Vec<String> = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap().split_whitespace().map(String::from).collect();
    assert_eq!(exec[1..], ["--config", "/etc/tanu/tanu.toml", "serve"]);
    let args: Vec<String> =
        exec[1..].iter().map(|a| if a == "/etc/tanu/tanu.toml" { deploy.join("tanu.toml").display().to_string() } else { a.clone() }).collect();
    let mut child = Command::new(bin)
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("TANU_PREFIX", root)
        .env("TANU_DATA_DIR", dir.path())
        .env("TANU_REGISTRY_DIR", dir.path().join("registry"))
        .env("TANU_DATABASE_URL", format!("sqlite://{}/t.db?mode=rwc", dir.path().display()))
        .env("TANU_LISTEN", "127.0.0.1:0")
        .env("TANU_FACE_ENABLED", "false")
        .env("TANU_TEMPORAL_ADDRESS", "")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let addr = {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let addr: std::net::SocketAddr = loop {
            let line = lines.next().expect("tanu printed where it serves").unwrap();
            if let Some(rest) = line.strip_prefix("Tanu is serving on http://") {
                assert!(line.contains("issuer https://id.example.kz"), "the issuer of ops/deploy/tanu.toml: {line}");
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        addr
    };
    assert!(ready(addr), "ready");
    sigterm(&child);
    let status = wait_exit(&mut child, std::time::Duration::from_secs(30)).expect("stopped within the unit's TimeoutStopSec");
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(!log.trim().is_empty() && log.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "JSON logs, as the unit sets: {log}");
}

/// `tanu worker` is the onboarding service alone (issue 11): it builds no
/// provider, so a fresh database gets no signing keys from it (a whole
/// provider would have made them), it runs while Temporal is away (retrying),
/// and SIGTERM stops it with exit 0.
#[test]
fn the_worker_runs_without_the_providers_keys() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tanu"))
        .arg("worker")
        .env("TANU_DATABASE_URL", &db)
        .env("TANU_DATA_DIR", dir.path())
        .env("TANU_TEMPORAL_ADDRESS", "http://127.0.0.1:9")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("the worker says it runs").unwrap();
    assert!(first.starts_with("onboarding worker running"), "{first}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let keys = rt.block_on(async {
        use sea_orm::ConnectionTrait;
        let store = tanu_idp::store::Store::connect(&db).await.unwrap();
        let db = store.raw_connection();
        let row =
            db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM signing_keys")).await.unwrap().unwrap();
        row.try_get::<i64>("", "n").unwrap()
    });
    assert_eq!(keys, 0, "the worker made no signing keys");
    sigterm(&child);
    let status = wait_exit(&mut child, std::time::Duration::from_secs(30)).expect("stopped");
    assert!(status.success(), "{status:?}");
}

/// An OpenTelemetry collector for one test: decodes the OTLP/HTTP protobuf
/// requests `tanu serve` POSTs to `/v1/traces` and keeps their spans.
async fn otlp_collector() -> (String, std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>>>) {
    use poem::{handler, web::Data, EndpointExt};
    use prost::Message;
    type Received = std::sync::Arc<std::sync::Mutex<Vec<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>>>;
    #[handler]
    fn traces(body: Vec<u8>, Data(received): Data<&Received>) -> poem::Response {
        let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        received.lock().unwrap().push(request);
        poem::Response::builder().content_type("application/x-protobuf").body(Vec::<u8>::new())
    }
    let received: Received = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let app = poem::Route::new().at("/v1/traces", poem::post(traces)).data(received.clone());
    tokio::spawn(poem::Server::new(poem::listener::TcpListener::bind(addr)).run(app));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (format!("http://{addr}"), received)
}

/// Issue 16: with `TANU_OTLP_ENDPOINT` set, `tanu serve` sends its spans to an
/// OpenTelemetry collector over OTLP/HTTP: one server span a request named by
/// its route template, child of the caller's W3C `traceparent`, with the
/// client authentication and the grant inside the token request's; the last
/// ones leave at SIGTERM. Nothing a request carried (IIN, secret, code, token)
/// is in a span's name or attributes.
#[tokio::test(flavor = "multi_thread")]
async fn traces_go_to_an_otlp_collector_named_by_route_without_identifiers() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tanu(dir.path(), &["clients", "add", "--name", "Bank", "--redirect-uri", "https://bank.kz/cb", "--json"]);
    assert!(ok, "{err}");
    let registered: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let (client_id, secret) = (registered["client_id"].as_str().unwrap().to_string(), registered["client_secret"].as_str().unwrap().to_string());
    let (collector, received) = otlp_collector().await;
    let (mut child, addr) = serve_with(dir.path(), 5, &[("TANU_OTLP_ENDPOINT", collector.as_str())]);
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let (trace_id, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let discovery =
        http.get(format!("{base}/.well-known/openid-configuration")).header("traceparent", format!("00-{trace_id}-{caller}-01")).send().await.unwrap();
    assert_eq!(discovery.status(), 200);
    let (iin, code, token) = ("900517300124", "Zq3xWc9PpLr0bT4mUe7sYdA2hKoNvF5j", "tok_9fK2pQ7xLm4RzW8cVb1nH6yT3sDgJaE0");
    let refused = http
        .post(format!("{base}/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://bank.kz/cb"), ("code_verifier", &"v".repeat(43))])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let login = http.get(format!("{base}/login/{iin}")).send().await.unwrap().status();
    assert_eq!(http.get(format!("{base}/no-such-page/{iin}/{token}")).send().await.unwrap().status(), 404);
    sigterm(&child);
    assert_eq!(wait_exit(&mut child, std::time::Duration::from_secs(20)).and_then(|s| s.code()), Some(0));

    let received = received.lock().unwrap().clone();
    let resources: Vec<_> = received.iter().flat_map(|r| &r.resource_spans).collect();
    assert!(!resources.is_empty(), "spans were sent by the time tanu exited");
    let spans: Vec<_> = resources.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect();
    let text = |v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        other => format!("{other:?}"),
    };
    let attr = |s: &opentelemetry_proto::tonic::trace::v1::Span, key: &str| s.attributes.iter().find(|a| a.key == key).map(|a| text(&a.value));
    for r in &resources {
        let service = r.resource.as_ref().and_then(|res| res.attributes.iter().find(|a| a.key == "service.name")).map(|a| text(&a.value));
        assert_eq!(service.as_deref(), Some("tanu"));
    }
    let named = |name: &str| {
        spans.iter().find(|s| s.name == name).copied().unwrap_or_else(|| panic!("no span {name}: {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>()))
    };

    // The caller's trace continues: same trace id, its span the parent.
    let served = named("GET /.well-known/openid-configuration");
    assert_eq!(hex::encode(&served.trace_id), trace_id);
    assert_eq!(hex::encode(&served.parent_span_id), caller);
    assert_eq!(served.kind, opentelemetry_proto::tonic::trace::v1::span::SpanKind::Server as i32);
    assert_eq!(attr(served, "http.route").as_deref(), Some("/.well-known/openid-configuration"));
    assert_eq!(attr(served, "http.response.status_code").as_deref(), Some("200"));

    // The token request: a new trace, client authentication and the grant inside it.
    let token_span = named("POST /token");
    assert_eq!(attr(token_span, "http.response.status_code").as_deref(), Some("400"));
    assert!(token_span.parent_span_id.is_empty(), "no traceparent: a root span");
    for inner in ["client authentication", "grant authorization_code"] {
        let s = named(inner);
        assert_eq!((&s.trace_id, &s.parent_span_id), (&token_span.trace_id, &token_span.span_id), "{inner} is inside POST /token");
    }
    assert_eq!(attr(named("grant authorization_code"), "result").as_deref(), Some("invalid_grant"));

    // Paths carrying an IIN and a token are named by their route template only.
    assert_eq!(attr(named("GET /login/:id"), "http.response.status_code"), Some(login.as_u16().to_string()));
    assert!(spans.iter().any(|s| s.name == "GET unmatched"));
    let twelve_digits = |s: &str| s.as_bytes().windows(12).any(|w| w.iter().all(u8::is_ascii_digit));
    for s in &spans {
        let values: Vec<String> =
            std::iter::once(s.name.clone()).chain(s.attributes.iter().map(|a| text(&a.value))).chain(s.events.iter().map(|e| e.name.clone())).collect();
        for v in values {
            assert!(!twelve_digits(&v), "{}: {v} looks like an IIN", s.name);
            for secret_value in [iin, code, token, secret.as_str(), client_id.as_str()] {
                assert!(!v.contains(secret_value), "{}: {v} carries {secret_value}", s.name);
            }
        }
    }
}

/// A wrong collector address is refused at start with the variable named.
#[test]
fn a_bad_otlp_endpoint_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tanu")).arg("--help").env("TANU_OTLP_ENDPOINT", "collector:4318").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("TANU_OTLP_ENDPOINT"), "{err}");
}
