//! Rules §10: the initiator is told electronically whether each attempt it
//! started succeeded. A client with a registered notification endpoint gets a
//! Security Event Token (RFC 8417) per attempt, signed with the provider's
//! key, pushed as `application/secevent+jwt` (RFC 8935). Events wait in an
//! outbox table and are retried with exponential backoff until the endpoint
//! accepts them or the attempts run out; every try is recorded.
//!
//! The event carries the outcome, time, a reason code and the client's own
//! `state`: never a face image, a score or anything else that helps an attacker.
use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use crate::{
    app::App,
    crypto::random_token,
    store::{entities::event_delivery, Client, StoreError},
};

/// The event type URI of one sign-in attempt's outcome.
pub const ATTEMPT_EVENT: &str = "urn:kz:tanu:secevent:authentication-attempt";
/// After this many failed tries an event is given up (and stays recorded).
pub const MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct AttemptEvent<'a> {
    /// `success` or `failure`.
    pub outcome: &'a str,
    /// A stable code (see `interaction::Failure::code`), `ok` on success.
    pub reason: &'a str,
    /// The relying party's own `state` from its authorization request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    /// When the attempt ended (seconds since the epoch).
    pub time: i64,
}

/// Signs the event and puts it in the outbox, if the client wants events.
pub async fn enqueue(app: &App, client: &Client, event: AttemptEvent<'_>) -> Result<(), StoreError> {
    let Some(endpoint) = &client.notification_endpoint else { return Ok(()) };
    let (kid, key) = app.keys.jwt_encoder().await.map_err(|e| StoreError::Invalid(e.to_string()))?;
    let jti = random_token(16);
    let claims = serde_json::json!({
        "iss": app.config.issuer,
        "aud": client.id,
        "iat": Utc::now().timestamp(),
        "jti": jti,
        "events": { ATTEMPT_EVENT: event },
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("secevent+jwt".into());
    header.kid = Some(kid);
    let set = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| StoreError::Invalid(e.to_string()))?;
    event_delivery::ActiveModel {
        jti: Set(jti),
        client_id: Set(client.id.to_string()),
        endpoint: Set(endpoint.clone()),
        set_jwt: Set(set),
        attempts: Set(0),
        next_attempt_at: Set(Utc::now()),
        delivered_at: Set(None),
        last_error: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.store.db)
    .await?;
    Ok(())
}

/// The wait before try `n + 1` after `n` failures: base · 2ⁿ⁻¹, at most an hour.
pub fn backoff(base: Duration, failures: i32) -> Duration {
    let factor = 1u32 << (failures.clamp(1, 16) - 1);
    (base * factor).min(Duration::from_secs(3600))
}

/// One pass over the due events; returns how many were delivered.
pub async fn deliver_due(app: &App, http: &reqwest::Client) -> Result<usize, StoreError> {
    let due = event_delivery::Entity::find()
        .filter(event_delivery::Column::DeliveredAt.is_null())
        .filter(event_delivery::Column::Attempts.lt(MAX_ATTEMPTS))
        .filter(event_delivery::Column::NextAttemptAt.lte(Utc::now()))
        .all(&app.store.db)
        .await?;
    let mut delivered = 0;
    for d in due {
        let result = http
            .post(&d.endpoint)
            .header("Content-Type", "application/secevent+jwt")
            .header("Accept", "application/json")
            .body(d.set_jwt.clone())
            .send()
            .await;
        let attempts = d.attempts + 1;
        let mut row: event_delivery::ActiveModel = d.into();
        row.attempts = Set(attempts);
        match result {
            // RFC 8935 §2.2: 202 Accepted (200 taken too, as some receivers send it).
            Ok(r) if r.status().as_u16() == 202 || r.status().as_u16() == 200 => {
                row.delivered_at = Set(Some(Utc::now()));
                row.last_error = Set(None);
                delivered += 1;
            }
            other => {
                let error = match other {
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e.to_string(),
                };
                let wait = backoff(Duration::from_millis(app.config.notification_retry_base_ms), attempts);
                row.next_attempt_at = Set(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
                row.last_error = Set(Some(error));
            }
        }
        row.update(&app.store.db).await?;
    }
    Ok(delivered)
}

/// Runs for the life of the server.
pub async fn run_delivery(app: Arc<App>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A receiver cannot bounce our events elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let tick = Duration::from_millis(app.config.notification_retry_base_ms.clamp(50, 1000));
    loop {
        if let Err(e) = deliver_due(&app, &http).await {
            tracing::error!(error = %e, "event delivery");
        }
        tokio::time::sleep(tick).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 1), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(4));
        assert_eq!(backoff(b, 5), Duration::from_secs(32));
        assert_eq!(backoff(b, 40), Duration::from_secs(3600));
    }
}
