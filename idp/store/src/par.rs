//! Pushed authorization requests (RFC 9126): kept under the hash of their
//! `request_uri`, for one client, used once, until they expire.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::WriteRow;
use super::{entities::pushed_request, Store, StoreError};
use tanu_core::{crypto::token_hash, domain::ClientId};

/// The prefix of every `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

impl Store {
    /// Keeps `params` (form-encoded) for `client` until `now + ttl`; returns
    /// the `request_uri` that stands for them, a 256-bit random value.
    pub async fn push_authorization_request(&self, client: &ClientId, params: &str, now: DateTime<Utc>, ttl: Duration) -> Result<String, StoreError> {
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", tanu_core::crypto::random_token(32));
        pushed_request::ActiveModel {
            request_uri_hash: Set(token_hash(&request_uri)),
            client_id: Set(client.to_string()),
            params: Set(params.to_string()),
            created_at: Set(now),
            expires_at: Set(now + ttl),
            used_at: Set(None),
        }
        .insert_row(&self.db)
        .await?;
        Ok(request_uri)
    }

    /// The pushed parameters of `request_uri` if it was pushed by `client`,
    /// has not expired at `now` and was not used: used now, atomically (of
    /// parallel uses exactly one gets them). `None` otherwise, whatever the reason.
    pub async fn take_pushed_request(&self, request_uri: &str, client: &ClientId, now: DateTime<Utc>) -> Result<Option<String>, StoreError> {
        let hash = token_hash(request_uri);
        let claimed = pushed_request::Entity::update_many()
            .col_expr(pushed_request::Column::UsedAt, sea_orm::sea_query::Expr::value(now))
            .filter(pushed_request::Column::RequestUriHash.eq(hash.clone()))
            .filter(pushed_request::Column::ClientId.eq(client.as_str()))
            .filter(pushed_request::Column::UsedAt.is_null())
            .filter(pushed_request::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        if claimed != 1 {
            return Ok(None);
        }
        Ok(pushed_request::Entity::find_by_id(hash).one(&self.db).await?.map(|r| r.params))
    }
}
