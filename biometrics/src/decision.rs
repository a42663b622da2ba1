//! Pure decisions: similarity and threshold, fusion of several captures, and the
//! liveness decision over a frame sequence. No models, no I/O: everything here is
//! computed from numbers the pipeline measured, so it is tested exhaustively.

use serde::{Deserialize, Serialize};

/// An L2-normalised face embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// Normalises `raw`; `None` for an empty or all-zero vector.
    pub fn normalised(raw: &[f32]) -> Option<Self> {
        let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        (norm > f32::EPSILON && norm.is_finite()).then(|| Embedding(raw.iter().map(|v| v / norm).collect()))
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// Cosine similarity in [-1, 1] (both sides are unit vectors).
    pub fn similarity(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum::<f32>().clamp(-1.0, 1.0)
    }

    /// The normalised mean of several embeddings of one face: a sign-in's good
    /// frames fused into one probe.
    pub fn fuse(all: &[Embedding]) -> Option<Embedding> {
        let first = all.first()?;
        let mut sum = vec![0f32; first.0.len()];
        for e in all {
            for (s, v) in sum.iter_mut().zip(&e.0) {
                *s += v;
            }
        }
        Embedding::normalised(&sum)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Embedding> {
        if bytes.is_empty() || bytes.len() % 4 != 0 {
            return None;
        }
        let raw: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Embedding::normalised(&raw)
    }
}

/// The similarity at or above which two faces are the same person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold(pub f32);

impl Threshold {
    /// Calibrated on `../shared/data/faces-dev` (README, "Verification figures"):
    /// the midpoint of the gap between the highest impostor and the lowest
    /// genuine similarity there, so FMR = FNMR = 0 on that set.
    pub const CALIBRATED: Threshold = Threshold(0.365);
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchDecision {
    pub similarity: f32,
    pub threshold: f32,
    #[serde(rename = "match")]
    pub is_match: bool,
}

impl MatchDecision {
    pub fn decide(a: &Embedding, b: &Embedding, threshold: Threshold) -> Self {
        let similarity = a.similarity(b);
        MatchDecision { similarity, threshold: threshold.0, is_match: similarity >= threshold.0 }
    }
}

/// The active challenge the server picks at random per attempt (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    /// Turn the head to the citizen's left.
    TurnLeft,
    /// Turn the head to the citizen's right.
    TurnRight,
    Blink,
}

impl Challenge {
    pub const ALL: [Challenge; 3] = [Challenge::TurnLeft, Challenge::TurnRight, Challenge::Blink];

    pub fn random() -> Self {
        use rand::seq::SliceRandom;
        *Self::ALL.choose(&mut rand::rngs::OsRng).expect("non-empty")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Challenge::TurnLeft => "turn_left",
            Challenge::TurnRight => "turn_right",
            Challenge::Blink => "blink",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What the pipeline measured in one frame of a capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameEvidence {
    /// Milliseconds since the capture started.
    pub at_ms: u32,
    /// Faces found (the checks below use frames with exactly one).
    pub faces: usize,
    /// Head pose in degrees. Negative yaw is the citizen turning to their own
    /// left (measured on faces-dev/img3.jpg and the video; README).
    pub yaw: f32,
    pub pitch: f32,
    /// Probability that the eyes are open (mean of both eyes).
    pub eyes_open: f32,
    /// The passive model's score for "live" in this frame.
    pub passive_live: f32,
    /// Mean absolute difference (0–255) of the face's greyscale crop from the
    /// previous frame's; `None` for the first frame.
    pub change_from_previous: Option<f32>,
    /// Landmark movement from the previous frame, relative to the face size.
    pub landmark_motion: Option<f32>,
    /// Similarity of this frame's face to the fused face of the whole capture.
    pub identity: Option<f32>,
    /// Identity of the frame's pixels (a coarse hash) for spotting loops.
    pub fingerprint: u64,
}

/// The tunable limits of the sequence checks; the defaults are strict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LivenessPolicy {
    pub min_frames: usize,
    /// Share of frames that may show a second face (a detector false positive
    /// on a hand or a microphone happens in live video; a second person in
    /// many frames does not pass).
    pub max_multi_face_share: f32,
    /// Mean frame-to-frame change (grey levels) below which the capture is still.
    pub min_mean_change: f32,
    /// Median landmark motion (fraction of face size) below which nothing moves.
    pub min_landmark_motion: f32,
    /// Share of frames whose pixels repeat an earlier, non-adjacent frame.
    pub max_repeated_share: f32,
    /// Lowest similarity of any usable frame to the capture's fused face: by
    /// default the verification threshold, i.e. every frame must match the rest.
    pub min_identity: f32,
    /// Yaw change (degrees) from the baseline that counts as a turn.
    pub turn_degrees: f32,
    /// Eye-open probability below which the eyes count as closed.
    pub eyes_closed_below: f32,
    /// Mean passive score below which the capture is refused; 0 makes the
    /// passive model advisory (reported, never deciding) — the default, because
    /// on the sample data it does not separate live from spoof (README).
    pub min_passive: f32,
    /// Whether the challenge is required (tests of other checks may relax it).
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
            turn_degrees: 12.0,
            eyes_closed_below: 0.5,
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
    pub challenge: Challenge,
    pub checks: Vec<CheckResult>,
}

impl LivenessReport {
    /// The names of the checks that failed, for the refusal's reason.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.passed).map(|c| c.check).collect()
    }
}

/// Decides liveness over a capture in which `challenge` was shown to the
/// citizen at `challenge_at_ms`. Every check is run and reported, so a
/// refusal names all the reasons, not just the first.
pub fn evaluate_sequence(
    frames: &[FrameEvidence],
    challenge: Challenge,
    challenge_at_ms: u32,
    policy: &LivenessPolicy,
) -> LivenessReport {
    let mut checks = Vec::new();
    let single: Vec<&FrameEvidence> = frames.iter().filter(|f| f.faces == 1).collect();
    let multi = frames.iter().filter(|f| f.faces > 1).count();

    checks.push(CheckResult {
        check: "single_face",
        passed: multi as f32 <= policy.max_multi_face_share * frames.len() as f32,
        detail: format!("{multi} of {} frames show more than one face", frames.len()),
    });
    checks.push(CheckResult {
        check: "enough_frames",
        passed: single.len() >= policy.min_frames,
        detail: format!("{} frames with one face, {} needed", single.len(), policy.min_frames),
    });

    let changes: Vec<f32> = single.iter().filter_map(|f| f.change_from_previous).collect();
    let mean_change = mean(&changes);
    let mut motions: Vec<f32> = single.iter().filter_map(|f| f.landmark_motion).collect();
    let median_motion = median(&mut motions);
    checks.push(CheckResult {
        check: "motion",
        passed: mean_change >= policy.min_mean_change && median_motion >= policy.min_landmark_motion,
        detail: format!("mean pixel change {mean_change:.2}, median landmark motion {median_motion:.4}"),
    });

    let repeated = repeated_frames(frames);
    let share = if frames.is_empty() { 1.0 } else { repeated as f32 / frames.len() as f32 };
    checks.push(CheckResult {
        check: "no_replay_loop",
        passed: share <= policy.max_repeated_share,
        detail: format!("{repeated} frames repeat an earlier frame"),
    });

    let identities: Vec<f32> = single.iter().filter_map(|f| f.identity).collect();
    let lowest = identities.iter().copied().fold(f32::INFINITY, f32::min);
    checks.push(CheckResult {
        check: "same_person_throughout",
        passed: !identities.is_empty() && lowest >= policy.min_identity,
        detail: if identities.is_empty() {
            "no frame could be compared".into()
        } else {
            format!("lowest similarity to the capture's face {lowest:.3}")
        },
    });

    let passive = mean(&single.iter().map(|f| f.passive_live).collect::<Vec<_>>());
    checks.push(CheckResult {
        check: "passive_model",
        passed: passive >= policy.min_passive,
        detail: format!("mean passive score {passive:.3} (minimum {:.2})", policy.min_passive),
    });

    let (performed, detail) = challenge_performed(&single, challenge, challenge_at_ms, policy);
    checks.push(CheckResult { check: "challenge", passed: performed || !policy.require_challenge, detail });

    LivenessReport { live: checks.iter().all(|c| c.passed), challenge, checks }
}

fn challenge_performed(
    frames: &[&FrameEvidence],
    challenge: Challenge,
    at_ms: u32,
    policy: &LivenessPolicy,
) -> (bool, String) {
    let (before, after): (Vec<&FrameEvidence>, Vec<&FrameEvidence>) = frames.iter().partition(|f| f.at_ms < at_ms);
    if after.is_empty() {
        return (false, format!("no frame after the {} challenge", challenge.as_str()));
    }
    match challenge {
        Challenge::TurnLeft | Challenge::TurnRight => {
            // Baseline: the head before the challenge, or the first frame after it.
            let mut base: Vec<f32> = before.iter().map(|f| f.yaw).collect();
            if base.is_empty() {
                base.push(after[0].yaw);
            }
            let base = median(&mut base);
            let sign = if challenge == Challenge::TurnLeft { -1.0 } else { 1.0 };
            let best = after.iter().map(|f| sign * (f.yaw - base)).fold(f32::NEG_INFINITY, f32::max);
            (best >= policy.turn_degrees, format!("turned {best:.1}° from {base:.1}° (needs {:.0}°)", policy.turn_degrees))
        }
        Challenge::Blink => {
            // Open, then closed, then open again, all after the challenge.
            let open = |f: &&FrameEvidence| f.eyes_open >= policy.eyes_closed_below;
            let first_open = after.iter().position(open);
            let closed = first_open.and_then(|i| after[i..].iter().position(|f| !open(f)).map(|j| i + j));
            let reopened = closed.and_then(|k| after[k..].iter().position(open));
            let lowest = after.iter().map(|f| f.eyes_open).fold(f32::INFINITY, f32::min);
            (reopened.is_some(), format!("lowest eye-open probability {lowest:.2}"))
        }
    }
}

/// Frames whose pixels repeat an earlier frame exactly: a camera never
/// delivers the same sensor noise twice, a still image or a looped file does.
fn repeated_frames(frames: &[FrameEvidence]) -> usize {
    let mut seen = std::collections::HashSet::new();
    frames.iter().filter(|f| !seen.insert(f.fingerprint)).count()
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
mod tests {
    use super::*;

    fn e(v: &[f32]) -> Embedding {
        Embedding::normalised(v).unwrap()
    }

    #[test]
    fn similarity_is_cosine_of_normalised_vectors() {
        assert!((e(&[1.0, 0.0]).similarity(&e(&[3.0, 0.0])) - 1.0).abs() < 1e-6);
        assert!(e(&[1.0, 0.0]).similarity(&e(&[0.0, 2.0])).abs() < 1e-6);
        assert!((e(&[1.0, 0.0]).similarity(&e(&[-1.0, 0.0])) + 1.0).abs() < 1e-6);
        assert!((e(&[1.0, 1.0]).similarity(&e(&[1.0, 0.0])) - 0.70710677).abs() < 1e-6);
        assert!(Embedding::normalised(&[0.0, 0.0]).is_none());
        assert!(Embedding::normalised(&[]).is_none());
        assert!(Embedding::normalised(&[f32::NAN, 1.0]).is_none());
    }

    #[test]
    fn decision_is_inclusive_at_the_threshold() {
        let d = MatchDecision::decide(&e(&[1.0, 0.0]), &e(&[1.0, 0.0]), Threshold(1.0));
        assert!(d.is_match);
        let d = MatchDecision::decide(&e(&[1.0, 0.0]), &e(&[1.0, 1.0]), Threshold(0.8));
        assert!(!d.is_match);
        assert_eq!(d.threshold, 0.8);
    }

    #[test]
    fn fusion_averages_directions() {
        let f = Embedding::fuse(&[e(&[1.0, 0.0]), e(&[0.0, 1.0])]).unwrap();
        assert!((f.as_slice()[0] - f.as_slice()[1]).abs() < 1e-6);
        assert!(Embedding::fuse(&[]).is_none());
        assert!(Embedding::fuse(&[e(&[1.0, 0.0]), e(&[-1.0, 0.0])]).is_none());
    }

    #[test]
    fn bytes_round_trip() {
        let a = e(&[0.3, -0.4, 0.5]);
        assert_eq!(Embedding::from_bytes(&a.to_bytes()).unwrap(), a);
        assert!(Embedding::from_bytes(&[1, 2, 3]).is_none());
    }

    #[test]
    fn challenge_names_round_trip() {
        for c in Challenge::ALL {
            assert_eq!(Challenge::parse(c.as_str()), Some(c));
        }
        assert_eq!(Challenge::parse("smile"), None);
    }

    /// A live-looking capture: small natural motion, one person, eyes open,
    /// head straight until the challenge at 1 s, then `yaw_after`/`eyes_after`.
    fn capture(n: u32, yaw_after: f32, eyes_after: impl Fn(u32) -> f32) -> Vec<FrameEvidence> {
        (0..n)
            .map(|i| {
                let at_ms = i * 100;
                let after = at_ms >= 1000;
                FrameEvidence {
                    at_ms,
                    faces: 1,
                    yaw: if after { yaw_after * ((i - 9) as f32 / 5.0).min(1.0) } else { 0.5 * (i % 2) as f32 },
                    pitch: 0.0,
                    eyes_open: if after { eyes_after(i) } else { 0.95 },
                    passive_live: 0.4,
                    change_from_previous: (i > 0).then_some(2.0),
                    landmark_motion: (i > 0).then_some(0.01),
                    identity: Some(0.8),
                    fingerprint: u64::from(i) * 7919,
                }
            })
            .collect()
    }

    fn failed(frames: &[FrameEvidence], c: Challenge, policy: &LivenessPolicy) -> Vec<&'static str> {
        evaluate_sequence(frames, c, 1000, policy).failed()
    }

    #[test]
    fn a_live_capture_performing_its_challenge_passes() {
        let p = LivenessPolicy::default();
        assert!(failed(&capture(20, -20.0, |_| 0.95), Challenge::TurnLeft, &p).is_empty());
        assert!(failed(&capture(20, 20.0, |_| 0.95), Challenge::TurnRight, &p).is_empty());
        let blink = |i| if i == 13 || i == 14 { 0.1 } else { 0.9 };
        assert!(failed(&capture(20, 0.0, blink), Challenge::Blink, &p).is_empty());
    }

    #[test]
    fn the_wrong_or_no_challenge_fails() {
        let p = LivenessPolicy::default();
        assert_eq!(failed(&capture(20, 20.0, |_| 0.95), Challenge::TurnLeft, &p), ["challenge"]);
        assert_eq!(failed(&capture(20, -5.0, |_| 0.95), Challenge::TurnLeft, &p), ["challenge"]);
        assert_eq!(failed(&capture(20, 0.0, |_| 0.95), Challenge::Blink, &p), ["challenge"]);
        // Closed and never reopened is not a blink.
        assert_eq!(failed(&capture(20, 0.0, |i| if i > 14 { 0.1 } else { 0.9 }), Challenge::Blink, &p), ["challenge"]);
        // Nothing after the challenge was shown.
        assert_eq!(failed(&capture(10, 0.0, |_| 0.9), Challenge::TurnLeft, &p), ["challenge"]);
        // Relaxed only where a policy says so.
        let relaxed = LivenessPolicy { require_challenge: false, ..LivenessPolicy::default() };
        assert!(failed(&capture(20, 0.0, |_| 0.95), Challenge::Blink, &relaxed).is_empty());
    }

    #[test]
    fn a_still_image_fails_motion_and_replay() {
        let mut frames = capture(20, -20.0, |_| 0.95);
        for f in &mut frames {
            f.change_from_previous = f.change_from_previous.map(|_| 0.0);
            f.landmark_motion = f.landmark_motion.map(|_| 0.0);
            f.fingerprint = 42;
            f.yaw = 0.0;
        }
        let got = failed(&frames, Challenge::TurnLeft, &LivenessPolicy::default());
        assert_eq!(got, ["motion", "no_replay_loop", "challenge"]);
    }

    #[test]
    fn a_looped_recording_fails_replay() {
        let mut frames = capture(20, -20.0, |_| 0.95);
        for (i, f) in frames.iter_mut().enumerate() {
            f.fingerprint = (i % 5) as u64;
        }
        assert_eq!(failed(&frames, Challenge::TurnLeft, &LivenessPolicy::default()), ["no_replay_loop"]);
    }

    #[test]
    fn another_face_or_too_few_frames_fail() {
        let p = LivenessPolicy::default();
        let mut frames = capture(20, -20.0, |_| 0.95);
        frames[3].faces = 2;
        assert!(failed(&frames, Challenge::TurnLeft, &p).is_empty(), "one stray detection in 20 frames is tolerated");
        frames[4].faces = 2;
        assert_eq!(failed(&frames, Challenge::TurnLeft, &p), ["single_face"]);
        let mut frames = capture(20, -20.0, |_| 0.95);
        frames[15].identity = Some(0.1);
        assert_eq!(failed(&frames, Challenge::TurnLeft, &p), ["same_person_throughout"]);
        let frames = capture(20, -20.0, |_| 0.95);
        let few: Vec<_> = frames.into_iter().skip(13).collect();
        assert!(failed(&few, Challenge::TurnLeft, &p).contains(&"enough_frames"));
        assert!(!evaluate_sequence(&[], Challenge::Blink, 0, &p).live);
    }

    #[test]
    fn the_passive_model_decides_only_when_configured() {
        let frames = capture(20, -20.0, |_| 0.95);
        assert!(failed(&frames, Challenge::TurnLeft, &LivenessPolicy::default()).is_empty());
        let strict = LivenessPolicy { min_passive: 0.5, ..LivenessPolicy::default() };
        assert_eq!(failed(&frames, Challenge::TurnLeft, &strict), ["passive_model"]);
    }
}
