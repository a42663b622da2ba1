//! Documents shared by code (issue 14) and the cabinet's JSON API, over
//! HTTP: a citizen opens access to their identity card in the cabinet, a
//! verifier redeems the short code once (a relying party with its client
//! credentials, or an operator-registered organisation user on the verifier
//! page), both histories show the view; used, expired and revoked codes are
//! refused; brute force is stopped by the budgets and the lockout; another
//! citizen's share is out of reach; every form needs its CSRF token; the
//! OpenAPI document validates and each of its paths is exercised here.
use base64::Engine as _;
use tanu_biometrics::registry::DirectoryRegistry;
use tanu_idp::config::Config;
use tanu_tests::*;
use tanu_tests::{csrf_field as csrf, page_body as body, page_status as status};

/// The citizen opens access in the cabinet (production): the scenario's
/// client and citizen are production.
const CB: &str = "https://127.0.0.1:9/cb";
/// The citizen whose identity card the registry holds.
const HOLDER: &str = "900517300128";
/// A stand-in for the registry's photo (the registry does not decode it).
const PHOTO: &[u8] = b"\x89PNG\r\n\x1a\nregistry photo of the citizen";

/// Verifiers redeem with production clients (a sandbox client redeems
/// nothing: `sandbox.rs`).
fn production(c: &mut tanu_idp::store::NewClient) {
    c.environment = tanu_idp::domain::Environment::Production;
}

/// A scenario whose citizen the registry holds (name and photo).
async fn scenario(tweak: impl FnOnce(&mut Config)) -> Scenario {
    let s = Scenario::production(
        CB,
        |c| {
            c.biometrics.registry_dir = c.data_dir.join("registry");
            tweak(c);
        },
        |_| {},
    )
    .await;
    // The registry holds people by a valid IIN (check digit).
    let mut s = s;
    s.citizen = s.person(HOLDER, "Aigerim", "Seitkali").await;
    s.tanu.sign_in_as(Some(&s.citizen));
    let iin: tanu_biometrics::Iin = s.citizen.iin.parse().unwrap();
    DirectoryRegistry::new(&s.tanu.app.config.biometrics.registry_dir).add(&iin, "Seitkali Aigerim", PHOTO, "png").unwrap();
    s
}

/// Signs the browser in to the cabinet; the documents page.
async fn documents_page(tanu: &Tanu, b: &Browser) -> String {
    let home = b.navigate(&tanu.url("/me/signin?lang=en")).await;
    assert!(body(&home).contains("Sign out"), "signed in: {home:?}");
    let page = b.navigate(&tanu.url("/me/documents?lang=en")).await;
    assert_eq!(status(&page), 200);
    body(&page).to_string()
}

/// Opens access to the identity card on the page: (code, share id, the page).
async fn open(tanu: &Tanu, b: &Browser) -> (String, String, String) {
    let page = documents_page(tanu, b).await;
    let opened = b.post_form(&tanu.url("/me/documents/open?lang=en"), &[("csrf", &csrf(&page)), ("document", "identity_card")]).await;
    assert_eq!(status(&opened), 200, "{opened:?}");
    let html = body(&opened).to_string();
    let code = between(&html, "data-code=\"", "\"").expect("a code");
    let id = between(&html, "data-share=\"", "\"").expect("the share listed");
    (code, id, html)
}

/// A relying party redeems with client_secret_basic.
async fn redeem_as(tanu: &Tanu, client: &str, secret: &str, code: &str) -> (u16, serde_json::Value, Option<String>) {
    let r = reqwest::Client::new().post(tanu.url("/me/verify/redeem")).basic_auth(client, Some(secret)).form(&[("code", code)]).send().await.unwrap();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (r.status().as_u16(), r.json().await.unwrap_or_default(), retry)
}

async fn redeem(s: &Scenario, code: &str) -> (u16, serde_json::Value) {
    let (st, v, _) = redeem_as(&s.tanu, s.client.id.as_str(), &s.secret, code).await;
    (st, v)
}

/// A code that is not `code` (differs in its last digit).
fn wrong(code: &str) -> String {
    let last = code.as_bytes()[7] - b'0';
    format!("{}{}", &code[..7], (last + 1) % 10)
}

#[tokio::test]
async fn a_relying_party_redeems_once_and_both_histories_show_the_view() {
    let s = scenario(|_| {}).await;
    let b = s.browser();
    let (code, id, html) = open(&s.tanu, &b).await;
    assert!(code.len() == 8 && code.bytes().all(|c| c.is_ascii_digit()), "{code}");
    assert!(html.contains("<svg") && html.contains("data-qr"), "a QR code drawn in the page");
    assert!(html.contains(&format!("data-share=\"{id}\" data-state=\"active\"")), "{html}");
    // The code is stored only as a keyed hash.
    let stored = s.tanu.app.store.document_shares(&s.citizen.id, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].code_hash.contains(&code));

    let (st, doc) = redeem(&s, &code).await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!(doc["document"], "identity_card");
    assert_eq!(doc["iin"], s.citizen.iin.as_str());
    assert_eq!(doc["name"], "Seitkali Aigerim");
    assert_eq!(doc["birthdate"], "1990-05-17");
    assert_eq!(doc["photo_content_type"], "image/png");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(doc["photo_base64"].as_str().unwrap()).unwrap(), PHOTO);
    assert_eq!(doc["share_id"], id.as_str());

    // Shown once: the second redemption is refused, by this verifier or any other.
    let (st, e) = redeem(&s, &code).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")), "{e}");
    let (other, other_secret) = s
        .tanu
        .client(CB, |c| {
            production(c);
            c.organisation_name = Some("Other Bank".into())
        })
        .await;
    let (st, _, _) = redeem_as(&s.tanu, other.id.as_str(), other_secret.as_deref().unwrap(), &code).await;
    assert_eq!(st, 400);

    // The citizen's side: the share is viewed, by whom, and the history has it.
    let page = b.navigate(&s.tanu.url("/me/documents?lang=en")).await;
    assert!(body(&page).contains(&format!("data-share=\"{id}\" data-state=\"redeemed\"")), "{}", body(&page));
    assert!(body(&page).contains("data-viewed-by>Viewed by: Test RP"), "{}", body(&page));
    let history: serde_json::Value = b.http.get(s.tanu.url("/me/history.json")).send().await.unwrap().json().await.unwrap();
    let views: Vec<_> = history.as_array().unwrap().iter().filter(|e| e["kind"] == "document_view").collect();
    assert_eq!(views.len(), 1, "{history}");
    assert_eq!(views[0]["client_id"], s.client.id.as_str());
    assert_eq!(views[0]["step"], "identity_card");
    let page = b.navigate(&s.tanu.url("/me/history?lang=en")).await;
    assert!(body(&page).contains("Document viewed"), "{}", body(&page));

    // The verifier's side: its own redemptions, and no one else's.
    let mine: serde_json::Value = reqwest::Client::new()
        .post(s.tanu.url("/me/verify/redemptions"))
        .basic_auth(s.client.id.as_str(), Some(&s.secret))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["share_id"], id.as_str());
    let theirs: serde_json::Value = reqwest::Client::new()
        .post(s.tanu.url("/me/verify/redemptions"))
        .basic_auth(other.id.as_str(), other_secret.as_deref())
        .form(&[("x", "")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, serde_json::json!([]));
    // A wrong secret is refused in the OAuth form.
    let (st, e, _) = redeem_as(&s.tanu, s.client.id.as_str(), "wrong", &code).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")));
    // The operator's journal has the redemption.
    let journal = s.tanu.app.journal.records().await.unwrap();
    assert!(journal.iter().any(|r| r.step == "document_redeem" && r.outcome == "success" && r.client_id.as_deref() == Some(s.client.id.as_str())));
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    // A code valid for 0 s has expired by the time anyone redeems it.
    let s = scenario(|c| c.documents.code_ttl = 0).await;
    let b = s.browser();
    let (code, id, _) = open(&s.tanu, &b).await;
    let (st, e) = redeem(&s, &code).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")), "{e}");
    let page = b.navigate(&s.tanu.url("/me/documents?lang=en")).await;
    assert!(body(&page).contains(&format!("data-share=\"{id}\" data-state=\"expired\"")), "{}", body(&page));
    // An expired share cannot be revoked either: nothing is usable.
    let done = b.post_form(&s.tanu.url(&format!("/me/documents/{id}/revoke")), &[("csrf", &csrf(body(&page)))]).await;
    assert_eq!(status(&done), 404);
}

#[tokio::test]
async fn a_revoked_code_is_refused_and_every_form_needs_its_csrf_token() {
    let s = scenario(|_| {}).await;
    let b = s.browser();
    let page = documents_page(&s.tanu, &b).await;
    // Opening without the token, or with another, opens nothing.
    for form in [vec![("document", "identity_card")], vec![("csrf", "forged"), ("document", "identity_card")]] {
        let refused = b.post_form(&s.tanu.url("/me/documents/open"), &form).await;
        assert_eq!(status(&refused), 403, "{refused:?}");
    }
    assert!(s.tanu.app.store.document_shares(&s.citizen.id, 10).await.unwrap().is_empty());
    // An unknown document is not found.
    let unknown = b.post_form(&s.tanu.url("/me/documents/open"), &[("csrf", &csrf(&page)), ("document", "passport")]).await;
    assert_eq!(status(&unknown), 404);

    let (code, id, html) = open(&s.tanu, &b).await;
    let revoke = s.tanu.url(&format!("/me/documents/{id}/revoke"));
    assert_eq!(status(&b.post_form(&revoke, &[]).await), 403);
    assert_eq!(status(&b.post_form(&revoke, &[("csrf", "forged")]).await), 403);
    // Another browser (no cabinet session) is sent to sign in.
    let anon = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(anon.post(&revoke).form(&[("csrf", csrf(&html))]).send().await.unwrap().status().as_u16(), 303);
    let done = b.post_form(&revoke, &[("csrf", &csrf(&html))]).await;
    assert_eq!(status(&done), 200);
    assert!(body(&done).contains("data-notice") && body(&done).contains(&format!("data-share=\"{id}\" data-state=\"revoked\"")), "{}", body(&done));
    let (st, e) = redeem(&s, &code).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(status(&b.post_form(&revoke, &[("csrf", &csrf(&html))]).await), 404, "revoked twice");
}

#[tokio::test]
async fn another_citizens_share_cannot_be_touched_by_id() {
    let s = scenario(|_| {}).await;
    let (code, id, _) = open(&s.tanu, &s.browser()).await;
    let other = s.person("900101300017", "Other", "Person").await;
    s.tanu.sign_in_as(Some(&other));
    let b2 = s.browser();
    let page = documents_page(&s.tanu, &b2).await;
    assert!(!page.contains(&id), "another citizen's share is not listed");
    assert!(page.contains("data-no-document"), "the registry holds nothing for the other citizen: {page}");
    let done = b2.post_form(&s.tanu.url(&format!("/me/documents/{id}/revoke")), &[("csrf", &csrf(&page))]).await;
    assert_eq!(status(&done), 404);
    // Nor can the other citizen open access to a document the registry does not hold for them.
    let opened = b2.post_form(&s.tanu.url("/me/documents/open"), &[("csrf", &csrf(&page)), ("document", "identity_card")]).await;
    assert_eq!(status(&opened), 404);
    // The first citizen's code still works.
    assert_eq!(redeem(&s, &code).await.0, 200);
}

#[tokio::test]
async fn brute_force_is_stopped_by_the_verifiers_budget() {
    let s = scenario(|c| {
        c.documents.redeem_per_minute = 3;
        c.documents.lockout_failures = 100;
    })
    .await;
    let (code, _, _) = open(&s.tanu, &s.browser()).await;
    for _ in 0..3 {
        assert_eq!(redeem(&s, &wrong(&code)).await.0, 400);
    }
    let (st, e, retry) = redeem_as(&s.tanu, s.client.id.as_str(), &s.secret, &code).await;
    assert_eq!((st, e["error"].as_str()), (429, Some("slow_down")), "the fourth try, even the right code, waits: {e}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    // Another verifier has a budget of its own: the code is still usable.
    let (other, secret) = s.tanu.client(CB, production).await;
    let (st, doc, _) = redeem_as(&s.tanu, other.id.as_str(), secret.as_deref().unwrap(), &code).await;
    assert_eq!(st, 200, "{doc}");
}

#[tokio::test]
async fn brute_force_is_stopped_by_the_lockout_and_the_code_space_budget() {
    let s = scenario(|c| {
        c.documents.lockout_failures = 3;
        c.documents.redeem_per_minute_total = 7;
    })
    .await;
    let (code, _, _) = open(&s.tanu, &s.browser()).await;
    for bad in [wrong(&code), "12".into(), "abcdefgh".into()] {
        let (st, e) = redeem(&s, &bad).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")), "{bad}");
    }
    // Three wrong codes: this verifier is locked, even for the right one.
    let (st, e, retry) = redeem_as(&s.tanu, s.client.id.as_str(), &s.secret, &code).await;
    assert_eq!((st, e["error"].as_str()), (429, Some("access_denied")), "{e}");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 800, "locked for about lockout_window (900 s)");
    let journal = s.tanu.app.journal.records().await.unwrap();
    assert!(journal.iter().any(|r| r.step == "document_redeem_locked"));
    // Others are not locked; the code was not spent by the refused tries.
    let (other, secret) = s.tanu.client(CB, production).await;
    let (st, _, _) = redeem_as(&s.tanu, other.id.as_str(), secret.as_deref().unwrap(), &code).await;
    assert_eq!(st, 200);
    // The whole code space's budget (7 a minute) is spent after 2 more tries by anyone.
    let (third, secret3) = s.tanu.client(CB, production).await;
    for _ in 0..2 {
        assert_eq!(redeem_as(&s.tanu, third.id.as_str(), secret3.as_deref().unwrap(), &wrong(&code)).await.0, 400);
    }
    let (st, e, _) = redeem_as(&s.tanu, third.id.as_str(), secret3.as_deref().unwrap(), &wrong(&code)).await;
    assert_eq!((st, e["error"].as_str()), (429, Some("slow_down")), "{e}");
}

// ------------------------------------------------------------ verifier page

/// Opens the verifier page; the first time through the portal's sign-in
/// (authorize, consent, callback, back to the page).
async fn verifier_page(tanu: &Tanu, b: &Browser, path: &str) -> Landing {
    let page = b.navigate(&tanu.url(path)).await;
    if let Landing::Page { body, .. } = &page {
        if body.contains("name=\"decision\"") {
            return b.consent(&page, "allow").await;
        }
    }
    page
}

#[tokio::test]
async fn an_organisation_user_redeems_on_the_verifier_page() {
    let s = scenario(|_| {}).await;
    let (code, id, _) = open(&s.tanu, &s.browser()).await;
    let officer = s.person("900101300017", "Dana", "Officer").await;
    s.tanu.sign_in_as(Some(&officer));
    let b2 = s.browser();
    // Signed in through the portal's sign-in, but not registered: refused.
    let refused = verifier_page(&s.tanu, &b2, "/me/verify?lang=en").await;
    assert_eq!(status(&refused), 403, "{refused:?}");
    assert!(body(&refused).contains("data-refused"));
    s.tanu.app.store.add_document_verifier(&officer.iin, "Kaspi Bank", "Dana Officer").await.unwrap();
    // The QR code's address fills the form; the GET redeems nothing.
    let page = b2.navigate(&s.tanu.url(&format!("/me/verify?code={code}&lang=en"))).await;
    assert_eq!(status(&page), 200, "{page:?}");
    assert!(body(&page).contains(&format!("value=\"{code}\"")) && body(&page).contains("Kaspi Bank"), "{}", body(&page));
    let token = csrf(body(&page));
    // The form needs its token.
    for form in [vec![("code", code.as_str())], vec![("csrf", "forged"), ("code", code.as_str())]] {
        assert_eq!(status(&b2.post_form(&s.tanu.url("/me/verify"), &form).await), 403);
    }
    let shown = b2.post_form(&s.tanu.url("/me/verify?lang=en"), &[("csrf", &token), ("code", &code)]).await;
    assert_eq!(status(&shown), 200);
    let html = body(&shown);
    assert!(html.contains("data-document") && html.contains(&format!("data-iin>{}", s.citizen.iin)) && html.contains("data-name>Seitkali Aigerim"), "{html}");
    assert!(html.contains("src=\"data:image/png;base64,"), "the photo inline");
    assert!(html.contains(&format!("data-redemption=\"{id}\"")), "the user's own history lists it");
    // Once.
    let again = b2.post_form(&s.tanu.url("/me/verify?lang=en"), &[("csrf", &token), ("code", &code)]).await;
    assert_eq!(status(&again), 422);
    assert!(body(&again).contains("data-error") && !body(&again).contains("data-document"));
    // The citizen sees who looked.
    s.tanu.sign_in_as(Some(&s.citizen));
    let b = s.browser();
    let page = documents_page(&s.tanu, &b).await;
    assert!(page.contains("Viewed by: Kaspi Bank — Dana Officer"), "{page}");
    let history: serde_json::Value = b.http.get(s.tanu.url("/me/history.json")).send().await.unwrap().json().await.unwrap();
    assert!(history.as_array().unwrap().iter().any(|e| e["kind"] == "document_view" && e["party"] == "Kaspi Bank — Dana Officer"), "{history}");
    // A disabled user is refused again.
    assert!(s.tanu.app.store.disable_document_verifier(&officer.iin).await.unwrap());
    assert_eq!(status(&b2.navigate(&s.tanu.url("/me/verify")).await), 403);
}

#[tokio::test]
async fn the_verifier_page_locks_a_user_who_guesses() {
    let s = scenario(|c| c.documents.lockout_failures = 2).await;
    let (code, _, _) = open(&s.tanu, &s.browser()).await;
    let officer = s.person("900101300017", "Dana", "Officer").await;
    s.tanu.app.store.add_document_verifier(&officer.iin, "Kaspi Bank", "Dana Officer").await.unwrap();
    s.tanu.sign_in_as(Some(&officer));
    let b2 = s.browser();
    let page = verifier_page(&s.tanu, &b2, "/me/verify?lang=en").await;
    let token = csrf(body(&page));
    for _ in 0..2 {
        assert_eq!(status(&b2.post_form(&s.tanu.url("/me/verify"), &[("csrf", &token), ("code", &wrong(&code))]).await), 422);
    }
    let locked = b2.post_form(&s.tanu.url("/me/verify?lang=en"), &[("csrf", &token), ("code", &code)]).await;
    assert_eq!(status(&locked), 429);
    assert!(body(&locked).contains("Too many wrong codes") && !body(&locked).contains("data-document"));
    assert_eq!(redeem(&s, &code).await.0, 200, "the code itself is not spent");
}

// ------------------------------------------------------------ the cabinet API

/// An access token of the cabinet's own client, as the cabinet (or a mobile
/// app of the cabinet) gets it: authorization code with PKCE at /me/callback.
async fn cabinet_token(s: &Scenario, b: &Browser) -> String {
    cabinet_token_bound(s, b, None).await
}

/// [`cabinet_token`], the token request carrying a DPoP proof of `key` when
/// given, so the token is bound to that key (RFC 9449 §5).
async fn cabinet_token_bound(s: &Scenario, b: &Browser, key: Option<&tanu_tests::dpop::DpopKey>) -> String {
    let callback = s.tanu.url("/me/callback");
    let pkce = Pkce::new();
    let client: tanu_idp::domain::ClientId = "tanu-cabinet".parse().unwrap();
    let mut url = authorize_url(&s.tanu, &client, &callback, &pkce, &[]);
    let code = loop {
        let r = b.http.get(&url).send().await.unwrap();
        let loc = r.headers().get("location").unwrap_or_else(|| panic!("no redirect at {url}: {}", r.status())).to_str().unwrap().to_string();
        let next = r.url().join(&loc).unwrap();
        if next.as_str().starts_with(&callback) {
            break next.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned();
        }
        url = next.to_string();
    };
    let secret = tanu_idp::cabinet::web::client_secret(&s.tanu.app.cabinet);
    let mut r = reqwest::Client::new().post(s.tanu.url("/token")).basic_auth(client.as_str(), Some(&secret)).form(&[
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ]);
    if let Some(k) = key {
        r = r.header("DPoP", k.proof("POST", &s.tanu.url("/token"), None));
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    let tokens: serde_json::Value = r.json().await.unwrap();
    assert_eq!(st, 200, "{tokens}");
    assert_eq!(tokens["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some(if key.is_some() { "dpop" } else { "bearer" }));
    tokens["access_token"].as_str().unwrap().to_string()
}

/// RFC 9449 at the cabinet API: a DPoP-bound cabinet token works with the
/// `DPoP` scheme and a proof of its key for this request, and with nothing
/// less — the attacks: the bound token as a bearer token, without a proof, a
/// replayed proof, a proof of another key, for another URL or method, without
/// `ath`; an unbound token under the DPoP scheme. Every refusal is the API's
/// JSON form with a `DPoP` challenge.
#[tokio::test]
async fn the_cabinet_api_takes_dpop_bound_tokens_only_with_their_proof() {
    use tanu_tests::dpop::{claims, DpopKey};
    let s = scenario(|_| {}).await;
    let b = s.browser();
    let key = DpopKey::es256();
    let token = cabinet_token_bound(&s, &b, Some(&key)).await;
    let url = s.tanu.url("/me/api/consents");
    let call = |auth: String, proof: Option<String>| {
        let url = url.clone();
        async move {
            let mut r = reqwest::Client::new().get(&url).header("Authorization", auth);
            if let Some(p) = proof {
                r = r.header("DPoP", p);
            }
            let r = r.send().await.unwrap();
            let challenge = r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let st = r.status().as_u16();
            (st, challenge, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let good = key.proof("GET", &url, Some(&token));
    let (st, _, body) = call(format!("DPoP {token}"), Some(good.clone())).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.is_array());

    let refusals = [
        ("the bound token as a bearer token", format!("Bearer {token}"), Some(key.proof("GET", &url, Some(&token)))),
        ("the bound token as a bearer token, no proof", format!("Bearer {token}"), None),
        ("the DPoP scheme without a proof", format!("DPoP {token}"), None),
        ("a replayed proof", format!("DPoP {token}"), Some(good)),
        ("a proof of another key", format!("DPoP {token}"), Some(DpopKey::es256().proof("GET", &url, Some(&token)))),
        ("a proof for another URL", format!("DPoP {token}"), Some(key.proof("GET", &s.tanu.url("/me/api/history"), Some(&token)))),
        ("a proof for another method", format!("DPoP {token}"), Some(key.proof("DELETE", &url, Some(&token)))),
        ("a proof without ath", format!("DPoP {token}"), Some(key.sign(&key.header(), &claims("GET", &url, None)))),
        ("a proof for another token", format!("DPoP {token}"), Some(key.proof("GET", &url, Some("another-token")))),
    ];
    for (what, auth, proof) in refusals {
        let (st, challenge, body) = call(auth, proof).await;
        assert_eq!((st, body["error"].as_str()), (401, Some("unauthorized")), "{what}: {body}");
        assert!(challenge.starts_with("DPoP "), "{what}: a DPoP challenge, got {challenge:?}");
    }
    // An unbound cabinet token is a bearer token only.
    let unbound = cabinet_token(&s, &b).await;
    let (st, challenge, body) = call(format!("DPoP {unbound}"), Some(key.proof("GET", &url, Some(&unbound)))).await;
    assert_eq!(st, 401, "{body}");
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    let (st, _, _) = call(format!("Bearer {unbound}"), None).await;
    assert_eq!(st, 200);
    // And the bound token still works with a fresh proof: no refusal spent it.
    let (st, _, body) = call(format!("DPoP {token}"), Some(key.proof("GET", &url, Some(&token)))).await;
    assert_eq!(st, 200, "{body}");
}

async fn api(s: &Scenario, method: reqwest::Method, path: &str, token: &str, json: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    let mut r = reqwest::Client::new().request(method, s.tanu.url(&format!("/me/api{path}"))).bearer_auth(token);
    if let Some(j) = json {
        r = r.json(&j);
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}: JSON always");
    (st, r.json().await.unwrap())
}

#[tokio::test]
async fn the_cabinet_api_does_what_the_pages_do_with_a_cabinet_token_only() {
    use reqwest::Method;
    let s = scenario(|_| {}).await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    let store = &s.tanu.app.store;
    store.record_biometric_consent(&s.citizen.id, "2026-11-22.1").await.unwrap();
    let b = s.browser();
    let rp = s.tokens(&b, &[("scope", "openid profile offline_access")]).await;
    let rp_access = rp["access_token"].as_str().unwrap();
    let token = cabinet_token(&s, &b).await;
    let mut exercised: Vec<(&str, &str)> = vec![];

    // Refused in one JSON form: no token, a wrong one, another relying party's.
    for bad in ["", "not-a-token", rp_access] {
        let (st, e) = api(&s, Method::GET, "/consents", bad, None).await;
        assert_eq!((st, e["error"].as_str()), (401, Some("unauthorized")), "{bad}: {e}");
        assert!(e["message"].is_string());
    }
    let (st, e) = api(&s, Method::GET, "/history?page=-1", &token, None).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("bad_request")), "{e}");
    let (st, e) = api(&s, Method::POST, "/documents", &token, Some(serde_json::json!({ "nope": 1 }))).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("bad_request")), "{e}");

    let (st, consents) = api(&s, Method::GET, "/consents", &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("get", "/consents"));
    assert_eq!(consents.as_array().unwrap().len(), 1, "{consents}");
    assert_eq!(consents[0]["client_id"], s.client.id.as_str());
    assert!(consents[0]["scopes"].as_array().unwrap().contains(&"profile".into()));

    let (st, history) = api(&s, Method::GET, "/history?page=0", &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("get", "/history"));
    assert!(history["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "release" && e["client_id"] == s.client.id.as_str()), "{history}");

    let (st, docs) = api(&s, Method::POST, "/documents", &token, Some(serde_json::json!({ "document": "identity_card" }))).await;
    assert_eq!(st, 200, "{docs}");
    exercised.push(("post", "/documents"));
    let code = docs["code"].as_str().unwrap().to_string();
    assert!(docs["qr_svg"].as_str().unwrap().contains("<svg") && docs["verify_url"].as_str().unwrap().ends_with(&code));
    let first = docs["share_id"].as_str().unwrap().to_string();
    assert_eq!(redeem(&s, &code).await.0, 200);
    let (_, second) = api(&s, Method::POST, "/documents", &token, Some(serde_json::json!({ "document": "identity_card" }))).await;
    let second_id = second["share_id"].as_str().unwrap().to_string();

    let (st, list) = api(&s, Method::GET, "/documents", &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("get", "/documents"));
    assert_eq!(list["available"], serde_json::json!(["identity_card"]));
    let states: Vec<(String, String)> =
        list["shares"].as_array().unwrap().iter().map(|x| (x["id"].as_str().unwrap().into(), x["state"].as_str().unwrap().into())).collect();
    assert!(states.contains(&(first.clone(), "redeemed".into())) && states.contains(&(second_id.clone(), "active".into())), "{list}");
    let viewed = list["shares"].as_array().unwrap().iter().find(|x| x["id"] == first.as_str()).unwrap();
    assert_eq!(viewed["viewed_by"], "Test RP");

    let (st, _) = api(&s, Method::DELETE, &format!("/documents/{second_id}"), &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("delete", "/documents/{id}"));
    assert_eq!(redeem(&s, second["code"].as_str().unwrap()).await.0, 400, "revoked through the API");
    let (st, e) = api(&s, Method::DELETE, &format!("/documents/{first}"), &token, None).await;
    assert_eq!((st, e["error"].as_str()), (404, Some("not_found")), "a used share cannot be revoked");

    // Another citizen's token reaches none of this citizen's items.
    let other = s.person("900101300017", "Other", "Person").await;
    s.tanu.sign_in_as(Some(&other));
    let other_token = cabinet_token(&s, &s.browser()).await;
    let (_, third) = api(&s, Method::POST, "/documents", &token, Some(serde_json::json!({ "document": "identity_card" }))).await;
    let third_id = third["share_id"].as_str().unwrap();
    let (st, _) = api(&s, Method::DELETE, &format!("/documents/{third_id}"), &other_token, None).await;
    assert_eq!(st, 404);
    let (st, _) = api(&s, Method::DELETE, &format!("/consents/{}", s.client.id.as_str()), &other_token, None).await;
    assert_eq!(st, 404);
    let (_, theirs) = api(&s, Method::GET, "/documents", &other_token, None).await;
    assert_eq!(theirs["shares"], serde_json::json!([]));
    let (st, _) = api(&s, Method::POST, "/documents", &other_token, Some(serde_json::json!({ "document": "identity_card" }))).await;
    assert_eq!(st, 404, "the registry holds nothing for the other citizen");

    let (st, _) = api(&s, Method::DELETE, &format!("/consents/{}", s.client.id.as_str()), &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("delete", "/consents/{client_id}"));
    let info = reqwest::Client::new().get(s.tanu.url("/userinfo")).bearer_auth(rp_access).send().await.unwrap();
    assert_eq!(info.status().as_u16(), 401, "the relying party's token died at once");
    let (st, _) = api(&s, Method::DELETE, "/consents/tanu-cabinet", &token, None).await;
    assert_eq!(st, 404, "the cabinet itself is not a consent to revoke");

    let (st, bio) = api(&s, Method::GET, "/biometrics", &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("get", "/biometrics"));
    assert_eq!(bio["consent_version"], "2026-11-22.1");

    let (st, w) = api(&s, Method::POST, "/biometrics/withdraw", &token, None).await;
    assert_eq!(st, 200);
    exercised.push(("post", "/biometrics/withdraw"));
    assert_eq!(w["had_consent"], true);
    assert!(store.biometric_consent(&s.citizen.id).await.unwrap().is_none());
    // Every session ended: this token's online grant too.
    let (st, _) = api(&s, Method::GET, "/biometrics", &token, None).await;
    assert_eq!(st, 401);

    // The OpenAPI document: valid, and each of its operations exercised above.
    let spec = reqwest::get(s.tanu.url("/me/api/openapi.json")).await.unwrap();
    assert_eq!(spec.status().as_u16(), 200);
    let text = spec.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut in_spec: Vec<(String, String)> = vec![];
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            in_spec.push((method.clone(), path.clone()));
        }
    }
    in_spec.sort();
    let mut done: Vec<(String, String)> = exercised.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    done.sort();
    assert_eq!(in_spec, done, "every operation of the document is exercised here");
    assert_eq!(doc["servers"][0]["url"], s.tanu.url("/me/api"));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.values().any(|v| v["scheme"] == "bearer"), "{}", doc["components"]);
    assert!(
        schemes.values().any(|v| v["name"] == "Authorization" && v["description"].as_str().unwrap_or_default().contains("DPoP")),
        "and DPoP: {}",
        doc["components"]
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &text).unwrap();
    let validator = workspace_root().join("ops/vendor/venv/bin/openapi-spec-validator");
    let out = std::process::Command::new(&validator).arg(file.path()).output().unwrap_or_else(|e| panic!("{}: {e} (run make setup)", validator.display()));
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Two verifiers present one code at the same moment: exactly one sees the document.
#[tokio::test]
async fn a_code_redeemed_concurrently_is_shown_to_exactly_one_verifier() {
    let s = scenario(|_| {}).await;
    let (other, other_secret) = s.tanu.client(CB, production).await;
    let other_secret = other_secret.unwrap();
    for _ in 0..4 {
        let (code, id, _) = open(&s.tanu, &s.browser()).await;
        let (a, b) = futures::join!(redeem_as(&s.tanu, s.client.id.as_str(), &s.secret, &code), redeem_as(&s.tanu, other.id.as_str(), &other_secret, &code));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
        let share = s.tanu.app.store.document_shares(&s.citizen.id, 10).await.unwrap().into_iter().find(|x| x.id == id).unwrap();
        let winner = if a.0 == 200 { s.client.id.as_str() } else { other.id.as_str() };
        assert_eq!(share.redeemed_by.as_deref(), Some(format!("client:{winner}").as_str()), "the row names the one who saw it");
    }
}

// ------------------------------------------------------------ private_key_jwt

/// `POST /me/verify/redeem` with a client registered for `private_key_jwt`
/// (RFC 7523, ES256): an assertion for another audience, one signed with
/// another key under the registered `kid`, and a replayed assertion (used
/// once at `/me/verify/redemptions`, and the one that redeemed) are each
/// refused as `invalid_client` 401 in the OAuth JSON form, and redeem
/// nothing: the share stays usable, no redemption is recorded, no wrong
/// code is counted against the verifier. A fresh assertion redeems once.
#[tokio::test]
async fn a_relying_party_redeems_with_private_key_jwt_and_forged_assertions_redeem_nothing() {
    use jsonwebtoken::Algorithm::ES256;
    use serde_json::json;
    let s = scenario(|_| {}).await;
    let key = ClientKey::es256("verifier-es256");
    let (client, secret) = s
        .tanu
        .client(CB, |c| {
            production(c);
            c.auth_method = tanu_idp::domain::TokenAuthMethod::PrivateKeyJwt;
            c.jwks = Some(key.jwks.clone().into());
            c.organisation_name = Some("Halyk Bank".into());
        })
        .await;
    assert!(secret.is_none(), "no secret for private_key_jwt");
    let id = client.id.as_str().to_string();
    let issuer = json!(s.tanu.app.config.issuer);
    let post = |path: &'static str, assertion: String, code: String| {
        let url = s.tanu.url(path);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[("client_assertion_type", tanu_idp::oidc::token::JWT_BEARER), ("client_assertion", assertion.as_str()), ("code", code.as_str())])
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}: JSON");
            (st, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (code, share_id, _) = open(&s.tanu, &s.browser()).await;

    // An assertion used once (listing this verifier's redemptions: none yet)...
    let used = key.assertion(ES256, &id, issuer.clone(), &[]);
    let (st, list) = post("/me/verify/redemptions", used.clone(), String::new()).await;
    assert_eq!((st, list), (200, json!([])));
    let attacks = [
        ("another audience", key.assertion(ES256, &id, json!("https://elsewhere.example"), &[])),
        ("another audience among several", key.assertion(ES256, &id, json!(["https://elsewhere.example/token"]), &[])),
        ("a wrong key under the registered kid", ClientKey::es256("verifier-es256").assertion(ES256, &id, issuer.clone(), &[])),
        ("a replayed assertion", used),
    ];
    for (what, assertion) in attacks {
        let (st, e) = post("/me/verify/redeem", assertion, code.clone()).await;
        assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")), "{what}: {e}");
        assert!(e["error_description"].is_string() && e.get("photo_base64").is_none(), "{what}: {e}");
    }
    // Nothing redeemed, nothing counted.
    let store = &s.tanu.app.store;
    let share = store.document_shares(&s.citizen.id, 10).await.unwrap().into_iter().find(|x| x.id == share_id).unwrap();
    assert!(share.redeemed_at.is_none() && share.redeemed_by.is_none(), "{share:?}");
    let verifier = format!("client:{id}");
    assert!(store.redemptions_by(&verifier, 10).await.unwrap().is_empty());
    assert!(store.code_failures_since(&verifier, chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap().is_empty(), "no wrong code counted");
    assert!(!s.tanu.app.journal.records().await.unwrap().iter().any(|r| r.step.starts_with("document_redeem")), "nothing reached the redemption");

    // A fresh assertion (aud the issuer) redeems, once; the view names the relying party.
    let good = key.assertion(ES256, &id, issuer.clone(), &[]);
    let (st, doc) = post("/me/verify/redeem", good.clone(), code.clone()).await;
    assert_eq!(st, 200, "{doc}");
    assert_eq!((doc["share_id"].as_str(), doc["iin"].as_str()), (Some(share_id.as_str()), Some(s.citizen.iin.as_str())));
    let share = store.document_shares(&s.citizen.id, 10).await.unwrap().into_iter().find(|x| x.id == share_id).unwrap();
    assert_eq!((share.redeemed_by.as_deref(), share.redeemed_by_name.as_deref()), (Some(verifier.as_str()), Some("Halyk Bank — Test RP")));
    // The assertion that redeemed, replayed with another code: refused, that code unspent.
    let (code2, share2, _) = open(&s.tanu, &s.browser()).await;
    let (st, e) = post("/me/verify/redeem", good, code2.clone()).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    let (st, doc) = post("/me/verify/redeem", key.assertion(ES256, &id, json!(s.tanu.url("/token")), &[]), code2).await;
    assert_eq!((st, doc["share_id"].as_str()), (200, Some(share2.as_str())), "the token endpoint is an accepted audience too: {doc}");
    let (st, mine) = post("/me/verify/redemptions", key.assertion(ES256, &id, issuer, &[]), String::new()).await;
    assert_eq!((st, mine.as_array().map(Vec::len)), (200, Some(2)), "{mine}");
}

// ------------------------------------------------------------ budgets across instances

/// Ages every redemption attempt in the database by `secs` (the budgets'
/// window passing, without waiting for it).
async fn age_attempts(tanu: &Tanu, secs: i64) {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    use tanu_idp::store::documents::entities::document_redeem_attempt;
    let db = tanu.app.store.raw_connection();
    for row in document_redeem_attempt::Entity::find().all(db).await.unwrap() {
        let at = row.at - chrono::Duration::seconds(secs);
        let mut m = row.into_active_model();
        m.at = Set(at);
        m.update(db).await.unwrap();
    }
}

async fn attempts(tanu: &Tanu) -> usize {
    use sea_orm::EntityTrait;
    use tanu_idp::store::documents::entities::document_redeem_attempt;
    document_redeem_attempt::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap().len()
}

/// A second instance on the first one's database (the same master key: the
/// same code hashes and client secrets), as behind a balancer.
async fn second_instance(first: &Tanu, tweak: impl FnOnce(&mut Config)) -> Tanu {
    let cfg = &first.app.config;
    let (db, key, registry) = (cfg.database_url.clone(), cfg.master_key.clone(), cfg.biometrics.registry_dir.clone());
    Tanu::start_with(move |c| {
        c.database_url = db;
        c.master_key = key;
        c.biometrics.registry_dir = registry;
        tweak(c);
    })
    .await
}

/// The per-minute budgets are counted in the database: two instances on one
/// database share the verifier's budget (3 a minute: two tries at one
/// instance and one at the other spend it on both) and the code space's (5
/// a minute, all verifiers), with `Retry-After` within the minute; refused
/// tries are not counted and do not spend the code. When the window has
/// passed (the attempts aged a minute in the database) the verifier may try
/// again, and the attempts out of the window are pruned.
#[tokio::test]
async fn two_instances_on_one_database_share_the_redemption_budgets() {
    let limits = |c: &mut Config| {
        c.documents.redeem_per_minute = 3;
        c.documents.redeem_per_minute_total = 5;
        c.documents.lockout_failures = 100;
    };
    let key = tanu_idp::crypto::MasterKey::generate_base64();
    let s = scenario(move |c| {
        c.master_key = key;
        limits(c);
    })
    .await;
    // Opened before the second instance starts (each instance registers the
    // cabinet's own client with its own callback address).
    let (code, share_id, _) = open(&s.tanu, &s.browser()).await;
    let second = second_instance(&s.tanu, limits).await;
    let (a, b) = (&s.tanu, &second);
    let (v1, secret1) = (s.client.id.as_str(), s.secret.as_str());
    let (v2, secret2) = s.tanu.client(CB, production).await;
    let (v2, secret2) = (v2.id.as_str().to_string(), secret2.unwrap());

    // Verifier 1: two wrong codes at A, one at B — its 3 a minute are spent everywhere.
    for t in [a, a, b] {
        assert_eq!(redeem_as(t, v1, secret1, &wrong(&code)).await.0, 400);
    }
    for t in [b, a] {
        let (st, e, retry) = redeem_as(t, v1, secret1, &code).await;
        assert_eq!((st, e["error"].as_str()), (429, Some("slow_down")), "the right code waits too, at either instance: {e}");
        let retry: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    assert_eq!(attempts(a).await, 3, "refused tries are taken back");
    // Verifier 2 has a budget of its own, but the code space's 5 are shared: two more, then no one.
    for t in [b, a] {
        assert_eq!(redeem_as(t, &v2, &secret2, &wrong(&code)).await.0, 400);
    }
    let (st, e, _) = redeem_as(b, &v2, &secret2, &code).await;
    assert_eq!((st, e["error"].as_str()), (429, Some("slow_down")), "the code space's budget is spent on both instances: {e}");

    // A minute later (the attempts aged in the database): verifier 1 redeems at B.
    age_attempts(a, 61).await;
    // An instance prunes at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, doc, _) = redeem_as(b, v1, secret1, &code).await;
    assert_eq!((st, doc["share_id"].as_str()), (200, Some(share_id.as_str())), "the refused tries did not spend the code: {doc}");
    assert_eq!(attempts(a).await, 1, "the attempts out of the window are pruned; the new one stays");
}

/// Attempts made at the same moment on two instances never admit more than
/// the verifier's budget (each counts after writing its own attempt), and
/// none of them fails otherwise (400 for a wrong code or 429, never 5xx);
/// the refused ones spend nothing: after the burst the verifier has exactly
/// the rest of its budget.
#[tokio::test]
async fn concurrent_attempts_on_two_instances_stay_within_the_budget() {
    let limits = |c: &mut Config| {
        c.documents.redeem_per_minute = 3;
        c.documents.lockout_failures = 100;
    };
    let key = tanu_idp::crypto::MasterKey::generate_base64();
    let s = scenario(move |c| {
        c.master_key = key;
        limits(c);
    })
    .await;
    let (code, _, _) = open(&s.tanu, &s.browser()).await;
    let b = second_instance(&s.tanu, limits).await;
    let bad = wrong(&code);
    let tries = (0..10).map(|i| redeem_as(if i % 2 == 0 { &s.tanu } else { &b }, s.client.id.as_str(), &s.secret, &bad));
    let statuses: Vec<u16> = futures::future::join_all(tries).await.into_iter().map(|(st, _, _)| st).collect();
    let admitted = statuses.iter().filter(|st| **st == 400).count();
    assert!(statuses.iter().all(|st| *st == 400 || *st == 429), "{statuses:?}");
    assert!(admitted <= 3, "at most the budget admitted: {statuses:?}");
    assert_eq!(attempts(&s.tanu).await, admitted, "the refused ones were taken back");
    // Contention may refuse more than needed (each sees the others' rows),
    // never admit more; what the burst did not use is still there, exactly.
    for t in (admitted..3).map(|i| if i % 2 == 0 { &b } else { &s.tanu }) {
        assert_eq!(redeem_as(t, s.client.id.as_str(), &s.secret, &bad).await.0, 400);
    }
    assert_eq!(redeem_as(&b, s.client.id.as_str(), &s.secret, &bad).await.0, 429);
}
