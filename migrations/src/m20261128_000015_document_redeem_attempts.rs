//! Documents shared by code (issue 14): the redemption attempts each
//! verifier was admitted to make, so that the per-minute budgets (the
//! verifier's and the whole code space's) are counted in the database and
//! hold across every instance behind a balancer, as the lockout already
//! does. Rows older than the budgets' window are pruned.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DocumentRedeemAttempts {
    Table,
    Id,
    /// `client:<client_id>` or `user:<iin pseudonym>`.
    Verifier,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DocumentRedeemAttempts::Table)
                .col(string(DocumentRedeemAttempts::Id).primary_key())
                .col(string(DocumentRedeemAttempts::Verifier))
                .col(timestamp_with_time_zone(DocumentRedeemAttempts::At))
                .to_owned(),
        )
        .await?;
        // The window's count (all verifiers) and the pruning read `at`; a
        // verifier's oldest attempt in the window reads (verifier, at).
        m.create_index(Index::create().name("idx_document_redeem_attempts_at").table(DocumentRedeemAttempts::Table).col(DocumentRedeemAttempts::At).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_document_redeem_attempts_verifier_at")
                .table(DocumentRedeemAttempts::Table)
                .col(DocumentRedeemAttempts::Verifier)
                .col(DocumentRedeemAttempts::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DocumentRedeemAttempts::Table).to_owned()).await
    }
}
