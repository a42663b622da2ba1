//! The deployment files (issue 16): the images of `ops/deploy/Containerfile`
//! (`ops/deploy/image.sh`, here with the debug binary of this build) and the
//! whole system of `ops/deploy/compose.yaml` — three `tanu serve` behind
//! HAProxy, the worker, PostgreSQL, Temporal, SMTP — started with Debian's
//! docker.io and docker-compose (`ops/setup/containers.sh`), and a citizen
//! signed in by face through its balancer with the live clip, over HTTP (the
//! frames taken by every instance) and in Chromium; then an initiator signs
//! in to the onboarding portal the same way and files an application, which
//! the worker service takes through Temporal to the reviewer's mail.
use std::process::{Command, Output, Stdio};

use tanu_tests::face::{csrf, document_photo, enter_iin, page, send_frames, sign_in, verify, IIN, REDIRECT};
use tanu_tests::onboarding::{application_form, Mail};
use tanu_tests::*;

const INITIATOR: &str = "850501300011";
const REVIEWER: &str = "900202400022";

/// The relying party's address in Chromium (which refuses to navigate to REDIRECT's port 9).
const IN_BROWSER: &str = "http://127.0.0.1:8400/cb";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One compose project of this test; `down -v` when dropped.
struct Compose {
    project: String,
    env: Vec<(&'static str, String)>,
}

impl Compose {
    fn command(&self, args: &[&str]) -> Command {
        let root = workspace_root();
        let mut c = Command::new("docker-compose");
        c.current_dir(&root)
            .args(["-p", &self.project, "-f", "ops/deploy/compose.yaml", "-f", "tests/deploy/compose.test.yaml"])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        c
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let out = self.try_run(args, stdin);
        assert!(out.status.success(), "docker-compose {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        out
    }

    fn try_run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        use std::io::Write;
        let mut child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("docker-compose (make setup)");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `tanu` in a running service's container, with the service's own environment.
    fn tanu(&self, service: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
        let mut all = vec!["exec", "-T", service, "/opt/tanu/bin/tanu", "--config", "/etc/tanu/tanu.toml"];
        all.extend_from_slice(args);
        String::from_utf8(self.run(&all, stdin).stdout).unwrap()
    }

    /// A GET inside a service's container (the instances are not published):
    /// the raw answer, empty when nothing listens yet.
    fn get_inside(&self, service: &str, path: &str) -> String {
        let port = &self.env.iter().find(|(k, _)| *k == "TANU_PORT").expect("TANU_PORT").1;
        let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3");
        String::from_utf8(self.try_run(&["exec", "-T", service, "bash", "-c", &script], None).stdout).unwrap()
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(out) = self.command(&["logs", "--no-color", "--tail=30"]).output() {
                eprintln!("{}", String::from_utf8_lossy(&out.stdout));
            }
        }
        let _ = self.command(&["down", "-v", "--remove-orphans"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_file_starts_the_whole_system_and_a_citizen_signs_in_through_its_balancer() {
    if database_kind() == "postgres" {
        eprintln!("run once, in the SQLite pass: the system it starts has its own PostgreSQL");
        return;
    }
    let root = workspace_root();
    let built = Command::new("bash")
        .arg(root.join("ops/deploy/image.sh"))
        .arg("debug")
        .env("TANU_BASE_IMAGE", std::env::var("TANU_BASE_IMAGE").unwrap_or_else(|_| "tanu-base:bookworm".into()))
        .output()
        .unwrap();
    assert!(built.status.success(), "ops/deploy/image.sh debug: {}", String::from_utf8_lossy(&built.stderr));
    let (port, pg_port) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{port}");
    let compose = Compose {
        project: format!("tanu-t{}", rand::random::<u32>()),
        env: vec![
            ("TANU_MASTER_KEY", tanu_idp::crypto::MasterKey::generate_base64()),
            ("TANU_PORT", port.to_string()),
            ("TANU_ISSUER", issuer.clone()),
            ("TANU_TEST_PG_PORT", pg_port.to_string()),
        ],
    };
    compose.run(&["up", "-d"], None);

    // Ready through the balancer: the database reached, the face models loaded.
    let http = reqwest::Client::new();
    let mut ready = String::new();
    for _ in 0..120 {
        if let Ok(r) = http.get(format!("{issuer}/readyz")).send().await {
            if r.status() == 200 {
                ready = r.text().await.unwrap();
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(ready.contains("\"face_models\":\"loaded\""), "ready through the balancer: {ready:?}");
    // Each instance ready on its own (the balancer's readiness needs only one),
    // then up in the balancer's checks (every 300 ms, up after two).
    for service in ["tanu-a", "tanu-b", "tanu-c"] {
        let mut answer = String::new();
        for _ in 0..120 {
            answer = compose.get_inside(service, "/readyz");
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(answer.contains("\"face_models\":\"loaded\""), "{service}: {answer}");
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let discovery: serde_json::Value = http.get(format!("{issuer}/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());

    // A relying party and a test person, with the operator's commands inside the containers.
    let added: serde_json::Value = serde_json::from_str(
        compose.tanu("tanu-a", &["clients", "add", "--name", "Test RP", "--redirect-uri", REDIRECT, "--env", "sandbox", "--json"], None).trim(),
    )
    .unwrap();
    let (client_id, secret) = (added["client_id"].as_str().unwrap().to_owned(), added["client_secret"].as_str().unwrap().to_owned());
    let photo = document_photo();
    compose.run(&["exec", "-T", "tanu-a", "bash", "-c", "cat > /tmp/photo.jpg"], Some(&photo));
    compose.tanu("tanu-a", &["registry", "add", "--sandbox", "--iin", IIN, "--name", "Miranda Lin-Manuel", "--photo", "/tmp/photo.jpg"], None);

    // The citizen signs in by face through the balancer, every request round-robin.
    let store = tanu_idp::store::Store::connect(&format!("postgres://tanu@127.0.0.1:{pg_port}/tanu"))
        .await
        .expect("the compose PostgreSQL, published by the test's file");
    let client = store.client(&client_id.parse().unwrap()).await.unwrap().expect("the client in the compose database");
    let remote = Remote { base: issuer.clone(), store };
    let claims = sign_in(&remote, &client, &secret, 3.7).await;
    assert_eq!(claims["userinfo"]["family_name"], "Miranda");
    for service in ["tanu-a", "tanu-b", "tanu-c"] {
        let metrics = compose.get_inside(service, "/metrics");
        let frames: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("tanu_http_requests_total{") && l.contains("route=\"/login/:id/frame\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(frames >= 3.0, "{service} took frames of the capture: {frames}");
    }

    // The same citizen again, at another relying party, in Chromium with the
    // clip as its camera, through the balancer.
    let added: serde_json::Value = serde_json::from_str(
        compose.tanu("tanu-a", &["clients", "add", "--name", "Browser RP", "--redirect-uri", IN_BROWSER, "--env", "sandbox", "--json"], None).trim(),
    )
    .unwrap();
    let (client, secret) = (
        remote.store.client(&added["client_id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap(),
        added["client_secret"].as_str().unwrap().to_owned(),
    );
    let dir = tempfile::tempdir().unwrap();
    let camera = tanu_tests::browser::live_camera(dir.path(), "3.767");
    let pkce = Pkce::new();
    let url = authorize_url(&remote, &client.id, IN_BROWSER, &pkce, &[("scope", "openid profile")]);
    let run = tokio::task::spawn_blocking(move || tanu_tests::browser::drive(&url, IN_BROWSER, IIN, &camera, "en", "compose")).await.unwrap();
    let back = url::Url::parse(run.redirect.as_deref().unwrap_or_else(|| panic!("sent back to the relying party: {run:?}"))).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_else(|| panic!("{run:?}: {back}"));
    let (status, tokens) = redeem(&remote, &client.id, &secret, &code, IN_BROWSER, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(jwt_claims(tokens["id_token"].as_str().unwrap())["amr"], serde_json::json!(["face", "liveness_challenge"]));

    // The onboarding portal through the balancer: an initiator signs in by
    // face (the portal is a relying party of Tanu itself), files an
    // application, the worker service runs its workflow on Temporal and the
    // reviewer's mail reaches the SMTP service.
    compose.tanu(
        "tanu-a",
        &["onboarding", "staff-add", "--iin", REVIEWER, "--name", "Omarov Daniyar", "--email", "reviewer@operator.kz", "--role", "reviewer", "--lang", "ru"],
        None,
    );
    compose.tanu("tanu-a", &["registry", "add", "--iin", INITIATOR, "--name", "Sadykova Aigerim", "--photo", "/tmp/photo.jpg"], None);
    let initiator = Browser::new(&remote);
    let login = initiator.navigate(&remote.url("/onboarding/signin?next=/portal")).await;
    let next = enter_iin(&remote, &initiator, &login, INITIATOR).await;
    let camera = if page(&next).1.ends_with("/biometric-consent") { initiator.consent(&next, "accept").await } else { next };
    let answers = send_frames(&remote, &initiator, &camera, &clip_frames(3.74, 4.1)).await;
    assert_eq!(answers.last().unwrap()["done"], true, "{answers:?}");
    let mut landed = verify(&remote, &initiator, &camera).await;
    if page(&landed).1.contains("/consent/") {
        landed = initiator.consent(&landed, "allow").await;
    }
    assert!(page(&landed).1.ends_with("/portal"), "signed in to the portal: {:?}", page(&landed).1);
    let form_page = initiator.http.get(remote.url("/portal/new")).send().await.unwrap().text().await.unwrap();
    let filed = initiator.http.post(remote.url("/portal/new")).multipart(application_form(&csrf(&form_page), "010140000143")).send().await.unwrap();
    assert_eq!(filed.status(), 303, "filed");
    let id = filed.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let mut mails = Vec::new();
    for _ in 0..120 {
        let listed = compose
            .run(&["exec", "-T", "smtp", "sh", "-c", "for f in /var/mail/tanu/Maildir/new/*; do [ -f \"$f\" ] && base64 -w0 \"$f\" && echo; done"], None);
        mails = String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .map(|l| Mail::parse(&base64::Engine::decode(&base64::engine::general_purpose::STANDARD, l.trim()).unwrap()))
            .collect::<Vec<_>>();
        if mails.iter().any(|m| m.to.contains("reviewer@operator.kz") && m.subject.contains(&id)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(mails.iter().any(|m| m.to.contains("reviewer@operator.kz") && m.subject.contains(&id)), "the reviewer was told: {mails:?}");
    // The application's page from every instance in turn: the same step.
    for _ in 0..3 {
        let body = initiator.http.get(remote.url(&format!("/portal/applications/{id}"))).send().await.unwrap().text().await.unwrap();
        assert_eq!(between(&body, "data-step=\"", "\"").as_deref(), Some("review"), "{body}");
    }

    // The worker is connected to Temporal; the instances run as the image's user, on a read-only root.
    let logs = String::from_utf8(compose.run(&["logs", "--no-color", "worker"], None).stdout).unwrap();
    assert!(logs.contains("onboarding worker polling"), "{logs}");
    let whoami = String::from_utf8(compose.run(&["exec", "-T", "tanu-a", "bash", "-c", "id -u; touch /opt/tanu/x 2>&1 || true"], None).stdout).unwrap();
    assert!(whoami.starts_with("10001\n") && whoami.contains("Read-only file system"), "{whoami}");
}
