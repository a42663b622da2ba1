//! One-time proofs: the replay caches of DPoP proofs (RFC 9449 §11.1) and
//! of client assertions (RFC 7523 §3 `jti`), in the database so that every
//! instance behind a balancer sees every proof.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{
    entities::{client_assertion, dpop_proof},
    Store, StoreError,
};
use tanu_core::crypto::token_hash;
use tanu_core::domain::ClientId;

impl Store {
    /// Records that the proof `jti` of the key `jkt` has been used, to be
    /// remembered until `until`: true when it had not been, false for a
    /// replay (of concurrent uses exactly one is true: the primary key
    /// decides). Rows expired at `now` are pruned first.
    pub async fn remember_dpop_proof(&self, jkt: &str, jti: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        dpop_proof::Entity::delete_many().filter(dpop_proof::Column::ExpiresAt.lt(now)).exec(&self.db).await?;
        let row = dpop_proof::ActiveModel { id: Set(token_hash(&format!("{jkt}:{jti}"))), expires_at: Set(until) };
        match dpop_proof::Entity::insert(row).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// How many proofs the replay cache holds (tests: pruning).
    pub async fn dpop_proofs_remembered(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(dpop_proof::Entity::find().count(&self.db).await?)
    }

    /// Records that `client` has used the assertion `jti`, valid until
    /// `until`: false for a replay (the primary key decides).
    pub async fn remember_client_assertion(&self, client: &ClientId, jti: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let row = client_assertion::ActiveModel { jti: Set(format!("{client}:{jti}")), client_id: Set(client.to_string()), expires_at: Set(until) };
        match client_assertion::Entity::insert(row).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
