//! A capture turned into what the liveness decision needs: each frame is
//! analysed on its own as it arrives ([`Engine::analyse_frame`]), its pixels
//! dropped and its measurements kept; the decision then runs over them.

use image::RgbImage;
use serde::Serialize;

use crate::decision::Embedding;
use crate::liveness::{evaluate, probe, FaceSample, FrameAnalysis, LivenessPolicy, LivenessReport, Schedule};
use crate::pipeline::{Engine, FaceError, PassiveModel};
use crate::texture::periodic_peak;

/// One frame of a capture: when it arrived (ms from the start) and its pixels.
pub struct Frame {
    pub at_ms: u32,
    pub image: RgbImage,
}

#[derive(Debug, Serialize)]
pub struct SequenceOutcome {
    pub report: LivenessReport,
    #[serde(skip)]
    pub frames: Vec<FrameAnalysis>,
    /// The normalised mean of the frames that passed the quality gates.
    #[serde(skip)]
    pub probe: Option<Embedding>,
    /// Frames usable for comparison (one face, quality gates passed).
    pub good_frames: usize,
    /// Why frames were unusable, by reason code.
    pub unusable: Vec<(u32, String)>,
}

impl SequenceOutcome {
    pub fn new(frames: Vec<FrameAnalysis>, schedule: &Schedule, policy: &LivenessPolicy) -> Self {
        let report = evaluate(&frames, schedule, policy);
        let unusable = frames
            .iter()
            .filter_map(|f| match (&f.face, f.faces) {
                (_, 0) => Some((f.at_ms, "no_face".to_owned())),
                (_, n) if n > 1 => Some((f.at_ms, "several_faces".to_owned())),
                (Some(s), _) => s.quality.clone().map(|q| (f.at_ms, q)),
                (None, _) => None,
            })
            .collect();
        let good_frames = frames.iter().filter(|f| f.face.as_ref().is_some_and(|s| s.quality.is_none())).count();
        SequenceOutcome { probe: probe(&frames), report, frames, good_frames, unusable }
    }
}

impl Engine {
    /// Everything the liveness decision needs from one frame.
    /// One frame's measurements; the passive model runs only when `policy`
    /// counts it (`min_passive` above 0).
    pub fn analyse_frame(&self, frame: &Frame, policy: &LivenessPolicy) -> Result<FrameAnalysis, FaceError> {
        let passive = if policy.min_passive > 0.0 { PassiveModel::Run } else { PassiveModel::Skip };
        let faces = self.detect(&frame.image)?;
        let face = match faces.as_slice() {
            [one] => {
                let o = self.observe_face_with(&frame.image, *one, passive)?;
                let quality = self.check_quality(&o).err().map(|e| e.code().to_owned());
                Some(FaceSample {
                    face: o.face,
                    landmarks: o.landmarks.to_vec(),
                    pose: o.pose,
                    eyes_open: o.eyes_open,
                    passive_live: o.passive_live(),
                    embedding: o.embedding,
                    quality,
                    grey64: o.grey64,
                    periodic: periodic_peak(&frame.image, &o.face),
                })
            }
            _ => None,
        };
        Ok(FrameAnalysis { at_ms: frame.at_ms, faces: faces.len(), face })
    }

    /// Analyses every frame, then decides liveness against `schedule`.
    pub fn analyse_sequence(&self, frames: &[Frame], schedule: &Schedule, policy: &LivenessPolicy) -> Result<SequenceOutcome, FaceError> {
        let analysed = frames.iter().map(|f| self.analyse_frame(f, policy)).collect::<Result<Vec<_>, _>>()?;
        Ok(SequenceOutcome::new(analysed, schedule, policy))
    }
}
