//! §10 of the Rules: the initiator is told electronically of each attempt's
//! outcome. A client may register a notification endpoint; each event is a
//! signed Security Event Token kept in an outbox until delivered.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    NotificationEndpoint,
}

#[derive(DeriveIden)]
enum EventDeliveries {
    Table,
    Jti,
    ClientId,
    Endpoint,
    SetJwt,
    Attempts,
    NextAttemptAt,
    DeliveredAt,
    LastError,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Clients::Table).add_column(string_null(Clients::NotificationEndpoint)).to_owned()).await?;
        m.create_table(
            Table::create()
                .table(EventDeliveries::Table)
                .col(string(EventDeliveries::Jti).primary_key())
                .col(string(EventDeliveries::ClientId))
                .col(text(EventDeliveries::Endpoint))
                .col(text(EventDeliveries::SetJwt))
                .col(integer(EventDeliveries::Attempts))
                .col(timestamp_with_time_zone(EventDeliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(EventDeliveries::DeliveredAt))
                .col(text_null(EventDeliveries::LastError))
                .col(timestamp_with_time_zone(EventDeliveries::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EventDeliveries::Table).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::NotificationEndpoint).to_owned()).await
    }
}
