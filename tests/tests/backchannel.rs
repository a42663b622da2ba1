//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends at
//! /logout, each client it signed in to that registered a
//! `backchannel_logout_uri` is posted a signed logout token, retried until
//! the receiver answers 200. The receiver here checks the token as a relying
//! party must (§2.6), with a JOSE library against /jwks.
use std::sync::{Arc, Mutex};

use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Path},
    EndpointExt, Route,
};
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tanu_idp::{notify::BACKCHANNEL_LOGOUT_EVENT, store::entities::event_delivery};
use tanu_tests::*;

/// What each receiver path got: (content type, body).
#[derive(Default)]
struct Received {
    calls: std::collections::HashMap<String, usize>,
    accepted: Vec<(String, String, String)>,
}

/// `/flaky`: 503 on the first call, then 200. `/broken`: always 500.
#[handler]
async fn receive(req: &poem::Request, Path(which): Path<String>, body: String, Data(state): Data<&Arc<Mutex<Received>>>) -> StatusCode {
    let mut s = state.lock().unwrap();
    let n = {
        let c = s.calls.entry(which.clone()).or_default();
        *c += 1;
        *c
    };
    match which.as_str() {
        "flaky" if n == 1 => StatusCode::SERVICE_UNAVAILABLE,
        "broken" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => {
            s.accepted.push((which, req.content_type().unwrap_or_default().to_string(), body));
            StatusCode::OK
        }
    }
}

async fn receiver(state: Arc<Mutex<Received>>) -> (String, tokio::task::JoinHandle<()>) {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let app = Route::new().at("/:which", poem::post(receive)).data(state);
    let task = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    (format!("http://{addr}"), task)
}

/// §2.6 validation of a logout token, as a relying party does it; returns its claims.
async fn verify_logout_token(tanu: &Tanu, client_id: &str, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(tanu.url("/jwks")).await.unwrap().json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"), "explicitly typed");
    let key = jwks.find(header.kid.as_deref().expect("kid")).expect("signed with a published key");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[client_id]);
    v.set_issuer(&[tanu.base.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "iat", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(), &v).expect("the signature verifies").claims;
    let now = chrono::Utc::now().timestamp();
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert!((now - 60..=now + 5).contains(&iat), "iat is now: {iat}");
    assert!(exp > iat && exp - iat <= 120, "short-lived: {iat}..{exp}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16), "a jti");
    assert_eq!(claims["events"], json!({ BACKCHANNEL_LOGOUT_EVENT: {} }), "the one event, an empty object");
    assert!(claims.get("nonce").is_none(), "§2.4: a logout token has no nonce");
    claims
}

#[tokio::test]
async fn logout_posts_signed_logout_tokens_to_the_sessions_clients_and_retries() {
    let state = Arc::new(Mutex::new(Received::default()));
    let (rx, rx_task) = receiver(state.clone()).await;
    let tanu = Tanu::start_with(|c| c.notification_retry_base_ms = 100).await;
    let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
    tanu.sign_in_as(Some(&citizen));
    let client = |cb: &'static str, uri: Option<String>, sid_required: bool| {
        let tanu = &tanu;
        async move {
            tanu.client(cb, |c| {
                c.backchannel_logout_uri = uri.map(|u| u.parse().unwrap());
                c.backchannel_logout_session_required = sid_required;
            })
            .await
        }
    };
    // A and D registered a logout URI, B did not; all three in one session.
    // C registered one but is signed in to from another browser.
    let (a, a_secret) = client("http://127.0.0.1:9/a", Some(format!("{rx}/flaky")), true).await;
    let (b, _) = client("http://127.0.0.1:9/b", None, false).await;
    let (c, _) = client("http://127.0.0.1:9/c", Some(format!("{rx}/other-browser")), false).await;
    let (d, _) = client("http://127.0.0.1:9/d", Some(format!("{rx}/broken")), false).await;

    let browser = Browser::new(&tanu);
    let pkce = Pkce::new();
    let code = browser.navigate(&authorize_url(&tanu, &a.id, "http://127.0.0.1:9/a", &pkce, &[])).await.param("code").unwrap();
    let (status, tokens) = redeem(&tanu, &a.id, a_secret.as_deref().unwrap(), &code, "http://127.0.0.1:9/a", &pkce.verifier).await;
    assert_eq!(status, 200);
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    let id_claims = jwt_claims(&id_token);
    for (id, cb) in [(&b.id, "http://127.0.0.1:9/b"), (&d.id, "http://127.0.0.1:9/d")] {
        assert!(browser.navigate(&authorize_url(&tanu, id, cb, &Pkce::new(), &[])).await.param("code").is_some(), "same session");
    }
    let other = Browser::new(&tanu);
    assert!(other.navigate(&authorize_url(&tanu, &c.id, "http://127.0.0.1:9/c", &Pkce::new(), &[])).await.param("code").is_some());

    // The hint names this browser's session: it ends at once.
    let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("id_token_hint", &id_token).finish();
    match browser.navigate(&tanu.url(&format!("/logout?{q}"))).await {
        Landing::Page { status, .. } => assert_eq!(status, 200),
        other => panic!("{other:?}"),
    }
    // Queued during the logout request: one token for A, one for D; none for B (no URI) nor C (another session).
    let rows = event_delivery::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap();
    let mut queued: Vec<String> = rows.iter().map(|r| r.client_id.clone()).collect();
    queued.sort();
    let mut expected = vec![a.id.to_string(), d.id.to_string()];
    expected.sort();
    assert_eq!(queued, expected);
    assert!(rows.iter().all(|r| r.kind == tanu_idp::notify::KIND_BACKCHANNEL_LOGOUT));

    // Bounded wait for the delivery loop: A after one refusal, D retried.
    for _ in 0..100 {
        let done = {
            let s = state.lock().unwrap();
            !s.accepted.is_empty() && s.calls.get("broken").copied().unwrap_or(0) >= 3
        };
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let accepted = std::mem::take(&mut state.lock().unwrap().accepted);
    assert_eq!(accepted.len(), 1, "A's token delivered once, after the refusal");
    let (path, content_type, body) = &accepted[0];
    assert_eq!(path, "flaky");
    assert_eq!(content_type, "application/x-www-form-urlencoded", "§2.5: a form post");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].0, "logout_token");
    let claims = verify_logout_token(&tanu, a.id.as_str(), &form[0].1).await;
    assert_eq!(claims["sid"], id_claims["sid"], "the session that ended, as in the ID token");
    assert_eq!(claims["sub"], id_claims["sub"], "the subject as A knows it");

    let rows = event_delivery::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap();
    let row_a = rows.iter().find(|r| r.client_id == a.id.as_str()).unwrap();
    assert_eq!((row_a.attempts, row_a.delivered_at.is_some()), (2, true), "one refused try and the delivery, recorded");
    let row_d = rows.iter().find(|r| r.client_id == d.id.as_str()).unwrap();
    assert!(row_d.delivered_at.is_none() && row_d.attempts >= 3, "a failing receiver is retried: {row_d:?}");
    assert_eq!(row_d.last_error.as_deref(), Some("HTTP 500 Internal Server Error"));
    assert_eq!(state.lock().unwrap().calls.get("other-browser"), None, "another browser's session is not logged out");
    rx_task.abort();
}

/// The entry point for consent withdrawal: a token naming the citizen
/// (`sub`) without `sid`; nothing for a client without a logout URI.
#[tokio::test]
async fn backchannel_logout_without_a_session_names_the_subject() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    let (with, _) = tanu.client("http://127.0.0.1:9/a", |c| c.backchannel_logout_uri = Some("http://127.0.0.1:9/bc".parse().unwrap())).await;
    let (without, _) = tanu.client("http://127.0.0.1:9/b", |_| {}).await;
    assert!(tanu_idp::notify::backchannel_logout(&tanu.app.oidc, &with, &citizen.id, None).await.unwrap());
    assert!(!tanu_idp::notify::backchannel_logout(&tanu.app.oidc, &without, &citizen.id, None).await.unwrap());
    let rows = event_delivery::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap();
    assert_eq!(rows.len(), 1);
    let signed = tanu_idp::notify::sign_logout_token(&tanu.app.oidc, &serde_json::from_str(&rows[0].set_jwt).unwrap()).await.unwrap();
    let claims = verify_logout_token(&tanu, with.id.as_str(), &signed).await;
    assert_eq!(claims["sub"], tanu.app.subject(&with, &citizen.id));
    assert!(claims.get("sid").is_none());
}

#[tokio::test]
async fn discovery_advertises_backchannel_logout() {
    let tanu = Tanu::start().await;
    let md: Value = reqwest::get(tanu.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(md["backchannel_logout_supported"], true);
    assert_eq!(md["backchannel_logout_session_supported"], true);
}

/// Registration refuses a logout URI over plain http off loopback, and a
/// session requirement without a URI.
#[tokio::test]
async fn bad_backchannel_registrations_are_refused() {
    let tanu = Tanu::start().await;
    let mut new = tanu_idp::store::NewClient::new("X", vec!["http://127.0.0.1:9/a".parse().unwrap()]);
    new.backchannel_logout_uri = Some("http://rp.example/bc".parse().unwrap());
    assert!(tanu.app.store.register_client(new.clone(), &tanu.app.client_secrets).await.is_err(), "http off loopback");
    new.backchannel_logout_uri = None;
    new.backchannel_logout_session_required = true;
    assert!(tanu.app.store.register_client(new, &tanu.app.client_secrets).await.is_err(), "sid required without a URI");
}
