//! What the binary's test files share: running `tanu` against a fresh SQLite database in `dir`.
use std::process::Command;

/// Runs `tanu args` with its database and data in `dir`: (success, stdout, stderr).
pub fn tanu(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tanu"))
        .args(args)
        .env("TANU_DATABASE_URL", format!("sqlite://{}/t.db?mode=rwc", dir.display()))
        .env("TANU_DATA_DIR", dir)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}
