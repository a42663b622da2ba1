//! A short-lived index of the frames of recent captures, to refuse a capture
//! that replays frames of another sign-in's — re-encoded, with fresh noise
//! and shifted by a pixel, so no byte repeats (pure; the caller passes the
//! clock).
//!
//! A frame's signature is a 256-bit gradient hash of its face crop together
//! with the head pose and the face's five points inside its box. Measured on
//! the shared clip (its frames replayed with noise, a pixel's shift and
//! re-encoding, against the clip's neighbouring frames 33 ms away): the hashes
//! of replayed frames differ by 4–37 bits (17 of 21 within 24), neighbouring
//! frames by 3–79 (4 of 21 within 24); the pose model moves by up to 18° on a
//! replayed frame, so the pose only rules out gross differences. One frame
//! decides nothing: a capture is a replay when half of its frames or more
//! match one earlier capture's.
//!
//! Lookups do not scan the index: the hash is cut into more segments than
//! the largest distance allowed, so two hashes within that distance share at
//! least one segment exactly (multi-index hashing), and only frames sharing a
//! segment are compared.

use std::collections::{HashMap, VecDeque};

use image_hasher::{HashAlg, HasherConfig};
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
            max_captures: 2_000,
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
        self.hash.len() == other.hash.len()
            && self.hash.iter().zip(&other.hash).map(|(a, b)| (a ^ b).count_ones()).sum::<u32>() <= policy.max_hash_distance
            && self.pose.iter().zip(&other.pose).all(|(x, y)| (x - y).abs() <= policy.max_pose_difference)
            && self.points.iter().zip(&other.points).all(|(p, q)| (p[0] - q[0]).abs().max((p[1] - q[1]).abs()) <= policy.max_point_difference)
    }

    /// The hash cut into `segments` consecutive bit ranges, each as (segment, value).
    fn segments(&self, segments: usize) -> impl Iterator<Item = (u16, u32)> + '_ {
        let bits = self.hash.len() * 8;
        (0..segments).map(move |k| {
            let (from, to) = (k * bits / segments, (k + 1) * bits / segments);
            let value = (from..to).fold(0u32, |v, i| (v << 1) | u32::from(self.hash[i / 8] >> (7 - i % 8) & 1));
            (k as u16, value)
        })
    }
}

/// The recent captures' signatures, oldest first, and the segment index.
#[derive(Debug, Default)]
pub struct ReplayIndex {
    policy: ReplayPolicy,
    /// (number, remembered at, signatures); numbers grow by one.
    captures: VecDeque<(u64, u64, Vec<FrameSignature>)>,
    next: u64,
    /// (segment, value) → (capture number, frame) of every remembered frame.
    by_segment: HashMap<(u16, u32), Vec<(u64, u16)>>,
}

impl ReplayIndex {
    pub fn new(policy: ReplayPolicy) -> Self {
        ReplayIndex { policy, ..Default::default() }
    }

    /// More segments than the largest distance (pigeonhole), at most 16 bits each.
    fn segment_count(&self) -> usize {
        (self.policy.max_hash_distance as usize + 1).clamp(16, 256)
    }

    fn capture(&self, number: u64) -> Option<&[FrameSignature]> {
        let first = self.captures.front()?.0;
        let k = usize::try_from(number.checked_sub(first)?).ok()?;
        self.captures.get(k).map(|(_, _, s)| s.as_slice())
    }

    /// The most frames `capture` shares with any one remembered capture.
    pub fn shared_frames(&self, capture: &[FrameSignature]) -> usize {
        let n = self.segment_count();
        let mut shared: HashMap<u64, usize> = HashMap::new();
        for s in capture {
            let mut seen: Vec<u64> = Vec::new();
            for key in s.segments(n) {
                for &(number, frame) in self.by_segment.get(&key).map_or(&[][..], Vec::as_slice) {
                    if seen.contains(&number) {
                        continue;
                    }
                    let old = self.capture(number).and_then(|c| c.get(usize::from(frame)));
                    if old.is_some_and(|o| s.same_frame(o, &self.policy)) {
                        seen.push(number);
                        *shared.entry(number).or_default() += 1;
                    }
                }
            }
        }
        shared.into_values().max().unwrap_or(0)
    }

    /// Whether `capture` replays a remembered one.
    pub fn is_replay(&self, capture: &[FrameSignature]) -> bool {
        let shared = self.shared_frames(capture);
        shared >= self.policy.min_shared_frames && shared as f32 >= self.policy.min_shared_share * capture.len() as f32
    }

    /// Forgets the captures older than the TTL (call before [`Self::is_replay`]).
    pub fn forget_expired(&mut self, now_ms: u64) {
        while self.captures.front().is_some_and(|(_, at, _)| now_ms.saturating_sub(*at) > self.policy.ttl_ms) {
            self.forget_oldest();
        }
    }

    /// Remembers `capture` (forgetting what is older than the TTL or beyond the bound).
    pub fn remember(&mut self, capture: Vec<FrameSignature>, now_ms: u64) {
        self.forget_expired(now_ms);
        if capture.is_empty() {
            return;
        }
        while self.captures.len() >= self.policy.max_captures.max(1) {
            self.forget_oldest();
        }
        let (number, n) = (self.next, self.segment_count());
        self.next += 1;
        for (frame, s) in capture.iter().enumerate().take(usize::from(u16::MAX)) {
            for key in s.segments(n) {
                self.by_segment.entry(key).or_default().push((number, frame as u16));
            }
        }
        self.captures.push_back((number, now_ms, capture));
    }

    fn forget_oldest(&mut self) {
        let Some((number, _, capture)) = self.captures.pop_front() else { return };
        let n = self.segment_count();
        for s in &capture {
            for key in s.segments(n) {
                if let Some(list) = self.by_segment.get_mut(&key) {
                    list.retain(|(c, _)| *c != number);
                    if list.is_empty() {
                        self.by_segment.remove(&key);
                    }
                }
            }
        }
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
        assert!(index.is_replay(&a));
        index.forget_expired(1000);
        assert!(index.is_replay(&a), "kept for the TTL");
        index.forget_expired(1001);
        assert!(!index.is_replay(&a), "forgotten after the TTL, before anything new is remembered");
        index.remember(a.clone(), 1001);
        index.remember(vec![sig(99, 30.0)], 2500);
        assert!(!index.is_replay(&a), "forgotten after the TTL");
        index.remember(vec![sig(98, 40.0)], 1600);
        index.remember(vec![sig(97, 50.0)], 1700);
        assert_eq!(index.len(), 2);
        index.remember(Vec::new(), 1800);
        assert_eq!(index.len(), 2, "an empty capture is not remembered");
        index.remember(vec![sig(96, 60.0)], 10_000);
        assert_eq!(index.len(), 1);
        assert_eq!(index.by_segment.values().map(Vec::len).sum::<usize>(), index.segment_count(), "forgotten frames leave the segment index");
    }

    #[test]
    fn frames_within_the_distance_are_found_whatever_bits_differ() {
        let policy = ReplayPolicy::default();
        let mut index = ReplayIndex::new(policy.clone());
        let first: Vec<_> = (0..16).map(|i| sig(i, 0.0)).collect();
        index.remember(first.clone(), 0);
        // Flip the largest allowed number of bits, spread so that most segments differ.
        let noisy: Vec<_> = first
            .iter()
            .map(|s| {
                let mut s = s.clone();
                for b in 0..policy.max_hash_distance as usize {
                    s.hash[(b * 11) % 32] ^= 1 << (b % 8);
                }
                s
            })
            .collect();
        assert_eq!(index.shared_frames(&noisy), 16);
        let one_too_many: Vec<_> = noisy
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.hash[31] ^= 0b1000_0000;
                s.hash[30] ^= 0b0100_0000;
                s
            })
            .collect();
        let d = |a: &FrameSignature, b: &FrameSignature| a.hash.iter().zip(&b.hash).map(|(x, y)| (x ^ y).count_ones()).sum::<u32>();
        let beyond = one_too_many.iter().zip(&first).filter(|(a, b)| d(a, b) > policy.max_hash_distance).count();
        assert_eq!(index.shared_frames(&one_too_many), 16 - beyond);
    }
}
