//! The liveness decision over a capture (Rules §7): pure, computed from what
//! the pipeline measured in each frame ([`FrameAnalysis`]) and when the server
//! revealed each challenge ([`Schedule`]), so it is tested exhaustively.
//!
//! What it asks of a capture, and the attack each rule stops:
//! - one face, enough frames, pixels that change, no looped frames (a still
//!   image, a looped file);
//! - the face tracked from frame to frame without a jump or a swap, and the
//!   same person in every frame that counts, challenge frames included, with
//!   a pose-tolerant threshold (a turn performed by someone else, a spliced
//!   recording);
//! - every challenge answered after it was revealed, within its window, held
//!   over consecutive frames of a smooth trajectory, and no other gesture in
//!   that window (a recording that performs every gesture, a single outlier
//!   of the pose model, a gesture made before the client could know it);
//! - a head turn with parallax that no plane shows (a photo or a screen
//!   rotated in perspective: [`crate::geometry`]);
//! - a blink of both eyes together, of a blink's duration (one eye painted,
//!   a face with its eyes painted shut for long);
//! - a blink of the whole face: outside the eyes, the blink's frames (the
//!   closed ones and one either side) are not a rigid copy of the open frames
//!   around them — the best homography of the face outside the eyes leaves a
//!   change above the camera's noise ([`crate::rigid`]; a photo whose eye
//!   regions are painted closed for a few frames);
//! - no periodic texture of a screen or a print ([`crate::texture`]).

use serde::{Deserialize, Serialize};

use crate::decision::{Challenge, Embedding, Threshold};
use crate::geometry::{mean_points, planar_residual};
use crate::pipeline::FaceBox;
use crate::rigid::{blink_change, FaceView};

/// One challenge and when it was revealed: the arrival time (ms from the
/// capture's start) of the frame whose answer carried it. Only frames that
/// arrive after that can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub challenge: Challenge,
    pub revealed_at_ms: u32,
}

/// The challenges of one try, in the order they were revealed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Schedule {
    pub steps: Vec<Step>,
}

impl Schedule {
    pub fn single(challenge: Challenge, revealed_at_ms: u32) -> Self {
        Schedule { steps: vec![Step { challenge, revealed_at_ms }] }
    }

    pub fn names(&self) -> String {
        self.steps.iter().map(|s| s.challenge.as_str()).collect::<Vec<_>>().join("+")
    }
}

/// What one frame showed, kept once its pixels are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameAnalysis {
    /// Arrival, in milliseconds since the capture started.
    pub at_ms: u32,
    /// Faces counted in the frame.
    pub faces: usize,
    /// The measurements of the face when there is exactly one.
    pub face: Option<FaceSample>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceSample {
    pub face: FaceBox,
    pub landmarks: Vec<[f32; 2]>,
    /// Yaw, pitch, roll in degrees; negative yaw is the citizen's own left.
    pub pose: [f32; 3],
    /// Probability that the left and the right eye are open.
    pub eyes_open: [f32; 2],
    /// The passive model's live score; `None` when it was not run (advisory).
    #[serde(default)]
    pub passive_live: Option<f32>,
    pub embedding: Embedding,
    /// Why the frame fails the quality gates for a comparison, if it does.
    pub quality: Option<String>,
    /// The face's 64×64 grey crop (frame-to-frame change, loops).
    pub grey64: Vec<u8>,
    /// [`crate::texture::periodic_peak`] of the face region.
    pub periodic: Option<f32>,
}

/// The limits of the checks; every default is where the README's figures
/// (`tanu biometrics pad-eval`) were measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LivenessPolicy {
    pub min_frames: usize,
    /// Share of frames that may show a second face (a stray detection on a
    /// hand); one such frame is always tolerated.
    pub max_multi_face_share: f32,
    /// Mean frame-to-frame change (grey levels) below which the capture is still.
    pub min_mean_change: f32,
    /// Median landmark motion (fraction of face size) below which nothing moves.
    pub min_landmark_motion: f32,
    /// Share of frames whose pixels repeat an earlier frame exactly.
    pub max_repeated_share: f32,
    /// Lowest similarity to the capture's face of a frame within the quality
    /// gates' pose: the verification threshold.
    pub min_identity: f32,
    /// The same for frames turned or with eyes closed (pose-tolerant).
    pub min_identity_turned: f32,
    /// Largest move of the face's centre between consecutive frames, in face
    /// sizes per 125 ms (the page's frame interval; longer gaps allow more).
    pub max_track_jump: f32,
    /// Largest change of the face's size between consecutive frames (ratio).
    pub max_track_scale: f32,
    /// Yaw change (degrees) from the straight baseline that counts as a turn.
    pub turn_degrees: f32,
    /// Pitch change (degrees) that counts as an off-axis gesture.
    pub off_axis_degrees: f32,
    /// Consecutive frames a gesture must hold (after a 3-frame median filter).
    pub sustain_frames: usize,
    /// Largest change of the (median-filtered) yaw between consecutive frames
    /// of a turn: a turn is a trajectory, not a cut to another picture.
    pub max_yaw_step: f32,
    /// Time after a reveal within which its gesture must be made.
    pub window_ms: u32,
    /// Planar residual (face sizes) a turn must leave over the best homography.
    pub min_parallax: f32,
    /// Eye-open probability below which an eye counts as closed.
    pub eyes_closed_below: f32,
    /// Longest blink: closed from first to last closed frame.
    pub max_blink_ms: u32,
    /// Smallest change of the face outside the eyes during a blink, from the
    /// open frames around it, that no plane motion explains (grey levels: RMS
    /// over 8×8 blocks of the 64×64 face crop, after the best homography;
    /// [`crate::rigid::nonrigid_change`]). Below it the blink is a rigid copy
    /// with only the eyes changed: a photo with its eyes painted.
    pub min_nonrigid: f32,
    /// Median spectral peak ratio of the face region above which the capture
    /// shows a screen's or a print's pattern.
    pub max_periodic: f32,
    /// Mean passive score below which the capture is refused; 0: advisory.
    pub min_passive: f32,
    /// Whether the challenges are required (tests of other checks relax it).
    pub require_challenge: bool,
}

impl Default for LivenessPolicy {
    fn default() -> Self {
        LivenessPolicy {
            min_frames: 8,
            max_multi_face_share: 0.05,
            min_mean_change: 0.6,
            min_landmark_motion: 0.002,
            max_repeated_share: 0.2,
            min_identity: Threshold::CALIBRATED.0,
            min_identity_turned: 0.3,
            max_track_jump: 0.75,
            max_track_scale: 1.3,
            turn_degrees: 10.0,
            off_axis_degrees: 40.0,
            sustain_frames: 2,
            max_yaw_step: 50.0,
            window_ms: 3500,
            min_parallax: 0.03,
            eyes_closed_below: 0.5,
            max_blink_ms: 500,
            min_nonrigid: 2.5,
            max_periodic: 40.0,
            min_passive: 0.0,
            require_challenge: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivenessReport {
    pub live: bool,
    pub schedule: Schedule,
    pub checks: Vec<CheckResult>,
}

impl LivenessReport {
    /// The names of the checks that failed, for the refusal's reason.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.passed).map(|c| c.check).collect()
    }
}

/// The fused face of a capture: the normalised mean of its frames that pass
/// the quality gates (the probe compared with the reference).
pub fn probe(frames: &[FrameAnalysis]) -> Option<Embedding> {
    let good: Vec<Embedding> = faces(frames).filter(|(_, s)| s.quality.is_none()).map(|(_, s)| s.embedding.clone()).collect();
    Embedding::fuse(&good)
}

fn faces(frames: &[FrameAnalysis]) -> impl Iterator<Item = (&FrameAnalysis, &FaceSample)> {
    frames.iter().filter(|f| f.faces == 1).filter_map(|f| f.face.as_ref().map(|s| (f, s)))
}

/// Decides liveness. Every check is run and reported, so a refusal names all
/// its reasons.
pub fn evaluate(frames: &[FrameAnalysis], schedule: &Schedule, policy: &LivenessPolicy) -> LivenessReport {
    let mut frames: Vec<FrameAnalysis> = frames.to_vec();
    frames.sort_by_key(|f| f.at_ms);
    let single: Vec<(&FrameAnalysis, &FaceSample)> = faces(&frames).collect();
    let mut checks = Vec::new();
    let mut check = |check: &'static str, passed: bool, detail: String| checks.push(CheckResult { check, passed, detail });

    // One stray detection (a hand, a microphone) is tolerated in any capture.
    let multi = frames.iter().filter(|f| f.faces > 1).count();
    check(
        "single_face",
        multi <= 1 || multi as f32 <= policy.max_multi_face_share * frames.len() as f32,
        format!("{multi} of {} frames show more than one face", frames.len()),
    );
    check("enough_frames", single.len() >= policy.min_frames, format!("{} frames with one face, {} needed", single.len(), policy.min_frames));

    let changes: Vec<f32> = single.windows(2).map(|w| mean_abs_diff(&w[0].1.grey64, &w[1].1.grey64)).collect();
    let mut motions: Vec<f32> = single.windows(2).map(|w| landmark_motion(w[0].1, w[1].1)).collect();
    let (mean_change, median_motion) = (mean(&changes), median(&mut motions));
    check(
        "motion",
        mean_change >= policy.min_mean_change && median_motion >= policy.min_landmark_motion,
        format!("mean pixel change {mean_change:.2}, median landmark motion {median_motion:.4}"),
    );

    let repeated = repeated_frames(&single);
    let share = if frames.is_empty() { 1.0 } else { repeated as f32 / frames.len() as f32 };
    check("no_replay_loop", share <= policy.max_repeated_share, format!("{repeated} frames repeat an earlier frame"));

    let (tracked, detail) = tracking(&single, policy);
    check("continuous_track", tracked, detail);

    let (same, detail) = identity(&frames, &single, policy);
    check("same_person_throughout", same, detail);

    // Counted only when configured; a frame without a score then counts as 0.
    let scores: Vec<f32> = single.iter().filter_map(|(_, s)| s.passive_live).collect();
    if policy.min_passive > 0.0 {
        let passive = mean(&single.iter().map(|(_, s)| s.passive_live.unwrap_or(0.0)).collect::<Vec<_>>());
        check("passive_model", passive >= policy.min_passive, format!("mean passive score {passive:.3} (minimum {:.2})", policy.min_passive));
    } else if scores.is_empty() {
        check("passive_model", true, "advisory (minimum 0): not run".into());
    } else {
        check("passive_model", true, format!("mean passive score {:.3} (advisory)", mean(&scores)));
    }

    let mut periodic: Vec<f32> = single.iter().filter_map(|(_, s)| s.periodic).collect();
    let texture = median(&mut periodic);
    check(
        "no_screen_or_print",
        periodic.is_empty() || texture <= policy.max_periodic,
        format!("median spectral peak {texture:.1} (maximum {:.1})", policy.max_periodic),
    );

    let gestures = Gestures::new(&single, schedule, policy);
    let (answered, detail) = gestures.challenges();
    check("challenge", answered || !policy.require_challenge, detail);
    let (parallax, detail) = gestures.parallax();
    check("three_dimensional", parallax || !policy.require_challenge, detail);
    let (whole, detail) = gestures.whole_face_blinks();
    check("no_rigid_copy", whole || !policy.require_challenge, detail);

    LivenessReport { live: checks.iter().all(|c| c.passed), schedule: schedule.clone(), checks }
}

/// The face followed from frame to frame: no jump of its centre or size that
/// a head does not make in one frame interval (another face swapped in, a cut).
fn tracking(single: &[(&FrameAnalysis, &FaceSample)], policy: &LivenessPolicy) -> (bool, String) {
    let mut worst_jump = 0f32;
    let mut worst_scale = 1f32;
    for w in single.windows(2) {
        let (a, b) = (&w[0].1.face, &w[1].1.face);
        let size = a.height().max(b.height()).max(1.0);
        let intervals = (w[1].0.at_ms.saturating_sub(w[0].0.at_ms) as f32 / 125.0).max(1.0);
        let jump = (((a.x1 + a.x2) - (b.x1 + b.x2)).powi(2) + ((a.y1 + a.y2) - (b.y1 + b.y2)).powi(2)).sqrt() / 2.0 / size / intervals;
        let scale = a.height().max(b.height()) / a.height().min(b.height()).max(1.0);
        worst_jump = worst_jump.max(jump);
        worst_scale = worst_scale.max(scale);
    }
    (
        worst_jump <= policy.max_track_jump && worst_scale <= policy.max_track_scale,
        format!("largest move {worst_jump:.2} face sizes per 125 ms, largest size change ×{worst_scale:.2} between frames"),
    )
}

/// Every frame with a face is the capture's face: the quality frames at the
/// verification threshold, turned or eyes-closed frames at the pose-tolerant one.
fn identity(frames: &[FrameAnalysis], single: &[(&FrameAnalysis, &FaceSample)], policy: &LivenessPolicy) -> (bool, String) {
    let Some(centre) = probe(frames) else { return (false, "no frame could be compared".into()) };
    let (mut low_good, mut low_turned) = (f32::INFINITY, f32::INFINITY);
    for (_, s) in single {
        let sim = centre.similarity(&s.embedding);
        if s.quality.is_none() {
            low_good = low_good.min(sim);
        } else {
            low_turned = low_turned.min(sim);
        }
    }
    let passed = low_good >= policy.min_identity && (low_turned.is_infinite() || low_turned >= policy.min_identity_turned);
    let shown = |v: f32| if v.is_finite() { format!("{v:.3}") } else { "-".into() };
    (passed, format!("lowest similarity to the capture's face {} (frontal), {} (turned or eyes closed)", shown(low_good), shown(low_turned)))
}

/// The gestures of a capture, against its schedule.
struct Gestures<'a> {
    frames: Vec<(&'a FrameAnalysis, &'a FaceSample)>,
    /// Median-filtered yaw and pitch relative to the straight baseline.
    yaw: Vec<f32>,
    pitch: Vec<f32>,
    schedule: &'a Schedule,
    policy: &'a LivenessPolicy,
    baseline: usize,
}

impl<'a> Gestures<'a> {
    fn new(single: &[(&'a FrameAnalysis, &'a FaceSample)], schedule: &'a Schedule, policy: &'a LivenessPolicy) -> Self {
        let first_reveal = schedule.steps.first().map_or(u32::MAX, |s| s.revealed_at_ms);
        let baseline = single.iter().filter(|(f, _)| f.at_ms <= first_reveal).count();
        let pick = |k: usize| -> Vec<f32> { single.iter().map(|(_, s)| s.pose[k]).collect() };
        let (raw_yaw, raw_pitch) = (pick(0), pick(1));
        let centre = |v: &[f32]| {
            let mut base: Vec<f32> = v[..baseline].to_vec();
            if base.is_empty() {
                base = v.iter().take(1).copied().collect();
            }
            median(&mut base)
        };
        let (yb, pb) = (centre(&raw_yaw), centre(&raw_pitch));
        let yaw = median3(&raw_yaw).into_iter().map(|v| v - yb).collect();
        let pitch = median3(&raw_pitch).into_iter().map(|v| v - pb).collect();
        Gestures { frames: single.to_vec(), yaw, pitch, schedule, policy, baseline }
    }

    /// Index range of the frames that may answer step `k`: after its reveal,
    /// within the window, before the next reveal.
    fn window(&self, k: usize) -> std::ops::Range<usize> {
        let step = self.schedule.steps[k];
        let end_ms = self.schedule.steps.get(k + 1).map_or(u32::MAX, |n| n.revealed_at_ms).min(step.revealed_at_ms.saturating_add(self.policy.window_ms));
        let start = self.frames.iter().position(|(f, _)| f.at_ms > step.revealed_at_ms).unwrap_or(self.frames.len());
        let end = self.frames.iter().position(|(f, _)| f.at_ms > end_ms).unwrap_or(self.frames.len()).max(start);
        start..end
    }

    /// The longest run of consecutive frames in `range` where `hit` holds.
    fn longest(&self, range: std::ops::Range<usize>, hit: impl Fn(usize) -> bool) -> (usize, Option<std::ops::Range<usize>>) {
        let (mut best, mut best_range, mut run) = (0, None, 0);
        for i in range {
            if hit(i) {
                run += 1;
                if run > best {
                    best = run;
                    best_range = Some(i + 1 - run..i + 1);
                }
            } else {
                run = 0;
            }
        }
        (best, best_range)
    }

    fn turned(&self, i: usize, sign: f32) -> bool {
        sign * self.yaw[i] >= self.policy.turn_degrees
    }

    fn closed(&self, i: usize) -> bool {
        let e = self.frames[i].1.eyes_open;
        e[0] < self.policy.eyes_closed_below && e[1] < self.policy.eyes_closed_below
    }

    fn sign(c: Challenge) -> f32 {
        if c == Challenge::TurnLeft {
            -1.0
        } else {
            1.0
        }
    }

    /// Whether each challenge was answered, and nothing else, in its window.
    fn challenges(&self) -> (bool, String) {
        if self.schedule.steps.is_empty() {
            return (false, "no challenge was revealed".into());
        }
        let sustain = self.policy.sustain_frames.max(1);
        // Before the first reveal the head is straight: a turn then was made
        // before the client could know the challenge.
        let (early, _) = self.longest(0..self.baseline, |i| self.yaw[i].abs() >= self.policy.turn_degrees);
        if early >= sustain {
            return (false, "a head turn before the challenge was shown".into());
        }
        let mut notes = Vec::new();
        let mut previous_turn: Option<f32> = None;
        for (k, step) in self.schedule.steps.iter().enumerate() {
            let range = self.window(k);
            let name = step.challenge.as_str();
            if range.is_empty() {
                return (false, format!("{name}: no frame after it was shown"));
            }
            let off_axis = self.longest(range.clone(), |i| self.pitch[i].abs() >= self.policy.off_axis_degrees).0;
            if off_axis >= sustain {
                return (false, format!("{name}: the head nodded instead"));
            }
            // A turn that is the return from the previous step's turn is not a gesture.
            let other_turn = |sign: f32| previous_turn != Some(-sign) && self.longest(range.clone(), |i| self.turned(i, sign)).0 >= sustain;
            match step.challenge {
                Challenge::TurnLeft | Challenge::TurnRight => {
                    let sign = Self::sign(step.challenge);
                    if other_turn(-sign) {
                        return (false, format!("{name}: the head turned the other way"));
                    }
                    let (run, at) = self.longest(range.clone(), |i| self.turned(i, sign));
                    let peak = range.clone().map(|i| sign * self.yaw[i]).fold(f32::NEG_INFINITY, f32::max);
                    // From the window's start to the end of the held turn, the
                    // filtered yaw moves by steps, not by a cut.
                    let smooth =
                        at.as_ref().is_none_or(|r| (range.start.max(1)..r.end).all(|i| (self.yaw[i] - self.yaw[i - 1]).abs() <= self.policy.max_yaw_step));
                    if run < sustain {
                        return (false, format!("{name}: turned {peak:.1}° (needs {:.0}° over {sustain} frames)", self.policy.turn_degrees));
                    }
                    if !smooth {
                        return (false, format!("{name}: the pose jumped more than {:.0}° between frames", self.policy.max_yaw_step));
                    }
                    notes.push(format!("{name}: turned {peak:.1}° over {run} frames"));
                    previous_turn = Some(sign);
                }
                Challenge::Blink => {
                    if other_turn(-1.0) || other_turn(1.0) {
                        return (false, format!("{name}: the head turned instead"));
                    }
                    match self.blink(range.clone()) {
                        Ok(ms) => notes.push(format!("{name}: both eyes closed for {ms} ms")),
                        Err(why) => return (false, format!("{name}: {why}")),
                    }
                }
            }
        }
        (true, notes.join("; "))
    }

    /// Open, both eyes closed together for at most a blink's duration, open
    /// again: the duration of the first such blink in `range`.
    fn blink(&self, range: std::ops::Range<usize>) -> Result<u32, String> {
        self.find_blink(range).map(|(_, _, ms)| ms)
    }

    /// The first blink in `range`: its first and last closed frame, its duration.
    fn find_blink(&self, range: std::ops::Range<usize>) -> Result<(usize, usize, u32), String> {
        let lowest = range.clone().map(|i| self.frames[i].1.eyes_open[0].max(self.frames[i].1.eyes_open[1])).fold(f32::INFINITY, f32::min);
        let mut i = range.start;
        while i < range.end {
            if !self.closed(i) {
                i += 1;
                continue;
            }
            let first = i;
            while i < range.end && self.closed(i) {
                i += 1;
            }
            let last = i - 1;
            let open_before = first > 0 && !self.closed(first - 1);
            let open_after = i < self.frames.len() && !self.closed(i);
            let ms = self.frames[last].0.at_ms - self.frames[first].0.at_ms;
            if open_before && open_after && ms <= self.policy.max_blink_ms {
                return Ok((first, last, ms));
            }
        }
        Err(format!("no blink of both eyes (lowest open probability of the more open eye {lowest:.2})"))
    }

    /// Each blink that answers a challenge is the whole face's: outside the
    /// eyes its frames are not a rigid copy of the open frames around it. A
    /// step without a blink is the `challenge` check's failure, not this one's.
    fn whole_face_blinks(&self) -> (bool, String) {
        let mut notes = Vec::new();
        let mut ok = true;
        for k in 0..self.schedule.steps.len() {
            if self.schedule.steps[k].challenge != Challenge::Blink {
                continue;
            }
            let Ok((first, last, _)) = self.find_blink(self.window(k)) else {
                notes.push("blink: none to judge".to_owned());
                continue;
            };
            let min = self.policy.min_nonrigid;
            match self.nonrigid(first, last) {
                Some(m) if m >= min => notes
                    .push(format!("blink: the face outside the eyes moved as a living face's ({m:.2} grey levels beyond a plane's motion, needs {min:.1})")),
                Some(m) => {
                    ok = false;
                    notes.push(format!(
                        "blink: outside the eyes the face is a rigid copy of the open frames ({m:.2} grey levels beyond a plane's motion, needs {min:.1})"
                    ));
                }
                None => {
                    ok = false;
                    notes.push("blink: the face outside the eyes could not be compared with the open frames around it".to_owned());
                }
            }
        }
        if notes.is_empty() {
            return (true, "no blink asked".into());
        }
        (ok, notes.join("; "))
    }

    /// [`blink_change`] of the blink closed from `first` to `last`.
    fn nonrigid(&self, first: usize, last: usize) -> Option<f32> {
        let views: Vec<FaceView<'_>> = self.frames.iter().map(|(_, s)| FaceView { face: &s.face, landmarks: &s.landmarks, grey64: &s.grey64 }).collect();
        blink_change(&views, first, last, |i| !self.closed(i))
    }

    /// Each turn shows parallax: the face's landmarks at the turn are not one
    /// homography away from the straight face's.
    fn parallax(&self) -> (bool, String) {
        let baseline: Vec<&[[f32; 2]; 68]> = self.frames[..self.baseline].iter().filter_map(|(_, s)| s.landmarks.as_slice().try_into().ok()).collect();
        let Some(straight) = mean_points(&baseline) else { return (false, "no straight face before the challenge".into()) };
        let mut notes = Vec::new();
        let mut ok = true;
        for (k, step) in self.schedule.steps.iter().enumerate() {
            if step.challenge == Challenge::Blink {
                continue;
            }
            let sign = Self::sign(step.challenge);
            let mut residuals: Vec<f32> = self
                .window(k)
                .filter(|&i| self.turned(i, sign))
                .filter_map(|i| planar_residual(&straight, &self.frames[i].1.landmarks, self.frames[i].1.face.height()))
                .collect();
            let r = median(&mut residuals);
            ok &= !residuals.is_empty() && r >= self.policy.min_parallax;
            notes.push(format!("{}: parallax {r:.4} face sizes (needs {:.3})", step.challenge.as_str(), self.policy.min_parallax));
        }
        if notes.is_empty() {
            return (true, "no turn asked".into());
        }
        (ok, notes.join("; "))
    }
}

/// Frames whose face crop repeats an earlier frame exactly.
fn repeated_frames(single: &[(&FrameAnalysis, &FaceSample)]) -> usize {
    let mut seen = std::collections::HashSet::new();
    single.iter().filter(|(_, s)| !seen.insert(s.grey64.as_slice())).count()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f32 {
    let n = a.len().min(b.len()).max(1) as f32;
    a.iter().zip(b).map(|(x, y)| (f32::from(*x) - f32::from(*y)).abs()).sum::<f32>() / n
}

/// Mean landmark displacement relative to the face size.
fn landmark_motion(a: &FaceSample, b: &FaceSample) -> f32 {
    let size = b.face.height().max(1.0);
    let n = a.landmarks.len().min(b.landmarks.len()).max(1) as f32;
    a.landmarks.iter().zip(&b.landmarks).map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()).sum::<f32>() / n / size
}

/// A 3-sample running median: one outlier of the pose model never decides.
fn median3(v: &[f32]) -> Vec<f32> {
    (0..v.len())
        .map(|i| {
            if i == 0 || i + 1 == v.len() {
                return v[i];
            }
            let mut w = [v[i - 1], v[i], v[i + 1]];
            w.sort_by(f32::total_cmp);
            w[1]
        })
        .collect()
}

fn mean(v: &[f32]) -> f32 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f32>() / v.len() as f32
    }
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests;
