use super::*;
use crate::rigid::synthetic::{crop, face_points, noise, skin, under_paint};

/// 68 points of a rough 3-D head (a face's layout; nose forward, sides back),
/// in face widths.
fn head() -> Vec<[f64; 3]> {
    face_points().iter().map(|p| [p[0], p[1], 0.3 * (1.0 - 4.0 * p[0] * p[0])]).collect()
}

/// The landmarks of the head (or of a flat picture of it) turned by `yaw`,
/// 160 px wide in a 640×480 view.
fn landmarks(yaw: f32, flat: bool) -> Vec<[f32; 2]> {
    let (s, c) = f64::from(yaw).to_radians().sin_cos();
    head()
        .iter()
        .map(|p| {
            let z = if flat { 0.0 } else { p[2] };
            let (x, zz) = (p[0] * c + z * s, -p[0] * s + z * c);
            let depth = 3.0 - zz;
            [(320.0 + 3.0 * 160.0 * x / depth) as f32, (240.0 + 3.0 * 160.0 * p[1] / depth) as f32]
        })
        .collect()
}

fn embedding(angle: f32) -> Embedding {
    Embedding::normalised(&[angle.cos(), angle.sin(), 0.0]).unwrap()
}

/// A frame of a live-looking capture at `i`×125 ms: the head at `yaw`, eyes
/// as given, natural small motion, same person. A `flat` picture is the same
/// picture in every frame outside its eyes (painted over when closed); a
/// head's cheeks and mouth move a little from frame to frame.
fn frame(i: u32, yaw: f32, eyes: [f32; 2], flat: bool) -> FrameAnalysis {
    let jitter = (i % 3) as f32;
    let lm: Vec<[f32; 2]> = landmarks(yaw, flat).into_iter().map(|p| [p[0] + jitter, p[1] + 0.5 * jitter]).collect();
    let (x1, x2) = lm.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
    let (y1, y2) = lm.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p[1]), b.max(p[1])));
    let turned = yaw.abs() > 35.0 || eyes[0] < 0.5;
    let face = FaceBox { x1, y1, x2, y2: y1 + (x2 - x1).max(y2 - y1), score: 0.99 };
    let closed = eyes[0] < 0.5 && eyes[1] < 0.5;
    let t = f64::from(i);
    let grey64 = crop(&face, |x, y| {
        let (fx, fy) = ((x - 320.0 - f64::from(jitter)) / 160.0, (y - 240.0 - 0.5 * f64::from(jitter)) / 160.0);
        let moving = if flat {
            0.0
        } else {
            40.0 * (1.9 * t).sin() * (-((fx - 0.25).powi(2) + (fy - 0.1).powi(2)) / 0.01).exp()
                + 35.0 * (1.3 * t).cos() * (-((fx + 0.15).powi(2) + (fy - 0.3).powi(2)) / 0.008).exp()
        };
        let skin = if closed && under_paint(fx, fy) { 150.0 } else { skin(fx, fy) + moving };
        skin + noise(i, x, y, 4.0)
    });
    FrameAnalysis {
        at_ms: i * 125,
        faces: 1,
        face: Some(FaceSample {
            face,
            landmarks: lm,
            pose: [yaw, 0.0, 0.0],
            eyes_open: eyes,
            passive_live: Some(0.4),
            embedding: embedding(0.05 * (i % 4) as f32),
            quality: turned.then(|| "head_turned".to_owned()),
            grey64,
            periodic: Some(8.0),
        }),
    }
}

const OPEN: [f32; 2] = [0.95, 0.95];
const CLOSED: [f32; 2] = [0.05, 0.1];

/// 32 frames; the challenge revealed with frame 9; `yaw_at(i)` and `eyes_at(i)` per frame.
fn capture(yaw_at: impl Fn(u32) -> f32, eyes_at: impl Fn(u32) -> [f32; 2], flat: bool) -> Vec<FrameAnalysis> {
    (0..32).map(|i| frame(i, yaw_at(i), eyes_at(i), flat)).collect()
}

/// A turn of `to` degrees starting two frames after frame 9, held, and back.
fn turn(to: f32) -> impl Fn(u32) -> f32 {
    move |i| match i {
        11 => to / 3.0,
        12 => 2.0 * to / 3.0,
        13..=17 => to,
        18 => to / 2.0,
        _ => 0.5 * (i % 2) as f32,
    }
}

fn open(_: u32) -> [f32; 2] {
    OPEN
}

fn at9(c: Challenge) -> Schedule {
    Schedule::single(c, 9 * 125)
}

fn failed(frames: &[FrameAnalysis], s: &Schedule) -> Vec<&'static str> {
    evaluate(frames, s, &LivenessPolicy::default()).failed()
}

#[test]
fn a_live_head_answering_its_challenge_passes() {
    assert_eq!(failed(&capture(turn(-25.0), open, false), &at9(Challenge::TurnLeft)), Vec::<&str>::new());
    assert_eq!(failed(&capture(turn(25.0), open, false), &at9(Challenge::TurnRight)), Vec::<&str>::new());
    let blink = |i| if i == 13 || i == 14 { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(|_| 0.0, blink, false), &at9(Challenge::Blink)), Vec::<&str>::new());
}

#[test]
fn a_photo_blinking_with_painted_eyes_is_a_rigid_copy() {
    let s = at9(Challenge::Blink);
    // The eyes painted shut for two, three or four frames of a still picture.
    for closed in [13..=14, 13..=15, 12..=15] {
        let painted = |i| if closed.contains(&i) { CLOSED } else { OPEN };
        let r = evaluate(&capture(|_| 0.0, painted, true), &s, &LivenessPolicy::default());
        assert_eq!(r.failed(), ["no_rigid_copy"], "{r:?}");
        let detail = &r.checks.iter().find(|c| c.check == "no_rigid_copy").unwrap().detail;
        assert!(detail.contains("rigid copy"), "{detail}");
        // The same blink with the face moving around the eyes is accepted.
        assert_eq!(failed(&capture(|_| 0.0, painted, false), &s), Vec::<&str>::new());
    }
    // The rule, not something else, refuses it.
    let lenient = LivenessPolicy { min_nonrigid: 0.0, ..Default::default() };
    let painted = |i| if i == 13 || i == 14 { CLOSED } else { OPEN };
    assert!(evaluate(&capture(|_| 0.0, painted, true), &s, &lenient).live);
}

#[test]
fn a_blink_that_cannot_be_compared_is_refused() {
    // No open frame two before or after the blink's: nothing to compare it with.
    let mut frames = capture(|_| 0.0, |i| if i == 13 || i == 14 { CLOSED } else { OPEN }, false);
    for f in &mut frames {
        f.face.as_mut().unwrap().grey64.truncate(64);
    }
    let r = evaluate(&frames, &at9(Challenge::Blink), &LivenessPolicy::default());
    assert_eq!(r.failed(), ["no_rigid_copy"]);
}

#[test]
fn a_flat_picture_turned_in_perspective_has_no_parallax() {
    let got = failed(&capture(turn(-25.0), open, true), &at9(Challenge::TurnLeft));
    assert_eq!(got, ["three_dimensional"]);
}

#[test]
fn the_wrong_or_no_gesture_fails() {
    assert_eq!(failed(&capture(turn(25.0), open, false), &at9(Challenge::TurnLeft)), ["challenge", "three_dimensional"]);
    assert_eq!(failed(&capture(turn(-8.0), open, false), &at9(Challenge::TurnLeft)), ["challenge", "three_dimensional"]);
    assert_eq!(failed(&capture(|_| 0.0, open, false), &at9(Challenge::Blink)), ["challenge"]);
    // Relaxed only where a policy says so.
    let relaxed = LivenessPolicy { require_challenge: false, ..Default::default() };
    assert!(evaluate(&capture(|_| 0.0, open, false), &at9(Challenge::Blink), &relaxed).live);
}

#[test]
fn a_recording_of_every_gesture_answers_none() {
    // Left, then right, then a blink: whatever was asked, something else happened too.
    let all = |i: u32| match i {
        11..=14 => -25.0,
        17..=20 => 25.0,
        _ => 0.0,
    };
    let blink = |i| if i == 24 { CLOSED } else { OPEN };
    for c in Challenge::ALL {
        let got = failed(&capture(all, blink, false), &at9(c));
        assert!(got.contains(&"challenge"), "{c:?}: {got:?}");
    }
}

#[test]
fn a_gesture_made_before_the_client_could_know_the_challenge_does_not_count() {
    // Turned already while the baseline was being taken.
    let early = |i: u32| if (5..=8).contains(&i) { -25.0 } else { 0.0 };
    let r = evaluate(&capture(early, open, false), &at9(Challenge::TurnLeft), &LivenessPolicy::default());
    assert!(r.failed().contains(&"challenge"), "{r:?}");
    // A turn only in the frame whose answer revealed the challenge (and the one
    // before it) is not an answer either.
    let at_reveal = |i: u32| if i == 8 || i == 9 { -25.0 } else { 0.0 };
    assert!(failed(&capture(at_reveal, open, false), &at9(Challenge::TurnLeft)).contains(&"challenge"));
}

#[test]
fn one_outlier_of_the_pose_model_never_decides() {
    let spike = |i: u32| if i == 14 { -40.0 } else { 0.0 };
    assert!(failed(&capture(spike, open, false), &at9(Challenge::TurnLeft)).contains(&"challenge"));
    // Two outliers apart are still not a held turn.
    let spikes = |i: u32| if i == 12 || i == 15 { -40.0 } else { 0.0 };
    assert!(failed(&capture(spikes, open, false), &at9(Challenge::TurnLeft)).contains(&"challenge"));
}

#[test]
fn a_turn_that_jumps_is_refused() {
    // Straight, then at once 60° and held: a cut to another picture, not a turn.
    let jump = |i: u32| if (12..=16).contains(&i) { -60.0 } else { 0.0 };
    let r = evaluate(&capture(jump, open, false), &at9(Challenge::TurnLeft), &LivenessPolicy::default());
    let detail = &r.checks.iter().find(|c| c.check == "challenge").unwrap().detail;
    assert!(!r.live && detail.contains("jumped"), "{detail}");
}

#[test]
fn a_gesture_after_its_window_does_not_count() {
    let late = |i: u32| if (30..=31).contains(&i) { -25.0 } else { 0.0 };
    let policy = LivenessPolicy { window_ms: 2000, ..Default::default() };
    assert!(evaluate(&capture(late, open, false), &at9(Challenge::TurnLeft), &policy).failed().contains(&"challenge"));
}

#[test]
fn a_blink_is_both_eyes_briefly() {
    let s = at9(Challenge::Blink);
    let one_eye = |i| if i == 13 || i == 14 { [0.05, 0.95] } else { OPEN };
    assert_eq!(failed(&capture(|_| 0.0, one_eye, false), &s), ["challenge"]);
    // Eyes painted shut for a second and a half is not a blink.
    let long = |i| if (12..=24).contains(&i) { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(|_| 0.0, long, false), &s), ["challenge"]);
    // A blink before the challenge is not its answer.
    let early = |i| if i == 5 { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(|_| 0.0, early, false), &s), ["challenge"]);
    // A turn instead of, or on top of, the blink fails it.
    let blink = |i| if i == 20 { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(turn(25.0), blink, false), &s), ["challenge"]);
}

#[test]
fn two_challenges_are_each_answered_in_their_own_window() {
    let s = Schedule {
        steps: vec![Step { challenge: Challenge::TurnLeft, revealed_at_ms: 9 * 125 }, Step { challenge: Challenge::Blink, revealed_at_ms: 19 * 125 }],
    };
    // The head comes back from the turn during the blink's window: that is not another gesture.
    let back = |i: u32| match i {
        11 => -10.0,
        12..=17 => -25.0,
        18..=20 => -15.0,
        _ => 0.0,
    };
    let blink = |i| if i == 24 { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(back, blink, false), &s), Vec::<&str>::new());
    // Without the blink the second step fails; the blink in the first window does not answer it.
    let early_blink = |i| if i == 14 { CLOSED } else { OPEN };
    assert_eq!(failed(&capture(back, early_blink, false), &s), ["challenge"]);
}

#[test]
fn another_face_in_the_challenge_frames_is_refused() {
    let mut frames = capture(turn(-40.0), open, false);
    // The turned frames (beyond the quality gates) are someone else's.
    for f in &mut frames[13..=17] {
        f.face.as_mut().unwrap().embedding = embedding(1.4);
    }
    assert_eq!(failed(&frames, &at9(Challenge::TurnLeft)), ["same_person_throughout"]);
    // The same face turned keeps a lower but sufficient similarity.
    let mut frames = capture(turn(-40.0), open, false);
    for f in &mut frames[13..=17] {
        f.face.as_mut().unwrap().embedding = embedding(1.1);
    }
    assert_eq!(failed(&frames, &at9(Challenge::TurnLeft)), Vec::<&str>::new());
}

#[test]
fn a_face_that_jumps_between_frames_is_not_one_track() {
    let mut frames = capture(turn(-25.0), open, false);
    let s = frames[20].face.as_mut().unwrap();
    s.face = FaceBox { x1: s.face.x1 + 150.0, x2: s.face.x2 + 150.0, ..s.face };
    assert_eq!(failed(&frames, &at9(Challenge::TurnLeft)), ["continuous_track"]);
}

#[test]
fn a_screen_or_print_pattern_is_refused() {
    let mut frames = capture(turn(-25.0), open, false);
    for f in &mut frames {
        f.face.as_mut().unwrap().periodic = Some(400.0);
    }
    assert_eq!(failed(&frames, &at9(Challenge::TurnLeft)), ["no_screen_or_print"]);
}

#[test]
fn still_looped_and_crowded_captures_fail_their_checks() {
    let mut frames = capture(turn(-25.0), open, false);
    for f in &mut frames {
        let s = f.face.as_mut().unwrap();
        s.grey64 = vec![7; 64];
        s.landmarks = landmarks(0.0, false);
    }
    let got = failed(&frames, &at9(Challenge::TurnLeft));
    assert!(got.contains(&"motion") && got.contains(&"no_replay_loop"), "{got:?}");
    let mut frames = capture(turn(-25.0), open, false);
    frames[3].faces = 2;
    frames[4].faces = 2;
    frames[3].face = None;
    frames[4].face = None;
    assert!(failed(&frames, &at9(Challenge::TurnLeft)).contains(&"single_face"));
    assert!(!evaluate(&[], &at9(Challenge::Blink), &LivenessPolicy::default()).live);
    assert!(!evaluate(&capture(turn(-25.0), open, false), &Schedule::default(), &LivenessPolicy::default()).live);
}

#[test]
fn the_passive_model_decides_only_when_configured() {
    let frames = capture(turn(-25.0), open, false);
    let strict = LivenessPolicy { min_passive: 0.5, ..Default::default() };
    assert_eq!(evaluate(&frames, &at9(Challenge::TurnLeft), &strict).failed(), ["passive_model"]);
}
