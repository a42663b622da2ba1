//! DPoP (RFC 9449): the key thumbprint (`jkt`) access and refresh tokens are
//! bound to, the `dpop_jkt` an authorization code is bound to, per client
//! whether it must use DPoP (`dpop_bound_access_tokens`), and the replay
//! cache of proofs' `jti`, shared by every instance.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    DpopBoundAccessTokens,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    DpopJkt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    DpopJkt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    DpopJkt,
}

#[derive(DeriveIden)]
enum DpopProofs {
    Table,
    Id,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds one at a time.
        m.alter_table(Table::alter().table(Clients::Table).add_column(boolean(Clients::DpopBoundAccessTokens).default(false)).to_owned()).await?;
        m.alter_table(Table::alter().table(AccessTokens::Table).add_column(string_null(AccessTokens::DpopJkt)).to_owned()).await?;
        m.alter_table(Table::alter().table(RefreshTokens::Table).add_column(string_null(RefreshTokens::DpopJkt)).to_owned()).await?;
        m.alter_table(Table::alter().table(AuthorizationCodes::Table).add_column(string_null(AuthorizationCodes::DpopJkt)).to_owned()).await?;
        m.create_table(
            Table::create().table(DpopProofs::Table).col(string(DpopProofs::Id).primary_key()).col(timestamp_with_time_zone(DpopProofs::ExpiresAt)).to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_dpop_proofs_expires_at").table(DpopProofs::Table).col(DpopProofs::ExpiresAt).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DpopProofs::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(AuthorizationCodes::Table).drop_column(AuthorizationCodes::DpopJkt).to_owned()).await?;
        m.alter_table(Table::alter().table(RefreshTokens::Table).drop_column(RefreshTokens::DpopJkt).to_owned()).await?;
        m.alter_table(Table::alter().table(AccessTokens::Table).drop_column(AccessTokens::DpopJkt).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::DpopBoundAccessTokens).to_owned()).await
    }
}
