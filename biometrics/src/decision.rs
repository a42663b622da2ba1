//! Pure decisions: similarity and threshold, fusion of several captures, and the
//! active challenges (the liveness decision over a capture is [`crate::liveness`]).
//! No models, no I/O: everything here is computed from numbers the pipeline
//! measured, so it is tested exhaustively.

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
        if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
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
    /// Calibrated on `tests/data/faces-dev` (README, "Verification figures"):
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
        use rand::Rng;
        Self::ALL[rand::rngs::OsRng.gen_range(0..Self::ALL.len())]
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
}
