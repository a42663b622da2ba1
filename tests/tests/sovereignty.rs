//! Issue 16, sovereignty: Tanu fetches nothing from outside at run time. The
//! test runs itself again inside a new network namespace (`unshare -n`) with
//! only loopback up — no route to anywhere — and there a Tanu starts (the
//! test kit's, built by `App::build` and served by `App::serve` as `tanu
//! serve` does; SQLite, since the host's PostgreSQL is outside the namespace),
//! loads its face models, and a citizen signs in by face: IIN, registry,
//! consent, frames, liveness, match, code, tokens, userinfo.
use tanu_tests::face::*;

const INSIDE: &str = "TANU_TEST_IN_EMPTY_NETNS";

#[tokio::test]
async fn a_full_sign_in_needs_no_network_but_loopback() {
    if std::env::var_os(INSIDE).is_some() {
        // Inside: first show that the outside is unreachable…
        let out = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::TcpStream::connect("1.1.1.1:443")).await;
        assert!(matches!(out, Ok(Err(_))), "no route out of the namespace: {out:?}");
        // …then sign in.
        let (tanu, client, secret) = face_tanu(|_| {}).await;
        let claims = sign_in(&tanu, &client, &secret, 3.7).await;
        assert_eq!(claims["userinfo"]["family_name"], "Miranda");
        assert_eq!(claims["amr"], serde_json::json!(["face", "liveness_challenge"]));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["--net", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(exe)
        .args(["--exact", "a_full_sign_in_needs_no_network_but_loopback", "--nocapture"])
        .env(INSIDE, "1")
        .env("TANU_TEST_DATABASE", "sqlite")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the sign-in inside the empty network namespace failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
