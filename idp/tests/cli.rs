#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is the failure report
//! The `tanu` binary's operator commands, run as a process against a fresh
//! SQLite database.
use std::process::Command;

mod common;
use common::tanu;

#[test]
fn clients_add_list_show_disable() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tanu(
        dir.path(),
        &["clients", "add", "--name", "Bank", "--redirect-uri", "https://bank.kz/cb", "--redirect-uri", "https://bank.kz/cb2", "--env", "production", "--json"],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let id = v["client_id"].as_str().unwrap().to_string();
    assert!(v["client_secret"].as_str().unwrap().len() >= 40);
    let (ok, out, _) = tanu(dir.path(), &["clients", "show", &id, "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["redirect_uris"], serde_json::json!(["https://bank.kz/cb", "https://bank.kz/cb2"]));
    assert_eq!(shown["environment"], "production");
    assert!(!out.contains(v["client_secret"].as_str().unwrap()), "the secret is never shown again");
    let (_, list, _) = tanu(dir.path(), &["clients", "list"]);
    assert!(list.contains(&id) && list.contains("active"));
    assert!(tanu(dir.path(), &["clients", "disable", &id]).0);
    let (_, list, _) = tanu(dir.path(), &["clients", "list"]);
    assert!(list.contains("disabled"));
}

/// `tanu verifiers`: the organisation users who may redeem document codes at `/me/verify`.
#[test]
fn verifiers_add_list_disable() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = tanu(dir.path(), &["verifiers", "add", "--iin", "900101300017", "--organisation", "Kaspi Bank", "--name", "Dana Officer"]);
    assert!(ok, "{err}");
    let (_, list, _) = tanu(dir.path(), &["verifiers", "list"]);
    assert_eq!(list.trim(), "900101300017\tKaspi Bank\tDana Officer\tenabled");
    // A malformed IIN, an empty organisation: clear errors, nothing registered.
    let (ok, _, err) = tanu(dir.path(), &["verifiers", "add", "--iin", "900101300018", "--organisation", "X", "--name", "Y"]);
    assert!(!ok && err.contains("iin"), "{err}");
    let (ok, _, err) = tanu(dir.path(), &["verifiers", "add", "--iin", "000101500011", "--organisation", " ", "--name", "Y"]);
    assert!(!ok && err.contains("--organisation"), "{err}");
    assert!(tanu(dir.path(), &["verifiers", "disable", "--iin", "900101300017"]).0);
    let (_, list, _) = tanu(dir.path(), &["verifiers", "list"]);
    assert!(list.trim().ends_with("disabled"), "{list}");
    let (ok, _, err) = tanu(dir.path(), &["verifiers", "disable", "--iin", "900101300017"]);
    assert!(!ok && err.contains("no enabled verifier"), "{err}");
}

#[test]
fn clients_add_registers_backchannel_logout_and_par() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tanu(
        dir.path(),
        &[
            "clients",
            "add",
            "--name",
            "Bank",
            "--redirect-uri",
            "https://bank.kz/cb",
            "--env",
            "production",
            "--backchannel-logout-uri",
            "https://bank.kz/logout",
            "--backchannel-logout-session-required",
            "--require-pushed-authorization-requests",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["client_id"].as_str().unwrap().to_string();
    let (ok, out, _) = tanu(dir.path(), &["clients", "show", &id, "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["backchannel_logout_uri"], "https://bank.kz/logout");
    assert_eq!(shown["backchannel_logout_session_required"], true);
    assert_eq!(shown["require_pushed_authorization_requests"], true);
    for (args, reason) in [
        (vec!["--backchannel-logout-uri", "http://bank.kz/logout"], "https"),
        (vec!["--backchannel-logout-uri", "https://bank.kz/logout#f"], "fragment"),
        (vec!["--backchannel-logout-session-required"], "backchannel-logout-uri"),
    ] {
        let mut all = vec!["clients", "add", "--name", "X", "--redirect-uri", "https://bank.kz/cb"];
        all.extend(args.iter());
        let (ok, _, err) = tanu(dir.path(), &all);
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
}

/// `--profile fapi2` (FAPI 2.0): stored and shown; a registration that the
/// profile forbids fails with the reason.
#[test]
fn clients_add_registers_the_fapi2_profile() {
    let dir = tempfile::tempdir().unwrap();
    // The P-256 public key of RFC 7515 Appendix A.3.
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","alg":"ES256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#,
    )
    .unwrap();
    let jwks = jwks.to_str().unwrap();
    let base = ["clients", "add", "--name", "Bank", "--redirect-uri", "https://bank.kz/cb", "--env", "production", "--profile", "fapi2"];
    let (ok, out, err) = tanu(dir.path(), &[&base[..], &["--auth-method", "private_key_jwt", "--jwks", jwks, "--id-token-alg", "ES256", "--json"]].concat());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["client_secret"].is_null(), "no secret for a fapi2 client");
    let (ok, out, _) = tanu(dir.path(), &["clients", "show", v["client_id"].as_str().unwrap(), "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["profile"], "fapi2");
    assert_eq!(shown["require_pushed_authorization_requests"], true, "implied by the profile");
    assert_eq!(shown["token_endpoint_auth_method"], "private_key_jwt");
    for (args, reason) in [
        (vec!["--jwks", jwks, "--id-token-alg", "ES256"], "private_key_jwt"),
        (vec!["--auth-method", "private_key_jwt", "--jwks", jwks], "ES256"),
        (vec!["--auth-method", "client_secret_post", "--id-token-alg", "ES256"], "private_key_jwt"),
    ] {
        let (ok, _, err) = tanu(dir.path(), &[&base[..], &args[..]].concat());
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    let (ok, _, err) = tanu(dir.path(), &["clients", "add", "--name", "X", "--redirect-uri", "https://bank.kz/cb", "--profile", "fapi1"]);
    assert!(!ok && err.contains("fapi2"), "{err}");
}

/// RFC 9449 §5.2 client metadata: registered, shown, off by default.
#[test]
fn clients_add_registers_dpop_bound_access_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut shown = vec![];
    for extra in [&["--dpop-bound-access-tokens"][..], &[][..]] {
        let mut args = vec!["clients", "add", "--name", "Bank", "--redirect-uri", "https://bank.kz/cb", "--json"];
        args.extend(extra);
        let (ok, out, err) = tanu(dir.path(), &args);
        assert!(ok, "{err}");
        let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["client_id"].as_str().unwrap().to_string();
        let (ok, out, _) = tanu(dir.path(), &["clients", "show", &id, "--json"]);
        assert!(ok);
        shown.push(serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["dpop_bound_access_tokens"].clone());
    }
    assert_eq!(shown, [serde_json::json!(true), serde_json::json!(false)]);
}

/// OIDC Registration §2 metadata for encrypted responses: registered with a
/// key the client's JWKS holds for it, shown by `clients show`; refused
/// without such a key (a signature key only) or with a point not on the curve.
#[test]
fn clients_add_registers_encrypted_responses() {
    let dir = tempfile::tempdir().unwrap();
    let key = |x: &str, usage: &str| {
        serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "enc-1", "use": usage, "alg": if usage == "enc" { "ECDH-ES" } else { "ES256" },
            "x": x, "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})
        .to_string()
    };
    let good = dir.path().join("enc.json");
    std::fs::write(&good, key("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "enc")).unwrap();
    let sig = dir.path().join("sig.json");
    std::fs::write(&sig, key("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "sig")).unwrap();
    let off_curve = dir.path().join("off.json");
    std::fs::write(&off_curve, key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "enc")).unwrap();
    let add = |jwks: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["clients", "add", "--name", "Ministry", "--redirect-uri", "https://gov.kz/cb", "--json", "--jwks", jwks.to_str().unwrap()];
        args.extend(extra);
        tanu(dir.path(), &args)
    };
    let all = [
        "--id-token-encrypted-response-alg",
        "ECDH-ES",
        "--userinfo-signed-response-alg",
        "ES256",
        "--userinfo-encrypted-response-alg",
        "ECDH-ES",
        "--userinfo-encrypted-response-enc",
        "A256GCM",
    ];
    let (ok, out, err) = add(&good, &all);
    assert!(ok, "{err}");
    let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["client_id"].as_str().unwrap().to_string();
    let (ok, out, _) = tanu(dir.path(), &["clients", "show", &id, "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["id_token_encrypted_response_alg"], "ECDH-ES");
    assert_eq!(shown["id_token_encrypted_response_enc"], "A128CBC-HS256", "the registration default");
    assert_eq!(shown["userinfo_signed_response_alg"], "ES256");
    assert_eq!(shown["userinfo_encrypted_response_alg"], "ECDH-ES");
    assert_eq!(shown["userinfo_encrypted_response_enc"], "A256GCM");

    let (ok, _, err) = add(&sig, &all[..2]);
    assert!(!ok && err.contains("encryption key"), "a signature key is no encryption key: {err}");
    let (ok, _, err) = add(&off_curve, &all[..2]);
    assert!(!ok && err.contains("cannot be used"), "a point off the curve: {err}");
    let (ok, _, err) = add(&good, &["--userinfo-encrypted-response-alg", "ECDH-ES"]);
    assert!(!ok && err.contains("userinfo-signed-response-alg"), "encryption without signing: {err}");
}

#[test]
fn clients_add_refuses_bad_registrations_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, reason) in [
        (vec!["--redirect-uri", "http://bank.kz/cb", "--env", "production"], "https"),
        (vec!["--redirect-uri", "http://bank.kz/cb"], "https"),
        (vec!["--redirect-uri", "https://bank.kz/cb#x"], "fragment"),
        (vec!["--redirect-uri", "https://a.kz/cb", "--redirect-uri", "https://b.kz/cb"], "one host"),
        (vec!["--redirect-uri", "https://a.kz/cb", "--auth-method", "private_key_jwt"], "JWKS"),
        (vec!["--redirect-uri", "https://a.kz/cb", "--env", "staging"], "sandbox"),
    ] {
        let mut all = vec!["clients", "add", "--name", "X"];
        all.extend(args.iter());
        let (ok, _, err) = tanu(dir.path(), &all);
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains(reason) || err.to_lowercase().contains(&reason.to_lowercase()), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn keys_rotate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = tanu(dir.path(), &["keys", "list"]);
    assert!(ok);
    assert_eq!(out.matches("Active").count(), 2, "one RS256 and one ES256 key: {out}");
    assert!(tanu(dir.path(), &["keys", "rotate"]).0);
    let (_, out, _) = tanu(dir.path(), &["keys", "list"]);
    assert_eq!(out.matches("Next").count(), 2, "new keys wait for the publish lead: {out}");
    let key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.path().join("master.key")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(key.trim().len(), 44, "base64 of 32 bytes");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tanu")).args(["migrate"]).env("TANU_ISSUER", "ftp://x").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("issuer"));
}

/// The journal as the operator checks it: intact, then tampered in the database.
#[tokio::test]
async fn audit_verify_detects_tampering_in_the_database() {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = tanu_idp::store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let journal = tanu_idp::audit::Journal::new(store.clone(), [7; 32]);
    for i in 0..4 {
        journal
            .append(tanu_idp::audit::Event {
                client_id: Some("c"),
                subject: Some(journal.pseudonym("900517300124")),
                step: "liveness",
                outcome: tanu_idp::audit::Outcome::Failure,
                reason: Some(if i % 2 == 0 { "spoof" } else { "no_face" }),
            })
            .await
            .unwrap();
    }
    let (ok, out, _) = tanu(dir.path(), &["audit", "verify"]);
    assert!(ok, "{out}");
    let head = out.split_whitespace().last().unwrap().to_string();
    assert_eq!(head.len(), 64);
    store.raw_connection().execute_unprepared("UPDATE audit_journal SET outcome = 'success' WHERE seq = 2").await.unwrap();
    let (ok, out, _) = tanu(dir.path(), &["audit", "verify", "--json"]);
    assert!(!ok);
    assert!(out.contains("\"problem\":\"edited\",\"seq\":2"), "{out}");
    store.raw_connection().execute_unprepared("UPDATE audit_journal SET outcome = 'failure' WHERE seq = 2").await.unwrap();
    assert!(tanu(dir.path(), &["audit", "verify"]).0, "restored");
    store.raw_connection().execute_unprepared("DELETE FROM audit_journal WHERE seq = 4").await.unwrap();
    assert!(tanu(dir.path(), &["audit", "verify"]).0, "a truncated tail is self-consistent...");
    let (ok, out, _) = tanu(dir.path(), &["audit", "verify", "--head", &head]);
    assert!(!ok && out.contains("HeadMissing"), "...but not against the anchored head: {out}");
    store.raw_connection().execute_unprepared("DELETE FROM audit_journal WHERE seq = 2").await.unwrap();
    let (ok, out, _) = tanu(dir.path(), &["audit", "verify"]);
    assert!(!ok && out.contains("Unlinked"), "{out}");
}

#[test]
fn calendar_commands() {
    let dir = tempfile::tempdir().unwrap();
    for (args, want) in [
        (&["calendar", "add-working-days", "2025-12-31", "2"][..], "2026-01-06"), // 1–2 Jan, weekend, 5, 6
        (&["calendar", "add-working-days", "2026-03-20", "3"][..], "2026-03-30"), // Nauryz and its moved days
        (&["calendar", "add-working-days", "2026-06-01", "0"][..], "2026-06-01"),
        (&["calendar", "is-working-day", "2025-01-04"][..], "true"),  // a Saturday declared working
        (&["calendar", "is-working-day", "2025-01-03"][..], "false"), // the Friday given off for it
        (&["calendar", "is-working-day", "2026-12-16"][..], "false"),
    ] {
        let (ok, out, err) = tanu(dir.path(), args);
        assert!(ok, "{args:?}: {err}");
        assert_eq!(out.trim(), want, "{args:?}");
    }
    let (ok, _, err) = tanu(dir.path(), &["calendar", "add-working-days", "2031-01-01", "1"]);
    assert!(!ok && err.contains("2031"), "a year without data is an error: {err}");
    let (ok, _, err) = tanu(dir.path(), &["calendar", "is-working-day", "2026-02-30"]);
    assert!(!ok && err.contains("invalid"), "{err}");
}

/// The face engine's commands, with the models `make setup` installs, run
/// from another working directory and without any model path configured:
/// the binary finds the models and ONNX Runtime from its installation prefix
/// (the checkout it was built in), not from the working directory.
#[test]
fn registry_add_and_biometrics_commands() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let data = root.join("tests/data/faces-dev");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tanu"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("TANU_BIOMETRICS_MODELS_DIR")
            .env_remove("TANU_PREFIX")
            .env("TANU_DATABASE_URL", format!("sqlite://{}/t.db?mode=rwc", dir.path().display()))
            .env("TANU_DATA_DIR", dir.path())
            .env("TANU_REGISTRY_DIR", dir.path().join("registry"))
            .env("TANU_SANDBOX_REGISTRY_DIR", dir.path().join("sandbox-registry"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let img = |f: &str| data.join(f).display().to_string();

    let (code, out, _) = run(&["biometrics", "compare", &img("img1.jpg"), &img("img2.jpg"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((code, v["match"].as_bool()), (Some(0), Some(true)), "{out}");
    let (code, out, _) = run(&["biometrics", "compare", &img("img1.jpg"), &img("couple.jpg"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((code, v["error"].as_str()), (Some(2), Some("several_faces")), "{out}");

    let (code, out, err) = run(&["biometrics", "eval", "--pairs", &img("master.csv"), "--images", &data.display().to_string(), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["pairs"].as_u64(), v["genuine"].as_u64(), v["eer"]["fmr"].as_f64()), (Some(300), Some(38), Some(0.0)));

    let (code, _, err) = run(&["registry", "add", "--iin", "900101300017", "--name", "Demo Citizen", "--photo", &img("img1.jpg")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("registry/900101300017.json").is_file());
    assert!(!dir.path().join("sandbox-registry/900101300017.json").exists(), "a citizen is no test person");
    // A test person: in the sandbox's registry only.
    let (code, _, err) = run(&["registry", "add", "--sandbox", "--iin", "850523400026", "--name", "Test Person", "--photo", &img("img20.jpg")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("sandbox-registry/850523400026.json").is_file());
    assert!(!dir.path().join("registry/850523400026.json").exists(), "a test person is no citizen");
    let (code, _, err) = run(&["registry", "add", "--iin", "900101300018", "--name", "X", "--photo", &img("img1.jpg")]);
    assert_ne!(code, Some(0));
    assert!(err.contains("check digit"), "{err}");
    let (code, _, err) = run(&["registry", "add", "--iin", "850523400026", "--name", "Two", "--photo", &img("couple.jpg")]);
    assert_ne!(code, Some(0), "a registry photo must show exactly one face");
    assert!(err.contains("faces"), "{err}");
}

#[test]
fn onboarding_people_and_the_worker_without_temporal() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = tanu(
        dir.path(),
        &[
            "onboarding",
            "staff-add",
            "--iin",
            "900202400022",
            "--name",
            "Omarov Daniyar",
            "--email",
            "reviewer@operator.kz",
            "--role",
            "reviewer",
            "--lang",
            "ru",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("reviewer"), "{out}");
    for (args, reason) in [
        (vec!["staff-add", "--iin", "900202400023", "--name", "X", "--email", "x@op.kz", "--role", "reviewer"], "IIN"),
        (vec!["staff-add", "--iin", "900202400022", "--name", "X", "--email", "not-mail", "--role", "reviewer"], "email"),
        (vec!["staff-add", "--iin", "900202400022", "--name", "X", "--email", "x@op.kz", "--role", "admin"], "reviewer or supervisor"),
        (vec!["initiator-add", "--iin", "850501300011", "--bin", "010140000144", "--name", "X", "--email", "x@bank.kz"], "BIN"),
    ] {
        let mut all = vec!["onboarding"];
        all.extend(args.iter());
        let (ok, _, err) = tanu(dir.path(), &all);
        assert!(!ok, "{args:?} must fail");
        assert!(err.to_lowercase().contains(&reason.to_lowercase()), "{args:?}: {err}");
    }
    let (ok, out, err) = tanu(
        dir.path(),
        &["onboarding", "initiator-add", "--iin", "850501300011", "--bin", "010140000143", "--name", "Sadykova Aigerim", "--email", "cto@bank.kz"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("010140000143"));
    let (ok, out, _) = tanu(dir.path(), &["onboarding", "list"]);
    assert!(ok && out.trim().is_empty(), "no applications yet: {out}");
    let (ok, _, err) = tanu(dir.path(), &["worker"]);
    assert!(!ok && err.contains("TANU_TEMPORAL_ADDRESS"), "{err}");
}

/// The master key and the database are the operator's alone: a key file
/// others can read stops the process; what `tanu` creates is 0600/0700.
#[cfg(unix)]
#[test]
fn secrets_on_disk_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("state");
    let keys_list = || {
        Command::new(env!("CARGO_BIN_EXE_tanu"))
            .args(["keys", "list"])
            .env("TANU_DATABASE_URL", format!("sqlite://{}/db/t.db?mode=rwc", dir.display()))
            .env("TANU_DATA_DIR", &dir)
            .output()
            .unwrap()
    };
    let out = keys_list();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.clone()), 0o700, "data dir");
    assert_eq!(mode(dir.join("db")), 0o700, "database dir");
    assert_eq!(mode(dir.join("db/t.db")), 0o600, "database file");
    assert_eq!(mode(dir.join("master.key")), 0o600, "master key");
    for exposed in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(dir.join("master.key"), std::fs::Permissions::from_mode(exposed)).unwrap();
        let out = keys_list();
        assert!(!out.status.success(), "mode {exposed:o} must refuse to start");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("chmod 600") && !err.contains("panicked"), "{err}");
    }
}

/// Serves `body` as JSON at `http://127.0.0.1:{port}/sector.json` for each
/// connection, on a thread; returns the URL.
fn serve_json(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    format!("http://127.0.0.1:{port}/sector.json")
}

/// OIDC Core §8.1: redirect URIs on several hosts share a sector only
/// through a sector_identifier_uri listing every one of them.
#[test]
fn sector_identifier_uri_is_fetched_and_must_list_every_redirect_uri() {
    let dir = tempfile::tempdir().unwrap();
    let sector = serve_json(r#"["https://a.bank.kz/cb","https://b.bank.kz/cb"]"#);
    let add = |extra: &[&str]| {
        let mut args = vec!["clients", "add", "--name", "Bank", "--redirect-uri", "https://a.bank.kz/cb", "--json"];
        args.extend_from_slice(extra);
        tanu(dir.path(), &args)
    };
    let (ok, _, err) = add(&["--redirect-uri", "https://b.bank.kz/cb"]);
    assert!(!ok && err.contains("sector"), "two hosts without a sector_identifier_uri: {err}");
    let (ok, out, err) = add(&["--redirect-uri", "https://b.bank.kz/cb", "--sector-identifier-uri", &sector]);
    assert!(ok, "{err}");
    let id = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["client_id"].as_str().unwrap().to_string();
    let (_, shown, _) = tanu(dir.path(), &["clients", "show", &id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(shown["sector_identifier"], sector.trim_start_matches("http://").split('/').next().unwrap(), "the sector is the document's host");
    let (ok, _, err) = add(&["--redirect-uri", "https://evil.example/cb", "--sector-identifier-uri", &sector]);
    assert!(!ok && err.contains("https://evil.example/cb") && err.contains("not listed"), "{err}");
    let (ok, _, err) = add(&["--sector-identifier-uri", &serve_json("{\"not\":\"a list\"}")]);
    assert!(!ok && err.contains("JSON array"), "{err}");
    let (ok, _, err) = add(&["--env", "production", "--sector-identifier-uri", &sector]);
    assert!(!ok && err.contains("https"), "production needs an https sector document: {err}");
    assert!(!err.contains("panicked"));
}

/// Without the models where the prefix says, the error names the place,
/// whatever the working directory.
#[test]
fn a_wrong_prefix_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tanu"))
        .args(["biometrics", "compare", "a.jpg", "b.jpg"])
        .current_dir(dir.path())
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("TANU_BIOMETRICS_MODELS_DIR")
        .env("TANU_PREFIX", dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&dir.path().join("ops/vendor").display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
