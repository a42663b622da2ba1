//! The token endpoint's client secrets and the keys it signs with (issue 13):
//! secrets are keyed HMAC-SHA-256 (a legacy Argon2 hash verifies once,
//! bounded, and is replaced); the JWKS is served from memory and still shows
//! a key rotated by another process within `key_poll_interval`.
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tanu_idp::store::entities::client;
use tanu_tests::*;

async fn stored_hash(s: &Scenario) -> String {
    client::Entity::find_by_id(s.client.id.as_str()).one(s.tanu.app.store.raw_connection()).await.unwrap().unwrap().secret_hash.unwrap()
}

/// Puts the client's secret back into the form Tanu stored before: Argon2id.
async fn make_legacy(s: &Scenario) {
    let old = tanu_idp::crypto::argon2_hash(&s.secret).unwrap();
    client::Entity::update_many()
        .col_expr(client::Column::SecretHash, sea_orm::sea_query::Expr::value(old))
        .filter(client::Column::ClientId.eq(s.client.id.as_str()))
        .exec(s.tanu.app.store.raw_connection())
        .await
        .unwrap();
    assert!(stored_hash(s).await.starts_with("$argon2id$"));
}

/// A token request that gets past client authentication only: the refresh
/// token is made up, so 400 invalid_grant means the secret was accepted and
/// 401 invalid_client that it was not.
async fn authenticate(tanu: &Tanu, client_id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(tanu.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "made-up")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Same length as `secret`, last character changed.
fn near_miss(secret: &str) -> String {
    let mut b = secret.as_bytes().to_vec();
    let last = b.len() - 1;
    b[last] = if b[last] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

/// A client registered before HMAC secrets (its secret stored as Argon2id)
/// still authenticates; after that one success its secret is stored as
/// HMAC and Argon2 never runs for it again.
#[tokio::test]
async fn a_legacy_argon2_client_authenticates_once_and_is_then_stored_as_hmac() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    assert!(stored_hash(&s).await.starts_with("hmac-sha256$"), "new clients get the HMAC form");
    make_legacy(&s).await;
    let secrets = &s.tanu.app.client_secrets;
    let runs = secrets.argon2_runs();
    let tokens = s.tokens(&s.browser(), &[]).await;
    assert!(tokens["access_token"].is_string());
    assert_eq!(secrets.argon2_runs(), runs + 1, "the legacy hash was checked with Argon2");
    let now = stored_hash(&s).await;
    assert!(now.starts_with("hmac-sha256$"), "rehashed on success: {now}");
    assert!(!now.contains(&s.secret));
    // The next code exchange takes the HMAC path only.
    let tokens = s.tokens(&s.browser(), &[]).await;
    assert!(tokens["id_token"].is_string());
    assert_eq!(secrets.argon2_runs(), runs + 1, "no Argon2 once the secret is HMAC");
    // A wrong secret against a legacy hash does not rehash anything.
    make_legacy(&s).await;
    assert_eq!(authenticate(&s.tanu, s.client.id.as_str(), &near_miss(&s.secret)).await, 401);
    assert!(stored_hash(&s).await.starts_with("$argon2id$"), "a failed attempt leaves the stored hash");
}

/// A wrong secret is refused by the HMAC comparison alone: same length,
/// a prefix, empty, another client's secret; never the Argon2 path.
#[tokio::test]
async fn a_wrong_secret_is_refused_in_the_constant_time_path() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    let (other, other_secret) = s.tanu.client("http://127.0.0.1:9/cb", |_| {}).await;
    let runs = s.tanu.app.client_secrets.argon2_runs();
    let id = s.client.id.as_str();
    for wrong in [near_miss(&s.secret), s.secret[..s.secret.len() - 1].to_string(), String::new(), other_secret.unwrap(), format!("{}x", s.secret)] {
        assert_eq!(authenticate(&s.tanu, id, &wrong).await, 401, "{wrong:?} must be refused");
    }
    assert_eq!(s.tanu.app.client_secrets.argon2_runs(), runs, "HMAC-form secrets never reach Argon2");
    assert_eq!(authenticate(&s.tanu, id, &s.secret).await, 400, "the right secret passes authentication");
    assert_eq!(authenticate(&s.tanu, other.id.as_str(), &s.secret).await, 401, "one client's secret is not another's");
}

/// A burst of token requests against a client still on Argon2 (wrong
/// secrets, so none of them rehashes) runs no more Argon2 at once than the
/// bound (the number of cores): memory stays at bound × 19 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_against_an_argon2_client_runs_at_most_the_bound_at_once() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    make_legacy(&s).await;
    let secrets = s.tanu.app.client_secrets.clone();
    let runs = secrets.argon2_runs();
    let burst = 4 * secrets.argon2_bound() + 4;
    let wrong = near_miss(&s.secret);
    let tasks: Vec<_> = (0..burst)
        .map(|_| {
            let (url, id, wrong) = (s.tanu.url("/token"), s.client.id.to_string(), wrong.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .basic_auth(id, Some(wrong))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", "made-up")])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    assert_eq!(secrets.argon2_runs(), runs + burst as u64, "every request checked the legacy hash");
    assert!(secrets.argon2_peak() <= secrets.argon2_bound(), "peak {} > bound {}", secrets.argon2_peak(), secrets.argon2_bound());
    assert!(secrets.argon2_peak() >= 1);
    assert_eq!(authenticate(&s.tanu, s.client.id.as_str(), &s.secret).await, 400, "the right secret still passes");
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

/// The `tanu` executable of this build (`target/<profile>/tanu`, beside `deps/`).
fn tanu_exe() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(|d| d.parent()).unwrap().join("tanu");
    assert!(bin.exists(), "{} missing: build with cargo build --workspace --all-targets", bin.display());
    bin
}

/// `/jwks` is served from memory (repeated requests load nothing), and a
/// `tanu keys rotate` run as another process against the same database
/// appears in the running server's JWKS within `key_poll_interval`.
#[tokio::test]
async fn jwks_comes_from_memory_and_shows_a_key_rotated_elsewhere() {
    let tanu = Tanu::start_with(|c| c.key_poll_interval = 1).await;
    let http = reqwest::Client::new();
    let get = || async { http.get(tanu.url("/jwks")).send().await.unwrap().json::<serde_json::Value>().await.unwrap() };
    let before = kids(&get().await);
    assert_eq!(before.len(), 2, "one RS256 and one ES256 key: {before:?}");
    let loads = tanu.app.keys.loads();
    for _ in 0..50 {
        assert_eq!(kids(&get().await), before);
    }
    assert_eq!(tanu.app.keys.loads(), loads, "no reload while nothing changed");

    let config = &tanu.app.config;
    let out = std::process::Command::new(tanu_exe())
        .args(["keys", "rotate"])
        .env("TANU_DATABASE_URL", &config.database_url)
        .env("TANU_DATA_DIR", &config.data_dir)
        .env("TANU_ISSUER", &config.issuer)
        .env("TANU_FACE_ENABLED", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rotated: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split('\t').next().map(String::from)).collect();
    assert_eq!(rotated.len(), 2, "{rotated:?}");

    // Poll: the server notices at its next check after the interval.
    let started = Instant::now();
    let after = loop {
        let now = kids(&get().await);
        if rotated.iter().all(|k| now.contains(k)) {
            break now;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the rotated keys never appeared: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(before.iter().all(|k| after.contains(k)), "the active keys stay published");
    assert_eq!(after.len(), 4);
    // The new keys are published ahead of signing: ID tokens still use the old ones.
    let (kid, _) = tanu.app.keys.jwt_encoder().await.unwrap();
    assert!(before.contains(&kid));
}
