//! The provider's signing keys as stored: public JWK and the private key
//! sealed under the master key (sealing and use are `keys.rs`'s).
use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};

use super::WriteRow;
use super::{entities::signing_key, Store, StoreError};

crate::record! {
    /// One stored key (`public_jwk`: JSON).
    StoredKey from signing_key {
        kid: String,
        alg: String,
        public_jwk: String,
        sealed_private_key: String,
        created_at: DateTime<Utc>,
        activates_at: DateTime<Utc>,
    }
}

impl Store {
    /// Every key, in the order they activate.
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        Ok(signing_key::Entity::find().order_by_asc(signing_key::Column::ActivatesAt).all(&self.db).await?.into_iter().map(StoredKey::from).collect())
    }

    /// The ids of every key (a cheap check whether the set changed).
    pub async fn signing_key_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(signing_key::Entity::find().select_only().column(signing_key::Column::Kid).into_tuple::<String>().all(&self.db).await?)
    }

    pub async fn add_signing_key(&self, k: StoredKey) -> Result<(), StoreError> {
        signing_key::ActiveModel::from(k).insert_row(&self.db).await?;
        Ok(())
    }

    pub async fn delete_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        signing_key::Entity::delete_by_id(kid).exec(&self.db).await?;
        Ok(())
    }
}
