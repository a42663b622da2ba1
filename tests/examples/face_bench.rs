//! `make bench`'s face sign-in scenario (ops/bench/run.sh, issue 13): complete
//! face sign-ins over HTTP against a running `tanu` — authorize, IIN, the
//! biometric consent, every frame of the live clip as the camera page sends
//! them, verify, the relying party's consent, the code exchange — and the
//! server's CPU time per sign-in read from `/proc/<pid>/stat`.
//!
//! Arguments: BASE DATABASE_URL CLIENT_ID CLIENT_SECRET SERVER_PID SIGN_INS CONCURRENCY.
//! The server runs with the clip's timing (`face.fixed_challenge =
//! "turn_right"`, 2 frames before it, no jitter) and no replay memory (the
//! same recording is sent every time), the clip's person in its sandbox
//! registry. Prints one JSON line.
use std::time::{Duration, Instant};

use tanu_tests::face::*;
use tanu_tests::*;

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server's /proc/<pid>/stat");
    // Fields after the command name (which may hold spaces): state is the 3rd field.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    // getconf CLK_TCK: 100 on every Linux this runs on; asked, not assumed.
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("CLK_TCK")
}

struct One {
    /// From the last frame's answer to the verify answer.
    verify: Duration,
    /// The whole sign-in, authorize to tokens.
    total: Duration,
}

async fn sign_in_once(tanu: &Remote, client: &tanu_idp::store::Client, secret: &str, frames: &[Vec<u8>]) -> One {
    let start = Instant::now();
    let b = Browser::new(tanu);
    let pkce = Pkce::new();
    let redirect = client.redirect_uris[0].as_str();
    let login = b.navigate(&authorize_url(tanu, &client.id, redirect, &pkce, &[("scope", "openid profile")])).await;
    let next = enter_iin(tanu, &b, &login, IIN).await;
    let camera = if page(&next).1.ends_with("/biometric-consent") { b.consent(&next, "accept").await } else { next };
    let answers = send_frames(tanu, &b, &camera, frames).await;
    assert_eq!(answers.last().map(|a| a["done"].as_bool()), Some(Some(true)), "the capture completes");
    let last_frame = Instant::now();
    let after = verify(tanu, &b, &camera).await;
    let verified = last_frame.elapsed();
    let landing = match after {
        Landing::Page { ref url, .. } if url.contains("/consent/") => b.consent(&after, "allow").await,
        other => other,
    };
    let code = landing.param("code").unwrap_or_else(|| panic!("no code: {landing:?}"));
    let (status, tokens) = redeem(tanu, &client.id, secret, &code, redirect, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    One { verify: verified, total: start.elapsed() }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, db, client_id, secret, pid, n, conc] = args.as_slice() else {
        eprintln!("usage: face_bench BASE DATABASE_URL CLIENT_ID CLIENT_SECRET SERVER_PID SIGN_INS CONCURRENCY");
        std::process::exit(2);
    };
    let (pid, n, conc): (u32, usize, usize) = (pid.parse().unwrap(), n.parse().unwrap(), conc.parse().unwrap());
    let store = tanu_idp::store::Store::connect(db).await.expect("the server's database");
    let client = store.client(&client_id.parse().unwrap()).await.unwrap().expect("the bench client");
    let tanu = Remote { base: base.clone(), store };
    let frames = clip_frames(3.7, 4.1);

    // Warm-up: models touched, connections open.
    sign_in_once(&tanu, &client, secret, &frames).await;

    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = futures::future::join_all((0..conc).map(|_| async {
        let mut mine = Vec::new();
        while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
            mine.push(sign_in_once(&tanu, &client, secret, &frames).await);
        }
        mine
    }))
    .await;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let all: Vec<One> = results.into_iter().flatten().collect();
    let mut verify: Vec<f64> = all.iter().map(|o| o.verify.as_secs_f64() * 1000.0).collect();
    let mut total: Vec<f64> = all.iter().map(|o| o.total.as_secs_f64() * 1000.0).collect();
    verify.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "mode": "face",
            "concurrency": conc,
            "sign_ins": all.len(),
            "frames": frames.len(),
            "rps": all.len() as f64 / wall,
            "cpu_ms_per_sign_in": cpu * 1000.0 / all.len() as f64,
            "verify_p50": percentile(&verify, 0.5),
            "verify_p99": percentile(&verify, 0.99),
            "p50": percentile(&total, 0.5),
            "p99": percentile(&total, 0.99),
            "errors": 0,
        })
    );
}
