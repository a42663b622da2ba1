//! The attempt journal (Rules §8): append-only, each record carrying the
//! hash of the one before it. `prev_hash` is unique, so two writers can
//! never fork the chain: the loser of a race retries on the new head.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditJournal {
    Table,
    Seq,
    At,
    ClientId,
    Subject,
    Step,
    Outcome,
    Reason,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuditJournal::Table)
                .col(big_integer(AuditJournal::Seq).primary_key())
                .col(timestamp_with_time_zone(AuditJournal::At))
                .col(string_null(AuditJournal::ClientId))
                .col(string_null(AuditJournal::Subject))
                .col(string(AuditJournal::Step))
                .col(string(AuditJournal::Outcome))
                .col(string_null(AuditJournal::Reason))
                .col(string_uniq(AuditJournal::PrevHash))
                .col(string_uniq(AuditJournal::Hash))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditJournal::Table).to_owned()).await
    }
}
