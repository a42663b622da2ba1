//! A capture (frames with their times) turned into the evidence the liveness
//! decision needs, and the fused probe embedding of its good frames.

use std::hash::{Hash, Hasher};

use image::RgbImage;
use serde::Serialize;

use crate::decision::{evaluate_sequence, Challenge, Embedding, FrameEvidence, LivenessPolicy, LivenessReport};
use crate::pipeline::{Engine, FaceError, FaceObservation};

/// One frame of a capture: when it was taken (ms from the start) and its pixels.
pub struct Frame {
    pub at_ms: u32,
    pub image: RgbImage,
}

#[derive(Debug, Serialize)]
pub struct SequenceOutcome {
    pub report: LivenessReport,
    pub frames: Vec<FrameEvidence>,
    /// The normalised mean of the frames that passed the quality gates.
    #[serde(skip)]
    pub probe: Option<Embedding>,
    /// Frames usable for comparison (one face, quality gates passed).
    pub good_frames: usize,
    /// Why frames were unusable, by reason code.
    pub unusable: Vec<(u32, &'static str)>,
}

impl Engine {
    /// Observes every frame, then decides liveness with `policy`.
    pub fn analyse_sequence(
        &self,
        frames: &[Frame],
        challenge: Challenge,
        challenge_at_ms: u32,
        policy: &LivenessPolicy,
    ) -> Result<SequenceOutcome, FaceError> {
        let mut observed: Vec<(u32, usize, Option<FaceObservation>)> = Vec::with_capacity(frames.len());
        let mut unusable = Vec::new();
        for f in frames {
            let faces = self.detect(&f.image)?;
            let obs = if faces.len() == 1 { Some(self.observe_face(&f.image, faces[0])?) } else { None };
            if faces.len() != 1 {
                unusable.push((f.at_ms, if faces.is_empty() { "no_face" } else { "several_faces" }));
            }
            observed.push((f.at_ms, faces.len(), obs));
        }
        // Identity is judged on frames that pass the quality gates: a face
        // turned 45° for the challenge is not comparable, and is not asked to be.
        let mut usable = vec![false; observed.len()];
        for (k, (at, _, o)) in observed.iter().enumerate() {
            if let Some(o) = o {
                match self.check_quality(o) {
                    Ok(()) => usable[k] = true,
                    Err(e) => unusable.push((*at, e.code())),
                }
            }
        }
        let good: Vec<Embedding> = observed
            .iter()
            .zip(&usable)
            .filter(|(_, ok)| **ok)
            .filter_map(|((_, _, o), _)| o.as_ref().map(|o| o.embedding.clone()))
            .collect();
        let centre = Embedding::fuse(&good);
        let mut evidence = Vec::with_capacity(observed.len());
        let mut previous: Option<&FaceObservation> = None;
        for ((at_ms, faces, obs), usable) in observed.iter().zip(&usable) {
            let e = match obs {
                Some(o) => FrameEvidence {
                    at_ms: *at_ms,
                    faces: *faces,
                    yaw: o.pose[0],
                    pitch: o.pose[1],
                    eyes_open: o.eyes_open_mean(),
                    passive_live: o.passive_live(),
                    change_from_previous: previous.map(|p| mean_abs_diff(&p.grey64, &o.grey64)),
                    landmark_motion: previous.map(|p| landmark_motion(p, o)),
                    identity: centre.as_ref().filter(|_| *usable).map(|c| c.similarity(&o.embedding)),
                    fingerprint: fingerprint(&o.grey64),
                },
                None => FrameEvidence {
                    at_ms: *at_ms,
                    faces: *faces,
                    yaw: 0.0,
                    pitch: 0.0,
                    eyes_open: 0.0,
                    passive_live: 0.0,
                    change_from_previous: None,
                    landmark_motion: None,
                    identity: None,
                    fingerprint: u64::from(*at_ms) ^ 0x9e37_79b9_7f4a_7c15,
                },
            };
            previous = obs.as_ref().or(previous);
            evidence.push(e);
        }
        let report = evaluate_sequence(&evidence, challenge, challenge_at_ms, policy);
        Ok(SequenceOutcome { report, frames: evidence, good_frames: good.len(), probe: Embedding::fuse(&good), unusable })
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f32 {
    let n = a.len().min(b.len()).max(1) as f32;
    a.iter().zip(b).map(|(x, y)| (f32::from(*x) - f32::from(*y)).abs()).sum::<f32>() / n
}

/// Mean landmark displacement relative to the face size.
fn landmark_motion(a: &FaceObservation, b: &FaceObservation) -> f32 {
    let size = b.face.height().max(1.0);
    a.landmarks.iter().zip(&b.landmarks).map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()).sum::<f32>()
        / 68.0
        / size
}

fn fingerprint(pixels: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    pixels.hash(&mut h);
    h.finish()
}
