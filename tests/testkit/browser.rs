//! Debian Chromium driven by playwright-core (`tests/browser/*.mjs`): the
//! fake camera's files and the face sign-in driver the browser tests share.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

/// A y4m file for Chromium's fake camera, made by ffmpeg with `args`.
pub fn y4m(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg").args(["-loglevel", "error", "-y"]).args(args).args(["-pix_fmt", "yuv420p"]).arg(&out).status().expect("ffmpeg");
    assert!(status.success());
    out
}

/// The live shot of the clip from `from` seconds, slowed to 1.5×, with
/// sensor noise; its first frame held for 1.5 s before the head moves (a
/// person waits for the instruction: the server's answer revealing the
/// challenge must come before the turn even on a loaded machine), and its
/// last held for 5 s, so that Chromium, which loops the file, never jumps
/// back to the start during a capture that a busy server makes long. (With
/// 0.8 s and no tail the face journey failed in full `make test` runs and
/// passed alone: the turn seen before the reveal, or the identity broken —
/// what a capture slower than its camera file would give.)
pub fn live_camera(dir: &Path, from: &str) -> PathBuf {
    let clip = crate::test_data("video/short_hamilton_clip.mp4");
    let vf = "setpts=1.5*PTS,fps=10,scale=640:360,tpad=start_duration=1.5:start_mode=clone:stop_duration=5:stop_mode=clone,noise=alls=4:allf=t";
    y4m(dir, &format!("live-{from}.y4m"), &["-ss", from, "-t", "4.0", "-i", clip.to_str().unwrap(), "-vf", vf])
}

/// Where the browser runs leave their screenshots.
pub fn artifacts() -> PathBuf {
    let dir = workspace_root().join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(serde::Deserialize, Debug)]
pub struct Run {
    pub redirect: Option<String>,
    #[serde(default)]
    pub pages: Vec<String>,
    pub reason: Option<String>,
    pub error: Option<String>,
}

/// A face sign-in in Chromium from `url` (an authorization request) with
/// `camera` as the webcam; the pages seen and where it landed. The browser
/// stops at the relying party's `redirect` (kept from the network).
pub fn drive(url: &str, redirect: &str, iin: &str, camera: &Path, lang: &str, tag: &str) -> Run {
    let args = serde_json::json!({
        "url": url, "iin": iin, "camera": camera, "lang": lang, "tag": tag, "redirect": redirect,
        "shots": artifacts(),
    });
    let out = Command::new("node").arg(workspace_root().join("tests/browser/face.mjs")).arg(args.to_string()).output().expect("node (installed by make setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_else(|| panic!("no output; stderr: {}", String::from_utf8_lossy(&out.stderr)));
    let run: Run = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert!(run.error.is_none(), "browser run failed: {run:?}; see target/browser-artifacts/{tag}-error.png");
    run
}
