//! Issue 12, "templates and keys at rest": each citizen's wrapped data key
//! moves out of the template's row into a table of its own, so that deleting
//! the key (withdrawal) is independent of the templates and an operator can
//! keep the keys out of long-lived backups (README, "Templates at rest").
//! `reference_templates` is rebuilt without its key column (SQLite cannot
//! drop a column portably).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TemplateKeys {
    Table,
    CitizenId,
    /// Base64: the per-citizen data key sealed under the master key.
    WrappedKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReferenceTemplates {
    Table,
    CitizenId,
    WrappedKey,
    SealedEmbedding,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ReferenceTemplatesNext {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TemplateKeys::Table)
                .col(string(TemplateKeys::CitizenId).primary_key())
                .col(text(TemplateKeys::WrappedKey))
                .col(timestamp_with_time_zone(TemplateKeys::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ReferenceTemplatesNext::Table)
                .col(string(ReferenceTemplates::CitizenId).primary_key())
                .col(text(ReferenceTemplates::SealedEmbedding))
                .col(timestamp_with_time_zone(ReferenceTemplates::CreatedAt))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO template_keys (citizen_id, wrapped_key, created_at) \
             SELECT citizen_id, wrapped_key, created_at FROM reference_templates",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO reference_templates_next (citizen_id, sealed_embedding, created_at) \
             SELECT citizen_id, sealed_embedding, created_at FROM reference_templates",
        )
        .await?;
        m.drop_table(Table::drop().table(ReferenceTemplates::Table).to_owned()).await?;
        m.rename_table(Table::rename().table(ReferenceTemplatesNext::Table, ReferenceTemplates::Table).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ReferenceTemplatesNext::Table)
                .col(string(ReferenceTemplates::CitizenId).primary_key())
                .col(text(ReferenceTemplates::WrappedKey))
                .col(text(ReferenceTemplates::SealedEmbedding))
                .col(timestamp_with_time_zone(ReferenceTemplates::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO reference_templates_next (citizen_id, wrapped_key, sealed_embedding, created_at) \
                 SELECT t.citizen_id, k.wrapped_key, t.sealed_embedding, t.created_at \
                 FROM reference_templates t JOIN template_keys k ON k.citizen_id = t.citizen_id",
            )
            .await?;
        m.drop_table(Table::drop().table(ReferenceTemplates::Table).to_owned()).await?;
        m.rename_table(Table::rename().table(ReferenceTemplatesNext::Table, ReferenceTemplates::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(TemplateKeys::Table).to_owned()).await
    }
}
