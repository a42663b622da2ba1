#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or a measurement: a panic is the failure report
//! Presentation-attack detection on the real models (ISO/IEC 30107-3): attacks
//! made from single photos of faces-dev, and the live clip with its replays.
//! `tanu biometrics pad-eval` runs the same evaluation over more photos for the
//! README's table.

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use tanu_biometrics::attacks::{present, Instrument};
use tanu_biometrics::liveness::FrameAnalysis;
use tanu_biometrics::pad::{self, Presentation};
use tanu_biometrics::rigid::{blink_change, FaceView};
use tanu_biometrics::{decode_image, Challenge, DecodeLimits, LivenessPolicy};

mod common;
use common::{clip, data, engine};

fn photo(name: &str) -> image::RgbImage {
    decode_image(&std::fs::read(data(&format!("faces-dev/{name}"))).unwrap(), &DecodeLimits::default()).unwrap()
}

fn accepted(p: &[Presentation]) -> Vec<String> {
    p.iter().filter(|p| p.accepted).map(|p| format!("{} {} {}", p.source, p.instrument, p.schedule)).collect()
}

/// The server's schedules with its default gestures: one turn, or two when
/// the risk is high.
fn production() -> Vec<Vec<Challenge>> {
    let turns = [Challenge::TurnLeft, Challenge::TurnRight];
    [pad::schedules(&turns, 1), pad::schedules(&turns, 2)].concat()
}

#[test]
fn no_attack_made_from_one_photo_passes_the_servers_challenges() {
    let policy = LivenessPolicy::default();
    let mut all = Vec::new();
    for (k, name) in ["img2.jpg", "img17.jpg"].into_iter().enumerate() {
        all.extend(pad::attack_photo(engine(), name, &photo(name), &production(), &Instrument::all(), &policy, k as u64).unwrap());
    }
    assert_eq!(all.len(), 2 * production().len() * Instrument::all().len());
    assert_eq!(accepted(&all), Vec::<String>::new());
    for rate in pad::apcer(&all) {
        assert_eq!(rate.rate, 0.0, "{rate:?}");
    }
}

#[test]
fn the_attacks_are_strong_enough_that_the_geometry_is_what_stops_them() {
    // Without the parallax rule the challenge alone is fooled by a rotated photo
    // (the pose model reads the warp as a head turn): the attack generator makes
    // real attacks, and `three_dimensional` is the check that refuses them.
    let no_parallax = LivenessPolicy { min_parallax: 0.0, ..Default::default() };
    let rotated: Vec<Instrument> = [40.0, -40.0, 60.0, -60.0].into_iter().map(Instrument::RotatedVertical).collect();
    let singles: Vec<Vec<Challenge>> = vec![vec![Challenge::TurnLeft], vec![Challenge::TurnRight]];
    let got = pad::attack_photo(engine(), "img2.jpg", &photo("img2.jpg"), &singles, &rotated, &no_parallax, 9).unwrap();
    assert!(!accepted(&got).is_empty(), "{got:?}");
    let policy = LivenessPolicy::default();
    let got = pad::attack_photo(engine(), "img2.jpg", &photo("img2.jpg"), &singles, &rotated, &policy, 9).unwrap();
    assert_eq!(accepted(&got), Vec::<String>::new());
    assert!(got.iter().all(|p| p.failed.contains(&"three_dimensional") || p.failed.contains(&"challenge")), "{got:?}");
}

#[test]
fn live_stretches_pass_and_their_replays_in_another_sign_in_do_not() {
    let policy = LivenessPolicy::default();
    let captures = pad::live_captures(pad::SHARED_CLIP, clip);
    let (live, replays) = pad::live_and_replayed(engine(), &captures, &policy).unwrap();
    let refused: Vec<String> = live.iter().filter(|p| !p.accepted).map(|p| format!("{}: {:?}", p.source, p.failed)).collect();
    for rate in pad::bpcer(&live) {
        println!("BPCER {rate:?}");
        // The one two-turn stretch of the clip turns left only 13° beyond its
        // start (README, "Liveness"): reported, not held to the bar.
        if !rate.schedule.contains('+') {
            assert!(rate.rate <= 0.10, "BPCER {rate:?}; refused: {refused:?}");
        }
    }
    assert_eq!(accepted(&replays), Vec::<String>::new());
    assert!(replays.iter().all(|p| p.failed.contains(&"replayed_capture")), "{replays:?}");
}

/// Schedules that ask a blink: alone (what the blink's own checks stop) and
/// with a turn before or after it (what the server may draw once `blink` is
/// among its challenges).
fn with_blink() -> Vec<Vec<Challenge>> {
    vec![vec![Challenge::Blink], vec![Challenge::TurnLeft, Challenge::Blink], vec![Challenge::Blink, Challenge::TurnRight]]
}

#[test]
fn a_photo_with_painted_eyes_does_not_blink() {
    let eyes = [Instrument::PaintedEyes, Instrument::BlurredEyes];
    let policy = LivenessPolicy::default();
    let no_rule = LivenessPolicy { min_nonrigid: 0.0, ..Default::default() };
    let (mut all, mut without) = (Vec::new(), Vec::new());
    for (k, name) in ["img2.jpg", "img11.jpg", "img16.jpg", "img19.jpg"].into_iter().enumerate() {
        let seed = 100 + k as u64;
        all.extend(pad::attack_photo(engine(), name, &photo(name), &with_blink(), &eyes, &policy, seed).unwrap());
        without.extend(pad::attack_photo(engine(), name, &photo(name), &with_blink()[..1], &eyes, &no_rule, seed).unwrap());
    }
    assert_eq!(all.len(), 4 * with_blink().len() * eyes.len());
    for rate in pad::apcer(&all) {
        println!("APCER {rate:?}");
        assert_eq!(rate.rate, 0.0, "{rate:?}");
    }
    assert_eq!(accepted(&all), Vec::<String>::new());
    // Without the rule a painted photo blinks: the eye model reads the paint
    // as closed eyes, and `no_rigid_copy` alone is what refuses those.
    let fooled = accepted(&without);
    println!("accepted without no_rigid_copy: {fooled:?}");
    assert!(!fooled.is_empty(), "{without:?}");
    for p in all.iter().filter(|p| fooled.contains(&format!("{} {} {}", p.source, p.instrument, p.schedule))) {
        assert_eq!(p.failed, ["no_rigid_copy"], "{p:?}");
    }
}

/// The blink measure wherever a blink of `lengths` frames could sit in a
/// capture (every frame treated as open), for the figures below.
fn every_place(frames: &[FrameAnalysis], lengths: &[usize]) -> Vec<f32> {
    let faces: Vec<FaceView<'_>> = frames
        .iter()
        .filter(|f| f.faces == 1)
        .filter_map(|f| f.face.as_ref())
        .map(|s| FaceView { face: &s.face, landmarks: &s.landmarks, grey64: &s.grey64 })
        .collect();
    let mut out = Vec::new();
    for &len in lengths {
        for first in 2..faces.len().saturating_sub(len + 1) {
            out.extend(blink_change(&faces, first, first + len - 1, |_| true));
        }
    }
    out
}

fn summary(what: &str, mut v: Vec<f32>) {
    v.sort_by(f32::total_cmp);
    let at = |q: f32| v[((v.len() - 1) as f32 * q) as usize];
    println!("{what}: n {}, min {:.2}, 1 % {:.2}, median {:.2}, 99 % {:.2}, max {:.2}", v.len(), at(0.0), at(0.01), at(0.5), at(0.99), at(1.0));
}

/// The figures behind `LivenessPolicy::min_nonrigid` (README, "Liveness"):
/// `cargo test -p tanu-biometrics --test pad -- --ignored --nocapture rigid_copy_figures`.
#[test]
#[ignore = "prints the measurements behind min_nonrigid; about 2 minutes"]
fn rigid_copy_figures() {
    let policy = LivenessPolicy::default();
    let mut names: Vec<String> = std::fs::read_dir(data("faces-dev"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("img") && n.ends_with(".jpg"))
        .collect();
    names.sort();
    let (mut floor, mut at_blink) = (Vec::new(), Vec::new());
    for (k, name) in names.iter().take(12).enumerate() {
        let photo = photo(name);
        let Ok(face) = pad::photo_face(engine(), &photo) else { continue };
        for challenges in [vec![Challenge::Blink], vec![Challenge::TurnLeft, Challenge::Blink]] {
            let script = pad::script(&challenges);
            let schedule = pad::schedule_of(&script);
            for instrument in [Instrument::PaintedEyes, Instrument::BlurredEyes] {
                let frames = present(&photo, &face, instrument, &script, 100 + k as u64);
                let outcome = engine().analyse_sequence(&frames, &schedule, &policy).unwrap();
                floor.extend(every_place(&outcome.frames, &[2]));
                let check = outcome.report.checks.iter().find(|c| c.check == "no_rigid_copy").unwrap();
                println!("{name} {} {}: {}", instrument.name(), schedule.names(), check.detail);
                if let Some(v) = check.detail.split('(').nth(1).and_then(|d| d.split(' ').next()).and_then(|v| v.parse::<f32>().ok()) {
                    at_blink.push(v);
                }
            }
        }
    }
    summary("photos, painted or blurred eyes, at the blink the decision found", at_blink);
    // An attacker's extra camera noise: Gaussian σ 8 and 16 added to every frame.
    let mut noisy = Vec::new();
    for (k, name) in ["img2.jpg", "img11.jpg", "img16.jpg", "img19.jpg"].into_iter().enumerate() {
        let photo = photo(name);
        let face = pad::photo_face(engine(), &photo).unwrap();
        let script = pad::script(&[Challenge::Blink]);
        for sigma in [8.0f32, 16.0] {
            let mut frames = present(&photo, &face, Instrument::PaintedEyes, &script, 200 + k as u64);
            let mut rng = rand::rngs::StdRng::seed_from_u64(k as u64);
            let noise = Normal::new(0.0f32, sigma).unwrap();
            for f in &mut frames {
                for c in f.image.iter_mut() {
                    *c = (f32::from(*c) + noise.sample(&mut rng)).round().clamp(0.0, 255.0) as u8;
                }
            }
            let outcome = engine().analyse_sequence(&frames, &pad::schedule_of(&script), &policy).unwrap();
            noisy.extend(every_place(&outcome.frames, &[2]));
        }
    }
    summary("photos, painted eyes, extra noise σ 8 or 16, a 2-frame blink anywhere", noisy);
    summary("photos, painted or blurred eyes, a 2-frame blink anywhere in the capture", floor);
    let mut live = Vec::new();
    for c in pad::live_captures(pad::SHARED_CLIP, clip).iter().filter(|c| c.schedule.steps.len() == 1) {
        let outcome = engine().analyse_sequence(&c.frames, &c.schedule, &policy).unwrap();
        live.extend(every_place(&outcome.frames, &[1, 2, 3]));
    }
    summary("live clip (single-turn stretches, 10 samplings), a 1-3-frame blink anywhere", live);
}
