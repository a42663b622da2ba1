//! Issue 12: no IIN, token, secret or code in any log line. This binary holds
//! one test and one subscriber that captures everything the process logs —
//! Tanu's own crates at debug, the rest at info (production logs at info) —
//! while the flows that used to leak run: a registry record that is not valid,
//! a registry that cannot be reached, failed and successful code exchanges,
//! refresh, userinfo, logout. Then every captured line is searched.
use std::sync::{Arc, Mutex};

use tanu_tests::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// The person registry is reached by production clients only (a sandbox
/// client's sign-in reads the test registry).
const PRODUCTION_REDIRECT: &str = "https://127.0.0.1:9/cb";

fn production(c: &mut tanu_idp::store::NewClient) {
    c.environment = tanu_idp::domain::Environment::Production;
}

/// Enters `iin` on a new sign-in's IIN form; returns the answer's status.
async fn enter_iin(tanu: &Tanu, client: &tanu_idp::store::Client, iin: &str) -> u16 {
    let b = Browser::new(tanu);
    let redirect = client.redirect_uris[0].as_str();
    let Landing::Page { body, url, .. } = b.navigate(&authorize_url(tanu, &client.id, redirect, &Pkce::new(), &[("login_hint", iin)])).await else {
        panic!("the IIN page")
    };
    let csrf = between(&body, "name=\"csrf\" value=\"", "\"").expect("csrf");
    // Not `post_form`: the registry's 503 page is the answer looked for.
    b.http.post(&url).form(&[("csrf", csrf.as_str()), ("iin", iin)]).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn no_iin_token_secret_or_code_in_any_log_line() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_env_filter("info,tanu_idp=debug,tanu_biometrics=debug,tanu_workflows=debug")
        .with_writer(logs.clone())
        .with_ansi(false)
        .init();
    let mut never: Vec<String> = Vec::new();

    // The person registry: a record that is not valid, then a registry that
    // cannot be reached (its errors used to carry the file path or the URL).
    const BROKEN: &str = "900101300017";
    const UNREACHABLE: &str = "850523400026";
    let tanu = Tanu::start_face(|_| {}).await;
    let dir = tanu.app.config.biometrics.registry_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{BROKEN}.json")), b"{\"iin\": \"not json").unwrap();
    let (client, secret) = tanu.client(PRODUCTION_REDIRECT, production).await;
    assert_eq!(enter_iin(&tanu, &client, BROKEN).await, 503);
    never.extend([BROKEN.to_owned(), secret.unwrap()]);

    let unreachable = Tanu::start_face(|c| {
        c.biometrics.registry_http =
            Some(tanu_biometrics::registry::HttpRegistryConfig { base_url: "http://127.0.0.1:9".into(), retries: 1, retry_base_ms: 1, ..Default::default() });
    })
    .await;
    let (client, _) = unreachable.client(PRODUCTION_REDIRECT, production).await;
    assert_eq!(enter_iin(&unreachable, &client, UNREACHABLE).await, 503);
    never.push(UNREACHABLE.to_owned());

    // The protocol: codes, tokens, secrets, failed and successful.
    let s = Scenario::start(REDIRECT).await;
    never.extend([s.citizen.iin.clone(), s.secret.clone()]);
    s.tanu.consent(&s.citizen, &s.client.id, "openid profile iin offline_access").await;
    let b = s.browser();
    let (code, pkce) = s.code(&b, &[("scope", "openid profile iin offline_access")]).await;
    let (status, _) = redeem(&s.tanu, &s.client.id, "a wrong secret", &code, REDIRECT, &pkce.verifier).await;
    assert_eq!(status, 401);
    let (status, tokens) = redeem(&s.tanu, &s.client.id, &s.secret, &code, REDIRECT, &pkce.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, _) = redeem(&s.tanu, &s.client.id, &s.secret, &code, REDIRECT, &pkce.verifier).await;
    assert_eq!(status, 400, "a replayed code");
    never.push(code);
    let http = reqwest::Client::new();
    let userinfo = http.get(s.tanu.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(userinfo.status(), 401, "the replay revoked the grant");
    for key in ["access_token", "refresh_token", "id_token"] {
        if let Some(t) = tokens[key].as_str() {
            never.push(t.to_owned());
        }
    }
    let tokens = s.tokens(&b, &[("scope", "openid profile iin offline_access")]).await;
    let old = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = refresh(&s.tanu, &s.client.id, &s.secret, old).await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, _) = refresh(&s.tanu, &s.client.id, &s.secret, old).await;
    assert_eq!(status, 400, "a reused refresh token");
    let hint = tokens["id_token"].as_str().unwrap();
    b.navigate(&s.tanu.url(&format!("/logout?id_token_hint={hint}"))).await;
    for t in [&tokens, &refreshed] {
        for key in ["access_token", "refresh_token", "id_token"] {
            if let Some(t) = t[key].as_str() {
                never.push(t.to_owned());
            }
        }
    }

    let captured = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(captured.contains("grant revoked"), "the capture sees Tanu's own lines:\n{captured}");
    assert!(captured.contains("person registry"), "and the registry failures:\n{captured}");
    for line in captured.lines() {
        for secret in &never {
            assert!(!line.contains(secret.as_str()), "a log line holds {secret}:\n{line}");
        }
    }
}
