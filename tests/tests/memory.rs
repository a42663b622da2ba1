//! Issue 12: a memory ceiling under attack. One test in a process of its own
//! (so that the peak is this test's): 20 hostile uploads at once — huge
//! chunked bodies at the token, userinfo, sign-in and portal endpoints, PNG
//! decompression bombs as camera frames, SVG logos pointing at local files —
//! while a citizen signs in by face and the relying party exchanges the code
//! and reads userinfo. Both succeed, and the process's peak resident memory
//! (VmHWM: Tanu with its face models, the SVG renderer and the test's own
//! clients together) stays below 500 MB.
use futures::future::join_all;
use tanu_tests::face::*;
use tanu_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CEILING_MB: u64 = 500;

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches("kB").trim().parse().unwrap();
    kb / 1024
}

/// Streams up to `total` bytes of zeros as a chunked body to `path` until the
/// server stops reading; returns the status it answered with (0: none).
async fn chunked_flood(tanu: &Tanu, path: &str, content_type: &str, total: usize) -> u16 {
    let addr = tanu.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut r, mut w) = stream.into_split();
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n");
    let writer = tokio::spawn(async move {
        w.write_all(head.as_bytes()).await?;
        let chunk = [b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            w.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            w.write_all(&chunk).await?;
            w.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        w.write_all(b"0\r\n\r\n").await
    });
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(60), r.read(&mut answer)).await.ok().and_then(Result::ok).unwrap_or(0);
    writer.abort();
    String::from_utf8_lossy(&answer[..n]).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// A PNG of 6000 × 6000 black pixels: a few tens of kilobytes that would
/// decode to 108 MB of RGB.
fn png_bomb() -> Vec<u8> {
    let img = image::GrayImage::new(6000, 6000);
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

#[tokio::test]
async fn twenty_hostile_uploads_while_a_citizen_signs_in_stay_under_500_mb() {
    let (tanu, client, secret) = face_tanu(|_| {}).await;
    let bomb = png_bomb();
    assert!(bomb.len() < tanu.app.config.face.max_frame_bytes, "the bomb fits the frame budget: {} bytes", bomb.len());
    let tanu = &tanu;

    // Five browsers at the camera, each sending decompression bombs as frames.
    let mut bombers = Vec::new();
    for _ in 0..5 {
        let b = Browser::new(tanu);
        let camera = open_camera(tanu, &b, &client).await;
        bombers.push((b, camera));
    }
    let frame_bombs = bombers.iter().map(|(b, camera)| {
        let bomb = bomb.clone();
        async move {
            let (body, url) = page(camera);
            let (id, token) = (interaction(url), csrf(body));
            let mut statuses = Vec::new();
            for _ in 0..10 {
                let resp = b
                    .http
                    .post(tanu.url(&format!("/login/{id}/frame")))
                    .header("content-type", "image/png")
                    .header("x-csrf-token", &token)
                    .body(bomb.clone())
                    .send()
                    .await
                    .unwrap();
                statuses.push(resp.status().as_u16());
            }
            statuses
        }
    });
    // Ten floods of a gigabyte each at the endpoints that read bodies.
    let floods = [
        ("/token", "application/x-www-form-urlencoded"),
        ("/userinfo", "application/x-www-form-urlencoded"),
        ("/login/abc", "application/x-www-form-urlencoded"),
        ("/portal/new", "multipart/form-data; boundary=x"),
        ("/logout", "application/x-www-form-urlencoded"),
    ]
    .into_iter()
    .cycle()
    .take(10)
    .map(|(path, ct)| chunked_flood(tanu, path, ct, 1 << 30));
    // Five SVG logos: four point at local files (the renderer resolves none),
    // one is a "billion laughs" of nested <use> (10⁸ rectangles; refused).
    let svgs = ["/dev/zero", "/dev/urandom", "/etc/passwd", "file:///dev/zero", "laughs"].map(|href| {
        tokio::task::spawn_blocking(move || {
            let svg = if href == "laughs" {
                let mut defs = String::from(r#"<rect id="l0" width="1" height="1"/>"#);
                for i in 1..=8 {
                    let uses: String = (0..10).map(|_| format!(r##"<use href="#l{}"/>"##, i - 1)).collect();
                    defs.push_str(&format!(r#"<g id="l{i}">{uses}</g>"#));
                }
                format!(r##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><defs>{defs}</defs><use href="#l8"/></svg>"##)
            } else {
                format!(r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="4096" height="4096"><image href="{href}" xlink:href="{href}" width="4096" height="4096"/></svg>"#)
            };
            (href, tanu_idp::onboarding::form::Logo::sanitise(svg.as_bytes()).map(|logo| logo.png().len()))
        })
    });

    let (bomb_statuses, flood_statuses, svg_results, claims) =
        tokio::join!(join_all(frame_bombs), join_all(floods), join_all(svgs), sign_in(tanu, &client, &secret, 3.7),);
    assert_eq!(claims["userinfo"]["family_name"], "Miranda", "the citizen signed in, the code was exchanged, userinfo answered");
    for statuses in &bomb_statuses {
        assert!(statuses.iter().all(|s| *s == 200), "a bomb frame is dropped as undecodable, not fatal: {statuses:?}");
    }
    for s in &flood_statuses {
        assert_eq!(*s, 413, "every flood refused with 413: {flood_statuses:?}");
    }
    for r in svg_results {
        match r.unwrap() {
            ("laughs", result) => assert!(result.is_err(), "the nested <use> bomb is refused"),
            (href, result) => assert!(result.is_ok_and(|png| png < 64 * 1024), "{href}: rendered without the file, to a small logo"),
        }
    }
    let peak = peak_rss_mb();
    assert!(peak < CEILING_MB, "peak RSS {peak} MB");
    eprintln!("peak RSS {peak} MB");
}
