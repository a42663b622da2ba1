//! Encrypted responses per client (issue 15): ID tokens encrypted to the
//! client's key, userinfo as a signed (and optionally encrypted) JWT, as
//! OpenID Connect Dynamic Client Registration 1.0 §2 names the metadata.
//! Every column is nullable: existing clients keep plain responses.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    IdTokenEncryptedResponseAlg,
    IdTokenEncryptedResponseEnc,
    UserinfoSignedResponseAlg,
    UserinfoEncryptedResponseAlg,
    UserinfoEncryptedResponseEnc,
}

const COLUMNS: [Clients; 5] = [
    Clients::IdTokenEncryptedResponseAlg,
    Clients::IdTokenEncryptedResponseEnc,
    Clients::UserinfoSignedResponseAlg,
    Clients::UserinfoEncryptedResponseAlg,
    Clients::UserinfoEncryptedResponseEnc,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for c in COLUMNS {
            m.alter_table(Table::alter().table(Clients::Table).add_column(string_null(c)).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in COLUMNS {
            m.alter_table(Table::alter().table(Clients::Table).drop_column(c).to_owned()).await?;
        }
        Ok(())
    }
}
