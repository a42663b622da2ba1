//! DPoP (RFC 9449 §11.1): the replay cache of proofs, in the database so
//! that every instance behind a balancer sees every proof.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{entities::dpop_proof, Store, StoreError};
use crate::crypto::token_hash;

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
}
