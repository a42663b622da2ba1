//! Hostile requests against a real `tanu` over HTTP (issue 12): each test is
//! the attack that would break a property, sent as a script would send it.
use std::time::{Duration, Instant};

use tanu_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw HTTP/1.1 and returns the status line's code and the whole
/// response as text (the server closes or answers within `wait`).
async fn raw_http(tanu: &Tanu, request: &[u8], wait: Duration) -> (u16, String) {
    let addr = tanu.base.trim_start_matches("http://").to_string();
    let (mut s, mut w) = tokio::net::TcpStream::connect(addr).await.unwrap().into_split();
    // Written while the answer is read: the server may answer (and stop
    // reading) before everything is written.
    let request = request.to_vec();
    let writer = tokio::spawn(async move {
        let _ = w.write_all(&request).await;
        w
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // Enough once the headers and the announced body are in.
                let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end].lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
                    if length.is_some_and(|l| out.len() >= end + 4 + l) {
                        break;
                    }
                }
            }
        }
    }
    writer.abort();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

/// A body of a gigabyte announced, a few bytes sent: refused at once with
/// 413, in the route's own error form, without waiting for (or reading) the
/// rest.
#[tokio::test]
async fn an_announced_huge_body_is_refused_before_it_is_read() {
    let tanu = Tanu::start().await;
    for (path, content_type, form) in [
        ("/token", "application/x-www-form-urlencoded", "\"error\":\"invalid_request\""),
        ("/userinfo", "application/x-www-form-urlencoded", "\"error\":\"invalid_request\""),
        ("/consent/abc", "application/x-www-form-urlencoded", "<html"),
        ("/login/abc", "application/x-www-form-urlencoded", "<html"),
        ("/login/abc/frame", "image/jpeg", "application/problem+json"),
        ("/logout", "application/x-www-form-urlencoded", "<html"),
        ("/portal/new", "multipart/form-data; boundary=x", "<html"),
        ("/console/applications/a/approval/sign", "multipart/form-data; boundary=x", "<html"),
    ] {
        let started = Instant::now();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: 1073741824\r\nAccept-Language: en\r\n\r\ncsrf=x&",
            tanu.base.trim_start_matches("http://")
        );
        let (status, text) = raw_http(&tanu, req.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(status, 413, "{path}: {text}");
        assert!(text.contains(form), "{path}: the route's error form {form}: {text}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path}: answered without waiting for the body");
    }
}

/// The same with bodies really sent: over the default budget on every form
/// route, declared or chunked; camera frames and uploads have their own.
#[tokio::test]
async fn oversized_bodies_get_413_declared_or_chunked() {
    let tanu = Tanu::start_with(|c| {
        c.max_body_bytes = 64 * 1024;
        c.face.max_frame_bytes = 100 * 1024;
        c.onboarding.max_upload_bytes = 300 * 1024;
    })
    .await;
    let http = reqwest::Client::new();
    let big = "a=".to_string() + &"x".repeat(200 * 1024);
    for path in ["/consent/abc", "/token", "/authorize", "/logout", "/portal/applications/a/test", "/onboarding/signout"] {
        let r = http.post(tanu.url(path)).header("content-type", "application/x-www-form-urlencoded").body(big.clone()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 413, "{path}");
        // Chunked: no Content-Length; read up to the budget, refused past it.
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
            tanu.base.trim_start_matches("http://")
        )
        .into_bytes();
        for _ in 0..20 {
            req.extend_from_slice(format!("{:x}\r\n", 10 * 1024).as_bytes());
            req.extend_from_slice(&[b'x'; 10 * 1024]);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let (status, text) = raw_http(&tanu, &req, Duration::from_secs(5)).await;
        assert_eq!(status, 413, "{path} chunked: {text}");
    }
    // Within the default budget a form is handled as before (here: an unknown sign-in).
    let r = http.post(tanu.url("/consent/abc")).form(&[("csrf", "x"), ("decision", "allow")]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A frame has the face budget: 150 KiB is over it, 90 KiB is not refused for its size.
    let r = http.post(tanu.url("/login/abc/frame")).header("content-type", "image/jpeg").body(vec![0u8; 150 * 1024]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let r = http.post(tanu.url("/login/abc/frame")).header("content-type", "image/jpeg").body(vec![0u8; 90 * 1024]).send().await.unwrap();
    assert_ne!(r.status().as_u16(), 413, "under the frame budget");
    // The portal's upload has its own budget, larger than the default.
    let r = http.post(tanu.url("/portal/new")).header("content-type", "multipart/form-data; boundary=b").body(vec![b'x'; 200 * 1024]).send().await.unwrap();
    assert_ne!(r.status().as_u16(), 413, "under the upload budget");
    let r = http.post(tanu.url("/portal/new")).header("content-type", "multipart/form-data; boundary=b").body(vec![b'x'; 400 * 1024]).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(http.get(tanu.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
}

/// A client behind no proxy cannot choose its address: its
/// `X-Forwarded-For` / `Forwarded` are ignored, and the budget is its own.
#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let tanu = Tanu::start_with(|c| c.rate_limit_per_minute = 3).await;
    let http = reqwest::Client::new();
    let mut statuses = vec![];
    for i in 0..5 {
        let r = http
            .get(tanu.url("/authorize?client_id=x"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .header("forwarded", format!("for=198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [400, 400, 400, 429, 429], "a new forwarded address each time does not reset the budget");
}

/// Behind a trusted proxy, the address the proxy reports is the client:
/// two citizens behind one load balancer have budgets of their own, and a
/// hop the client wrote itself (left of the proxy's) is not believed.
#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let tanu = Tanu::start_with(|c| {
        c.rate_limit_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let http = reqwest::Client::new();
    let get = |xff: String| {
        let http = http.clone();
        let url = tanu.url("/authorize?client_id=x");
        async move { http.get(url).header("x-forwarded-for", xff).send().await.unwrap().status().as_u16() }
    };
    let mut a = vec![];
    for i in 0..4 {
        // The citizen at 203.0.113.1 writes a new fake address each time; the proxy appends the real one.
        a.push(get(format!("10.{i}.0.1, 203.0.113.1")).await);
    }
    assert_eq!(a, [400, 400, 400, 429], "one budget for 203.0.113.1 whatever it wrote");
    assert_eq!(get("203.0.113.2".into()).await, 400, "another citizen behind the same proxy has a budget of its own");
    // Forwarded is not the configured header: its value is not read, the proxy's peer is.
    let r = http.get(tanu.url("/authorize?client_id=x")).header("forwarded", "for=203.0.113.9").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

/// `/token` is not in the browser budget: a relying party's backend sharing
/// an address with browsers is not throttled like them (and the reverse).
#[tokio::test]
async fn token_and_browser_budgets_are_separate() {
    let tanu = Tanu::start_with(|c| {
        c.rate_limit_per_minute = 3;
        c.token_rate_limit_per_minute = 100;
    })
    .await;
    let http = reqwest::Client::new();
    for _ in 0..4 {
        http.get(tanu.url("/authorize?client_id=x")).send().await.unwrap();
    }
    assert_eq!(http.get(tanu.url("/authorize?client_id=x")).send().await.unwrap().status().as_u16(), 429);
    for _ in 0..10 {
        let s = http.post(tanu.url("/token")).form(&[("grant_type", "refresh_token")]).send().await.unwrap().status().as_u16();
        assert_eq!(s, 401, "the browser budget is spent, the token budget is not");
    }
}

/// Two parallel `GET /authorize/resume/{id}` from the sign-in's browser:
/// exactly one code is issued.
#[tokio::test]
async fn parallel_resumes_issue_one_code() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    for _ in 0..5 {
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let pkce = Pkce::new();
        let r = http.get(authorize_url(&s.tanu, &s.client.id, &s.redirect_uri, &pkce, &[])).send().await.unwrap();
        let login = r.headers()["location"].to_str().unwrap().to_string();
        assert!(login.starts_with("/login/"), "{login}");
        let r = http.get(s.tanu.url(&login)).send().await.unwrap();
        let resume = r.headers()["location"].to_str().unwrap().to_string();
        assert!(resume.starts_with("/authorize/resume/"), "{resume}");
        let url = s.tanu.url(&resume);
        let tries: Vec<_> = (0..6).map(|_| tokio::spawn(http.get(url.clone()).send())).collect();
        let mut codes = 0;
        for t in tries {
            let r = t.await.unwrap().unwrap();
            assert!(r.status().as_u16() < 500);
            let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
            if loc.starts_with(&s.redirect_uri) && loc.contains("code=") {
                codes += 1;
            }
        }
        assert_eq!(codes, 1, "one code per sign-in");
        let n: i64 = {
            use sea_orm::{ConnectionTrait, Statement};
            let db = s.tanu.app.store.raw_connection();
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) FROM authorization_codes")).await.unwrap().unwrap();
            row.try_get_by_index(0).unwrap()
        };
        assert!(n >= 1);
    }
    let db_codes: i64 = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = s.tanu.app.store.raw_connection();
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) FROM authorization_codes")).await.unwrap().unwrap();
        row.try_get_by_index(0).unwrap()
    };
    assert_eq!(db_codes, 5, "five sign-ins, five codes in the database");
}

/// After signing in to the portal, `next` only ever leads to one of the
/// portal's own pages: `/\t/evil.example` (read by browsers as
/// `//evil.example`) and friends land on the portal.
#[tokio::test]
async fn the_portal_next_is_never_an_open_redirect() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
    tanu.sign_in_as(Some(&citizen));
    for next in ["/%09/evil.example", "//evil.example", "/%5Cevil.example", "https://evil.example/", "/%0D%0A/evil.example", "/portal/../..//evil.example"] {
        let browser = Browser::new(&tanu);
        let mut page = browser.navigate(&tanu.url(&format!("/onboarding/signin?next={next}"))).await;
        if let Landing::Page { body, .. } = &page {
            if body.contains("name=\"decision\"") {
                page = browser.consent(&page, "allow").await;
            }
        }
        match page {
            Landing::Page { url, .. } => assert!(url.ends_with("/portal"), "{next}: landed on {url}"),
            Landing::Redirect(u) => panic!("{next}: sent out of Tanu to {u}"),
        }
    }
}

/// Whether `browser` still has a session (a `prompt=none` request gets a code).
async fn signed_in(s: &Scenario, browser: &Browser) -> bool {
    let landing = browser.navigate(&authorize_url(&s.tanu, &s.client.id, &s.redirect_uri, &Pkce::new(), &[("prompt", "none")])).await;
    match landing.param("code") {
        Some(_) => true,
        None => {
            assert_eq!(landing.param("error").as_deref(), Some("login_required"), "{landing:?}");
            false
        }
    }
}

fn page_body(l: &Landing) -> &str {
    match l {
        Landing::Page { body, .. } => body,
        other => panic!("expected a page: {other:?}"),
    }
}

/// RP-Initiated Logout §2, §6: a logout link without a hint for this
/// browser's session (a cross-site link, an image, a forged form) only asks;
/// the session ends when the citizen confirms with the page's CSRF token.
#[tokio::test]
async fn logout_without_a_hint_asks_the_citizen() {
    let s = Scenario::start_with("http://127.0.0.1:9/cb", |_| {}, |c| c.post_logout_redirect_uris = vec!["http://127.0.0.1:9/bye".parse().unwrap()]).await;
    let browser = s.browser();
    s.code(&browser, &[]).await;
    for (lang, words) in [("kk", "Tanu-дан шығасыз ба?"), ("ru", "Выйти из Tanu?"), ("en", "Sign out of Tanu?")] {
        let page = browser.navigate(&s.tanu.url(&format!("/logout?client_id={}&ui_locales={lang}", s.client.id))).await;
        assert!(page_body(&page).contains(words), "{lang}: {page:?}");
    }
    // A forged cross-site form: no token, a wrong token.
    let forged = browser.post_form(&s.tanu.url("/logout"), &[("client_id", s.client.id.as_str())]).await;
    assert!(page_body(&forged).contains("logout-confirm"), "a POST without the token only asks");
    let forged = browser.post_form(&s.tanu.url("/logout"), &[("csrf", "x"), ("confirm", "yes")]).await;
    assert!(matches!(forged, Landing::Page { status: 403, .. }), "{forged:?}");
    assert!(signed_in(&s, &browser).await, "still signed in after the attempts");
    // The citizen says no.
    let page = browser.navigate(&s.tanu.url("/logout?ui_locales=en")).await;
    let csrf = between(page_body(&page), "name=\"csrf\" value=\"", "\"").unwrap();
    let stay = browser.post_form(&s.tanu.url("/logout"), &[("csrf", &csrf), ("confirm", "no"), ("ui_locales", "en")]).await;
    assert!(page_body(&stay).contains("still signed in"));
    assert!(signed_in(&s, &browser).await);
    // The citizen confirms: out, and back to the registered URI with the state.
    let page = browser.navigate(&s.tanu.url(&format!("/logout?client_id={}&post_logout_redirect_uri=http://127.0.0.1:9/bye&state=z", s.client.id))).await;
    let body = page_body(&page);
    let csrf = between(body, "name=\"csrf\" value=\"", "\"").unwrap();
    assert!(body.contains("name=\"post_logout_redirect_uri\" value=\"http://127.0.0.1:9/bye\""), "carried on");
    let out = browser
        .post_form(
            &s.tanu.url("/logout"),
            &[("csrf", &csrf), ("confirm", "yes"), ("client_id", s.client.id.as_str()), ("post_logout_redirect_uri", "http://127.0.0.1:9/bye"), ("state", "z")],
        )
        .await
        .redirect();
    assert_eq!(out.as_str(), "http://127.0.0.1:9/bye?state=z");
    assert!(!signed_in(&s, &browser).await, "the session is over");
}

/// An ID token names a session, but whoever holds it (a relying party, an
/// attacker who saw it) cannot end that session from another browser.
#[tokio::test]
async fn a_hint_alone_does_not_end_another_browsers_session() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    let victim = s.browser();
    let tokens = s.tokens(&victim, &[]).await;
    let hint = tokens["id_token"].as_str().unwrap();
    // From a browser with no session: nothing to end, and the victim's stays.
    let stranger = s.browser();
    let page = stranger.navigate(&s.tanu.url(&format!("/logout?id_token_hint={hint}"))).await;
    assert!(matches!(page, Landing::Page { status: 200, .. }));
    assert!(signed_in(&s, &victim).await, "the hint alone ended nothing");
    // From a browser with a session of its own: asked, not logged out; even confirmed, only its own ends.
    let other = s.browser();
    s.code(&other, &[]).await;
    let page = other.navigate(&s.tanu.url(&format!("/logout?id_token_hint={hint}"))).await;
    let csrf = between(page_body(&page), "name=\"csrf\" value=\"", "\"").expect("asked to confirm");
    other.post_form(&s.tanu.url("/logout"), &[("csrf", &csrf), ("confirm", "yes"), ("id_token_hint", hint)]).await;
    assert!(!signed_in(&s, &other).await, "the confirming browser is out");
    assert!(signed_in(&s, &victim).await, "the victim's session is untouched");
    // The victim's own browser with its own hint: out at once, no question.
    let page = victim.navigate(&s.tanu.url(&format!("/logout?id_token_hint={hint}"))).await;
    assert!(!page_body(&page).contains("logout-confirm"));
    assert!(!signed_in(&s, &victim).await);
}

/// Under an https issuer (TLS ended by a proxy in front): HSTS on every
/// response, cookies only `__Host-` (Secure, whole host, no Domain); on
/// every page a CSP whose forms go only to us and to the relying party the
/// page leads back to, with no `<base>`.
#[tokio::test]
async fn security_headers_and_host_cookies_under_https() {
    let cb = "http://127.0.0.1:9/cb";
    let s = Scenario::start_with(cb, |c| c.issuer = c.issuer.replacen("http://", "https://", 1), |_| {}).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(s.tanu.url("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let r = http.get(authorize_url(&s.tanu, &s.client.id, cb, &Pkce::new(), &[("prompt", "consent")])).send().await.unwrap();
    let cookies: Vec<String> = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("Secure") && c.contains("Path=/") && !c.to_ascii_lowercase().contains("domain="), "{c}");
    }
    // The consent page: forms to us and to this relying party's origin only.
    let login = r.headers()["location"].to_str().unwrap().to_string();
    let jar: Vec<String> = cookies.iter().map(|c| c.split(';').next().unwrap().to_string()).collect();
    let mut cookie_header = jar.join("; ");
    let r = http.get(s.tanu.url(&login)).header("cookie", &cookie_header).send().await.unwrap();
    for c in r.headers().get_all("set-cookie") {
        let c = c.to_str().unwrap();
        assert!(c.starts_with("__Host-") && c.contains("Secure"), "{c}");
        cookie_header.push_str("; ");
        cookie_header.push_str(c.split(';').next().unwrap());
    }
    let mut next = r.headers()["location"].to_str().unwrap().to_string();
    while !next.starts_with("/consent/") {
        let r = http.get(s.tanu.url(&next)).header("cookie", &cookie_header).send().await.unwrap();
        next = r.headers()["location"].to_str().unwrap().to_string();
    }
    let r = http.get(s.tanu.url(&next)).header("cookie", &cookie_header).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9;"), "{csp}");
    assert!(csp.contains("base-uri 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    // Another page: forms to us only.
    let r = http.get(s.tanu.url("/consent/unknown")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self';") && csp.contains("base-uri 'none'"), "{csp}");
}

/// Under a plain-http (loopback, development) issuer no HSTS is sent and
/// cookies keep their plain names (a `__Host-` cookie needs https).
#[tokio::test]
async fn no_hsts_under_a_loopback_http_issuer() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(authorize_url(&s.tanu, &s.client.id, &s.redirect_uri, &Pkce::new(), &[])).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
    let c = r.headers()["set-cookie"].to_str().unwrap();
    assert!(c.starts_with("tanu_binding=") && !c.contains("Secure"), "{c}");
}

/// Two sandbox clients of two initiators on one loopback host used to share
/// the sector `127.0.0.1`, and so a citizen's `sub`: the port is part of a
/// loopback sector. Clients sharing a verified sector_identifier_uri share it.
#[tokio::test]
async fn loopback_clients_on_two_ports_see_two_subjects() {
    let tanu = Tanu::start().await;
    let citizen = tanu.citizen("900517300124", "A", "B").await;
    tanu.sign_in_as(Some(&citizen));
    // A sector document, served on the loopback (a sandbox may use http there).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let doc_port = listener.local_addr().unwrap().port();
    let body = r#"["http://127.0.0.1:9/cb","http://127.0.0.1:10/cb"]"#;
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.read(&mut [0u8; 4096]);
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let sector_uri = format!("http://127.0.0.1:{doc_port}/sector.json");
    let mut subs = vec![];
    for (cb, shared) in [("http://127.0.0.1:9/cb", false), ("http://127.0.0.1:10/cb", false), ("http://127.0.0.1:9/cb", true), ("http://127.0.0.1:10/cb", true)]
    {
        let sector = if shared {
            let uris = vec![cb.parse().unwrap()];
            Some(tanu_idp::sector::fetch(&sector_uri, &uris, tanu_idp::domain::Environment::Sandbox).await.unwrap())
        } else {
            None
        };
        let (client, secret) = tanu.client(cb, |c| c.sector_identifier = sector).await;
        let pkce = Pkce::new();
        let code = Browser::new(&tanu).navigate(&authorize_url(&tanu, &client.id, cb, &pkce, &[])).await.param("code").unwrap();
        let (status, body) = redeem(&tanu, &client.id, secret.as_deref().unwrap(), &code, cb, &pkce.verifier).await;
        assert_eq!(status, 200, "{body}");
        subs.push(jwt_claims(body["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string());
    }
    assert_ne!(subs[0], subs[1], "two loopback ports, two sectors, two subjects");
    assert_eq!(subs[2], subs[3], "one sector_identifier_uri, one subject");
    assert_ne!(subs[2], subs[0]);
    let unlisted = vec!["http://127.0.0.1:11/cb".parse().unwrap()];
    let e = tanu_idp::sector::fetch(&sector_uri, &unlisted, tanu_idp::domain::Environment::Sandbox).await.unwrap_err();
    assert!(e.to_string().contains("not listed"), "{e}");
}

async fn refresh(s: &Scenario, rt: &str, scope: Option<&str>) -> (u16, serde_json::Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let r = reqwest::Client::new().post(s.tanu.url("/token")).basic_auth(s.client.id.as_str(), Some(&s.secret)).form(&form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn userinfo(s: &Scenario, at: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().get(s.tanu.url("/userinfo")).bearer_auth(at).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

/// OIDC Core §11: a refresh token only for `offline_access`, and only with
/// the citizen's consent (asked on the consent page like any data).
#[tokio::test]
async fn refresh_tokens_only_for_offline_access_with_consent() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    let online = s.tokens(&s.browser(), &[]).await;
    assert!(online.get("refresh_token").is_none(), "no offline access asked, no refresh token: {online}");
    // Asked for, not yet consented: the consent page says so.
    let browser = s.browser();
    let page = browser
        .navigate(&authorize_url(&s.tanu, &s.client.id, &s.redirect_uri, &Pkce::new(), &[("scope", "openid offline_access"), ("ui_locales", "en")]))
        .await;
    assert!(page_body(&page).contains("name=\"decision\""), "consent asked: {page:?}");
    let none =
        browser.navigate(&authorize_url(&s.tanu, &s.client.id, &s.redirect_uri, &Pkce::new(), &[("scope", "openid offline_access"), ("prompt", "none")])).await;
    assert_eq!(none.param("error").as_deref(), Some("consent_required"));
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let offline = s.tokens(&browser, &[("scope", "openid offline_access")]).await;
    assert!(offline["refresh_token"].is_string(), "{offline}");
}

/// A grant's refresh tokens end with the grant's absolute lifetime:
/// rotating does not extend it.
#[tokio::test]
async fn rotation_does_not_extend_an_offline_grant() {
    let s = Scenario::start_with(
        "http://127.0.0.1:9/cb",
        |c| {
            c.refresh_grant_lifetime = 4;
            c.refresh_token_ttl = 3600;
        },
        |_| {},
    )
    .await;
    s.tanu.consent(&s.citizen, &s.client.id, "offline_access").await;
    let first = s.tokens(&s.browser(), &[("scope", "openid offline_access")]).await;
    let mut rt = first["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let (status, body) = refresh(&s, &rt, None).await;
        assert_eq!(status, 200, "{body}");
        rt = body["refresh_token"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = refresh(&s, &rt, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "past the grant's lifetime: {body}");
}

/// RFC 6749 §6: a refresh with a narrower `scope` narrows what the new
/// access token reads at userinfo, not only the response's `scope`.
#[tokio::test]
async fn a_narrowed_refresh_narrows_userinfo() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile iin offline_access").await;
    let wide = s.tokens(&s.browser(), &[("scope", "openid iin offline_access")]).await;
    assert_eq!(userinfo(&s, wide["access_token"].as_str().unwrap()).await.1["iin"], "900517300124");
    let (status, narrow) = refresh(&s, wide["refresh_token"].as_str().unwrap(), Some("openid offline_access")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(narrow["scope"], "openid offline_access");
    let (status, info) = userinfo(&s, narrow["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(info.get("iin").is_none(), "narrowed: {info}");
    assert!(info["sub"].is_string());
    // The grant itself is not narrowed: a later refresh may ask for all of it again.
    let (status, again) = refresh(&s, narrow["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
    let (_, info) = userinfo(&s, again["access_token"].as_str().unwrap()).await;
    assert_eq!(info["iin"], "900517300124");
    // Wider than the grant: refused.
    let (status, body) = refresh(&s, again["refresh_token"].as_str().unwrap(), Some("openid profile offline_access")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");
}

/// Logout ends the browser's online grants (their access tokens die with
/// the session); an offline grant is what offline access means and stays.
#[tokio::test]
async fn logout_revokes_the_sessions_online_grants() {
    let s = Scenario::start("http://127.0.0.1:9/cb").await;
    s.tanu.consent(&s.citizen, &s.client.id, "profile offline_access").await;
    let browser = s.browser();
    let online = s.tokens(&browser, &[("scope", "openid profile")]).await;
    let offline = s.tokens(&browser, &[("scope", "openid offline_access")]).await;
    assert_eq!(userinfo(&s, online["access_token"].as_str().unwrap()).await.0, 200);
    let page = browser.navigate(&s.tanu.url(&format!("/logout?id_token_hint={}", online["id_token"].as_str().unwrap()))).await;
    assert!(matches!(page, Landing::Page { status: 200, .. }));
    assert!(!signed_in(&s, &browser).await);
    assert_eq!(userinfo(&s, online["access_token"].as_str().unwrap()).await.0, 401, "online grant revoked at logout");
    assert_eq!(userinfo(&s, offline["access_token"].as_str().unwrap()).await.0, 200, "offline grant kept");
    let (status, _) = refresh(&s, offline["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 200);
}

/// Issue 12, templates and keys at rest: the wrapped data key lives in a table
/// of its own, so the template's row (or a backup of that table) holds no key;
/// withdrawal deletes both; a template whose key is gone is shredded — read as
/// no template, the next sign-in a first one.
#[tokio::test]
async fn withdrawal_shreds_the_template_and_its_key() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    use tanu_biometrics::{decision::Embedding, template};
    use tanu_idp::store::entities::{reference_template, template_key};
    let tanu = Tanu::start().await;
    let store = &tanu.app.store;
    let master = template::TemplateMasterKey::from_bytes(tanu_idp::face::template_key(&tanu_idp::app::master_key(&tanu.app.config).unwrap()));
    let citizen = tanu.citizen("900517300124", "Aigerim", "Seitkali").await;
    store.record_biometric_consent(&citizen.id, tanu_idp::store::biometric::CONSENT_TEXT_VERSION).await.unwrap();
    let embedding = Embedding::normalised(&[0.25; 512]).unwrap();
    let sealed = template::seal(&master, &citizen.id, &embedding);
    store.save_reference_template(&citizen.id, &sealed).await.unwrap();
    let read = store.reference_template(&citizen.id).await.unwrap().expect("stored");
    let opened = template::open(&master, &citizen.id, &read).unwrap();
    assert!(opened.as_slice().iter().zip(embedding.as_slice()).all(|(a, b)| (a - b).abs() < 1e-6), "it opens with its key");

    // A backup of the templates' table alone: the sealed embedding, no key.
    let backup = reference_template::Entity::find_by_id(citizen.id.clone()).one(store.raw_connection()).await.unwrap().unwrap();
    let without_key = template::SealedTemplate { wrapped_key: Vec::new(), sealed_embedding: read.sealed_embedding.clone() };
    assert!(template::open(&master, &citizen.id, &without_key).is_err(), "the master key alone opens nothing");
    assert!(!format!("{backup:?}").contains(&base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &read.wrapped_key)));

    // The key lost alone (say, restored from an empty backup): shredded.
    template_key::Entity::delete_by_id(citizen.id.clone()).exec(store.raw_connection()).await.unwrap();
    assert!(store.reference_template(&citizen.id).await.unwrap().is_none());

    // Withdrawal deletes both.
    store.save_reference_template(&citizen.id, &sealed).await.unwrap();
    assert!(store.withdraw_biometric_consent(&citizen.id).await.unwrap());
    assert_eq!(template_key::Entity::find().count(store.raw_connection()).await.unwrap(), 0);
    assert_eq!(reference_template::Entity::find().count(store.raw_connection()).await.unwrap(), 0);
    assert!(store.biometric_consent(&citizen.id).await.unwrap().is_none());
}

/// Issue 12: failures of a client are limited per client id, not only per
/// address: wrong secrets in one client's name from ever new addresses
/// (behind a trusted proxy) get 429 past that client's budget, while the right
/// secret still works and another client is not affected.
#[tokio::test]
async fn a_clients_failures_are_limited_per_client_not_per_address() {
    let s = Scenario::start_with(
        "http://127.0.0.1:9/cb",
        |c| {
            c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
            c.client_auth_failures_per_minute = 5;
        },
        |_| {},
    )
    .await;
    let (other, other_secret) = s.tanu.client("http://127.0.0.1:9/other", |_| {}).await;
    let http = reqwest::Client::new();
    let revoke = |client: &str, secret: &str, from: String| {
        http.post(s.tanu.url("/revoke")).basic_auth(client, Some(secret)).header("x-forwarded-for", from).form(&[("token", "x")]).send()
    };
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = revoke(s.client.id.as_str(), "wrong-secret", format!("198.51.100.{i}")).await.unwrap();
        let status = r.status().as_u16();
        if status == 429 {
            assert!(r.headers().get("retry-after").is_some());
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_client");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429], "a new address each time does not reset the client's budget");
    let right = revoke(s.client.id.as_str(), &s.secret, "198.51.100.99".into()).await.unwrap();
    assert_eq!(right.status(), 200, "the relying party itself is not locked out");
    let wrong_other = revoke(other.id.as_str(), "wrong-secret", "198.51.100.100".into()).await.unwrap();
    assert_eq!(wrong_other.status(), 401, "another client has its own budget");
    assert_eq!(revoke(other.id.as_str(), &other_secret.unwrap(), "198.51.100.101".into()).await.unwrap().status(), 200);
}
