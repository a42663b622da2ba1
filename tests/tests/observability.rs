//! Operating Tanu: readiness apart from liveness, and Prometheus metrics.
//!
//! Metrics are process-wide (one recorder per process), so this file is its
//! own test binary: the backlog gauges a scrape sets are not overwritten by
//! another test's instance in between.
use std::collections::HashMap;

use tanu_idp::store::onboarding::{Mail, NewApplication};
use tanu_tests::*;

/// One sample of the exposition text: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format as far as these tests need (no escaped
/// quotes in label values: our label values never contain any).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample line: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("labels: {line}"));
                    let labels = body
                        .split("\",")
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| {
                            let (k, v) = kv.split_once("=\"").unwrap_or_else(|| panic!("label: {kv} in {line}"));
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (name.to_string(), labels)
                }
                None => (series.to_string(), HashMap::new()),
            };
            Sample { name, labels, value: value.parse().unwrap_or_else(|_| panic!("value: {line}")) }
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.iter().find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))).map(|s| s.value)
}

async fn scrape(tanu: &Tanu) -> (String, Vec<Sample>) {
    let resp = reqwest::get(tanu.url("/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_count_requests_grants_sign_ins_and_backlogs_without_identifiers() {
    let tanu = Tanu::start().await;
    let iin = "900517300124";
    let citizen = tanu.citizen(iin, "A", "B").await;
    let cb = "http://127.0.0.1:9/cb";
    // Outcome events go to a closed port: they stay in the delivery backlog.
    let (client, secret) = tanu.client(cb, |c| c.notification_endpoint = Some("http://127.0.0.1:9/events".parse().unwrap())).await;
    let secret = secret.unwrap();

    // A sign-in, a code exchange, a refresh; then a refused sign-in.
    tanu.sign_in_as(Some(&citizen));
    tanu.consent(&citizen, &client.id, "offline_access").await;
    let pkce = Pkce::new();
    let code = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &pkce, &[("scope", "openid offline_access")])).await.param("code").unwrap();
    let (status, tokens) = redeem(&tanu, &client.id, &secret, &code, cb, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let refreshed = http
        .post(tanu.url("/token"))
        .basic_auth(client.id.as_str(), Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let replayed = redeem(&tanu, &client.id, &secret, &code, cb, &pkce.verifier).await.0;
    assert_eq!(replayed, 400, "a replayed code is refused");
    tanu.sign_in_as(None);
    let refused = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &Pkce::new(), &[])).await;
    assert_eq!(refused.param("error").as_deref(), Some("access_denied"));
    // Paths carrying an IIN and a token: they must not become labels.
    let login_status = http.get(tanu.url(&format!("/login/{iin}"))).send().await.unwrap().status().as_u16().to_string();
    assert_eq!(http.get(tanu.url(&format!("/no-such-page/{iin}/{refresh}"))).send().await.unwrap().status(), 404);

    // An onboarding application in review and an unsent mail (the store, as the workflow's ports would).
    let filed = chrono::Utc::now();
    let application = NewApplication {
        bin: "010140000143".parse().unwrap(),
        organisation_name: "Bank".into(),
        responsible_official: "Official".into(),
        system_name: "Online".into(),
        redirect_uri: "https://bank.kz/cb".parse().unwrap(),
        sandbox_redirect_uri: None,
        tos_uri: "https://bank.kz/tos".parse().unwrap(),
        policy_uri: "https://bank.kz/policy".parse().unwrap(),
        logo: None,
        contact_email: "cto@bank.kz".parse().unwrap(),
        authorised_person: "Person".into(),
    };
    let store = &tanu.app.store;
    store.insert_application("APP-M1", &application, tanu_idp::i18n::Lang::En, iin, filed, None).await.unwrap();
    store
        .insert_mail(Mail {
            id: "MAIL-M1".into(),
            application_id: "APP-M1".into(),
            recipient: "cto@bank.kz".into(),
            lang: "en".into(),
            subject: "s".into(),
            body: "b".into(),
            event: "filed".into(),
            created_at: filed,
            sent_at: None,
            error: None,
        })
        .await
        .unwrap();

    let (text, samples) = scrape(&tanu).await;
    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing:\n{text}"));

    // Requests by route template and status, with latency histograms.
    assert!(v("tanu_http_requests_total", &[("route", "/token"), ("method", "POST"), ("status", "200")]) >= 2.0);
    assert!(v("tanu_http_requests_total", &[("route", "/token"), ("method", "POST"), ("status", "400")]) >= 1.0);
    assert!(v("tanu_http_requests_total", &[("route", "/authorize"), ("method", "GET"), ("status", "303")]) >= 1.0, "{text}");
    assert!(v("tanu_http_requests_total", &[("route", "/login/:id"), ("method", "GET"), ("status", &login_status)]) >= 1.0);
    assert!(v("tanu_http_requests_total", &[("route", "unmatched"), ("method", "GET"), ("status", "404")]) >= 1.0);
    let count = v("tanu_http_request_duration_seconds_count", &[("route", "/token"), ("method", "POST")]);
    let inf = v("tanu_http_request_duration_seconds_bucket", &[("route", "/token"), ("method", "POST"), ("le", "+Inf")]);
    let sum = v("tanu_http_request_duration_seconds_sum", &[("route", "/token"), ("method", "POST")]);
    assert!(count >= 3.0 && inf == count, "histogram buckets are cumulative: +Inf {inf} = count {count}");
    assert!(sum > 0.0 && sum / count < 5.0, "a token request takes under 5 s on average: {sum}/{count}");

    // Token grants by type and result.
    assert!(v("tanu_token_grants_total", &[("grant_type", "authorization_code"), ("result", "issued")]) >= 1.0);
    assert!(v("tanu_token_grants_total", &[("grant_type", "refresh_token"), ("result", "issued")]) >= 1.0);
    assert!(v("tanu_token_grants_total", &[("grant_type", "authorization_code"), ("result", "invalid_grant")]) >= 1.0);

    // Sign-in outcomes by reason.
    assert!(v("tanu_sign_ins_total", &[("outcome", "success"), ("reason", "ok")]) >= 1.0);
    assert!(v("tanu_sign_ins_total", &[("outcome", "failure"), ("reason", "not_authenticated")]) >= 1.0);

    // Backlogs, counted in this instance's database at the scrape.
    assert_eq!(v("tanu_event_deliveries_pending", &[]), 2.0, "the success and the failure event wait for their receiver");
    assert_eq!(v("tanu_event_deliveries_abandoned", &[]), 0.0);
    assert_eq!(v("tanu_mail_outbox_unsent", &[]), 1.0);
    assert_eq!(v("tanu_onboarding_applications", &[("step", "review"), ("overdue", "false")]), 1.0);
    assert_eq!(v("tanu_onboarding_applications", &[("step", "review"), ("overdue", "true")]), 0.0);
    assert_eq!(v("tanu_onboarding_applications", &[("step", "connected"), ("overdue", "false")]), 0.0);

    // Failed liveness checks start at 0 for every check.
    for check in tanu_idp::metrics::LIVENESS_CHECKS {
        assert!(v("tanu_liveness_check_failures_total", &[("check", check)]) >= 0.0);
    }

    // No identifier in any label: no IIN (12 digits), no token, code or secret.
    let twelve_digits = |s: &str| s.as_bytes().windows(12).any(|w| w.iter().all(u8::is_ascii_digit));
    for s in &samples {
        for (k, val) in &s.labels {
            assert!(!twelve_digits(val), "{} {k}={val}: looks like an IIN", s.name);
            assert!(val.len() <= 40, "{} {k}={val}: too long for a closed set (a token?)", s.name);
        }
    }
    for secret_value in [iin, code.as_str(), secret.as_str(), &refresh, tokens["access_token"].as_str().unwrap(), client.id.as_str()] {
        assert!(!text.contains(secret_value), "{secret_value} appears in /metrics");
    }
}

#[tokio::test]
async fn readiness_is_apart_from_liveness() {
    let tanu = Tanu::start().await;
    let ready = reqwest::get(tanu.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"database": "ok", "face_models": "disabled", "shutting_down": false}));
    assert_eq!(reqwest::get(tanu.url("/healthz")).await.unwrap().text().await.unwrap(), "ok");
    // Stopping: not ready any more (a request in flight sees it; new
    // connections are no longer accepted at all).
    tanu.app.shutdown();
    let r = tanu.app.readiness().await;
    assert!(r.shutting_down && !r.ready());
}

#[tokio::test]
async fn readiness_reports_the_face_models_loaded() {
    let tanu = Tanu::start_face(|_| {}).await;
    let ready = reqwest::get(tanu.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["face_models"], "loaded");
}

/// Shutdown stops the onboarding worker through the Temporal SDK's own
/// shutdown: with a grace period of 30 s, the server's future ends well
/// before it, so the worker thread ended by itself rather than being left.
#[tokio::test]
async fn shutdown_stops_the_onboarding_worker_cleanly() {
    let kit = tanu_tests::onboarding::OnboardingKit::start().await;
    let mut queue = String::new();
    let mut tanu = Tanu::start_with(|c| {
        kit.configure(c, 1.0);
        c.shutdown_grace = 30;
        queue = c.onboarding.task_queue.clone();
    })
    .await;
    // The worker polls its queue (Temporal lists it as a poller).
    let temporal = workspace_root().join("ops/vendor/venv/bin/temporal");
    let mut polling = false;
    for _ in 0..100 {
        let out = std::process::Command::new(&temporal)
            .args(["task-queue", "describe", "--task-queue", &queue, "--address", &format!("127.0.0.1:{}", kit.temporal_port), "-o", "json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && text.contains("identity") {
            polling = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(polling, "the worker polls {queue}");
    let took = tanu.stop(std::time::Duration::from_secs(40)).await.expect("the server stops");
    assert!(took < std::time::Duration::from_secs(15), "the worker stopped by itself, not at the end of the grace period: {took:?}");
}

/// The database going away makes the instance unready, not dead; meanwhile
/// a token request answers 503 `temporarily_unavailable` and a page 503 "try
/// again", and the refresh token refused then works once the database is
/// back, without a restart (PostgreSQL pass only: the database refuses
/// connections and its sessions are cut).
#[tokio::test]
async fn a_lost_database_makes_the_instance_unready_until_it_is_back() {
    if database_kind() != "postgres" {
        eprintln!("PostgreSQL pass only");
        return;
    }
    use sea_orm::{ConnectionTrait, Database};
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    let tanu = &s.tanu;
    tanu.consent(&s.citizen, &s.client.id, "openid offline_access").await;
    let tokens = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let url = tanu.app.config.database_url.clone();
    let name = url.rsplit('/').next().unwrap().to_string();
    let admin_url = std::env::var("TANU_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = Database::connect(admin_url).await.unwrap();
    assert_eq!(reqwest::get(tanu.url("/readyz")).await.unwrap().status(), 200);

    admin.execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await.unwrap();
    admin.execute_unprepared(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await.unwrap();
    let started = std::time::Instant::now();
    let ready = reqwest::get(tanu.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "a probe answers promptly: {:?}", started.elapsed());
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "unavailable");
    assert_eq!(reqwest::get(tanu.url("/healthz")).await.unwrap().status(), 200, "alive all the same");
    // Requests meanwhile fail cleanly in their protocol's form: 503, "try
    // again", nothing consumed — not a 500, not a hang.
    let started = std::time::Instant::now();
    let (status, body) = refresh(tanu, &s.client.id, &s.secret, &refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "{body}");
    let authorize = s.browser().http.get(authorize_url(tanu, &s.client.id, &s.redirect_uri, &Pkce::new(), &[])).send().await.unwrap();
    assert_eq!(authorize.status(), 503);
    let said = authorize.text().await.unwrap();
    assert!(["try again in a minute", "Повторите через минуту", "минуттан кейін қайталаңыз"].iter().any(|m| said.contains(m)), "{said}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "answered while the database is away: {:?}", started.elapsed());

    admin.execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await.unwrap();
    let mut back = false;
    for _ in 0..50 {
        if reqwest::get(tanu.url("/readyz")).await.unwrap().status() == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(back, "ready again without a restart");
    let (status, body) = refresh(tanu, &s.client.id, &s.secret, &refresh_token).await;
    assert_eq!(status, 200, "the refresh refused during the outage was not consumed: {body}");
}
