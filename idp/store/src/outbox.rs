//! The outbox of events pushed to relying parties (Rules §10 security
//! events, Back-Channel Logout tokens), by intent: queued, read when due,
//! marked delivered or failed with the next try's time. Every try is kept.
use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::WriteRow;
use super::{entities::event_delivery, Store, StoreError};
use tanu_core::domain::ClientId;

/// An event to push.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub jti: String,
    pub client: &'a ClientId,
    pub endpoint: &'a str,
    /// The signed SET, or for a logout token the claims it is signed from at each try.
    pub payload: String,
    /// `secevent` or `backchannel_logout`.
    pub kind: &'static str,
}

/// An event whose next try is due.
#[derive(Debug, Clone)]
pub struct DueEvent {
    pub jti: String,
    pub endpoint: String,
    pub payload: String,
    pub kind: String,
    /// Tries so far.
    pub attempts: i32,
}

impl Store {
    /// Puts an event in the outbox, due at once.
    pub async fn queue_event(&self, e: NewEvent<'_>, now: DateTime<Utc>) -> Result<(), StoreError> {
        event_delivery::ActiveModel {
            jti: Set(e.jti),
            client_id: Set(e.client.to_string()),
            endpoint: Set(e.endpoint.into()),
            set_jwt: Set(e.payload),
            attempts: Set(0),
            next_attempt_at: Set(now),
            delivered_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            kind: Set(e.kind.into()),
        }
        .insert_row(&self.db)
        .await?;
        Ok(())
    }

    /// The undelivered events due at `now` with fewer than `max_attempts` tries.
    pub async fn due_events(&self, now: DateTime<Utc>, max_attempts: i32) -> Result<Vec<DueEvent>, StoreError> {
        Ok(event_delivery::Entity::find()
            .filter(event_delivery::Column::DeliveredAt.is_null())
            .filter(event_delivery::Column::Attempts.lt(max_attempts))
            .filter(event_delivery::Column::NextAttemptAt.lte(now))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|d| DueEvent { jti: d.jti, endpoint: d.endpoint, payload: d.set_jwt, kind: d.kind, attempts: d.attempts })
            .collect())
    }

    /// Records a try: delivered at `now` when `outcome` is `Ok`, else the
    /// error and when to try again.
    pub async fn record_event_try(&self, jti: &str, attempts: i32, outcome: Result<DateTime<Utc>, (String, DateTime<Utc>)>) -> Result<(), StoreError> {
        let update = event_delivery::Entity::update_many().col_expr(event_delivery::Column::Attempts, Expr::value(attempts));
        let update = match outcome {
            Ok(at) => update
                .col_expr(event_delivery::Column::DeliveredAt, Expr::value(Some(at)))
                .col_expr(event_delivery::Column::LastError, Expr::value(Option::<String>::None)),
            Err((error, next)) => {
                update.col_expr(event_delivery::Column::NextAttemptAt, Expr::value(next)).col_expr(event_delivery::Column::LastError, Expr::value(Some(error)))
            }
        };
        update.filter(event_delivery::Column::Jti.eq(jti)).exec(&self.db).await?;
        Ok(())
    }
}
