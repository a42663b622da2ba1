//! A client's security profile (`standard` or `fapi2`, the FAPI 2.0
//! Security Profile): existing clients keep the baseline.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Profile,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Clients::Table).add_column(string(Clients::Profile).default("standard")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::Profile).to_owned()).await
    }
}
