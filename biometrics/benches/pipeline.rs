#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or a measurement: a panic is the failure report
//! Per-stage and end-to-end timings of the face pipeline.
//!
//! `cargo bench -p tanu-biometrics` (or `ops/bench/biometrics.sh`, which also
//! runs the Python baseline and records the machine). Single-thread numbers are
//! what one sign-in costs on a busy server; "all threads" what one sign-in costs
//! on an idle one.

use criterion::{criterion_group, criterion_main, Criterion};
use tanu_biometrics::decision::{MatchDecision, Threshold};
use tanu_biometrics::models::ModelsConfig;
use tanu_biometrics::pipeline::{Engine, PipelineConfig};
use tanu_biometrics::{align, decode_image, DecodeLimits, ModelSet};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{ort_dylib, root};

fn engine(threads: usize, flush_denormals: bool) -> Engine {
    let config = ModelsConfig { dir: root().join("ops/vendor/models"), ort_dylib: Some(ort_dylib()), threads, flush_denormals, ..Default::default() };
    Engine::new(ModelSet::load(&config).expect("models (run make setup)"), PipelineConfig::default())
}

fn bench(c: &mut Criterion) {
    let bytes = std::fs::read(root().join("tests/data/faces-dev/img2.jpg")).unwrap();
    let limits = DecodeLimits::default();
    let all = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let reference = {
        let e = engine(1, true);
        e.observe(&decode_image(&bytes, &limits).unwrap()).unwrap().embedding
    };
    for (label, threads) in [("1 thread", 1), ("all threads", all)] {
        let e = engine(threads, true);
        let img = decode_image(&bytes, &limits).unwrap();
        let face = e.single_face(&img).unwrap();
        let lm = e.landmarks(&img, &face).unwrap();
        let five = align::five_points(&lm);
        let aligned = e.aligned_face(&img, &five).unwrap();
        let mut g = c.benchmark_group(format!("stage/{label}"));
        g.sample_size(20);
        g.bench_function("decode", |b| b.iter(|| decode_image(&bytes, &limits).unwrap()));
        g.bench_function("detect", |b| b.iter(|| e.detect(&img).unwrap()));
        g.bench_function("detect: resize only", |b| {
            b.iter(|| tanu_biometrics::pipeline::resize_region(&img, (0.0, 0.0, img.width() as f32, img.height() as f32), 320, 240))
        });
        g.bench_function("landmarks", |b| b.iter(|| e.landmarks(&img, &face).unwrap()));
        g.bench_function("align", |b| b.iter(|| e.aligned_face(&img, &five).unwrap()));
        g.bench_function("liveness", |b| b.iter(|| e.passive_liveness(&img, &face).unwrap()));
        g.bench_function("embed", |b| b.iter(|| e.embed(&aligned).unwrap()));
        g.bench_function("eyes", |b| b.iter(|| e.eyes_open(&img, &lm).unwrap()));
        g.bench_function("pose", |b| b.iter(|| e.pose(&img, &face).unwrap()));
        g.finish();
        let mut g = c.benchmark_group(format!("verification/{label}"));
        g.sample_size(20);
        // decode → detect → landmarks → align → liveness → embed → compare
        g.bench_function("full", |b| {
            b.iter(|| {
                let img = decode_image(&bytes, &limits).unwrap();
                let face = e.single_face(&img).unwrap();
                let lm = e.landmarks(&img, &face).unwrap();
                let aligned = e.aligned_face(&img, &align::five_points(&lm)).unwrap();
                e.passive_liveness(&img, &face).unwrap();
                let probe = e.embed(&aligned).unwrap().unwrap();
                MatchDecision::decide(&probe, &reference, Threshold::CALIBRATED)
            })
        });
        g.finish();
    }
    let slow = engine(1, false);
    let img = decode_image(&bytes, &limits).unwrap();
    let face = slow.single_face(&img).unwrap();
    let aligned = slow.aligned_face(&img, &align::five_points(&slow.landmarks(&img, &face).unwrap())).unwrap();
    let mut g = c.benchmark_group("stage/1 thread");
    g.sample_size(20);
    g.bench_function("embed (denormals kept)", |b| b.iter(|| slow.embed(&aligned).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
