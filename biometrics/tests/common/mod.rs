//! What the engine's tests (and its benchmark) share: where the repository,
//! its test data, the models and ONNX Runtime are; the engine; the clip's frames.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tanu_biometrics::models::ModelsConfig;
use tanu_biometrics::pipeline::{Engine, PipelineConfig};
use tanu_biometrics::sequence::Frame;
use tanu_biometrics::{decode_image, DecodeLimits, ModelSet};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

pub fn data(rel: &str) -> PathBuf {
    root().join("tests/data").join(rel)
}

/// ONNX Runtime where `ops/setup/models.sh` recorded it (`ops/vendor/ort-dylib`),
/// else the setup venv's wheel under whichever python3.x made it.
pub fn ort_dylib() -> PathBuf {
    if let Ok(p) = std::fs::read_to_string(root().join("ops/vendor/ort-dylib")) {
        return root().join(p.trim());
    }
    std::fs::read_dir(root().join("ops/vendor/venv/lib"))
        .expect("ops/vendor/venv (run make setup)")
        .flatten()
        .map(|e| e.path().join("site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1"))
        .find(|p| p.is_file())
        .expect("onnxruntime in ops/vendor/venv (run make setup)")
}

pub fn models_config() -> ModelsConfig {
    ModelsConfig { dir: root().join("ops/vendor/models"), ort_dylib: Some(ort_dylib()), ..Default::default() }
}

/// The engine with the default settings, loaded once per test binary.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(ModelSet::load(&models_config()).expect("models (run make setup)"), PipelineConfig::default()))
}

/// `seconds` of the shared clip from `from_s` at `fps`, timed from 0 (ffmpeg,
/// installed by make setup).
pub fn clip(from_s: f32, seconds: f32, fps: u32) -> Vec<Frame> {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-ss", &from_s.to_string(), "-t", &seconds.to_string(), "-i"])
        .arg(data("video/short_hamilton_clip.mp4"))
        .args(["-vf", &format!("fps={fps}")])
        .arg(dir.path().join("f-%03d.png"))
        .status()
        .expect("ffmpeg (installed by make setup)");
    assert!(status.success());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let step = 1000 / fps.max(1);
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| Frame { at_ms: i as u32 * step, image: decode_image(&std::fs::read(p).unwrap(), &DecodeLimits::default()).unwrap() })
        .collect()
}
