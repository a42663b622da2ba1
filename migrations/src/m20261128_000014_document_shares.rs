//! Documents shared by code (issue 14): a citizen opens access to a document
//! the registry holds for them; a short numeric code (stored only as its
//! keyed hash) lets one verifier see it once. The verifiers an operator
//! registered (organisation users), and the wrong codes each verifier typed
//! (its lockout is counted from them, on every instance alike).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DocumentShares {
    Table,
    Id,
    CitizenId,
    /// `identity_card`.
    Document,
    /// The keyed hash of the short code.
    CodeHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    RedeemedAt,
    /// `client:<client_id>` or `user:<iin pseudonym>`.
    RedeemedBy,
    /// The verifier's organisation and name, as shown to the citizen.
    RedeemedByName,
}

#[derive(DeriveIden)]
enum DocumentVerifiers {
    Table,
    Iin,
    Organisation,
    Name,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum DocumentCodeFailures {
    Table,
    Id,
    Verifier,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DocumentShares::Table)
                .col(string(DocumentShares::Id).primary_key())
                .col(string(DocumentShares::CitizenId))
                .col(string(DocumentShares::Document))
                .col(string(DocumentShares::CodeHash))
                .col(timestamp_with_time_zone(DocumentShares::CreatedAt))
                .col(timestamp_with_time_zone(DocumentShares::ExpiresAt))
                .col(timestamp_with_time_zone_null(DocumentShares::RevokedAt))
                .col(timestamp_with_time_zone_null(DocumentShares::RedeemedAt))
                .col(string_null(DocumentShares::RedeemedBy))
                .col(string_null(DocumentShares::RedeemedByName))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_document_shares_code").table(DocumentShares::Table).col(DocumentShares::CodeHash).to_owned()).await?;
        m.create_index(
            Index::create()
                .name("idx_document_shares_citizen")
                .table(DocumentShares::Table)
                .col(DocumentShares::CitizenId)
                .col(DocumentShares::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_document_shares_redeemer").table(DocumentShares::Table).col(DocumentShares::RedeemedBy).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(DocumentVerifiers::Table)
                .col(string(DocumentVerifiers::Iin).primary_key())
                .col(string(DocumentVerifiers::Organisation))
                .col(string(DocumentVerifiers::Name))
                .col(timestamp_with_time_zone(DocumentVerifiers::CreatedAt))
                .col(timestamp_with_time_zone_null(DocumentVerifiers::DisabledAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DocumentCodeFailures::Table)
                .col(string(DocumentCodeFailures::Id).primary_key())
                .col(string(DocumentCodeFailures::Verifier))
                .col(timestamp_with_time_zone(DocumentCodeFailures::At))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_document_code_failures_verifier_at")
                .table(DocumentCodeFailures::Table)
                .col(DocumentCodeFailures::Verifier)
                .col(DocumentCodeFailures::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DocumentCodeFailures::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(DocumentVerifiers::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(DocumentShares::Table).to_owned()).await
    }
}
