//! Presentation-attack detection on the real models (ISO/IEC 30107-3): attacks
//! made from single photos of faces-dev, and the live clip with its replays.
//! `tanu biometrics pad-eval` runs the same evaluation over more photos for the
//! README's table.

use tanu_biometrics::attacks::Instrument;
use tanu_biometrics::pad::{self, Presentation};
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
