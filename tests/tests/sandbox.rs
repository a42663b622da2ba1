//! Issue 12, "sandbox is not production" (Rules §14), over HTTP against a
//! real Tanu: a sandbox client's sign-in finds test persons of the sandbox
//! registry only — a real citizen's IIN is unknown there, refused exactly as
//! any unknown IIN — and a test person who shares an IIN with a citizen is an
//! account of its own (name, `sub`, reference template); a browser session
//! of one environment never answers a client of the other.
use tanu_biometrics::registry::DirectoryRegistry;
use tanu_idp::domain::Environment;
use tanu_tests::face::*;
use tanu_tests::*;

/// A production client's redirect URI (https; the kit's browser never follows it).
const PRODUCTION: &str = "https://127.0.0.1:9/cb";

fn production(c: &mut tanu_idp::store::NewClient) {
    c.environment = Environment::Production;
}

/// The IIN page's answer with what differs between two sign-ins anyway
/// (interaction, CSRF token, the digits typed) masked.
fn masked(l: &Landing, iin: &str) -> (u16, String) {
    let (body, url) = page(l);
    let id = interaction(url);
    (page_status(l), body.replace(&id, "ID").replace(&csrf(body), "CSRF").replace(iin, "IIN"))
}

/// (a) A citizen of the person registry, asked for by a sandbox client: not
/// found, on the same page with the same status as an IIN nobody has, and
/// nothing is kept or released; the same IIN through a production client is
/// found (the refusal is the environment's, not the registry's).
#[tokio::test]
async fn a_sandbox_client_asking_for_a_real_citizen_finds_nobody() {
    const CITIZEN: &str = "921112500036";
    const NOBODY: &str = "850523400026";
    let tanu = Tanu::start_face(live_clip_timing).await;
    DirectoryRegistry::new(&tanu.app.config.biometrics.registry_dir).add(&CITIZEN.parse().unwrap(), "Citizen Real", &document_photo(), "jpg").unwrap();
    let (sandbox, _) = tanu.client(REDIRECT, |_| {}).await;
    let (prod, _) = tanu.client(PRODUCTION, production).await;

    let mut answers = Vec::new();
    for iin in [CITIZEN, NOBODY] {
        let b = Browser::new(&tanu);
        let login = b.navigate(&authorize_url(&tanu, &sandbox.id, REDIRECT, &Pkce::new(), &[("ui_locales", "en"), ("scope", "openid profile iin")])).await;
        let answer = enter_iin(&tanu, &b, &login, iin).await;
        assert!(page(&answer).0.contains("This IIN was not found"), "{iin}: {answer:?}");
        answers.push(masked(&answer, iin));
    }
    assert_eq!(answers[0].0, 422);
    assert_eq!(answers[0], answers[1], "a citizen's IIN and nobody's get the same answer, word for word");
    for environment in [Environment::Sandbox, Environment::Production] {
        assert!(tanu.app.store.citizen_by_iin(environment, CITIZEN).await.unwrap().is_none(), "no account, in neither environment");
    }
    let steps = journal_steps(&tanu).await;
    let lookups = steps.iter().filter(|s| s.0 == "registry_lookup" && s.2.as_deref() == Some("not_in_registry")).count();
    assert_eq!(lookups, 2, "both journalled alike: {steps:?}");

    // The production client finds the citizen: the next page is the biometric consent.
    let b = Browser::new(&tanu);
    let login = b.navigate(&authorize_url(&tanu, &prod.id, PRODUCTION, &Pkce::new(), &[])).await;
    let next = enter_iin(&tanu, &b, &login, CITIZEN).await;
    assert!(page(&next).1.ends_with("/biometric-consent"), "{next:?}");
}

/// (b) and (d): one IIN is both a test person (sandbox registry) and a
/// citizen (person registry), with the same face. The sandbox sign-in
/// carries the test person, forms the test person's template and touches no
/// citizen's account; the production sign-in after it is the citizen's first
/// (matched against the document photo, not the test person's template),
/// with the citizen's name and another `sub`; the test person's next sign-in
/// uses the test person's template and leaves the citizen's as it was.
#[tokio::test]
async fn a_test_person_sharing_an_iin_with_a_citizen_is_another_account() {
    let (tanu, sandbox, sandbox_secret) = face_tanu(|_| {}).await;
    DirectoryRegistry::new(&tanu.app.config.biometrics.registry_dir).add(&IIN.parse().unwrap(), "Realova Citizen", &document_photo(), "jpg").unwrap();
    let (prod, prod_secret) = tanu.client(PRODUCTION, production).await;
    let prod_secret = prod_secret.unwrap();
    let store = &tanu.app.store;

    let test = sign_in(&tanu, &sandbox, &sandbox_secret, 3.7).await;
    assert_eq!((test["userinfo"]["family_name"].as_str(), test["userinfo"]["given_name"].as_str()), (Some("Miranda"), Some("Lin-Manuel")));
    let person = store.citizen_by_iin(Environment::Sandbox, IIN).await.unwrap().expect("the test person's account");
    assert_eq!(person.environment, Environment::Sandbox);
    assert!(store.citizen_by_iin(Environment::Production, IIN).await.unwrap().is_none(), "no citizen's account formed or touched");
    assert!(store.reference_template(&person.id).await.unwrap().is_some(), "the test person's template");

    let real = sign_in(&tanu, &prod, &prod_secret, 3.74).await;
    assert_eq!(real["userinfo"]["family_name"], "Realova", "the citizen's name, from the person registry");
    let steps = journal_steps(&tanu).await;
    let last_match = steps.iter().rev().find(|s| s.0 == "match").unwrap();
    assert_eq!(last_match.2.as_deref(), Some("document_photo"), "the citizen's first sign-in: not the test person's template");
    let citizen = store.citizen_by_iin(Environment::Production, IIN).await.unwrap().expect("the citizen's account");
    assert_ne!(citizen.id, person.id);
    let citizen_template = store.reference_template(&citizen.id).await.unwrap().expect("the citizen's own template");
    assert_ne!(test["sub"], real["sub"]);
    assert_eq!(store.citizen(&person.id).await.unwrap().unwrap().family_name, "Miranda", "the test person's name kept");

    sign_in(&tanu, &sandbox, &sandbox_secret, 3.78).await;
    let steps = journal_steps(&tanu).await;
    let last_match = steps.iter().rev().find(|s| s.0 == "match").unwrap();
    assert_eq!(last_match.2.as_deref(), Some("reference_template"), "the test person's own template");
    assert_eq!(store.reference_template(&citizen.id).await.unwrap(), Some(citizen_template), "the citizen's template untouched");
}

/// A code from `client` with `prompt=none` in `b`: `Ok(code)` or `Err(error)`.
async fn silent(tanu: &Tanu, b: &Browser, client: &tanu_idp::store::Client) -> Result<String, String> {
    let redirect = client.redirect_uris[0].as_str();
    let landing = b.navigate(&authorize_url(tanu, &client.id, redirect, &Pkce::new(), &[("prompt", "none")])).await;
    landing.param("code").ok_or_else(|| landing.param("error").unwrap_or_else(|| format!("{landing:?}")))
}

/// (c) Single sign-on stays within an environment: a production session
/// gives a sandbox client no code without a sign-in of its own, nor the
/// reverse; signing in to a sandbox client neither ends nor replaces the
/// production session; and the session's row answers only its environment,
/// whatever cookie carries it.
#[tokio::test]
async fn a_session_of_one_environment_never_answers_the_other() {
    let tanu = Tanu::start().await;
    let (prod, _) = tanu.client(PRODUCTION, production).await;
    let (sandbox, _) = tanu.client(REDIRECT, |_| {}).await;
    let citizen = tanu.citizen_in(Environment::Production, "900517300124", "Aigerim", "Seitkali").await;
    tanu.sign_in_as(Some(&citizen));

    let b = Browser::new(&tanu);
    assert_eq!(silent(&tanu, &b, &prod).await, Err("login_required".into()));
    b.navigate(&authorize_url(&tanu, &prod.id, PRODUCTION, &Pkce::new(), &[])).await.param("code").expect("signed in to production");
    assert!(silent(&tanu, &b, &prod).await.is_ok(), "single sign-on within production");
    assert_eq!(silent(&tanu, &b, &sandbox).await, Err("login_required".into()), "a production session is not a sandbox one");
    // A sign-in to the sandbox (the test person of that IIN), in the same browser.
    b.navigate(&authorize_url(&tanu, &sandbox.id, REDIRECT, &Pkce::new(), &[])).await.param("code").expect("signed in to the sandbox");
    assert!(silent(&tanu, &b, &sandbox).await.is_ok(), "single sign-on within the sandbox");
    assert!(silent(&tanu, &b, &prod).await.is_ok(), "the production session outlived the sandbox sign-in");

    // The reverse, in a new browser: a sandbox session gives production nothing.
    let b2 = Browser::new(&tanu);
    b2.navigate(&authorize_url(&tanu, &sandbox.id, REDIRECT, &Pkce::new(), &[])).await.param("code").expect("signed in to the sandbox");
    assert_eq!(silent(&tanu, &b2, &prod).await, Err("login_required".into()), "a sandbox session is not a production one");

    // Each session is of its person's environment.
    use sea_orm::EntityTrait;
    let sessions = tanu_idp::store::entities::browser_session::Entity::find().all(tanu.app.store.raw_connection()).await.unwrap();
    for s in &sessions {
        let person = tanu.app.store.citizen(&s.citizen_id).await.unwrap().unwrap();
        assert_eq!(person.environment.as_str(), s.environment, "{s:?}");
    }
    assert_eq!(sessions.iter().filter(|s| s.environment == "sandbox").count(), 2, "{sessions:?}");

    // A production session's cookie presented as the sandbox's: the row is
    // production, so the sandbox finds no session.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = raw.get(authorize_url(&tanu, &prod.id, PRODUCTION, &Pkce::new(), &[])).send().await.unwrap();
    let binding = set_cookie(&first, "tanu_binding");
    let login = first.headers()["location"].to_str().unwrap().to_owned();
    let signed = raw.get(tanu.url(&login)).header("cookie", format!("tanu_binding={binding}")).send().await.unwrap();
    let session = set_cookie(&signed, "tanu_session");
    let swapped = raw
        .get(authorize_url(&tanu, &sandbox.id, REDIRECT, &Pkce::new(), &[("prompt", "none")]))
        .header("cookie", format!("tanu_binding={binding}; tanu_sandbox_session={session}"))
        .send()
        .await
        .unwrap();
    let location = swapped.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT) && location.contains("error=login_required"), "{location}");
}

fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap().to_owned()))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

/// The pairwise key: the same account seen by a sandbox and a production
/// client of one sector gets two `sub`s (another derivation of the master key).
#[tokio::test]
async fn the_sandbox_has_its_own_pairwise_key() {
    let tanu = Tanu::start().await;
    let (prod, _) = tanu.client(PRODUCTION, production).await;
    let mut same_sector = prod.clone();
    same_sector.environment = Environment::Sandbox;
    let id = "an-account-id";
    assert_ne!(tanu.app.subject(&prod, id), tanu.app.subject(&same_sector, id));
    assert_eq!(tanu.app.subject(&prod, id), tanu.app.subject(&prod.clone(), id), "stable");
}

/// The cabinet and the portal are first-party production clients: they sign
/// in citizens, never test persons, whatever the issuer's scheme.
#[tokio::test]
async fn the_cabinet_and_the_portal_are_production_clients() {
    let tanu = Tanu::start().await;
    for id in ["tanu-cabinet", "tanu-onboarding"] {
        let client = tanu.app.store.client(&id.parse().unwrap()).await.unwrap().expect(id);
        assert_eq!(client.environment, Environment::Production, "{id}");
    }
}

/// A citizen's document is production data: a sandbox client's redemption
/// of a share code is refused (`unauthorized_client`) without spending the
/// code, which the production client then redeems.
#[tokio::test]
async fn a_sandbox_client_redeems_no_citizens_document() {
    use tanu_idp::cabinet::documents::DocumentKind;
    const HOLDER: &str = "900517300128";
    let mut s = Scenario::production(PRODUCTION, |c| c.biometrics.registry_dir = c.data_dir.join("registry"), |_| {}).await;
    s.citizen = s.person(HOLDER, "Aigerim", "Seitkali").await;
    DirectoryRegistry::new(&s.tanu.app.config.biometrics.registry_dir)
        .add(&HOLDER.parse().unwrap(), "Seitkali Aigerim", b"\x89PNG\r\n\x1a\nphoto", "png")
        .unwrap();
    let (_, code) = s.tanu.app.documents().open(&s.tanu.app.cabinet, &s.citizen, DocumentKind::IdentityCard).await.unwrap();
    let (sandbox, sandbox_secret) = s.tanu.client(REDIRECT, |_| {}).await;
    let redeem = |client: String, secret: String| {
        let url = s.tanu.url("/me/verify/redeem");
        let code = code.as_str().to_owned();
        async move {
            let r = reqwest::Client::new().post(url).basic_auth(client, Some(secret)).form(&[("code", code)]).send().await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (st, e) = redeem(sandbox.id.to_string(), sandbox_secret.unwrap()).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("unauthorized_client")), "{e}");
    let (st, doc) = redeem(s.client.id.to_string(), s.secret.clone()).await;
    assert_eq!(st, 200, "the code was not spent by the refusal: {doc}");
}
