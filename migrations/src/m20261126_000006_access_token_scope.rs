//! RFC 6749 §6: a refresh may narrow the scope; the narrowed scope is the
//! access token's own, so each access token carries the scope it was issued
//! with (`NULL` on tokens issued before: the grant's scope).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    Scope,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(AccessTokens::Table).add_column(string_null(AccessTokens::Scope)).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(AccessTokens::Table).drop_column(AccessTokens::Scope).to_owned()).await
    }
}
