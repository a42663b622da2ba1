//! The citizen's cabinet (`/me`, issue 14) over HTTP: releases recorded as
//! they happen, consents listed and revoked (tokens dead at once, consent
//! asked again), another citizen's grant out of reach, CSRF on every form,
//! the access history and its downloads, biometric withdrawal.
use sea_orm::{ConnectionTrait, Statement};
use tanu_idp::store::cabinet::Channel;
use tanu_tests::*;
use tanu_tests::{csrf_field as csrf, page_body as body, page_status as status};

/// The cabinet is production (first-party): the relying party whose grants
/// it shows is a production client, its citizen a real one (a sandbox
/// client's test persons never reach a citizen's cabinet).
const CB: &str = "https://127.0.0.1:9/cb";

async fn userinfo(tanu: &Tanu, access: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().get(tanu.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

async fn refresh(s: &Scenario, token: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(s.tanu.url("/token"))
        .basic_auth(s.client.id.as_str(), Some(&s.secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

/// A scenario whose citizen has consented to `profile offline_access` for the client.
async fn scenario() -> Scenario {
    let s = Scenario::production(CB, |_| {}, |_| {}).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    s
}

const SCOPE: (&str, &str) = ("scope", "openid profile offline_access");

/// Signs the browser in to the cabinet (through `/authorize`, as any relying party).
async fn cabinet(tanu: &Tanu, b: &Browser) -> String {
    let home = b.navigate(&tanu.url("/me/signin?lang=en")).await;
    assert_eq!(status(&home), 200, "{home:?}");
    assert!(body(&home).contains("Sign out"), "signed in: {}", body(&home));
    body(&home).to_string()
}

#[tokio::test]
async fn a_sign_in_then_userinfo_and_refresh_produce_exactly_these_release_rows() {
    let s = scenario().await;
    let b = s.browser();
    let tokens = s.tokens(&b, &[SCOPE]).await;
    let (st, _) = userinfo(&s.tanu, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(st, 200);
    let (st, _) = refresh(&s, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200);
    let mut rows = s.tanu.app.store.releases(&s.citizen.id, 100).await.unwrap();
    rows.reverse();
    let got: Vec<(Channel, Vec<String>, &str)> = rows.iter().map(|r| (r.channel, r.claims.clone(), r.client_id.as_str())).collect();
    let id_token: Vec<String> = ["sub", "auth_time", "acr", "amr"].map(String::from).to_vec();
    let mut info: Vec<String> = ["sub", "name", "given_name", "family_name", "birthdate"].map(String::from).to_vec();
    info.sort();
    let got_sorted: Vec<(Channel, Vec<String>, &str)> = got
        .into_iter()
        .map(|(c, mut claims, id)| {
            if c == Channel::Userinfo {
                claims.sort();
            }
            (c, claims, id)
        })
        .collect();
    let client = s.client.id.as_str();
    assert_eq!(
        got_sorted,
        vec![(Channel::IdToken, id_token.clone(), client), (Channel::Userinfo, info, client), (Channel::Refresh, id_token, client)],
        "one row per release, in order, names only"
    );
    assert!(rows.iter().all(|r| r.grant_id == rows[0].grant_id), "all from the one grant");
    // Names only: no released value is stored.
    let db = s.tanu.app.store.raw_connection();
    let stored = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT claims FROM data_releases"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    for value in ["Aigerim", "Seitkali", "1990-05-17", s.citizen.iin.as_str(), s.citizen.id.as_str()] {
        assert!(!stored.contains(value), "{value} stored in {stored}");
    }
    // A refused request releases nothing.
    let (st, _) = userinfo(&s.tanu, "not-a-token").await;
    assert_eq!(st, 401);
    assert_eq!(s.tanu.app.store.releases(&s.citizen.id, 100).await.unwrap().len(), 3);
}

#[tokio::test]
async fn revoking_in_the_cabinet_kills_the_tokens_at_once_and_the_next_sign_in_asks_again() {
    let s = scenario().await;
    let b = s.browser();
    let tokens = s.tokens(&b, &[SCOPE]).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&s.tanu, access).await.0, 200);

    let home = cabinet(&s.tanu, &b).await;
    let client = s.client.id.as_str();
    assert!(home.contains(&format!("data-client=\"{client}\"")), "{home}");
    assert!(home.contains("Test RP") && home.contains("Your name and date of birth"), "organisation and claims shown: {home}");
    assert!(!home.contains("data-client=\"tanu-cabinet\""), "the cabinet itself is not listed");
    let revoke = s.tanu.url(&format!("/me/consents/{client}/revoke"));

    // CSRF: without the token, or with another, nothing happens.
    for bad in [vec![], vec![("csrf", "x".repeat(43))]] {
        let form: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = b.post_form(&revoke, &form).await;
        assert_eq!(status(&page), 403, "{page:?}");
    }
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let refused = anon.post(&revoke).form(&[("csrf", csrf(&home))]).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 303, "another browser (no session) is sent to sign in");
    assert_eq!(userinfo(&s.tanu, access).await.0, 200, "still valid after the refused attempts");

    let done = b.post_form(&revoke, &[("csrf", &csrf(&home))]).await;
    assert_eq!(status(&done), 200);
    assert!(body(&done).contains("data-notice") && !body(&done).contains(&format!("data-client=\"{client}\"")), "{}", body(&done));
    let (st, e) = userinfo(&s.tanu, access).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_token")));
    let (st, e) = refresh(&s, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    // Revoked twice: nothing left to revoke.
    assert_eq!(status(&b.post_form(&revoke, &[("csrf", &csrf(&home))]).await), 404);
    // The next sign-in asks for consent again.
    let again = b.navigate(&authorize_url(&s.tanu, &s.client.id, CB, &Pkce::new(), &[SCOPE])).await;
    let Landing::Page { url, .. } = &again else { panic!("{again:?}") };
    assert!(url.contains("/consent/"), "{url}");
    // The journal has the revocation.
    let journal = s.tanu.app.journal.records().await.unwrap();
    assert!(journal.iter().any(|r| r.step == "consent_revoked" && r.client_id.as_deref() == Some(client)));
}

#[tokio::test]
async fn another_citizens_grant_cannot_be_touched_by_id() {
    let s = scenario().await;
    let b = s.browser();
    let tokens = s.tokens(&b, &[SCOPE]).await;
    let access = tokens["access_token"].as_str().unwrap();
    // Another citizen, in another browser, in the cabinet.
    let other = s.person("900101300017", "Other", "Person").await;
    s.tanu.sign_in_as(Some(&other));
    let b2 = s.browser();
    let home = cabinet(&s.tanu, &b2).await;
    assert!(!home.contains(s.client.id.as_str()), "another citizen's consent is not shown");
    let token = csrf(&home);
    for id in [s.client.id.as_str(), "tanu-cabinet", "no-such-client", "%2E%2E"] {
        let page = b2.post_form(&s.tanu.url(&format!("/me/consents/{id}/revoke")), &[("csrf", &token)]).await;
        assert_eq!(status(&page), 404, "{id}: {page:?}");
    }
    assert_eq!(userinfo(&s.tanu, access).await.0, 200, "the first citizen's grant is untouched");
    assert_eq!(refresh(&s, tokens["refresh_token"].as_str().unwrap()).await.0, 200);
    // Nor does the other citizen see the first one's history.
    let json: serde_json::Value = b2.http.get(s.tanu.url("/me/history.json")).send().await.unwrap().json().await.unwrap();
    assert!(json.as_array().unwrap().iter().all(|e| e["client_id"] != s.client.id.as_str()), "{json}");
}

#[tokio::test]
async fn the_access_history_is_newest_first_paged_and_downloadable() {
    let s = scenario().await;
    let b = s.browser();
    let tokens = s.tokens(&b, &[SCOPE]).await;
    for _ in 0..25 {
        assert_eq!(userinfo(&s.tanu, tokens["access_token"].as_str().unwrap()).await.0, 200);
    }
    cabinet(&s.tanu, &b).await;
    // 1 ID token + 25 userinfo for the client, 1 ID token for the cabinet's
    // own sign-in (single sign-on: no second login), 1 journalled sign-in.
    let first = b.navigate(&s.tanu.url("/me/history?lang=en")).await;
    let page0 = body(&first);
    assert_eq!(page0.matches("data-entry").count(), 20, "{page0}");
    assert!(page0.contains("data-older"));
    let newest = between(page0, "<div class=\"muted\">", "</div>").unwrap();
    assert!(page0.find("Tanu — citizen").unwrap() < page0.find("user information (userinfo)").unwrap(), "the cabinet's sign-in is newest");
    let second = b.navigate(&s.tanu.url("/me/history?page=1&lang=en")).await;
    assert_eq!(body(&second).matches("data-entry").count(), 8);
    assert!(!body(&second).contains("data-older"));
    let deep = b.navigate(&s.tanu.url("/me/history?page=99999999999")).await;
    assert_eq!(status(&deep), 200, "a page beyond the end is empty, not an error");
    assert_eq!(status(&b.navigate(&s.tanu.url("/me/history?page=-1")).await), 400);

    let json: serde_json::Value = b.http.get(s.tanu.url("/me/history.json")).send().await.unwrap().json().await.unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 28);
    assert!(entries.iter().any(|e| e["kind"] == "attempt" && e["step"] == "sign_in" && e["outcome"] == "success"), "{json}");
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert!(newest.starts_with(&times[0][..10]));
    let mine: Vec<_> = entries.iter().filter(|e| e["client_id"] == s.client.id.as_str() && e["kind"] == "release").collect();
    assert_eq!(mine.len(), 26);
    assert_eq!(mine.iter().filter(|e| e["channel"] == "userinfo").count(), 25);
    assert_eq!(mine.iter().filter(|e| e["channel"] == "id_token").count(), 1);
    assert!(mine.iter().all(|e| e["grant_id"].is_string()));

    let csv = b.http.get(s.tanu.url("/me/history.csv")).send().await.unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("at,kind,client_id,party,grant_id,channel,claims,step,outcome,reason"));
    assert_eq!(text.lines().count(), 29);
    // Signed out: no history.
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = anon.get(s.tanu.url("/me/history.json")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
}

#[tokio::test]
async fn withdrawing_biometric_consent_in_the_cabinet_deletes_the_template_and_ends_sessions() {
    let s = scenario().await;
    let store = &s.tanu.app.store;
    store.record_biometric_consent(&s.citizen.id, "2026-11-22.1").await.unwrap();
    let sealed = tanu_biometrics::template::SealedTemplate { wrapped_key: vec![1; 40], sealed_embedding: vec![2; 2100] };
    store.save_reference_template(&s.citizen.id, &sealed).await.unwrap();
    let b = s.browser();
    s.tokens(&b, &[SCOPE]).await;
    cabinet(&s.tanu, &b).await;
    for (lang, title) in [("kk", "Биометриялық деректер"), ("ru", "Биометрические данные"), ("en", "Biometric data")] {
        let page = b.navigate(&s.tanu.url(&format!("/me/biometrics?lang={lang}"))).await;
        assert!(body(&page).contains(title), "{lang}");
    }
    let page = b.navigate(&s.tanu.url("/me/biometrics?lang=en")).await;
    let html = body(&page).to_string();
    assert!(html.contains("data-template") && html.contains("2026-11-22.1"), "{html}");
    let withdraw = s.tanu.url("/me/biometrics/withdraw");
    assert_eq!(status(&b.post_form(&withdraw, &[("csrf", "forged")]).await), 403);
    assert!(store.reference_template(&s.citizen.id).await.unwrap().is_some(), "a forged form changes nothing");

    let done = b.post_form(&withdraw, &[("csrf", &csrf(&html))]).await;
    assert_eq!(status(&done), 200);
    assert!(body(&done).contains("data-notice") && body(&done).contains("data-signin"), "signed out, told why: {}", body(&done));
    assert!(store.biometric_consent(&s.citizen.id).await.unwrap().is_none());
    assert!(store.reference_template(&s.citizen.id).await.unwrap().is_none());
    let last = s.tanu.app.journal.records().await.unwrap().pop().unwrap();
    assert_eq!((last.step.as_str(), last.reason.as_deref()), ("biometric_consent_withdrawn", Some("citizen (cabinet)")));
    // Every session ended: the provider's too (the next sign-in logs in again).
    use sea_orm::EntityTrait;
    let sessions = tanu_idp::store::entities::browser_session::Entity::find().all(store.raw_connection()).await.unwrap();
    assert!(!sessions.is_empty() && sessions.iter().all(|x| x.ended_at.is_some()), "{sessions:?}");
    let me = b.navigate(&s.tanu.url("/me/history")).await;
    assert!(body(&me).contains("data-signin"), "the cabinet session ended too");
}

// ------------------------------------------------------------- face sign-in

mod face {
    use super::*;
    use tanu_biometrics::registry::DirectoryRegistry;

    const IIN: &str = "900101300017";

    fn url(l: &Landing) -> &str {
        match l {
            Landing::Page { url, .. } => url,
            other => panic!("expected a page, got {other:?}"),
        }
    }

    fn interaction(url: &str) -> String {
        url.split("/login/").nth(1).unwrap().split(['/', '?']).next().unwrap().to_owned()
    }

    /// The cabinet's sign-in by face, up to the page after the IIN.
    async fn start(tanu: &Tanu, b: &Browser) -> Landing {
        let login = b.navigate(&tanu.url("/me/signin?lang=en")).await;
        let id = interaction(url(&login));
        b.post_form(&tanu.url(&format!("/login/{id}")), &[("csrf", &csrf(body(&login))), ("iin", IIN)]).await
    }

    /// Sends the clip from `from_s` as the camera page does, then verifies.
    async fn finish(tanu: &Tanu, b: &Browser, camera: &Landing, from_s: f32) -> Landing {
        let id = interaction(url(camera));
        let token = csrf(body(camera));
        for f in clip_frames(from_s, 4.1) {
            let resp = b
                .http
                .post(tanu.url(&format!("/login/{id}/frame")))
                .header("content-type", "image/jpeg")
                .header("x-csrf-token", &token)
                .body(f)
                .send()
                .await
                .unwrap();
            let v: serde_json::Value = resp.json().await.unwrap();
            if v["done"] == true {
                break;
            }
        }
        b.post_form(&tanu.url(&format!("/login/{id}/verify")), &[("csrf", &token)]).await
    }

    #[tokio::test]
    async fn after_withdrawal_the_next_face_sign_in_is_a_first_one() {
        let tanu = Tanu::start_face(|c| {
            c.face.fixed_challenge = Some(tanu_biometrics::Challenge::TurnRight);
            c.face.frames_before_challenge = 2;
            c.face.reveal_jitter_frames = 0;
        })
        .await;
        let iin: tanu_biometrics::Iin = IIN.parse().unwrap();
        DirectoryRegistry::new(&tanu.app.config.biometrics.registry_dir).add(&iin, "Miranda Lin-Manuel", &clip_frames(4.0, 0.1).remove(0), "jpg").unwrap();
        let b = Browser::new(&tanu);
        // First sign-in to the cabinet: biometric consent, then the camera.
        let consent = start(&tanu, &b).await;
        assert!(url(&consent).ends_with("/biometric-consent"), "{consent:?}");
        let camera = b.consent(&consent, "accept").await;
        let home = finish(&tanu, &b, &camera, 3.7).await;
        assert!(body(&home).contains("Sign out"), "in the cabinet: {home:?}");
        let page = b.navigate(&tanu.url("/me/biometrics?lang=en")).await;
        assert!(body(&page).contains("data-template") && body(&page).contains("data-consent"), "{}", body(&page));
        let done = b.post_form(&tanu.url("/me/biometrics/withdraw"), &[("csrf", &csrf(body(&page)))]).await;
        assert!(body(&done).contains("data-signin"));
        let db = tanu.app.store.raw_connection();
        for table in ["reference_templates", "template_keys"] {
            let left = db.query_all_raw(Statement::from_string(db.get_database_backend(), format!("SELECT citizen_id FROM {table}"))).await.unwrap();
            assert!(left.is_empty(), "no row is left in {table}");
        }
        // The next sign-in is a first one: consent asked again, compared with the registry photo.
        let again = start(&tanu, &b).await;
        assert!(url(&again).ends_with("/biometric-consent"), "consent asked again: {again:?}");
        let camera = b.consent(&again, "accept").await;
        let home = finish(&tanu, &b, &camera, 3.74).await;
        assert!(body(&home).contains("Sign out"), "{home:?}");
        let journal = tanu.app.journal.records().await.unwrap();
        let last_match = journal.iter().rev().find(|r| r.step == "match").unwrap();
        assert_eq!((last_match.outcome.as_str(), last_match.reason.as_deref()), ("success", Some("document_photo")));
        assert!(journal.iter().any(|r| r.step == "biometric_consent_withdrawn"));
    }
}

// ------------------------------------------------------------- Chromium

/// Every cabinet page in Debian Chromium on a phone-sized screen, in
/// kk/ru/en (screenshots in `target/browser-artifacts/cabinet-*.png`), the
/// documents page with an access opened by a click (its code redeemed); in
/// English the revocation and the withdrawal are clicked through.
#[tokio::test]
async fn the_cabinet_in_chromium_in_each_language() {
    let mut s = Scenario::production(CB, |c| c.biometrics.registry_dir = c.data_dir.join("registry"), |_| {}).await;
    // The registry holds people by a valid IIN (check digit).
    s.citizen = s.person("900517300128", "Aigerim", "Seitkali").await;
    s.tanu.sign_in_as(Some(&s.citizen));
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    let iin: tanu_biometrics::Iin = s.citizen.iin.parse().unwrap();
    tanu_biometrics::registry::DirectoryRegistry::new(&s.tanu.app.config.biometrics.registry_dir)
        .add(&iin, "Seitkali Aigerim", b"\x89PNG\r\n\x1a\nphoto", "png")
        .unwrap();
    let store = &s.tanu.app.store;
    store.record_biometric_consent(&s.citizen.id, "2026-11-22.1").await.unwrap();
    let sealed = tanu_biometrics::template::SealedTemplate { wrapped_key: vec![1; 40], sealed_embedding: vec![2; 2100] };
    store.save_reference_template(&s.citizen.id, &sealed).await.unwrap();
    let tokens = s.tokens(&s.browser(), &[SCOPE]).await;
    assert_eq!(userinfo(&s.tanu, tokens["access_token"].as_str().unwrap()).await.0, 200);
    let shots = workspace_root().join("target/browser-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let client = s.client.id.to_string();
    for lang in ["kk", "ru", "en"] {
        let act = (lang == "en").then_some(client.as_str());
        let args = serde_json::json!({ "base": s.tanu.base, "lang": lang, "shots": shots, "act": act });
        // Off the runtime: the server answers the browser meanwhile.
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node").arg(workspace_root().join("tests/browser/cabinet.mjs")).arg(args.to_string()).output().expect("node")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&out.stderr)));
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert!(v.get("error").is_none(), "{lang}: {v}; see target/browser-artifacts/cabinet-{lang}-error.png");
        assert_eq!(v["lang"], lang);
        assert_eq!(v["consents"], serde_json::json!([client]), "{lang}: {v}");
        assert!(v["history"].as_u64().unwrap() >= 3, "{v}");
        assert_eq!(v["template"], true);
        // The document page: a code and its QR code, which a relying party redeems.
        assert_eq!(v["qr"], true, "{v}");
        let code = v["code"].as_str().unwrap();
        let r = reqwest::Client::new()
            .post(s.tanu.url("/me/verify/redeem"))
            .basic_auth(s.client.id.as_str(), Some(&s.secret))
            .form(&[("code", code)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{lang}: the code shown in Chromium is redeemed");
        if act.is_some() {
            assert_eq!(v["after"], serde_json::json!([]), "{v}");
            assert_eq!(v["signedOut"], true);
        }
    }
    let (st, e) = userinfo(&s.tanu, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_token")), "revoked by the click");
    assert!(store.reference_template(&s.citizen.id).await.unwrap().is_none(), "withdrawn by the click");
}

/// Issue 14 with issue 15: revoking a relying party's consent in the cabinet
/// tells that relying party by OIDC Back-Channel Logout when it registered a
/// `backchannel_logout_uri` — a logout token naming the citizen (`sub`, the
/// client's pairwise subject) and no `sid`, queued in the §10 outbox.
#[tokio::test]
async fn revoking_in_the_cabinet_sends_a_back_channel_logout() {
    use sea_orm::EntityTrait;
    use tanu_idp::store::entities::event_delivery;
    let s = Scenario::production(CB, |_| {}, |c| c.backchannel_logout_uri = Some("https://127.0.0.1:9/bc".parse().unwrap())).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    let b = s.browser();
    s.tokens(&b, &[SCOPE]).await;
    let home = cabinet(&s.tanu, &b).await;
    let logouts = || async {
        event_delivery::Entity::find()
            .all(s.tanu.app.store.raw_connection())
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "backchannel_logout")
            .collect::<Vec<_>>()
    };
    assert!(logouts().await.is_empty());
    let done = b.post_form(&s.tanu.url(&format!("/me/consents/{}/revoke", s.client.id.as_str())), &[("csrf", &csrf(&home))]).await;
    assert_eq!(status(&done), 200);
    let rows = logouts().await;
    assert_eq!(rows.len(), 1, "one logout token for the relying party");
    let claims: serde_json::Value = serde_json::from_str(&rows[0].set_jwt).unwrap();
    assert_eq!(claims["aud"], s.client.id.as_str());
    assert_eq!(claims["sub"], s.tanu.app.subject(&s.client, &s.citizen.id));
    assert!(claims.get("sid").is_none(), "{claims}");
}

/// The verifier page (`/me/verify`) in Debian Chromium on a phone-sized
/// screen, in kk/ru/en (screenshots `target/browser-artifacts/cabinet-*-verify-*.png`):
/// an operator-registered organisation user opens the QR code's address,
/// signs in with Tanu through the portal's sign-in, presses "Show the
/// document" with a wrong code and sees the error (nothing shown, the code
/// not spent), then types the citizen's code and sees the document (data and
/// photo) once; the same code again is refused. The citizen's share names
/// the user, and the citizen's history has the view.
#[tokio::test]
async fn the_verifier_page_in_chromium_in_each_language() {
    use tanu_idp::cabinet::documents::DocumentKind;
    let mut s = Scenario::production(
        CB,
        |c| {
            c.biometrics.registry_dir = c.data_dir.join("registry");
            // Two wrong codes a language (the typed one and the used one again): not locked by the third.
            c.documents.lockout_failures = 20;
        },
        |_| {},
    )
    .await;
    s.citizen = s.person("900517300128", "Aigerim", "Seitkali").await;
    let iin: tanu_biometrics::Iin = s.citizen.iin.parse().unwrap();
    // A real photo (one of the dev faces), so that the page is seen to draw it.
    let photo = std::fs::read(workspace_root().join("tests/data/faces-dev/img4.jpg")).unwrap();
    tanu_biometrics::registry::DirectoryRegistry::new(&s.tanu.app.config.biometrics.registry_dir).add(&iin, "Seitkali Aigerim", &photo, "jpg").unwrap();
    let officer = s.person("900101300017", "Dana", "Officer").await;
    s.tanu.app.store.add_document_verifier(&officer.iin, "Kaspi Bank", "Dana Officer").await.unwrap();
    // The browser signs in as the officer; the citizen opens access as the cabinet does.
    s.tanu.sign_in_as(Some(&officer));
    let docs = s.tanu.app.documents();
    let shots = workspace_root().join("target/browser-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    for lang in ["kk", "ru", "en"] {
        let (share, code) = docs.open(&s.tanu.app.cabinet, &s.citizen, DocumentKind::IdentityCard).await.unwrap();
        let code = code.as_str().to_string();
        let last = code.as_bytes()[7] - b'0';
        let wrong = format!("{}{}", &code[..7], (last + 1) % 10);
        let args = serde_json::json!({ "base": s.tanu.base, "lang": lang, "shots": shots, "verify": { "code": code, "wrong": wrong } });
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("node").arg(workspace_root().join("tests/browser/cabinet.mjs")).arg(args.to_string()).output().expect("node")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&out.stderr)));
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert!(v.get("error").is_none(), "{lang}: {v}; see target/browser-artifacts/cabinet-{lang}-error.png");
        assert_eq!(v["afterSignin"], "/me/verify", "{lang}: back on the verifier page after the sign-in: {v}");
        assert_eq!(v["afterSigninCode"], v["prefilledWrong"], "{lang}: with the QR code's code kept through the sign-in: {v}");
        assert_eq!(v["lang"], lang);
        assert_eq!(v["prefilledWrong"], wrong.as_str(), "{lang}: the QR code's address fills the form");
        // The wrong code: the error in the page's language, nothing shown.
        let expected = match lang {
            "kk" => "Код қате, пайдаланылған, кері қайтарылған немесе мерзімі өткен.",
            "ru" => "Код неверен, уже использован, отозван или истёк.",
            _ => "The code is wrong, already used, revoked or expired.",
        };
        assert_eq!(v["wrongError"], expected, "{lang}: {v}");
        assert_eq!(v["documentAfterWrong"], false);
        // The right code: the document, once.
        assert_eq!(v["document"], true, "{lang}: {v}");
        assert_eq!(v["iin"], s.citizen.iin.as_str());
        assert_eq!(v["name"], "Seitkali Aigerim");
        assert!(v["photo"].as_str().unwrap().starts_with("data:image/jpeg;base64,"), "{v}");
        assert!(v["photoWidth"].as_u64().unwrap() > 0, "the photo is drawn: {v}");
        assert!(v["redemptions"].as_array().unwrap().contains(&share.id.as_str().into()), "the user's own checks list it: {v}");
        assert_eq!((v["againError"].as_bool(), v["againDocument"].as_bool()), (Some(true), Some(false)), "{lang}: shown once: {v}");
        // The citizen's side: the share names the user who looked.
        let viewed = s.tanu.app.store.document_shares(&s.citizen.id, 10).await.unwrap().into_iter().find(|x| x.id == share.id).unwrap();
        assert_eq!(viewed.redeemed_by_name.as_deref(), Some("Kaspi Bank — Dana Officer"), "{lang}");
    }
    let views = s.tanu.app.store.document_views(&s.citizen.id, 10).await.unwrap();
    assert_eq!(views.len(), 3, "one view per language, in the citizen's history");
}
