//! The citizen's cabinet (issue 14): every release of a citizen's data to a
//! relying party, recorded at the moment it happens (claim names only, never
//! their values); the cabinet's own sign-ins and sessions; and an index on
//! the journal's subject, so that a citizen's attempts are found without a
//! full scan.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DataReleases {
    Table,
    Id,
    CitizenId,
    ClientId,
    GrantId,
    /// Space-separated claim names.
    Claims,
    /// `id_token`, `userinfo` or `refresh`.
    Channel,
    At,
}

#[derive(DeriveIden)]
enum CabinetLogins {
    Table,
    State,
    Verifier,
    Nonce,
    BindingHash,
    /// The page language to come back to.
    Lang,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CabinetSessions {
    Table,
    IdHash,
    CitizenId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuditJournal {
    Table,
    Subject,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DataReleases::Table)
                .col(string(DataReleases::Id).primary_key())
                .col(string(DataReleases::CitizenId))
                .col(string(DataReleases::ClientId))
                .col(string(DataReleases::GrantId))
                .col(string(DataReleases::Claims))
                .col(string(DataReleases::Channel))
                .col(timestamp_with_time_zone(DataReleases::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_data_releases_citizen_at").table(DataReleases::Table).col(DataReleases::CitizenId).col(DataReleases::At).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CabinetLogins::Table)
                .col(string(CabinetLogins::State).primary_key())
                .col(string(CabinetLogins::Verifier))
                .col(string(CabinetLogins::Nonce))
                .col(string(CabinetLogins::BindingHash))
                .col(string(CabinetLogins::Lang))
                .col(timestamp_with_time_zone(CabinetLogins::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CabinetSessions::Table)
                .col(string(CabinetSessions::IdHash).primary_key())
                .col(string(CabinetSessions::CitizenId))
                .col(timestamp_with_time_zone(CabinetSessions::CreatedAt))
                .col(timestamp_with_time_zone(CabinetSessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_audit_journal_subject").table(AuditJournal::Table).col(AuditJournal::Subject).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_audit_journal_subject").table(AuditJournal::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(CabinetSessions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(CabinetLogins::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(DataReleases::Table).to_owned()).await
    }
}
