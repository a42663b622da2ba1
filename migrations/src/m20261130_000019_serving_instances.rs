//! The instances serving (issue 16): each `tanu serve` beats here every few
//! seconds, so that every instance knows how many share the per-minute
//! request budgets (`ratelimit.rs`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServingInstances {
    Table,
    /// Random per process.
    Id,
    SeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ServingInstances::Table)
                .col(string(ServingInstances::Id).primary_key())
                .col(timestamp_with_time_zone(ServingInstances::SeenAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ServingInstances::Table).to_owned()).await
    }
}
