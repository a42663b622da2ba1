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
mod m20261127_000008_data_releases;

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
            Box::new(m20261127_000008_data_releases::Migration),
        ]
    }
}
