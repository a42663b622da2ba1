//! Issue 16: several instances behind a real load balancer. HAProxy (Debian,
//! configured by `ops/deploy/haproxy.cfg` as it is kept) in front of three
//! instances on one PostgreSQL database — one the test kit's, two `tanu
//! serve` processes (B and C) — round-robin for every request, face sign-in
//! included (no stickiness). A citizen signs in by face through the balancer,
//! the capture's frames spread over all three; another face sign-in goes on
//! after B is killed with SIGKILL mid-capture, on the others, and succeeds;
//! one code presented to two instances at once is redeemed once; then a storm
//! of refresh-token rotations runs while the restarted B is killed again, and
//! the others carry it on: nothing but the connections that were on the
//! killed process fails, and no grant is lost.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use tanu_tests::face::*;
use tanu_tests::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ready(url: &str) {
    for _ in 0..300 {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

#[tokio::test]
async fn three_instances_behind_haproxy_survive_a_kill_during_a_token_storm() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    // One PostgreSQL database for both instances, whatever this pass's kind:
    // several instances are the production setup.
    let name = format!("tanu_lb_{}", tanu_idp::store::uuid_like());
    let admin = Database::connect(postgres_admin_url()).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let admin_url = postgres_admin_url();
    let db_url = format!("{}/{name}", &admin_url[..admin_url.rfind('/').unwrap()]);
    let (lb_port, a_port, b_port, c_port) = (free_port(), free_port(), free_port(), free_port());
    let lb = format!("http://127.0.0.1:{lb_port}");
    let master_key = tanu_idp::crypto::MasterKey::generate_base64();
    // The client is a sandbox one: both instances find its person in one test registry.
    let registry = dir.path().join("sandbox-registry");

    // Instance A: the test kit's, behind the balancer.
    let a = Tanu::start_face_behind(&lb, |c| {
        live_clip_timing(c);
        c.listen = format!("127.0.0.1:{a_port}").parse().unwrap();
        c.issuer = lb.clone();
        c.database_url = db_url.clone();
        c.master_key = master_key.clone();
        c.biometrics.sandbox_registry_dir = registry.clone();
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        c.token_rate_limit_per_minute = 1_000_000;
    })
    .await;
    tanu_biometrics::registry::DirectoryRegistry::new(&registry).add(&IIN.parse().unwrap(), "Miranda Lin-Manuel", &document_photo(), "jpg").unwrap();
    let (client, secret) = a.client(REDIRECT, |_| {}).await;
    let secret = secret.unwrap();

    // Instances B and C: `tanu serve`, the same configuration from a file.
    let spawn = |name: &str, port: u16| {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\nissuer = \"{lb}\"\ndatabase_url = \"{db_url}\"\ndata_dir = \"{}\"\nmaster_key = \"{master_key}\"\n\
                 prefix = \"{}\"\nrate_limit_per_minute = 100000\ntoken_rate_limit_per_minute = 1000000\ntrusted_proxies = [\"127.0.0.0/8\"]\n\
                 [face]\nfixed_challenge = \"turn_right\"\nframes_before_challenge = 2\nreveal_jitter_frames = 0\n\
                 [biometrics]\nsandbox_registry_dir = \"{}\"\n[onboarding]\nworker = false\n",
                dir.path().join(name).display(),
                root.display(),
                registry.display()
            ),
        )
        .unwrap();
        Killed(
            Command::new(root.join("target/debug/tanu"))
                .args(["--config", config.to_str().unwrap(), "serve"])
                .stdout(Stdio::null())
                .stderr(std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join(format!("{name}.log"))).unwrap())
                .spawn()
                .expect("target/debug/tanu (cargo build --workspace)"),
        )
    };
    let spawn_b = || spawn("b", b_port);
    let mut b = spawn_b();
    let _c = spawn("c", c_port);
    wait_ready(&format!("http://127.0.0.1:{b_port}/readyz")).await;
    wait_ready(&format!("http://127.0.0.1:{c_port}/readyz")).await;

    // The balancer, with the configuration kept in the repository.
    let _haproxy = Killed(
        Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(root.join("ops/deploy/haproxy.cfg"))
            .env("TANU_LB_BIND", format!("127.0.0.1:{lb_port}"))
            .env("TANU_NODE_A", format!("127.0.0.1:{a_port}"))
            .env("TANU_NODE_B", format!("127.0.0.1:{b_port}"))
            .env("TANU_NODE_C", format!("127.0.0.1:{c_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (make setup installs it)"),
    );
    wait_ready(&format!("{lb}/readyz")).await;
    // The instances up in the balancer's health checks (every 300 ms, up after two).
    tokio::time::sleep(Duration::from_millis(700)).await;

    // A citizen signs in by face through the balancer: every request of it
    // round-robin, so its capture's frames are taken by every instance.
    let frames_on = |port: u16| async move {
        let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with("tanu_http_requests_total{") && l.contains("route=\"/login/:id/frame\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let browser = Browser::new(&a);
    let claims = sign_in_from(&a, &browser, &client, &secret, 3.7).await;
    assert_eq!(claims["userinfo"]["family_name"], "Miranda");
    let (on_a, on_b, on_c) = (frames_on(a_port).await, frames_on(b_port).await, frames_on(c_port).await);
    assert!(on_a >= 3.0 && on_b >= 3.0 && on_c >= 3.0, "the frames were spread over the instances: {on_a} on A, {on_b} on B, {on_c} on C");
    // B, a `tanu serve` process, timed every stage of the pipeline on the
    // frames it analysed (the stages' spans make the histogram: telemetry.rs)
    // — all but the passive model (`liveness`), which a capture's frames do
    // not run while it is advisory (the default; biometrics/tests/engine.rs).
    let text = reqwest::get(format!("http://127.0.0.1:{b_port}/metrics")).await.unwrap().text().await.unwrap();
    let timed = |stage: &str| {
        let prefix = format!("tanu_inference_seconds_count{{stage=\"{stage}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
    };
    for &stage in tanu_idp::metrics::INFERENCE_STAGES.iter().filter(|s| **s != "liveness") {
        let count = timed(stage);
        assert!(count >= 3.0, "stage {stage} timed {count} times on B:\n{text}");
    }
    // At most once: the registry photo, when B took the verification.
    assert!(timed("liveness") <= 1.0, "the advisory passive model is not run on frames:\n{text}");
    let citizen = a.app.store.citizen_by_iin(tanu_idp::domain::Environment::Sandbox, IIN).await.unwrap().unwrap();
    a.consent(&citizen, &client.id, "openid profile offline_access").await;

    // Another sign-in (another browser), whose instance B is killed with
    // SIGKILL half-way through the capture: the rest of the frames and the
    // verification go to A and C, which find the capture in the database.
    let other = Browser::new(&a);
    let camera = open_camera(&a, &other, &client).await;
    let frames = clip_frames(3.74, 4.1);
    let first = send_frames(&a, &other, &camera, &frames[..4]).await;
    assert_eq!(first.len(), 4);
    b.0.kill().unwrap();
    b.0.wait().unwrap();
    let rest = send_frames(&a, &other, &camera, &frames[4..]).await;
    assert_eq!(rest.last().unwrap()["done"], true, "{rest:?}");
    let landing = verify(&a, &other, &camera).await;
    assert!(landing.param("code").is_some(), "the capture begun on the killed instance was finished on the others: {landing:?}");
    assert_eq!(a.app.store.face_frames_kept().await.unwrap(), 0, "nothing of the captures is kept after them");
    // B again, for what follows.
    b = spawn_b();
    wait_ready(&format!("http://127.0.0.1:{b_port}/readyz")).await;
    tokio::time::sleep(Duration::from_millis(700)).await;

    // One code, presented to both instances at the same moment: never two
    // token responses. A replay revokes what the code gave (RFC 6749 §4.1.2),
    // so at most one 200, and its access token then no longer works.
    let (code, pkce) = {
        let pkce = Pkce::new();
        let landing = browser.navigate(&authorize_url(&a, &client.id, REDIRECT, &pkce, &[("scope", "openid offline_access")])).await;
        (landing.param("code").expect("a code without a second face: the session"), pkce)
    };
    let http = reqwest::Client::new();
    let at = |port: u16| {
        let (http, code, verifier, client, secret) = (http.clone(), code.clone(), pkce.verifier.clone(), client.clone(), secret.clone());
        async move {
            let resp = http
                .post(format!("http://127.0.0.1:{port}/token"))
                .basic_auth(client.id.as_str(), Some(&secret))
                .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", &verifier)])
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (on_a, on_b) = tokio::join!(at(a_port), at(b_port));
    let answers = [&on_a, &on_b];
    assert!(answers.iter().any(|(s, body)| *s == 400 && body["error"] == "invalid_grant"), "{answers:?}");
    if let Some((_, tokens)) = answers.iter().find(|(s, _)| *s == 200) {
        let userinfo = http.get(format!("{lb}/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(userinfo.status(), 401, "the replay revoked the tokens the code gave");
    }

    // Sixteen grants, each with its refresh token, all through the balancer.
    let mut chains = Vec::new();
    for _ in 0..16 {
        let pkce = Pkce::new();
        let landing = browser.navigate(&authorize_url(&a, &client.id, REDIRECT, &pkce, &[("scope", "openid offline_access")])).await;
        let (status, tokens) = redeem(&a, &client.id, &secret, &landing.param("code").unwrap(), REDIRECT, &pkce.verifier).await;
        assert_eq!(status, 200, "{tokens}");
        chains.push(tokens["refresh_token"].as_str().unwrap().to_owned());
    }

    // The storm: every chain rotates its refresh token 30 times; once a
    // sixth of the rotations are done, B is killed. (The kill waits on the
    // storm's progress, not on a clock, so a fast or a slow machine kills
    // it mid-way alike.)
    let rounds = 30;
    let rotated = std::sync::atomic::AtomicUsize::new(0);
    let storm = chains.into_iter().map(|mut token| {
        let (a, client, secret, rotated) = (&a, &client, &secret, &rotated);
        async move {
            let mut outcome = Vec::new();
            for _ in 0..rounds {
                // Through the balancer (the kit's base URL is the balancer's).
                let (status, body) = refresh(a, &client.id, secret, &token).await;
                outcome.push(status);
                if status != 200 {
                    eprintln!("refresh answered {status}: {body}");
                    break;
                }
                rotated.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                token = body["refresh_token"].as_str().unwrap().to_owned();
            }
            outcome
        }
    });
    let killer = async {
        while rotated.load(std::sync::atomic::Ordering::SeqCst) < 16 * rounds / 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        b.0.kill().unwrap();
        b.0.wait().unwrap();
        rotated.load(std::sync::atomic::Ordering::SeqCst)
    };
    let (outcomes, at_kill) = tokio::join!(futures::future::join_all(storm), killer);
    let finished = outcomes.iter().filter(|o| o.len() == rounds && o.iter().all(|s| *s == 200)).count();
    let broken: Vec<&Vec<u16>> = outcomes.iter().filter(|o| o.len() < rounds || o.last() != Some(&200)).collect();
    // A chain may break only where its request was on the killed process at
    // that moment: the balancer answers 502 for it, once. A request that was
    // not yet on B is redispatched to A and never fails.
    for o in &broken {
        assert!(o[..o.len() - 1].iter().all(|s| *s == 200) && o.last() == Some(&502), "only the killed process's connections fail: {outcomes:?}");
    }
    assert_eq!(finished + broken.len(), 16);
    assert!(finished >= 1, "the other instances carried the storm on: {outcomes:?}");
    let done: usize = outcomes.iter().map(|o| o.iter().filter(|s| **s == 200).count()).sum();
    assert!(done > at_kill + rounds / 2, "the storm went on after the kill: {at_kill} rotations before it, {done} in all");
    eprintln!("{done} rotations ({at_kill} before the kill), {} chains cut by the kill, {finished} carried on to the end", broken.len());

    drop(a);
    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

/// The per-minute request budgets are the whole service's, not each
/// instance's: two instances on one database, whose heartbeats tell each
/// that two serve, grant one address its budget once between them; when one
/// stops, the other has the whole budget again.
#[tokio::test]
async fn per_minute_budgets_are_shared_by_the_instances() {
    let name = format!("tanu_rl_{}", tanu_idp::store::uuid_like());
    let admin = Database::connect(postgres_admin_url()).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let admin_url = postgres_admin_url();
    let db_url = format!("{}/{name}", &admin_url[..admin_url.rfind('/').unwrap()]);
    let master_key = tanu_idp::crypto::MasterKey::generate_base64();
    let shared = |c: &mut tanu_idp::config::Config| {
        c.database_url = db_url.clone();
        c.master_key = master_key.clone();
        c.rate_limit_per_minute = 10;
        c.instance_heartbeat = 1;
    };
    let a = Tanu::start_with(shared).await;
    let mut b = Tanu::start_with(shared).await;
    let counted = |want: u32, t: &[&Tanu]| t.iter().all(|t| t.app.instances.get() == want);
    for _ in 0..50 {
        if counted(2, &[&a, &b]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted(2, &[&a, &b]), "each counts two instances");
    let (client, _) = a.client(REDIRECT, |_| {}).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ask = |t: &Tanu| http.get(authorize_url(t, &client.id, REDIRECT, &Pkce::new(), &[])).send();
    let mut granted = 0;
    for k in 0..20 {
        let status = ask(if k % 2 == 0 { &a } else { &b }).await.unwrap().status();
        if status != 429 {
            granted += 1;
        }
    }
    assert_eq!(granted, 10, "one budget of 10 between the two instances, not 10 each");

    b.stop(Duration::from_secs(10)).await.expect("b stops");
    for _ in 0..50 {
        if counted(1, &[&a]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted(1, &[&a]), "a counts itself alone once b has gone");
    drop((a, b));
    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}
