//! The provider's signing keys as stored: public JWK and the private key
//! sealed under the master key (sealing and use are `keys.rs`'s).
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, QuerySelect, Set};

use super::{entities::signing_key, Store, StoreError};

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// JSON.
    pub public_jwk: String,
    pub sealed_private_key: String,
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
}

impl Store {
    /// Every key, in the order they activate.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(signing_key::Entity::find()
            .order_by_asc(signing_key::Column::ActivatesAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| StoredKey {
                kid: m.kid,
                alg: m.alg,
                public_jwk: m.public_jwk,
                sealed_private_key: m.sealed_private_key,
                created_at: m.created_at,
                activates_at: m.activates_at,
            })
            .collect())
    }

    /// The ids of every key (a cheap check whether the set changed).
    pub async fn signing_key_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(signing_key::Entity::find().select_only().column(signing_key::Column::Kid).into_tuple::<String>().all(&self.db).await?)
    }

    pub async fn add_signing_key(&self, k: StoredKey) -> Result<(), StoreError> {
        signing_key::ActiveModel {
            kid: Set(k.kid),
            alg: Set(k.alg),
            public_jwk: Set(k.public_jwk),
            sealed_private_key: Set(k.sealed_private_key),
            created_at: Set(k.created_at),
            activates_at: Set(k.activates_at),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        signing_key::Entity::delete_by_id(kid).exec(&self.db).await?;
        Ok(())
    }
}
