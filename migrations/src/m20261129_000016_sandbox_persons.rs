//! Issue 12, "sandbox is not production" (Rules §14): a person signed in
//! through a sandbox client is a test person of the sandbox registry, never a
//! real citizen, even when both carry the same IIN. Each account
//! (`citizens`) and each browser session (`browser_sessions`) records the
//! environment it belongs to; an IIN is unique per environment, so a test
//! person's account, consents, grants and reference template are rows of
//! their own. Existing rows are production.
//!
//! SQLite cannot drop the column's inline `UNIQUE`: `citizens` is rebuilt,
//! with foreign keys off (or deferred, inside a transaction) so that the
//! sessions referencing it stay valid.
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Citizens {
    Table,
    Id,
    Environment,
    Iin,
    GivenName,
    FamilyName,
    Birthdate,
    CreatedAt,
}

/// The table as 000001 made it, with the environment column or without it
/// (and then the IIN unique on its own).
fn citizens_table(with_environment: bool) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(Citizens::Table).col(string(Citizens::Id).primary_key());
    if with_environment {
        t.col(string(Citizens::Environment).default("production")).col(string(Citizens::Iin));
    } else {
        t.col(string_uniq(Citizens::Iin));
    }
    t.col(string(Citizens::GivenName))
        .col(string(Citizens::FamilyName))
        .col(string_null(Citizens::Birthdate))
        .col(timestamp_with_time_zone(Citizens::CreatedAt))
        .to_owned()
}

const INDEX: &str = "idx_citizens_environment_iin";

async fn exec(m: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    m.get_connection().execute_unprepared(sql).await.map(|_| ())
}

/// SQLite: `citizens` rebuilt as `create`, its rows copied by `copy` (a
/// SELECT over the old rows, kept in `citizens_prev`).
async fn rebuild_citizens_sqlite(m: &SchemaManager<'_>, create: TableCreateStatement, copy: &str) -> Result<(), DbErr> {
    // Outside a transaction `foreign_keys = OFF` applies; inside one it is
    // ignored and `defer_foreign_keys` lets the sessions' references wait
    // for the rows to be back (checked at commit).
    exec(m, "PRAGMA foreign_keys = OFF").await?;
    exec(m, "PRAGMA defer_foreign_keys = ON").await?;
    exec(m, "CREATE TABLE citizens_prev AS SELECT * FROM citizens").await?;
    exec(m, "DROP TABLE citizens").await?;
    m.create_table(create).await?;
    exec(m, &format!("INSERT INTO citizens {copy}")).await?;
    exec(m, "DROP TABLE citizens_prev").await?;
    exec(m, "PRAGMA foreign_keys = ON").await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                rebuild_citizens_sqlite(
                    m,
                    citizens_table(true),
                    "(id, environment, iin, given_name, family_name, birthdate, created_at) \
                     SELECT id, 'production', iin, given_name, family_name, birthdate, created_at FROM citizens_prev",
                )
                .await?;
            }
            _ => {
                exec(m, "ALTER TABLE citizens ADD COLUMN environment varchar NOT NULL DEFAULT 'production'").await?;
                exec(m, "ALTER TABLE citizens DROP CONSTRAINT IF EXISTS citizens_iin_key").await?;
            }
        }
        exec(m, &format!("CREATE UNIQUE INDEX {INDEX} ON citizens (environment, iin)")).await?;
        exec(m, "ALTER TABLE browser_sessions ADD COLUMN environment varchar NOT NULL DEFAULT 'production'").await
    }

    /// Back to one account per IIN: the test persons' sessions and accounts go.
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        exec(m, "DELETE FROM browser_sessions WHERE environment <> 'production'").await?;
        exec(m, "DELETE FROM citizens WHERE environment <> 'production'").await?;
        exec(m, &format!("DROP INDEX {INDEX}")).await?;
        exec(m, "ALTER TABLE browser_sessions DROP COLUMN environment").await?;
        match m.get_database_backend() {
            DatabaseBackend::Sqlite => {
                rebuild_citizens_sqlite(
                    m,
                    citizens_table(false),
                    "(id, iin, given_name, family_name, birthdate, created_at) \
                     SELECT id, iin, given_name, family_name, birthdate, created_at FROM citizens_prev",
                )
                .await
            }
            _ => {
                exec(m, "ALTER TABLE citizens DROP COLUMN environment").await?;
                exec(m, "ALTER TABLE citizens ADD CONSTRAINT citizens_iin_key UNIQUE (iin)").await
            }
        }
    }
}
