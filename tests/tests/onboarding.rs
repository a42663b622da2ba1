//! The connection procedure end to end over HTTP: the portal and the
//! console of a real Tanu, signing people in through Tanu itself, the
//! workflow on the real Temporal dev server, signatures made with the
//! OpenSSL command line against a test CA, and mail received by a real SMTP
//! server (testkit::onboarding).

use tanu_idp::i18n::{Lang, Msg};
use tanu_idp::store::onboarding::StaffRole;
use tanu_idp::store::Citizen;
use tanu_tests::csrf_field as csrf;
use tanu_tests::onboarding::{application_form, OnboardingKit, OPERATOR_BIN};
use tanu_tests::*;

const INITIATOR: &str = "850501300011";
const REVIEWER: &str = "900202400022";
const SUPERVISOR: &str = "880303400035";
const STRANGER: &str = "920404500040";
const BIN: &str = "010140000143";

struct People {
    initiator: Citizen,
    reviewer: Citizen,
    stranger: Citizen,
}

async fn people(tanu: &Tanu, kit: &OnboardingKit) -> People {
    let p = People {
        initiator: tanu.citizen(INITIATOR, "Aigerim", "Sadykova").await,
        reviewer: tanu.citizen(REVIEWER, "Daniyar", "Omarov").await,
        stranger: tanu.citizen(STRANGER, "Stranger", "Person").await,
    };
    let store = &tanu.app.store;
    store.add_staff(REVIEWER, "Omarov Daniyar", "reviewer@operator.kz", Lang::Ru, StaffRole::Reviewer).await.unwrap();
    store.add_staff(SUPERVISOR, "Kim Elena", "supervisor@operator.kz", Lang::En, StaffRole::Supervisor).await.unwrap();
    kit.pki.person("initiator", INITIATOR, Some(BIN));
    kit.pki.person("reviewer", REVIEWER, Some(OPERATOR_BIN));
    kit.pki.person("stranger", STRANGER, Some(BIN));
    p
}

/// Signs `who` in to the portal through Tanu (authorize, consent, callback)
/// and returns the page landed on.
async fn sign_in(tanu: &Tanu, browser: &Browser, who: &Citizen, next: &str) -> (u16, String) {
    tanu.sign_in_as(Some(who));
    let mut page = browser.navigate(&tanu.url(&format!("/onboarding/signin?next={next}"))).await;
    if let Landing::Page { body, .. } = &page {
        if body.contains("name=\"decision\"") {
            page = browser.consent(&page, "allow").await;
        }
    }
    match page {
        Landing::Page { status, body, .. } => (status, body),
        other => panic!("sign-in left Tanu: {other:?}"),
    }
}

async fn get(browser: &Browser, url: &str) -> (u16, String) {
    let r = browser.http.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form; returns the status and the page, following a redirect back into Tanu once.
async fn post(browser: &Browser, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    match browser.post_form(url, form).await {
        Landing::Page { status, body, .. } => (status, body),
        other => panic!("left Tanu: {other:?}"),
    }
}

async fn post_multipart(browser: &Browser, url: &str, form: reqwest::multipart::Form) -> (u16, String, Option<String>) {
    let r = browser.http.post(url).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (status, r.text().await.unwrap(), location)
}

/// Files an application as the signed-in initiator; returns its id.
async fn file(tanu: &Tanu, browser: &Browser) -> String {
    let (_, form_page) = get(browser, &tanu.url("/portal/new")).await;
    let (status, _, location) = post_multipart(browser, &tanu.url("/portal/new"), application_form(&csrf(&form_page), BIN)).await;
    assert_eq!(status, 303, "filed");
    location.unwrap().rsplit('/').next().unwrap().to_owned()
}

/// An application filed by the initiator and told to the reviewer, who is
/// signed in to the console: the two browsers and the application's id.
async fn in_review(tanu: &Tanu, kit: &OnboardingKit) -> (Browser, Browser, String) {
    let p = people(tanu, kit).await;
    let (initiator, reviewer) = (Browser::new(tanu), Browser::new(tanu));
    sign_in(tanu, &initiator, &p.initiator, "/portal").await;
    let id = file(tanu, &initiator).await;
    kit.smtp.wait_for("reviewer@operator.kz", "заявка подана").await;
    sign_in(tanu, &reviewer, &p.reviewer, "/console").await;
    (initiator, reviewer, id)
}

/// The step shown on the application's page.
async fn step(tanu: &Tanu, browser: &Browser, path: &str) -> String {
    let (status, body) = get(browser, &tanu.url(path)).await;
    assert_eq!(status, 200, "{body}");
    between(&body, "data-step=\"", "\"").unwrap()
}

async fn console_act(tanu: &Tanu, reviewer: &Browser, id: &str, form: &[(&str, &str)]) -> (u16, String) {
    let page = format!("/console/applications/{id}");
    let (_, body) = get(reviewer, &tanu.url(&page)).await;
    let token = csrf(&body);
    let mut fields = vec![("csrf", token.as_str())];
    fields.extend_from_slice(form);
    post(reviewer, &tanu.url(&format!("{page}/act")), &fields).await
}

fn act_fields(csrf: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_owned()),
        ("conclusion", "Sign-in through Tanu works in the sandbox.".into()),
        ("scenario", "1. Sign-in with face.\n2. Refusal of a photo.".into()),
        ("decision", "Ready for commissioning.".into()),
        ("commissioning_date", "2026-12-15".into()),
        ("authorised_person", "Sadykova Aigerim".into()),
        ("date", "2026-11-23".into()),
    ]
}

/// Prepares the act, downloads the exact document, signs it as `signer`
/// and uploads the signature. Returns the upload's status and page.
async fn submit_act(tanu: &Tanu, initiator: &Browser, kit: &OnboardingKit, id: &str, signer: &str) -> (u16, String) {
    submit_act_with_csrf(tanu, initiator, kit, id, signer, None).await
}

/// [`submit_act`], the upload carrying `upload_csrf` instead of the page's token when given.
async fn submit_act_with_csrf(tanu: &Tanu, initiator: &Browser, kit: &OnboardingKit, id: &str, signer: &str, upload_csrf: Option<&str>) -> (u16, String) {
    let (_, page) = get(initiator, &tanu.url(&format!("/portal/applications/{id}"))).await;
    let fields = act_fields(&csrf(&page));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, preview) = post(initiator, &tanu.url(&format!("/portal/applications/{id}/act")), &pairs).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("Sign-in through Tanu works in the sandbox."));
    let document = initiator.http.post(tanu.url(&format!("/portal/applications/{id}/act/document"))).form(&pairs).send().await.unwrap().bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&document).contains(BIN), "the act names the BIN");
    let signature = kit.pki.sign(signer, &document);
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in &fields {
        let v = match (*k, upload_csrf) {
            ("csrf", Some(forged)) => forged.to_owned(),
            _ => v.clone(),
        };
        form = form.text(*k, v);
    }
    form = form.part("signature", reqwest::multipart::Part::bytes(signature).file_name("act.p7s"));
    let (status, body, _) = post_multipart(initiator, &tanu.url(&format!("/portal/applications/{id}/act/sign")), form).await;
    (status, body)
}

#[tokio::test]
async fn an_application_goes_from_filing_to_production_through_portal_and_console() {
    let kit = OnboardingKit::start().await;
    let tanu = Tanu::start_with(|c| kit.configure(c, 1.0)).await;
    let p = people(&tanu, &kit).await;
    let initiator = Browser::new(&tanu);
    let reviewer = Browser::new(&tanu);

    // Not signed in: the portal sends the browser to sign in through Tanu.
    let r = initiator.http.get(tanu.url("/portal")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/onboarding/signin"));

    let (status, body) = sign_in(&tanu, &initiator, &p.initiator, "/portal").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Sadykova Aigerim"), "signed in by name from userinfo: {body}");

    // The form: every field checked on the server, what was typed kept.
    let (_, form_page) = get(&initiator, &tanu.url("/portal/new")).await;
    let (status, body, _) = post_multipart(&initiator, &tanu.url("/portal/new"), application_form(&csrf(&form_page), "010140000144")).await;
    assert_eq!(status, 422);
    assert!(body.contains("data-field=\"bin\""), "{body}");
    assert!(body.contains("value=\"https://bank.example.kz/oidc/callback\""), "nothing typed is lost");
    let (status, _, _) = post_multipart(&initiator, &tanu.url("/portal/new"), application_form("forged", BIN)).await;
    assert_eq!(status, 400, "a form without its CSRF token is refused");

    let id = file(&tanu, &initiator).await;
    assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{id}")).await, "review");
    let logo = initiator.http.get(tanu.url(&format!("/onboarding/logo/{id}"))).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png", "the SVG logo is kept as pixels");
    assert!(logo.bytes().await.unwrap().starts_with(b"\x89PNG"));
    // The reviewer is told, in Russian.
    let m = kit.smtp.wait_for("reviewer@operator.kz", "заявка подана").await;
    assert_eq!(m.lang, "ru");
    assert!(m.body.contains(&format!("/console/applications/{id}")), "{}", m.body);

    // The initiator is no operator; a stranger sees nothing of the application.
    assert_eq!(get(&initiator, &tanu.url("/console")).await.0, 403);
    let stranger = Browser::new(&tanu);
    sign_in(&tanu, &stranger, &p.stranger, "/portal").await;
    assert_eq!(get(&stranger, &tanu.url(&format!("/portal/applications/{id}"))).await.0, 403);
    let (_, stranger_form) = get(&stranger, &tanu.url("/portal/new")).await;
    let (status, body, _) = post_multipart(&stranger, &tanu.url("/portal/new"), application_form(&csrf(&stranger_form), BIN)).await;
    assert_eq!(status, 422, "another person cannot file for a bound BIN");
    assert!(body.contains("data-field=\"bin\""));

    // The console: the queue with the deadline and working days left.
    let (status, body) = sign_in(&tanu, &reviewer, &p.reviewer, "/console").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("data-id=\"{id}\"")), "{body}");
    let days = between(&body, "class=\"days-left\">", "<").unwrap();
    assert!(["1", "2"].contains(&days.as_str()), "2 working days to answer (1 once today has ended): {days}");

    // A refusal needs a reason; the workflow refuses what is not possible now.
    let (status, _) = console_act(&tanu, &reviewer, &id, &[("command", "refuse"), ("reason", "  ")]).await;
    assert_eq!(status, 400);
    let (status, body) = console_act(&tanu, &reviewer, &id, &[("command", "grant_production")]).await;
    assert_eq!(status, 409, "{body}");

    console_act(&tanu, &reviewer, &id, &[("command", "approve")]).await;
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "sandbox");
    kit.smtp.wait_for("cto@bank.example.kz", "өтінім мақұлданды").await;
    console_act(&tanu, &reviewer, &id, &[("command", "grant_sandbox")]).await;
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "testing");

    // Sandbox credentials: a real client with the sandbox redirect, the secret shown once.
    let cred = tanu.app.store.credential(&id, "sandbox").await.unwrap().expect("sandbox client");
    let client = tanu.app.store.client(&cred.client_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(client.redirect_uris[0].as_str(), "http://127.0.0.1:8400/callback");
    assert_eq!(client.logo_uri.as_deref(), Some(tanu.url(&format!("/onboarding/logo/{id}")).as_str()));
    let (_, page) = get(&initiator, &tanu.url(&format!("/portal/applications/{id}"))).await;
    let reveal = tanu.url(&format!("/portal/applications/{id}/secret/sandbox"));
    let (_, shown) = post(&initiator, &reveal, &[("csrf", &csrf(&page))]).await;
    let secret = between(&shown, "id=\"client-secret\">", "<").expect("the secret, once");
    assert_eq!(tanu.app.client_secrets.verify_fast(&secret, client.secret_hash.as_deref().unwrap()), Some(true), "the shown secret is the client's");
    let (_, again) = post(&initiator, &reveal, &[("csrf", &csrf(&page))]).await;
    assert!(again.contains("id=\"secret-gone\"") && !again.contains(&secret));

    // Testing: a negative result is recorded and testing goes on; the act needs a positive one.
    let test_url = tanu.url(&format!("/portal/applications/{id}/test"));
    post(&initiator, &test_url, &[("csrf", &csrf(&page)), ("result", "negative"), ("note", "redirect mismatch")]).await;
    assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{id}")).await, "testing");
    post(&initiator, &test_url, &[("csrf", &csrf(&page)), ("result", "positive"), ("note", "all scenarios pass")]).await;

    // The act, correctly signed but uploaded without the session's CSRF
    // token (a cross-site post), is refused before anything is looked at.
    for forged in ["", "forged"] {
        let (status, body) = submit_act_with_csrf(&tanu, &initiator, &kit, &id, "initiator", Some(forged)).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{id}")).await, "testing", "nothing moved");
    }
    // The act, signed by someone else's EDS, is refused; by the initiator's, accepted.
    let (status, body) = submit_act(&tanu, &initiator, &kit, &id, "stranger").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("id=\"sign-error\""));
    let (status, body) = submit_act(&tanu, &initiator, &kit, &id, "initiator").await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{id}")).await, "act_review");

    // Returned for rework with a reason, reworked, re-reviewed, approved by EDS.
    console_act(&tanu, &reviewer, &id, &[("command", "return_act"), ("reason", "Scenario 2 lacks the expected error.")]).await;
    let m = kit.smtp.wait_for("cto@bank.example.kz", "пысықтауға қайтарылды").await;
    assert!(m.body.contains("Scenario 2 lacks the expected error."), "the reason reaches the initiator: {}", m.body);
    let (status, _) = submit_act(&tanu, &initiator, &kit, &id, "initiator").await;
    assert_eq!(status, 303);
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "act_re_review");

    let (_, page) = get(&reviewer, &tanu.url(&format!("/console/applications/{id}"))).await;
    let act_sha = between(&page, "name=\"act_sha256\" value=\"", "\"").unwrap();
    let approval = [("csrf", csrf(&page)), ("act_sha256", act_sha), ("approver", "Omarov Daniyar".to_owned()), ("date", "2026-11-24".to_owned())];
    let approval_pairs: Vec<(&str, &str)> = approval.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let document = reviewer
        .http
        .post(tanu.url(&format!("/console/applications/{id}/approval/document")))
        .form(&approval_pairs)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let signature = kit.pki.sign("reviewer", &document);
    let approval_upload = |csrf: &str| {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in &approval {
            form = form.text(*k, if *k == "csrf" { csrf.to_owned() } else { v.clone() });
        }
        form.part("signature", reqwest::multipart::Part::bytes(signature.clone()))
    };
    // The approval is the operator's: the initiator posting one (with their
    // own session's token) is forbidden; the reviewer's with a forged token
    // is refused; nothing moves.
    let (_, initiator_page) = get(&initiator, &tanu.url(&format!("/portal/applications/{id}"))).await;
    let (status, _, _) =
        post_multipart(&initiator, &tanu.url(&format!("/console/applications/{id}/approval/sign")), approval_upload(&csrf(&initiator_page))).await;
    assert_eq!(status, 403);
    let (status, _, _) = post_multipart(&reviewer, &tanu.url(&format!("/console/applications/{id}/approval/sign")), approval_upload("forged")).await;
    assert_eq!(status, 400);
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "act_re_review", "nothing moved");
    let signed = approval_upload(&approval[0].1);
    let (status, _, _) = post_multipart(&reviewer, &tanu.url(&format!("/console/applications/{id}/approval/sign")), signed).await;
    assert_eq!(status, 303);
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "draft_contract");

    assert_eq!(get(&initiator, &tanu.url(&format!("/portal/applications/{id}/contract.txt"))).await.0, 404, "no draft before it is sent");
    console_act(&tanu, &reviewer, &id, &[("command", "send_draft_contract")]).await;
    let (status, contract) = get(&initiator, &tanu.url(&format!("/portal/applications/{id}/contract.txt"))).await;
    assert_eq!(status, 200);
    assert!(contract.contains(BIN) && contract.contains(OPERATOR_BIN) && contract.contains("https://bank.example.kz/oidc/callback"), "{contract}");
    let (_, page) = get(&initiator, &tanu.url(&format!("/portal/applications/{id}"))).await;
    post(&initiator, &tanu.url(&format!("/portal/applications/{id}/contract")), &[("csrf", &csrf(&page))]).await;
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "production");
    console_act(&tanu, &reviewer, &id, &[("command", "grant_production")]).await;
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "connected");

    // The production client redirects to the https URI only; the sandbox one still works.
    let prod = tanu.app.store.credential(&id, "production").await.unwrap().expect("production client");
    let prod = tanu.app.store.client(&prod.client_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(prod.redirect_uris[0].as_str(), "https://bank.example.kz/oidc/callback");
    assert_eq!(prod.environment, tanu_idp::domain::Environment::Production);
    assert!(!client.disabled);

    // The timeline shows each step, who acted, and whether in time; the documents are kept.
    let (_, page) = get(&reviewer, &tanu.url(&format!("/console/applications/{id}"))).await;
    // (The test's browsers send no Accept-Language: the pages are in Kazakh.)
    for event in [Msg::onb_e_return_act, Msg::onb_e_resubmit_act, Msg::onb_e_approve_act, Msg::onb_e_grant_production] {
        assert!(page.contains(event.text(Lang::Kk)), "timeline names {event:?}");
    }
    assert!(page.contains("Omarov Daniyar (reviewer)"));
    assert!(page.contains(Msg::onb_on_time.text(Lang::Kk)));
    assert!(!page.contains(Msg::onb_late.text(Lang::Kk)));
    assert_eq!(tanu.app.store.documents(&id).await.unwrap().len(), 3, "two acts and one approval");

    // The register.
    let csv = reviewer.http.get(tanu.url("/console/export.csv?closed=1")).send().await.unwrap().text().await.unwrap();
    let line = csv.lines().find(|l| l.starts_with(&id)).expect("the application in the register");
    assert!(line.contains(",connected,") && line.contains(BIN), "{line}");
    assert!(csv.lines().next().unwrap().starts_with("application,filed_at,bin"));

    // Every action went to the journal, and the chain holds.
    let records = tanu.app.journal.records().await.unwrap();
    assert!(records.iter().any(|r| r.step == "onboarding.grant_production"));
    assert!(tanu.app.journal.verify(None).await.unwrap().breaks.is_empty());
    // And the supervisor heard of no breach: everything was in time.
    assert!(!kit.smtp.mails().iter().any(|m| m.to.contains("supervisor@")));
}

#[tokio::test]
async fn missed_deadlines_reach_the_supervisor_and_a_missed_rework_lapses_the_application() {
    let kit = OnboardingKit::start().await;
    // 100 000×: a working day passes in about a second (test-only scale).
    let tanu = Tanu::start_with(|c| kit.configure(c, 100_000.0)).await;
    let p = people(&tanu, &kit).await;
    let initiator = Browser::new(&tanu);
    let reviewer = Browser::new(&tanu);
    sign_in(&tanu, &initiator, &p.initiator, "/portal").await;
    sign_in(&tanu, &reviewer, &p.reviewer, "/console").await;
    let id = file(&tanu, &initiator).await;

    // Nobody answers: the reminder, then the breach, mailed to the supervisor in English.
    kit.smtp.wait_for("reviewer@operator.kz", "напоминание").await;
    let m = kit.smtp.wait_for("supervisor@operator.kz", "the operator's deadline was missed").await;
    assert_eq!(m.lang, "en");
    let (_, queue) = get(&reviewer, &tanu.url("/console?overdue=1")).await;
    assert!(queue.contains(&format!("data-id=\"{id}\"")) && queue.contains("class=\"overdue\""), "{queue}");

    // The late answer is taken, and the record says it was late.
    console_act(&tanu, &reviewer, &id, &[("command", "approve")]).await;
    let (_, page) = get(&reviewer, &tanu.url(&format!("/console/applications/{id}"))).await;
    assert!(page.contains(Msg::onb_late.text(Lang::Kk)), "late on the record");
    assert!(page.contains(Msg::onb_breaches.text(Lang::Kk)), "the breach stays on the record");

    console_act(&tanu, &reviewer, &id, &[("command", "grant_sandbox")]).await;
    let (_, page) = get(&initiator, &tanu.url(&format!("/portal/applications/{id}"))).await;
    post(&initiator, &tanu.url(&format!("/portal/applications/{id}/test")), &[("csrf", &csrf(&page)), ("result", "positive"), ("note", "ok")]).await;
    let (status, _) = submit_act(&tanu, &initiator, &kit, &id, "initiator").await;
    assert_eq!(status, 303);
    console_act(&tanu, &reviewer, &id, &[("command", "return_act"), ("reason", "Missing scenario.")]).await;

    // The initiator does not rework within 3 working days: the application lapses.
    let m = kit.smtp.wait_for("cto@bank.example.kz", "өтінім жабылды").await;
    assert_eq!(m.lang, "kk");
    assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{id}")).await, "lapsed");

    // A new application may be filed, starting from the old one's fields.
    let (status, form) = get(&initiator, &tanu.url(&format!("/portal/new?from={id}"))).await;
    assert_eq!(status, 200);
    assert!(form.contains("value=\"https://bank.example.kz/oidc/callback\""));
    assert!(form.contains(&format!("name=\"previous\" value=\"{id}\"")));
    let again = file(&tanu, &initiator).await;
    assert_ne!(again, id);
    assert_eq!(step(&tanu, &initiator, &format!("/portal/applications/{again}")).await, "review");
}

#[tokio::test]
async fn without_temporal_the_portal_says_so_and_sign_in_still_works() {
    let tanu = Tanu::start_with(|c| {
        c.onboarding.temporal_address = "http://127.0.0.1:9".into();
    })
    .await;
    let citizen = tanu.citizen(INITIATOR, "Aigerim", "Sadykova").await;
    let browser = Browser::new(&tanu);
    let (status, _) = sign_in(&tanu, &browser, &citizen, "/portal").await;
    assert_eq!(status, 200, "sign-in does not need Temporal");
    let (_, form_page) = get(&browser, &tanu.url("/portal/new")).await;
    let (status, body, _) = post_multipart(&browser, &tanu.url("/portal/new"), application_form(&csrf(&form_page), BIN)).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"problem\""), "the service is unavailable, the form is kept: {body}");
    assert!(body.contains("value=\"Internet banking\""));
    assert!(tanu.app.store.applications(&Default::default()).await.unwrap().is_empty(), "nothing half-filed remains");
}

/// The portal's and console's pages take the signed-in person as an
/// extractor: a browser without a session is sent to sign in and brought
/// back to the page the request belongs to — an application's page for
/// anything under it, never a form's target (which has no page to show);
/// a signed-in initiator in the console is refused before anything is
/// looked up.
#[tokio::test]
async fn signed_out_requests_go_to_sign_in_and_come_back_to_their_page() {
    let tanu = Tanu::start_with(|c| {
        c.onboarding.temporal_address = "http://127.0.0.1:9".into();
    })
    .await;
    let stranger = Browser::new(&tanu);
    let cases: &[(&str, &str, &str)] = &[
        ("GET", "/portal", "/portal"),
        ("GET", "/portal/new?from=abc", "/portal/new"),
        ("POST", "/portal/new", "/portal/new"),
        ("GET", "/portal/applications/abc", "/portal/applications/abc"),
        ("POST", "/portal/applications/abc/test", "/portal/applications/abc"),
        ("POST", "/portal/applications/abc/act/sign", "/portal/applications/abc"),
        ("GET", "/portal/applications/abc/contract.txt", "/portal/applications/abc"),
        ("GET", "/console", "/console"),
        ("GET", "/console/export.csv", "/console"),
        ("POST", "/console/applications/abc/act", "/console/applications/abc"),
        ("POST", "/onboarding/signout", "/onboarding"),
    ];
    for (method, path, back) in cases {
        let request = if *method == "GET" {
            stranger.http.get(tanu.url(path))
        } else {
            stranger.http.post(tanu.url(path)).form(&[("csrf", "x"), ("result", "positive"), ("note", "n"), ("command", "approve")])
        };
        let r = request.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "{method} {path}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let next = format!("/onboarding/signin?next={}", url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>());
        assert_eq!(location, next, "{method} {path}");
    }

    let citizen = tanu.citizen(INITIATOR, "Aigerim", "Sadykova").await;
    let initiator = Browser::new(&tanu);
    let (status, _) = sign_in(&tanu, &initiator, &citizen, "/portal").await;
    assert_eq!(status, 200);
    for path in ["/console", "/console/applications/none", "/console/applications/none/contract.txt"] {
        let (status, body) = get(&initiator, &tanu.url(path)).await;
        assert_eq!(status, 403, "{path}: an initiator is not staff: {body}");
    }
    let (status, _) = get(&initiator, &tanu.url("/portal/applications/none")).await;
    assert_eq!(status, 404, "an unknown application is not found, in the page's language");
}

/// Issue 16: Temporal stops and comes back (its state kept in its database,
/// as a cluster's is). While it is away the console says so (503) and nothing
/// is applied; once it is back, without a restart of Tanu, the client and the
/// worker find it again, the reviewer's repeated action goes through once,
/// the application moves on and its mail is sent once.
#[tokio::test]
async fn temporal_down_and_back_loses_no_action_and_applies_none_twice() {
    let mut kit = OnboardingKit::start_persistent().await;
    let tanu = Tanu::start_with(|c| kit.configure(c, 1.0)).await;
    let (_initiator, reviewer, id) = in_review(&tanu, &kit).await;
    let page = format!("/console/applications/{id}");
    let approve = || async {
        let (_, body) = get(&reviewer, &tanu.url(&page)).await;
        let form = [("csrf", csrf(&body)), ("command", "approve".to_owned())];
        let r = reviewer.http.post(tanu.url(&format!("{page}/act"))).form(&form).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };

    kit.stop_temporal().await;
    let (status, body) = approve().await;
    assert_eq!(status, 503, "the console says the service is away: {body}");
    assert_eq!(step(&tanu, &reviewer, &page).await, "review", "nothing applied");

    kit.restart_temporal().await;
    let mut answered = Vec::new();
    for _ in 0..60 {
        let (status, _) = approve().await;
        answered.push(status);
        if status < 400 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(answered.last().is_some_and(|s| *s < 400), "the action goes through once Temporal is back: {answered:?}");
    eprintln!("after the restart the approval was answered {answered:?}");
    assert_eq!(step(&tanu, &reviewer, &page).await, "sandbox");
    kit.smtp.wait_for("cto@bank.example.kz", "өтінім мақұлданды").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let approvals = kit.smtp.mails().into_iter().filter(|m| m.to.contains("cto@bank.example.kz") && m.subject.contains("өтінім мақұлданды")).count();
    assert_eq!(approvals, 1, "applied once, told once");
}

/// The portal's multipart reader (`tanu_parse::multipart`, fuzzed in
/// `idp/fuzz`) refuses what it cannot read whole: an upload cut before its
/// closing boundary was read as complete (the parts up to the cut filed as
/// the form), and an upload of any number of parts was read; both are now
/// 400 before anything is checked or filed, and so is a body that is not
/// multipart at all.
#[tokio::test]
async fn a_truncated_or_overlong_multipart_upload_is_refused_not_read_as_complete() {
    let tanu = Tanu::start_with(|c| {
        c.onboarding.temporal_address = "http://127.0.0.1:9".into();
    })
    .await;
    let citizen = tanu.citizen(INITIATOR, "Aigerim", "Sadykova").await;
    let browser = Browser::new(&tanu);
    assert_eq!(sign_in(&tanu, &browser, &citizen, "/portal").await.0, 200);
    let (_, form_page) = get(&browser, &tanu.url("/portal/new")).await;
    let token = csrf(&form_page);
    let body = |parts: &[(&str, &str)]| -> Vec<u8> {
        let mut b: String = parts.iter().map(|(k, v)| format!("--XB\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")).collect();
        b.push_str("--XB--\r\n");
        b.into_bytes()
    };
    let fields = [("csrf", token.as_str()), ("organisation_name", "АО «Пример Банк»"), ("bin", BIN), ("system_name", "Internet banking")];
    let send = |content_type: &'static str, body: Vec<u8>| {
        let http = browser.http.clone();
        let url = tanu.url("/portal/new");
        async move {
            let r = http.post(url).header("content-type", content_type).body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // The whole form is read (and refused later, for what it lacks).
    let (status, page) = send("multipart/form-data; boundary=XB", body(&fields)).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("value=\"Internet banking\""), "the form came back with what was typed");
    // Cut after the last part, before the closing "--".
    let mut cut = body(&fields);
    cut.truncate(cut.len() - 4);
    assert!(cut.ends_with(b"\r\n--XB"));
    let (status, page) = send("multipart/form-data; boundary=XB", cut).await;
    assert_eq!(status, 400, "a truncated upload is not a form: {page}");
    assert!(!page.contains("Internet banking"));
    // More parts than any form of the portal has (`tanu_parse::multipart::MAX_PARTS`, 32).
    let mut many: Vec<(&str, &str)> = fields.to_vec();
    many.extend(std::iter::repeat_n(("x", "y"), 32));
    assert_eq!(send("multipart/form-data; boundary=XB", body(&many)).await.0, 400);
    assert_eq!(send("application/x-www-form-urlencoded", b"csrf=x".to_vec()).await.0, 400);
    assert!(tanu.app.store.applications(&Default::default()).await.unwrap().is_empty(), "nothing filed");
}

/// Polls `check` every 50 ms until it gives a value; fails after `limit`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(what: &str, limit: std::time::Duration, mut check: impl FnMut() -> F) -> T {
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(std::time::Instant::now() < until, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until a statement of this database waits on a lock (PostgreSQL).
async fn until_a_writer_waits(db: &sea_orm::DatabaseConnection, what: &str, within: std::time::Duration) {
    use sea_orm::ConnectionTrait;
    let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    eventually(&format!("{what}: a writer waiting on the lock"), within, || async {
        let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        (row.try_get::<i64>("", "n").unwrap() > 0).then_some(())
    })
    .await
}

/// Whether the workflow still has an activity to run (the Temporal CLI's view).
fn pending_activities(kit: &OnboardingKit, workflow: &str) -> usize {
    let out = std::process::Command::new(workspace_root().join("ops/vendor/venv/bin/temporal"))
        .args(["workflow", "describe", "--workflow-id", workflow, "--address", &format!("127.0.0.1:{}", kit.temporal_port), "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let described: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    described["pendingActivities"].as_array().map_or(0, Vec::len)
}

/// Issue 16: the worker killed after an activity's effect and before Temporal
/// heard of its completion. The activity runs again on another worker (after
/// its 30 s start-to-close timeout) and must not do it again: the approval's
/// OIDC client is created once, its mail sent once. The worker is a `tanu
/// worker` process reaching Temporal through a relay; a table lock taken by
/// the test stops the activity at its write, the relay is held, the lock
/// released: the effect is made and its completion is held, and then the
/// worker gets SIGKILL. Twice, for the sandbox grant: at `create_client`
/// (its credential's table) and at `notify` (the mail table). PostgreSQL only (its table locks and
/// `pg_stat_activity`); on SQLite the test says so and returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_between_an_activity_and_its_completion_creates_once_and_mails_once() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    use tanu_tests::onboarding::{Relay, WorkerProcess};
    if database_kind() != "postgres" {
        eprintln!("PostgreSQL only (table locks); runs in the PostgreSQL pass");
        return;
    }
    let kit = OnboardingKit::start().await;
    let relay = Relay::to(format!("127.0.0.1:{}", kit.temporal_port).parse().unwrap()).await;
    let tanu = Tanu::start_with(|c| {
        kit.configure(c, 1.0);
        c.onboarding.worker = false;
    })
    .await;
    let through_relay = format!("http://{}", relay.addr);
    let worker = WorkerProcess::start(&tanu.app.config, &through_relay);
    let (_initiator, reviewer, id) = in_review(&tanu, &kit).await;
    let db = tanu.app.store.raw_connection();
    let lock = |table: &'static str| async move {
        let tx = db.begin().await.unwrap();
        tx.execute_unprepared(&format!("LOCK TABLE {table} IN EXCLUSIVE MODE")).await.unwrap();
        tx
    };
    let minute = std::time::Duration::from_secs(60);

    let (status, body) = console_act(&tanu, &reviewer, &id, &[("command", "approve")]).await;
    assert!(status < 400, "{body}");
    kit.smtp.wait_for("cto@bank.example.kz", "өтінім мақұлданды").await;

    // 1. create_client (the sandbox grant): stopped at its write, completion held, worker killed.
    let credentials = lock("onboarding_credentials").await;
    let (status, body) = console_act(&tanu, &reviewer, &id, &[("command", "grant_sandbox")]).await;
    assert!(status < 400, "{body}");
    until_a_writer_waits(db, "create_client", minute).await;
    relay.hold();
    credentials.commit().await.unwrap();
    let store = &tanu.app.store;
    let client_id = eventually("the client created", minute, || async { store.credential(&id, "sandbox").await.unwrap().map(|c| c.client_id) }).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mails = lock("onboarding_mails").await;
    worker.kill();
    relay.cut();

    // 2. Another worker runs create_client again (finding the client), then
    // notify: stopped at the mail's write, completion held, killed.
    let worker = WorkerProcess::start(&tanu.app.config, &through_relay);
    until_a_writer_waits(db, "notify", 2 * minute).await;
    relay.hold();
    let before = kit.smtp.mails().len();
    mails.commit().await.unwrap();
    // The grant's mail received and recorded as sent; its completion held.
    eventually("the grant's mail received and recorded as sent", minute, || async {
        let unsent = store.unsent_mails(chrono::Utc::now() - chrono::Duration::days(1)).await.unwrap();
        (unsent.is_empty() && kit.smtp.mails().len() > before).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    worker.kill();
    relay.cut();

    // 3. A third worker runs notify again; the workflow has nothing left to run.
    let _worker = WorkerProcess::start(&tanu.app.config, &through_relay);
    // Nothing pending at two readings 2 s apart (not a gap between two activities).
    let until = std::time::Instant::now() + 2 * minute;
    let mut idle = 0;
    while idle < 2 {
        idle = if pending_activities(&kit, &id) == 0 { idle + 1 } else { 0 };
        assert!(std::time::Instant::now() < until, "the retried activities finished");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    assert_eq!(step(&tanu, &reviewer, &format!("/console/applications/{id}")).await, "testing");
    let mails: Vec<(String, String)> = kit.smtp.mails().into_iter().map(|m| (m.to, m.subject)).collect();
    assert!(mails.len() > before, "the grant was mailed");
    for m in &mails {
        assert_eq!(mails.iter().filter(|n| *n == m).count(), 1, "mailed once: {m:?} in {mails:?}");
    }
    let credentials = store.credentials(&id).await.unwrap();
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0].client_id, client_id, "the retried activity returned the client it had made");
    let sql = "SELECT COUNT(*) AS n FROM clients WHERE name LIKE '% (sandbox)'";
    let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1, "one client registered");
}
