//! Rules §10: the initiator is told electronically whether each attempt it
//! started succeeded. A client with a registered notification endpoint gets a
//! Security Event Token (RFC 8417) per attempt, signed with the provider's
//! key, pushed as `application/secevent+jwt` (RFC 8935). Events wait in an
//! outbox table and are retried with exponential backoff until the endpoint
//! accepts them or the attempts run out; every try is recorded.
//!
//! The event carries the outcome, time, a reason code and the client's own
//! `state`: never a face image, a score or anything else that helps an attacker.
//!
//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends at
//! `/logout` (or a citizen's consent is withdrawn), each client of it with a
//! `backchannel_logout_uri` is posted a signed logout token (§2.4–§2.5),
//! through the same outbox and the same retries.
use std::{sync::Arc, time::Duration};

use chrono::Utc;
use serde::Serialize;

use crate::{
    crypto::random_token,
    store::{outbox::NewEvent, Client, StoreError},
    OidcState,
};

/// The event type URI of one sign-in attempt's outcome.
pub const ATTEMPT_EVENT: &str = "urn:kz:tanu:secevent:authentication-attempt";
/// The event of a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid after it is signed. The outbox keeps its
/// claims and signs them at each try, with a fresh `iat`/`exp` and the same
/// `jti`, so that a token retried an hour later is not refused as expired
/// (§2.6: receivers check `exp`) while none lives long.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// `event_deliveries.kind` of a §10 event and of a logout token.
pub const KIND_SECEVENT: &str = "secevent";
pub const KIND_BACKCHANNEL_LOGOUT: &str = "backchannel_logout";

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
pub async fn enqueue(app: &OidcState, client: &Client, event: AttemptEvent<'_>) -> Result<(), StoreError> {
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
    let event = NewEvent { jti, client: &client.id, endpoint, payload: set, kind: KIND_SECEVENT };
    app.store.queue_event(event, Utc::now()).await
}

/// Back-Channel Logout 1.0 §2.4–§2.5: signs a logout token for `client`
/// naming the citizen (`sub`, pairwise as in the client's ID tokens) and,
/// when given, the browser session (`sid`), and puts it in the outbox; the
/// delivery loop posts it as `logout_token=…` and retries it like a §10
/// event. Returns `false` (and does nothing) for a client without a
/// `backchannel_logout_uri`. Called by `/logout` for each client of the
/// ending session, and by whoever withdraws a citizen's consent to a client
/// (with `sid: None`: every session of the citizen at that client).
pub async fn backchannel_logout(app: &OidcState, client: &Client, citizen_id: &str, sid: Option<&str>) -> Result<bool, StoreError> {
    let Some(endpoint) = &client.backchannel_logout_uri else { return Ok(false) };
    let jti = random_token(16);
    // §2.4: iss, aud, jti, events, sub and/or sid; iat and exp at signing; never a nonce.
    let mut claims = serde_json::json!({
        "iss": app.config.issuer,
        "aud": client.id,
        "jti": jti,
        "sub": app.subject(client, citizen_id),
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    if let Some(sid) = sid {
        claims["sid"] = sid.into();
    }
    // A token is signed now, so that a broken key shows at once, not at delivery.
    sign_logout_token(app, &claims).await?;
    // For a logout token, the claims it is signed from at each try.
    let event = NewEvent { jti, client: &client.id, endpoint, payload: claims.to_string(), kind: KIND_BACKCHANNEL_LOGOUT };
    app.store.queue_event(event, Utc::now()).await?;
    Ok(true)
}

/// Signs a logout token's claims with a fresh `iat` and `exp`, RS256 with
/// the provider's active key (verifiable with `/jwks`), `typ: logout+jwt`
/// (§2.4, RFC 8725 §3.11: not mistakable for an ID token).
pub async fn sign_logout_token(app: &OidcState, claims: &serde_json::Value) -> Result<String, StoreError> {
    let (kid, key) = app.keys.jwt_encoder().await.map_err(|e| StoreError::Invalid(e.to_string()))?;
    let now = Utc::now().timestamp();
    let mut claims = claims.clone();
    claims["iat"] = now.into();
    claims["exp"] = (now + LOGOUT_TOKEN_TTL_SECS).into();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("logout+jwt".into());
    header.kid = Some(kid);
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A browser session ended: a logout token to each client it signed in to
/// that registered a `backchannel_logout_uri`. Returns how many were queued.
pub async fn session_ended(app: &OidcState, session_id: &str, citizen_id: &str) -> Result<usize, StoreError> {
    let mut queued = 0;
    for id in app.store.session_clients(session_id).await? {
        let Some(client) = app.store.client(&id).await? else { continue };
        if !client.disabled && backchannel_logout(app, &client, citizen_id, Some(session_id)).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// The wait before try `n + 1` after `n` failures: base · 2ⁿ⁻¹, at most an hour.
pub fn backoff(base: Duration, failures: i32) -> Duration {
    let factor = 1u32 << (failures.clamp(1, 16) - 1);
    (base * factor).min(Duration::from_secs(3600))
}

/// One pass over the due events; returns how many were delivered.
pub async fn deliver_due(app: &OidcState, http: &reqwest::Client) -> Result<usize, StoreError> {
    let due = app.store.due_events(Utc::now(), MAX_ATTEMPTS).await?;
    let mut delivered = 0;
    for d in due {
        let logout = d.kind == KIND_BACKCHANNEL_LOGOUT;
        let result = if logout {
            // Back-Channel Logout 1.0 §2.5: a form post of `logout_token`, signed for this try.
            let signed = match serde_json::from_str::<serde_json::Value>(&d.payload) {
                Ok(claims) => sign_logout_token(app, &claims).await.map_err(|e| e.to_string()),
                Err(e) => Err(format!("stored logout token claims: {e}")),
            };
            match signed {
                Ok(token) => http.post(&d.endpoint).form(&[("logout_token", token)]).send().await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        } else {
            http.post(&d.endpoint)
                .header("Content-Type", "application/secevent+jwt")
                .header("Accept", "application/json")
                .body(d.payload.clone())
                .send()
                .await
                .map_err(|e| e.to_string())
        };
        let attempts = d.attempts + 1;
        let outcome = match result {
            // RFC 8935 §2.2: 202 Accepted (200 taken too, as some receivers send it).
            // Back-Channel Logout 1.0 §2.8: 200 OK (204 taken too).
            Ok(r) if matches!((logout, r.status().as_u16()), (false, 202 | 200) | (true, 200 | 204)) => {
                delivered += 1;
                Ok(Utc::now())
            }
            other => {
                let error = match other {
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e,
                };
                let wait = backoff(Duration::from_millis(app.config.notification_retry_base_ms), attempts);
                Err((error, Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default()))
            }
        };
        app.store.record_event_try(&d.jti, attempts, outcome).await?;
    }
    Ok(delivered)
}

/// Runs for the life of the server.
pub async fn run_delivery(app: Arc<OidcState>) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A receiver cannot bounce our events elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "event delivery: no HTTP client; events stay queued");
            return;
        }
    };
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
