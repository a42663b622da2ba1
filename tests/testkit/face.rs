//! Face sign-in as the camera page drives it, over HTTP: the steps the face
//! tests and the memory-ceiling test share (a real Tanu with the real models,
//! the page's requests made as the browser would).
use tanu_biometrics::registry::DirectoryRegistry;
use tanu_biometrics::Iin;

use crate::*;

pub const IIN: &str = "900101300017";
pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A document photo for the registry: one frame of the clip (4.0 s).
pub fn document_photo() -> Vec<u8> {
    clip_frames(4.0, 0.1).remove(0)
}

pub async fn face_tanu(tweak: impl FnOnce(&mut tanu_idp::config::Config)) -> (Tanu, tanu_idp::store::Client, String) {
    let tanu = Tanu::start_face(|c| {
        live_clip_timing(c);
        tweak(c)
    })
    .await;
    let iin: Iin = IIN.parse().unwrap();
    // The client is a sandbox one (the kit's default): its sign-ins find test persons only.
    DirectoryRegistry::new(&tanu.app.config.biometrics.sandbox_registry_dir).add(&iin, "Miranda Lin-Manuel", &document_photo(), "jpg").unwrap();
    let (client, secret) = tanu.client(REDIRECT, |_| {}).await;
    (tanu, client, secret.unwrap())
}

/// The positive tests' configuration: the recorded clip turns to his right
/// from its 3rd frame, so the challenge is fixed to that and shown after 2
/// frames (the production default is random turns after a random baseline).
pub fn live_clip_timing(c: &mut tanu_idp::config::Config) {
    c.face.fixed_challenge = Some(tanu_biometrics::Challenge::TurnRight);
    c.face.frames_before_challenge = 2;
    c.face.reveal_jitter_frames = 0;
}

pub fn page(l: &Landing) -> (&str, &str) {
    match l {
        Landing::Page { body, url, .. } => (body, url),
        other => panic!("expected a page, got {other:?}"),
    }
}

pub fn csrf(body: &str) -> String {
    between(body, "name=\"csrf\" value=\"", "\"").expect("csrf field")
}

/// Where a sign-in is: the interaction id of a /login/{id}… page.
pub fn interaction(url: &str) -> String {
    url.split("/login/").nth(1).unwrap().split(['/', '?']).next().unwrap().to_owned()
}

/// Enters the IIN on the login page.
pub async fn enter_iin(tanu: &impl Served, b: &Browser, login: &Landing, iin: &str) -> Landing {
    let (body, url) = page(login);
    let id = interaction(url);
    b.post_form(&tanu.url(&format!("/login/{id}")), &[("csrf", &csrf(body)), ("iin", iin)]).await
}

/// Sends frames as the camera page does until the server says done; returns the server's answers.
pub async fn send_frames(tanu: &impl Served, b: &Browser, camera: &Landing, frames: &[Vec<u8>]) -> Vec<serde_json::Value> {
    let (body, url) = page(camera);
    let id = interaction(url);
    let token = csrf(body);
    let mut answers = Vec::new();
    for f in frames {
        let resp = b
            .http
            .post(tanu.url(&format!("/login/{id}/frame")))
            .header("content-type", "image/jpeg")
            .header("x-csrf-token", &token)
            .body(f.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let v: serde_json::Value = resp.json().await.unwrap();
        let done = v["done"].as_bool().unwrap();
        answers.push(v);
        if done {
            break;
        }
    }
    answers
}

/// A new sign-in by a browser up to the camera page: the IIN entered, the
/// biometric consent accepted when it is asked.
pub async fn open_camera(tanu: &impl Served, b: &Browser, client: &tanu_idp::store::Client) -> Landing {
    let login = b.navigate(&authorize_url(tanu, &client.id, client.redirect_uris[0].as_str(), &Pkce::new(), &[])).await;
    let next = enter_iin(tanu, b, &login, IIN).await;
    if page(&next).1.ends_with("/biometric-consent") {
        b.consent(&next, "accept").await
    } else {
        next
    }
}

pub async fn verify(tanu: &impl Served, b: &Browser, camera: &Landing) -> Landing {
    let (body, url) = page(camera);
    let id = interaction(url);
    b.post_form(&tanu.url(&format!("/login/{id}/verify")), &[("csrf", &csrf(body))]).await
}

pub async fn journal_steps(tanu: &impl Served) -> Vec<(String, String, Option<String>)> {
    use sea_orm::{EntityTrait, QueryOrder};
    use tanu_idp::store::entities::audit_record;
    audit_record::Entity::find()
        .order_by_asc(audit_record::Column::Seq)
        .all(tanu.store().raw_connection())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.step, r.outcome, r.reason))
        .collect()
}

/// One full sign-in with the live clip starting at `from_s` (about 3.7 s; each
/// sign-in of a test starts elsewhere: sending the very same frames again is a
/// replay, refused); returns the ID token's claims.
pub async fn sign_in(tanu: &impl Served, client: &tanu_idp::store::Client, secret: &str, from_s: f32) -> serde_json::Value {
    sign_in_from(tanu, &Browser::new(tanu), client, secret, from_s).await
}

pub async fn sign_in_from(tanu: &impl Served, b: &Browser, client: &tanu_idp::store::Client, secret: &str, from_s: f32) -> serde_json::Value {
    let pkce = Pkce::new();
    // The client's redirect URI: REDIRECT for the kit's (sandbox) clients.
    let redirect = client.redirect_uris[0].as_str();
    let login = b.navigate(&authorize_url(tanu, &client.id, redirect, &pkce, &[("scope", "openid profile")])).await;
    assert!(page(&login).0.contains("Test RP"), "the page names the relying party");
    let next = enter_iin(tanu, b, &login, IIN).await;
    assert!(page(&next).1.ends_with("/biometric-consent"), "the biometric consent, asked of everyone");
    let camera = b.consent(&next, "accept").await;
    assert!(page(&camera).1.ends_with("/camera"), "{:?}", page(&camera).1);
    let answers = send_frames(tanu, b, &camera, &clip_frames(from_s, 4.1)).await;
    assert!(answers[0]["challenge"].is_null(), "no challenge before the baseline");
    assert_eq!(answers[1]["challenge"], "turn_right", "revealed with the second frame's answer");
    assert_eq!(answers.last().unwrap()["challenge"], "turn_right");
    assert_eq!(answers.last().unwrap()["done"], true);
    let after = verify(tanu, b, &camera).await;
    // Then the relying party's consent (first time for this client), then back.
    let landing = match after {
        Landing::Page { ref url, .. } if url.contains("/consent/") => b.consent(&after, "allow").await,
        other => other,
    };
    let Some(code) = landing.param("code") else {
        let steps = journal_steps(tanu).await;
        panic!("no code; journal: {:?}", &steps[steps.len().saturating_sub(4)..]);
    };
    let (status, tokens) = redeem(tanu, &client.id, secret, &code, redirect, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let mut claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    let userinfo: serde_json::Value =
        reqwest::Client::new().get(tanu.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    claims["userinfo"] = userinfo;
    claims
}
