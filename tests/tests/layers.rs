//! The workspace's layers, checked from its manifests (`cargo metadata`):
//! dependency arrows point one way, and SQL belongs to the store alone
//! (issue 11). A new crate fails here until its place is decided.
use std::collections::{BTreeMap, BTreeSet};

/// Each crate of the workspace and the workspace crates it may depend on
/// (normal dependencies; tests may reach further).
const ALLOWED: &[(&str, &[&str])] = &[
    ("tanu-core", &[]),
    ("tanu-migrations", &[]),
    // The parsers of untrusted input: pure, fuzzed without the provider.
    ("tanu-parse", &[]),
    ("tanu-workflows", &["tanu-core"]),
    ("tanu-biometrics", &["tanu-core"]),
    ("tanu-store", &["tanu-core", "tanu-migrations", "tanu-workflows", "tanu-biometrics"]),
    // The pages' common parts and the three languages.
    ("tanu-ui", &["tanu-core", "tanu-store"]),
    // The protocol: no authentication method (no biometrics), no onboarding
    // (no workflows), nothing of the composition root.
    ("tanu-oidc", &["tanu-core", "tanu-parse", "tanu-store", "tanu-ui"]),
    // The onboarding service: a relying party of the provider over HTTP,
    // needing of it only the ClientRegistrar port it defines; not the protocol.
    ("tanu-onboarding", &["tanu-core", "tanu-parse", "tanu-store", "tanu-ui", "tanu-workflows"]),
    // The citizen's cabinet: a relying party of the provider that checks
    // DPoP proofs and client authentication as the provider does, reuses the
    // portal's sign-in for its verifier page and reads documents from the
    // person registry (biometrics). Neither the protocol nor onboarding
    // depends on it.
    ("tanu-cabinet", &["tanu-core", "tanu-parse", "tanu-store", "tanu-ui", "tanu-oidc", "tanu-onboarding", "tanu-biometrics"]),
    // The composition root, the CLI and face sign-in.
    ("tanu-idp", &["tanu-core", "tanu-parse", "tanu-store", "tanu-ui", "tanu-oidc", "tanu-onboarding", "tanu-cabinet", "tanu-workflows", "tanu-biometrics"]),
    // The test kit drives everything.
    ("tanu-tests", &["tanu-core", "tanu-store", "tanu-workflows", "tanu-biometrics", "tanu-oidc", "tanu-onboarding", "tanu-idp", "tanu-migrations"]),
];

/// Crates that talk to a database directly.
const SQL: &[&str] = &["sea-orm", "sea-orm-migration", "sea-query", "sqlx"];

/// Package name → its normal (non-dev, non-build) dependencies' names.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("name").to_string())
                .collect();
            (p["name"].as_str().expect("name").to_string(), deps)
        })
        .collect()
}

/// Every arrow that breaks the layers, and every crate not placed in them.
fn breaches(packages: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut out = vec![];
    for (package, deps) in packages {
        let Some(may) = allowed.get(package.as_str()) else {
            out.push(format!("{package} is not placed in the layers: add it to ALLOWED (and to the README's Layout)"));
            continue;
        };
        for d in deps.iter().filter(|d| d.starts_with("tanu-") && !may.contains(&d.as_str())) {
            out.push(format!("{package} must not depend on {d}"));
        }
        let talks_sql = !matches!(package.as_str(), "tanu-store" | "tanu-migrations" | "tanu-tests");
        for d in SQL.iter().filter(|d| talks_sql && deps.contains(**d)) {
            out.push(format!("{package} depends on {d}: SQL belongs to tanu-store"));
        }
    }
    out
}

#[test]
fn dependency_arrows_point_one_way_and_only_the_store_speaks_sql() {
    let packages = normal_dependencies();
    assert!(packages.contains_key("tanu-store") && packages.contains_key("tanu-core"), "{packages:?}");
    assert_eq!(breaches(&packages), Vec::<String>::new());
}

#[test]
fn the_check_sees_each_kind_of_breach() {
    let mut packages = normal_dependencies();
    packages.get_mut("tanu-core").expect("tanu-core").insert("tanu-store".into());
    packages.get_mut("tanu-idp").expect("tanu-idp").insert("sea-orm".into());
    packages.insert("tanu-unplaced".into(), BTreeSet::new());
    // The protocol reaching for face code, onboarding, the cabinet or the
    // composition root; onboarding reaching for the protocol or the cabinet;
    // the cabinet for the composition root.
    for reach in ["tanu-biometrics", "tanu-workflows", "tanu-onboarding", "tanu-cabinet", "tanu-idp"] {
        packages.get_mut("tanu-oidc").expect("tanu-oidc").insert(reach.into());
    }
    packages.get_mut("tanu-onboarding").expect("tanu-onboarding").extend(["tanu-oidc".into(), "tanu-cabinet".into()]);
    packages.get_mut("tanu-cabinet").expect("tanu-cabinet").insert("tanu-idp".into());
    let found = breaches(&packages);
    assert_eq!(found.len(), 11, "{found:?}");
    assert!(found.iter().any(|b| b == "tanu-onboarding must not depend on tanu-cabinet"));
    assert!(found.iter().any(|b| b == "tanu-cabinet must not depend on tanu-idp"));
    for reach in ["tanu-biometrics", "tanu-workflows", "tanu-onboarding", "tanu-cabinet", "tanu-idp"] {
        assert!(found.contains(&format!("tanu-oidc must not depend on {reach}")), "{found:?}");
    }
    assert!(found.iter().any(|b| b == "tanu-onboarding must not depend on tanu-oidc"));
    assert!(found.iter().any(|b| b == "tanu-core must not depend on tanu-store"));
    assert!(found.iter().any(|b| b.starts_with("tanu-idp depends on sea-orm")));
    assert!(found.iter().any(|b| b.starts_with("tanu-unplaced is not placed")));
}

/// Rows and connections stay in the store: no source file of another crate
/// names an entity or takes the raw connection (which exist for the tests).
#[test]
fn no_crate_above_the_store_touches_rows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let mut offenders = vec![];
    let mut stack: Vec<std::path::PathBuf> =
        ["idp/src", "idp/oidc/src", "idp/ui/src", "idp/cabinet/src", "workflows/src", "workflows/onboarding/src", "biometrics/src"]
            .iter()
            .map(|d| root.join(d))
            .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                for needle in ["entities::", "raw_connection", "sea_orm"] {
                    if text.contains(needle) {
                        offenders.push(format!("{} uses {needle}", path.display()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
