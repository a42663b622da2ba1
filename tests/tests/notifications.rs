//! Rules §10: the relying party is told of each attempt's outcome by a signed
//! Security Event Token pushed to its endpoint, retried until accepted.
use std::sync::{Arc, Mutex};

use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
    EndpointExt, Route,
};
use sea_orm::EntityTrait;
use tanu_idp::store::entities::event_delivery;
use tanu_tests::*;

#[derive(Default)]
struct Receiver {
    calls: usize,
    accepted: Vec<(String, String)>,
}

/// Refuses the first two deliveries with 503, then accepts with 202.
#[handler]
async fn receive(req: &poem::Request, body: String, Data(state): Data<&Arc<Mutex<Receiver>>>) -> StatusCode {
    let mut s = state.lock().unwrap();
    s.calls += 1;
    if s.calls <= 2 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    s.accepted.push((req.content_type().unwrap_or_default().to_string(), body));
    StatusCode::ACCEPTED
}

#[tokio::test]
async fn outcome_events_are_signed_delivered_and_retried() {
    let state = Arc::new(Mutex::new(Receiver::default()));
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let app = Route::new().at("/events", poem::post(receive)).data(state.clone());
    let receiver = tokio::spawn(async move { poem::Server::new_with_acceptor(acceptor).run(app).await });

    let tanu = Tanu::start_with(|c| c.notification_retry_base_ms = 100).await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    let cb = "http://127.0.0.1:9/cb";
    let endpoint = format!("http://{addr}/events");
    let (client, _) = tanu.client(cb, |c| c.notification_endpoint = Some(endpoint.parse().unwrap())).await;
    tanu.sign_in_as(Some(&citizen));
    assert!(Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &Pkce::new(), &[("state", "rp-state-1")])).await.param("code").is_some());
    tanu.sign_in_as(None);
    let denied = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &Pkce::new(), &[("state", "rp-state-2")])).await;
    assert_eq!(denied.param("error_description").as_deref(), Some("the citizen could not be authenticated"), "non-revealing");

    // Bounded wait for the worker: at most ~10 s, then the assertions below say what is missing.
    for _ in 0..100 {
        if state.lock().unwrap().accepted.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let accepted = state.lock().unwrap().accepted.clone();
    assert_eq!(accepted.len(), 2, "both events delivered after the refusals");

    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(tanu.url("/jwks")).await.unwrap().json().await.unwrap();
    let mut seen = vec![];
    for (content_type, set) in &accepted {
        assert_eq!(content_type, "application/secevent+jwt");
        let header = jsonwebtoken::decode_header(set).unwrap();
        assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
        let key = jwks.find(header.kid.as_deref().unwrap()).expect("signed with a published key");
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_audience(&[client.id.as_str()]);
        v.set_issuer(&[tanu.base.as_str()]);
        v.set_required_spec_claims(&["iss", "aud"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(set, &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(), &v).expect("signature verifies").claims;
        assert!(claims["jti"].is_string() && claims["iat"].is_i64());
        let event = &claims["events"][tanu_idp::notify::ATTEMPT_EVENT];
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["outcome", "reason", "state", "time"], "nothing more: no image, no score");
        seen.push((
            event["outcome"].as_str().unwrap().to_string(),
            event["reason"].as_str().unwrap().to_string(),
            event["state"].as_str().unwrap().to_string(),
        ));
    }
    seen.sort();
    assert_eq!(seen, vec![("failure".into(), "not_authenticated".into(), "rp-state-2".into()), ("success".into(), "ok".into(), "rp-state-1".into()),]);
    // The receiver has answered; Tanu records the delivery just after: wait
    // (bounded) for the record rather than race it.
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = event_delivery::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap();
        if rows.iter().all(|r| r.delivered_at.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(rows.iter().all(|r| r.delivered_at.is_some()), "{rows:?}");
    assert_eq!(rows.iter().map(|r| r.attempts).sum::<i32>(), 4, "two refused tries and two deliveries, recorded");
    receiver.abort();
}
