//! Tanu's database schema, as sea-orm migrations.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL
//! (production); they use only column types both support. JSON documents
//! are kept as text so that both backends store them byte-for-byte alike.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_oidc_core;
mod m20261122_000002_audit_journal;
mod m20261122_000003_notifications;
mod m20261122_000004_biometrics;
mod m20261123_000005_onboarding;
mod m20261126_000006_access_token_scope;
mod m20261127_000007_backchannel_logout;
mod m20261127_000008_pushed_authorization_requests;
mod m20261127_000009_template_keys;
mod m20261127_000010_data_releases;
mod m20261128_000011_dpop;
mod m20261128_000013_client_profile;
mod m20261128_000014_document_shares;
mod m20261128_000015_document_redeem_attempts;
mod m20261129_000016_sandbox_persons;
mod m20261129_000017_response_encryption;
mod m20261130_000018_face_sign_ins;
mod m20261130_000019_serving_instances;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_oidc_core::Migration),
            Box::new(m20261122_000002_audit_journal::Migration),
            Box::new(m20261122_000003_notifications::Migration),
            Box::new(m20261122_000004_biometrics::Migration),
            Box::new(m20261123_000005_onboarding::Migration),
            Box::new(m20261126_000006_access_token_scope::Migration),
            Box::new(m20261127_000007_backchannel_logout::Migration),
            Box::new(m20261127_000008_pushed_authorization_requests::Migration),
            Box::new(m20261127_000009_template_keys::Migration),
            Box::new(m20261127_000010_data_releases::Migration),
            Box::new(m20261128_000011_dpop::Migration),
            Box::new(m20261128_000013_client_profile::Migration),
            Box::new(m20261128_000014_document_shares::Migration),
            Box::new(m20261128_000015_document_redeem_attempts::Migration),
            Box::new(m20261129_000016_sandbox_persons::Migration),
            Box::new(m20261129_000017_response_encryption::Migration),
            Box::new(m20261130_000018_face_sign_ins::Migration),
            Box::new(m20261130_000019_serving_instances::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database, Statement};

    async fn strings(db: &impl ConnectionTrait, sql: &str) -> Vec<String> {
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap();
        rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
    }

    /// 000009 on a database that holds templates: each key moves to
    /// `template_keys`, the template keeps its sealed embedding and no key;
    /// down puts them back together.
    #[tokio::test]
    async fn template_keys_move_out_of_the_templates_and_back() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let all: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let before = all.iter().position(|n| n == "m20261127_000009_template_keys").unwrap() as u32;
        Migrator::up(&db, Some(before)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO reference_templates (citizen_id, wrapped_key, sealed_embedding, created_at) \
             VALUES ('c1', 'KEY1', 'EMB1', '2026-11-20T10:00:00Z')",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        assert_eq!(strings(&db, "SELECT citizen_id || ':' || wrapped_key FROM template_keys").await, ["c1:KEY1"]);
        assert_eq!(strings(&db, "SELECT citizen_id || ':' || sealed_embedding FROM reference_templates").await, ["c1:EMB1"]);
        let columns = strings(&db, "SELECT name FROM pragma_table_info('reference_templates')").await;
        assert!(!columns.iter().any(|c| c == "wrapped_key"), "{columns:?}");
        Migrator::down(&db, Some(all.len() as u32 - before)).await.unwrap();
        assert_eq!(strings(&db, "SELECT wrapped_key || ':' || sealed_embedding FROM reference_templates").await, ["KEY1:EMB1"]);
    }

    /// 000016 on a database with a citizen and a session of theirs: both stay
    /// (production), the session's reference to the citizen holds, the same
    /// IIN may then be a test person too but not twice in one environment;
    /// down removes the test person and makes the IIN unique again.
    #[tokio::test]
    async fn sandbox_persons_are_accounts_of_their_own() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let all: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let before = all.iter().position(|n| n == "m20261129_000016_sandbox_persons").unwrap() as u32;
        Migrator::up(&db, Some(before)).await.unwrap();
        db.execute_unprepared("PRAGMA foreign_keys = ON").await.unwrap();
        db.execute_unprepared(
            "INSERT INTO citizens (id, iin, given_name, family_name, birthdate, created_at) \
             VALUES ('c1', '900101300017', 'Real', 'Citizen', NULL, '2026-11-20T10:00:00Z')",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "INSERT INTO browser_sessions (id, cookie_hash, citizen_id, auth_time, acr, amr, created_at, expires_at, ended_at) \
             VALUES ('s1', 'h1', 'c1', '2026-11-20T10:00:00Z', 'acr', '[]', '2026-11-20T10:00:00Z', '2026-11-20T18:00:00Z', NULL)",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        assert_eq!(strings(&db, "SELECT id || ':' || environment || ':' || iin FROM citizens").await, ["c1:production:900101300017"]);
        assert_eq!(strings(&db, "SELECT id || ':' || environment || ':' || citizen_id FROM browser_sessions").await, ["s1:production:c1"]);
        assert!(strings(&db, "PRAGMA foreign_key_check").await.is_empty(), "the session still references its citizen");
        let test_person = "INSERT INTO citizens (id, environment, iin, given_name, family_name, birthdate, created_at) \
             VALUES ('t1', 'sandbox', '900101300017', 'Test', 'Person', NULL, '2026-11-21T10:00:00Z')";
        db.execute_unprepared(test_person).await.unwrap();
        assert!(db.execute_unprepared(&test_person.replace("'t1'", "'t2'")).await.is_err(), "one test person per IIN");
        Migrator::down(&db, Some(all.len() as u32 - before)).await.unwrap();
        assert_eq!(strings(&db, "SELECT id FROM citizens").await, ["c1"]);
        let again = "INSERT INTO citizens (id, iin, given_name, family_name, birthdate, created_at) \
             VALUES ('c2', '900101300017', 'X', 'Y', NULL, '2026-11-20T10:00:00Z')";
        assert!(db.execute_unprepared(again).await.is_err(), "the IIN unique again");
    }
}
