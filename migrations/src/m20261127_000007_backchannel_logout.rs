//! OpenID Connect Back-Channel Logout 1.0: a client may register where its
//! logout tokens go and whether it needs `sid` in them; logout tokens wait in
//! the outbox of §10 events (`event_deliveries`), told apart by `kind`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    BackchannelLogoutUri,
    BackchannelLogoutSessionRequired,
}

#[derive(DeriveIden)]
enum EventDeliveries {
    Table,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        m.alter_table(Table::alter().table(Clients::Table).add_column(text_null(Clients::BackchannelLogoutUri)).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).add_column(boolean(Clients::BackchannelLogoutSessionRequired).default(false)).to_owned()).await?;
        m.alter_table(Table::alter().table(EventDeliveries::Table).add_column(string(EventDeliveries::Kind).default("secevent")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(EventDeliveries::Table).drop_column(EventDeliveries::Kind).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::BackchannelLogoutSessionRequired).to_owned()).await?;
        m.alter_table(Table::alter().table(Clients::Table).drop_column(Clients::BackchannelLogoutUri).to_owned()).await
    }
}
