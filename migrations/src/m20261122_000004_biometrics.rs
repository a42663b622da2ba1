//! Rules §4, §5, §11: the citizen's consent to biometric processing, the
//! reference template formed on the first successful verification (sealed;
//! see `biometrics/src/template.rs`), and the failed attempts that rate-limit
//! face sign-in per IIN and per client address.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BiometricConsents {
    Table,
    Id,
    CitizenId,
    TextVersion,
    AcceptedAt,
    WithdrawnAt,
}

#[derive(DeriveIden)]
enum ReferenceTemplates {
    Table,
    CitizenId,
    /// Base64: the per-citizen data key sealed under the master key.
    WrappedKey,
    /// Base64: the embedding sealed under the data key.
    SealedEmbedding,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FaceFailures {
    Table,
    Id,
    /// Keyed hash of the IIN (never the IIN itself).
    IinHash,
    ClientAddress,
    Reason,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BiometricConsents::Table)
                .col(string(BiometricConsents::Id).primary_key())
                .col(string(BiometricConsents::CitizenId))
                .col(string(BiometricConsents::TextVersion))
                .col(timestamp_with_time_zone(BiometricConsents::AcceptedAt))
                .col(timestamp_with_time_zone_null(BiometricConsents::WithdrawnAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_biometric_consents_citizen").table(BiometricConsents::Table).col(BiometricConsents::CitizenId).to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table(ReferenceTemplates::Table)
                .col(string(ReferenceTemplates::CitizenId).primary_key())
                .col(text(ReferenceTemplates::WrappedKey))
                .col(text(ReferenceTemplates::SealedEmbedding))
                .col(timestamp_with_time_zone(ReferenceTemplates::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(FaceFailures::Table)
                .col(string(FaceFailures::Id).primary_key())
                .col(string(FaceFailures::IinHash))
                .col(string(FaceFailures::ClientAddress))
                .col(string(FaceFailures::Reason))
                .col(timestamp_with_time_zone(FaceFailures::At))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_face_failures_at").table(FaceFailures::Table).col(FaceFailures::At).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FaceFailures::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ReferenceTemplates::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(BiometricConsents::Table).to_owned()).await
    }
}
