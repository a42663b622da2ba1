//! A short-lived index of the frames of recent captures, to refuse a capture
//! that replays frames of another sign-in's — re-encoded, with fresh noise
//! and shifted by a pixel, so no byte repeats (pure; the caller passes the
//! clock).
//!
//! A frame's signature is a perceptual hash of its face crop together with the
//! head pose and the face's five points inside its box. A replayed frame keeps
//! all of them within the noise of the pipeline; a new capture of the same
//! person, even one holding very still, does not keep the pose and the points
//! of another capture frame after frame through a head turn.

use std::collections::VecDeque;

use image_hasher::{HashAlg, HasherConfig, ImageHash};
use serde::{Deserialize, Serialize};

use crate::align::five_points;
use crate::liveness::{FaceSample, FrameAnalysis};

/// The signature of one frame's face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameSignature {
    hash: Vec<u8>,
    pose: [f32; 3],
    /// The five points relative to the face box (0–1).
    points: [[f32; 2]; 5],
}

/// How close two signatures must be to be the same frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplayPolicy {
    /// Largest Hamming distance of the 256-bit gradient hashes.
    pub max_hash_distance: u32,
    /// Largest difference of yaw, pitch or roll, degrees.
    pub max_pose_difference: f32,
    /// Largest move of any of the five points, in box sizes.
    pub max_point_difference: f32,
    /// A capture is a replay when it shares at least this many frames with one
    /// earlier capture…
    pub min_shared_frames: usize,
    /// …and at least this share of its own frames. A replay shares nearly all;
    /// a person signing in again while holding still may share the straight
    /// baseline (a quarter of a capture), not the turns.
    pub min_shared_share: f32,
    /// How long a capture is remembered, and how many at most.
    pub ttl_ms: u64,
    pub max_captures: usize,
}

impl Default for ReplayPolicy {
    fn default() -> Self {
        ReplayPolicy {
            max_hash_distance: 24,
            max_pose_difference: 20.0,
            max_point_difference: 0.03,
            min_shared_frames: 8,
            min_shared_share: 0.5,
            ttl_ms: 24 * 3600 * 1000,
            max_captures: 20_000,
        }
    }
}

impl FrameSignature {
    pub fn of(sample: &FaceSample) -> Option<Self> {
        let grey = image::GrayImage::from_raw(64, 64, sample.grey64.clone())?;
        let hash = HasherConfig::new().hash_size(16, 16).hash_alg(HashAlg::Gradient).to_hasher().hash_image(&grey);
        let lm: &[[f32; 2]; 68] = sample.landmarks.as_slice().try_into().ok()?;
        let b = sample.face;
        let (w, h) = (b.width().max(1.0), b.height().max(1.0));
        let points = five_points(lm).map(|p| [(p[0] - b.x1) / w, (p[1] - b.y1) / h]);
        Some(FrameSignature { hash: hash.as_bytes().to_vec(), pose: sample.pose, points })
    }

    /// The signatures of a capture's frames with one face.
    pub fn of_capture(frames: &[FrameAnalysis]) -> Vec<Self> {
        frames.iter().filter(|f| f.faces == 1).filter_map(|f| f.face.as_ref()).filter_map(Self::of).collect()
    }

    fn same_frame(&self, other: &Self, policy: &ReplayPolicy) -> bool {
        let hashes = ImageHash::<Box<[u8]>>::from_bytes(&self.hash).ok().zip(ImageHash::<Box<[u8]>>::from_bytes(&other.hash).ok());
        let Some((a, b)) = hashes else { return false };
        a.dist(&b) <= policy.max_hash_distance
            && self.pose.iter().zip(&other.pose).all(|(x, y)| (x - y).abs() <= policy.max_pose_difference)
            && self.points.iter().zip(&other.points).all(|(p, q)| (p[0] - q[0]).abs().max((p[1] - q[1]).abs()) <= policy.max_point_difference)
    }
}

/// The recent captures' signatures, oldest first.
#[derive(Debug, Default)]
pub struct ReplayIndex {
    policy: ReplayPolicy,
    captures: VecDeque<(u64, Vec<FrameSignature>)>,
}

impl ReplayIndex {
    pub fn new(policy: ReplayPolicy) -> Self {
        ReplayIndex { policy, captures: VecDeque::new() }
    }

    /// The most frames `capture` shares with any one remembered capture.
    pub fn shared_frames(&self, capture: &[FrameSignature]) -> usize {
        self.captures
            .iter()
            .map(|(_, old)| capture.iter().filter(|s| old.iter().any(|o| s.same_frame(o, &self.policy))).count())
            .max()
            .unwrap_or(0)
    }

    /// Whether `capture` replays a remembered one.
    pub fn is_replay(&self, capture: &[FrameSignature]) -> bool {
        let shared = self.shared_frames(capture);
        shared >= self.policy.min_shared_frames && shared as f32 >= self.policy.min_shared_share * capture.len() as f32
    }

    /// Remembers `capture` (forgetting what is older than the TTL or beyond the bound).
    pub fn remember(&mut self, capture: Vec<FrameSignature>, now_ms: u64) {
        while self.captures.front().is_some_and(|(at, _)| now_ms.saturating_sub(*at) > self.policy.ttl_ms) {
            self.captures.pop_front();
        }
        if capture.is_empty() {
            return;
        }
        while self.captures.len() >= self.policy.max_captures.max(1) {
            self.captures.pop_front();
        }
        self.captures.push_back((now_ms, capture));
    }

    pub fn len(&self) -> usize {
        self.captures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.captures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(seed: u8, yaw: f32) -> FrameSignature {
        // Hashes of different seeds differ in about half their bits.
        let hash = (0..32u32).map(|k| (u32::from(seed).wrapping_mul(2_654_435_761).rotate_left(k) >> 7) as u8).collect();
        FrameSignature { hash, pose: [yaw, 0.0, 0.0], points: [[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]] }
    }

    #[test]
    fn a_capture_sharing_frames_with_a_remembered_one_is_a_replay() {
        let mut index = ReplayIndex::new(ReplayPolicy::default());
        let first: Vec<_> = (0..16).map(|i| sig(i, i as f32 * 3.0)).collect();
        assert!(!index.is_replay(&first));
        index.remember(first.clone(), 0);
        assert!(index.is_replay(&first));
        // The same person, another capture: other poses frame by frame.
        let other: Vec<_> = (0..16).map(|i| sig(100 + i, i as f32 * 3.0 + 1.5)).collect();
        assert_eq!(index.shared_frames(&other), 0);
        // The straight frames of a still person alike in both are tolerated…
        let mut some = other.clone();
        some[..7].clone_from_slice(&first[..7]);
        assert!(!index.is_replay(&some));
        // …a capture made mostly of the other's frames is not.
        some[..10].clone_from_slice(&first[..10]);
        assert!(index.is_replay(&some));
    }

    #[test]
    fn the_index_forgets_by_time_and_by_size() {
        let policy = ReplayPolicy { ttl_ms: 1000, max_captures: 2, ..Default::default() };
        let mut index = ReplayIndex::new(policy);
        let a: Vec<_> = (0..10).map(|i| sig(i, i as f32 * 3.0)).collect();
        index.remember(a.clone(), 0);
        index.remember(vec![sig(99, 30.0)], 1500);
        assert!(!index.is_replay(&a), "forgotten after the TTL");
        index.remember(vec![sig(98, 40.0)], 1600);
        index.remember(vec![sig(97, 50.0)], 1700);
        assert_eq!(index.len(), 2);
        index.remember(Vec::new(), 1800);
        assert_eq!(index.len(), 2, "an empty capture is not remembered");
    }
}
