//! Pushed authorization requests (RFC 9126): the pushed parameters, kept
//! under the hash of their `request_uri` until used once or expired; and
//! per client whether it must push its requests.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RequirePushedAuthorizationRequests,
}

#[derive(DeriveIden)]
enum PushedRequests {
    Table,
    RequestUriHash,
    ClientId,
    Params,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Clients::Table).add_column(boolean(Clients::RequirePushedAuthorizationRequests).default(false)).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(PushedRequests::Table)
                .col(string(PushedRequests::RequestUriHash).primary_key())
                .col(string(PushedRequests::ClientId))
                .col(text(PushedRequests::Params))
                .col(timestamp_with_time_zone(PushedRequests::CreatedAt))
                .col(timestamp_with_time_zone(PushedRequests::ExpiresAt))
                .col(timestamp_with_time_zone_null(PushedRequests::UsedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PushedRequests::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::RequirePushedAuthorizationRequests).to_owned()).await
    }
}
