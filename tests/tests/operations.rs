//! Operational properties: rate limits, secrets at rest.
use sea_orm::{ConnectionTrait, Statement};
use tanu_tests::*;

#[tokio::test]
async fn token_and_authorize_endpoints_are_rate_limited_per_address() {
    let tanu = Tanu::start_with(|c| {
        c.rate_limit_per_minute = 5;
        c.token_rate_limit_per_minute = 5;
    })
    .await;
    let http = reqwest::Client::new();
    let mut statuses = vec![];
    for _ in 0..8 {
        statuses.push(http.post(tanu.url("/token")).form(&[("grant_type", "refresh_token")]).send().await.unwrap().status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "within the quota: ordinary errors");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The browser endpoints have a budget of their own (attacks.rs: token_and_browser_budgets_are_separate).
    for _ in 0..5 {
        let page = Browser::new(&tanu).navigate(&tanu.url("/authorize?client_id=x")).await;
        assert!(matches!(page, Landing::Page { status: 400, .. }), "{page:?}");
    }
    let page = Browser::new(&tanu).navigate(&tanu.url("/authorize?client_id=x")).await;
    assert!(matches!(page, Landing::Page { status: 429, .. }), "the address is over its browser quota");
}

#[tokio::test]
async fn secrets_are_stored_only_hashed_or_sealed() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    let cb = "http://127.0.0.1:9/cb";
    let (client, secret) = tanu.client(cb, |_| {}).await;
    let secret = secret.unwrap();
    tanu.consent(&citizen, &client.id, "offline_access").await;
    let pkce = Pkce::new();
    let code = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &pkce, &[("scope", "openid offline_access")])).await.param("code").unwrap();
    let (_, tokens) = redeem(&tanu, &client.id, &secret, &code, cb, &pkce.verifier).await;
    let db = tanu.app.store.raw_connection();
    let mut dump = String::new();
    for (table, cols) in [
        ("clients", "secret_hash"),
        ("authorization_codes", "code_hash"),
        ("access_tokens", "token_hash"),
        ("refresh_tokens", "token_hash"),
        ("signing_keys", "sealed_private_key"),
    ] {
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), format!("SELECT {cols} FROM {table}"))).await.unwrap();
        assert!(!rows.is_empty(), "{table}");
        for r in rows {
            dump.push_str(&r.try_get_by_index::<String>(0).unwrap());
        }
    }
    for plain in [secret.as_str(), code.as_str(), tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap(), "PRIVATE KEY"] {
        assert!(!dump.contains(plain), "{plain} must not be stored in the clear");
    }
    assert!(dump.contains("hmac-sha256$"), "client secrets are keyed HMAC-SHA-256 hashes");
}

/// Every sign-in attempt lands in the hash-chained journal, on either database.
#[tokio::test]
async fn sign_in_attempts_are_journalled_in_a_verifiable_chain() {
    let tanu = Tanu::start().await;
    // A citizen, through a production client: the journal's subject is the
    // IIN's pseudonym (a sandbox test person's is another, `Journal::person`).
    let citizen = tanu.citizen_in(tanu_idp::domain::Environment::Production, "900517300124", "A", "B").await;
    let cb = "https://127.0.0.1:9/cb";
    let (client, _) = tanu.client(cb, |c| c.environment = tanu_idp::domain::Environment::Production).await;
    tanu.sign_in_as(None);
    let refused = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &Pkce::new(), &[])).await;
    assert_eq!(refused.param("error").as_deref(), Some("access_denied"));
    tanu.sign_in_as(Some(&citizen));
    assert!(Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &Pkce::new(), &[])).await.param("code").is_some());
    let records = tanu.app.journal.records().await.unwrap();
    let outcomes: Vec<_> = records.iter().map(|r| (r.seq, r.outcome.as_str(), r.client_id.as_deref())).collect();
    assert_eq!(outcomes, vec![(1, "failure", Some(client.id.as_str())), (2, "success", Some(client.id.as_str()))]);
    assert_eq!(records[1].subject.as_deref(), Some(tanu.app.journal.pseudonym("900517300124").as_str()));
    assert!(!records.iter().any(|r| r.subject.as_deref() == Some("900517300124")), "no raw IIN in the journal");
    let v = tanu.app.journal.verify(None).await.unwrap();
    assert!(v.breaks.is_empty());
    let db = tanu.app.store.raw_connection();
    db.execute_unprepared("UPDATE audit_journal SET reason = 'nothing happened' WHERE seq = 1").await.unwrap();
    let v = tanu.app.journal.verify(Some(&v.head_hash)).await.unwrap();
    assert_eq!(v.breaks, vec![tanu_idp::audit::Break::Edited { seq: 1 }]);
}

/// A clone alone is enough (issue 16): no file of the repository reads or
/// names a path beside the checkout (the shared folder where the test data used
/// to be), and the test data is here with the licence of every folder.
#[test]
fn the_repository_needs_nothing_beside_it() {
    let root = workspace_root();
    // Built from parts so that this file does not match itself.
    let outside = ["..", "/shared"].concat();
    let known: &[&str] = &[];
    // Not the repository's own files: build output, installed tools, run state.
    let skip = ["target", "node_modules", ".git", "var", "ops/vendor", "tests/artifacts"];
    let mut offenders = vec![];
    let mut stack = vec![root.clone()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            if skip.iter().any(|s| rel == *s || rel.ends_with(&format!("/{s}"))) {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                seen += 1;
                let bytes = std::fs::read(&path).unwrap();
                if bytes.windows(outside.len()).any(|w| w == outside.as_bytes()) && !known.contains(&rel.as_str()) {
                    offenders.push(rel);
                }
            }
        }
    }
    assert!(seen > 100, "walked the repository ({seen} files)");
    assert!(offenders.is_empty(), "files referring outside the repository: {offenders:?}");
    for (dir, licence, sample) in [
        ("faces-dev", "LICENSE.deepface", "master.csv"),
        ("video", "LICENSE.face_recognition", "short_hamilton_clip.mp4"),
        ("liveness-samples", "LICENSE.silent-face", "image_F1.jpg"),
    ] {
        assert!(test_data(&format!("{dir}/{licence}")).is_file(), "{dir} carries its licence");
        assert!(test_data(&format!("{dir}/{sample}")).is_file(), "{dir}/{sample}");
        let readme = std::fs::read_to_string(test_data("README.md")).unwrap();
        assert!(readme.contains(licence), "tests/data/README.md names {licence}");
    }
    let pairs = std::fs::read_to_string(test_data("faces-dev/master.csv")).unwrap();
    for line in pairs.lines().skip(1) {
        for file in line.split(',').take(2) {
            assert!(test_data(&format!("faces-dev/{file}")).is_file(), "master.csv names {file}, which is in tests/data");
        }
    }
}

/// Instances started at once on one database each register the first-party
/// clients (portal, cabinet) at start: the one row is written once, and no
/// instance fails to start because another won (the compose file's three
/// instances once did: a rename refused by the key).
#[tokio::test]
async fn first_party_clients_registered_by_many_instances_at_once_exist_once() {
    let tanu = Tanu::start().await;
    let store = &tanu.app.store;
    let db = store.raw_connection();
    let count = |sql: &'static str| async move {
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    let before = count("SELECT COUNT(*) FROM clients").await;
    let id: tanu_idp::domain::ClientId = "tanu-first-party-race".parse().unwrap();
    let redirect: tanu_idp::domain::RedirectUri = tanu.url("/first-party/callback").parse().unwrap();
    let secret = "s".repeat(64);
    let ensure = || store.ensure_first_party_client(&id, "First party", &secret, &redirect, &tanu.app.client_secrets);
    let results = futures::future::join_all((0..8).map(|_| ensure())).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(count("SELECT COUNT(*) FROM clients").await, before + 1, "one row, no stray generated clients");
    assert_eq!(count("SELECT COUNT(*) FROM clients WHERE client_id = 'tanu-first-party-race' AND environment = 'production'").await, 1);
    // And a later start with another secret brings it in line, still once.
    let other = "t".repeat(64);
    store.ensure_first_party_client(&id, "First party", &other, &redirect, &tanu.app.client_secrets).await.unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM clients").await, before + 1);
}
