//! The face pipeline: detect → landmarks → align → embed, with the passive
//! liveness, eye and pose models, and the quality gates.
//!
//! Pre- and post-processing follow faceplugin's `lib/*.js`, including what
//! decides what the models see: the JS reads RGBA canvases and applies BGR
//! conversion codes, so the detector and the pose model get BGR, the embedder
//! and the liveness model RGB; its greyscale uses swapped weights
//! (0.114 R + 0.587 G + 0.299 B). Fixed here, each measured in the README:
//! cosine similarity of L2-normalised embeddings (its `matchFeature` returns −1
//! for every pair), exactly-one-face instead of its broken `getBestFace`, a pose
//! crop clamped to the image (its `predictPose` throws), and a 5-point
//! similarity alignment (it uses a 3-point affine with shear).
//!
//! Each stage is a `tracing` span of target `tanu_trace` named after it
//! (`detect`, `landmarks`, `align`, `embed`, `liveness`, `eyes`, `pose`): the
//! service times them into its metrics and traces (`idp/src/telemetry.rs`);
//! without a subscriber they cost nothing.

use image::{GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{warp_into_with, Interpolation};
use ndarray::Array4;
use serde::Serialize;

use crate::align::{self, Affine};
use crate::decision::Embedding;
use crate::image_input::ImageError;
use crate::models::{ModelError, ModelSet};

/// A face box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct FaceBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
}

impl FaceBox {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
}

/// Which box survives when detections overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NmsOrder {
    /// Highest score first (standard).
    Score,
    /// Lowest bottom edge first, as faceplugin's `cpuNMS` does.
    BottomEdge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// Least-squares similarity over the five points (standard).
    FivePointSimilarity,
    /// Exact affine through eyes and nose, as faceplugin does.
    ThreePointAffine,
}

/// Detector and quality-gate settings; the defaults are what the README measures.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct PipelineConfig {
    pub confidence: f32,
    pub nms_threshold: f32,
    pub nms_order: NmsOrder,
    pub alignment: Alignment,
    /// Detections with a lower score than this do not count as a second face
    /// (they are almost always texture in hair or background).
    pub count_confidence: f32,
    /// Smallest face side, in pixels, that counts as a face at all.
    pub min_face_px: f32,
    /// Smallest face side for a usable capture (quality gate).
    pub min_quality_face_px: f32,
    pub min_brightness: f32,
    pub max_brightness: f32,
    /// Variance of the Laplacian of the aligned face below which it is blurred.
    pub min_sharpness: f32,
    pub max_yaw: f32,
    pub max_pitch: f32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            confidence: 0.65,
            nms_threshold: 0.4,
            nms_order: NmsOrder::Score,
            alignment: Alignment::FivePointSimilarity,
            count_confidence: 0.8,
            min_face_px: 24.0,
            min_quality_face_px: 64.0,
            min_brightness: 40.0,
            max_brightness: 215.0,
            min_sharpness: 15.0,
            max_yaw: 35.0,
            max_pitch: 30.0,
        }
    }
}

/// Why an image gives no usable face. Each has a stable code for the journal,
/// the JSON output and the citizen's message.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("no face found")]
    NoFace,
    #[error("{0} faces found; exactly one is required")]
    SeveralFaces(usize),
    #[error("the face is too small ({0:.0} px)")]
    TooSmall(f32),
    #[error("the face is too dark")]
    TooDark,
    #[error("the face is too bright")]
    TooBright,
    #[error("the face is blurred")]
    Blurred,
    #[error("the head is turned too far")]
    HeadTurned,
    #[error("the eyes are closed")]
    EyesClosed,
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl FaceError {
    pub fn code(&self) -> &'static str {
        match self {
            FaceError::NoFace => "no_face",
            FaceError::SeveralFaces(_) => "several_faces",
            FaceError::TooSmall(_) => "face_too_small",
            FaceError::TooDark => "too_dark",
            FaceError::TooBright => "too_bright",
            FaceError::Blurred => "blurred",
            FaceError::HeadTurned => "head_turned",
            FaceError::EyesClosed => "eyes_closed",
            FaceError::Image(e) => e.code(),
            FaceError::Model(_) => "engine_error",
        }
    }
}

/// Whether an observation runs the passive liveness model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassiveModel {
    Run,
    Skip,
}

/// Everything measured about the one face in an image.
#[derive(Debug, Clone, Serialize)]
pub struct FaceObservation {
    pub face: FaceBox,
    #[serde(skip)]
    pub landmarks: [[f32; 2]; 68],
    pub five_points: [[f32; 2]; 5],
    #[serde(skip)]
    pub embedding: Embedding,
    /// Softmax of the passive liveness model (three classes); `None` when
    /// it was not run ([`PassiveModel::Skip`]).
    pub passive: Option<[f32; 3]>,
    /// Probability that the left and right eye are open.
    pub eyes_open: [f32; 2],
    /// Yaw, pitch, roll in degrees.
    pub pose: [f32; 3],
    pub brightness: f32,
    pub sharpness: f32,
    /// The face's 64×64 grey crop, for frame-to-frame change.
    #[serde(skip)]
    pub grey64: Vec<u8>,
}

impl FaceObservation {
    /// The passive model's "live" probability: its class 0, the score the
    /// package's `predictLiveness` reports (a weak signal; README).
    pub fn passive_live(&self) -> Option<f32> {
        self.passive.map(|p| p[0])
    }

    pub fn eyes_open_mean(&self) -> f32 {
        (self.eyes_open[0] + self.eyes_open[1]) / 2.0
    }
}

/// The loaded models plus the settings: one per process, shared by requests.
pub struct Engine {
    pub models: ModelSet,
    pub config: PipelineConfig,
}

impl Engine {
    pub fn new(models: ModelSet, config: PipelineConfig) -> Self {
        Engine { models, config }
    }

    /// Loads the models (and ONNX Runtime) of `models` and builds the engine.
    pub fn load(models: &crate::models::ModelsConfig, config: PipelineConfig) -> Result<Self, ModelError> {
        Ok(Engine::new(ModelSet::load(models)?, config))
    }

    /// All faces the detector finds, as counted for the one-face rule.
    /// A face that fills the frame (a close selfie) is missed by this detector,
    /// so when nothing is found the image is searched again with a border.
    #[tracing::instrument(target = "tanu_trace", name = "detect", skip_all)]
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<FaceBox>, FaceError> {
        let found = self.detect_once(img)?;
        if !found.is_empty() {
            return Ok(found);
        }
        let (w, h) = img.dimensions();
        let pad = (w.max(h) / 4).max(1);
        let mut padded = RgbImage::from_pixel(w + 2 * pad, h + 2 * pad, Rgb([127, 127, 127]));
        image::imageops::replace(&mut padded, img, i64::from(pad), i64::from(pad));
        let p = pad as f32;
        Ok(self
            .detect_once(&padded)?
            .into_iter()
            .map(|b| FaceBox {
                x1: (b.x1 - p).max(0.0),
                y1: (b.y1 - p).max(0.0),
                x2: (b.x2 - p).min(w as f32 - 1.0),
                y2: (b.y2 - p).min(h as f32 - 1.0),
                score: b.score,
            })
            .filter(|b| b.width() > 0.0 && b.height() > 0.0)
            .collect())
    }

    fn detect_once(&self, img: &RgbImage) -> Result<Vec<FaceBox>, FaceError> {
        let (w, h) = img.dimensions();
        let small = resize_region(img, (0.0, 0.0, w as f32, h as f32), 320, 240);
        // BGR, (x − 127) / 128.
        let input = nchw(&small, |px, c| (f32::from(px[2 - c]) - 127.0) / 128.0);
        let out = self.models.detect.run(input.view())?;
        let (scores, boxes) = (&out[0], &out[1]);
        let mut candidates: Vec<FaceBox> = (0..scores.len() / 2)
            .filter(|&i| scores[2 * i + 1] >= self.config.confidence)
            .map(|i| FaceBox {
                x1: boxes[4 * i] * 320.0,
                y1: boxes[4 * i + 1] * 240.0,
                x2: boxes[4 * i + 2] * 320.0,
                y2: boxes[4 * i + 3] * 240.0,
                score: scores[2 * i + 1],
            })
            .collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        candidates.truncate(750);
        let kept = nms(candidates, self.config.nms_threshold, self.config.nms_order);
        let (sx, sy) = (w as f32 / 320.0, h as f32 / 240.0);
        Ok(kept
            .into_iter()
            .map(|b| {
                // Square on the box's height, centred, clamped (faceplugin's scaleResult).
                let (x1, y1, x2, y2) = (b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy);
                let side = y2 - y1;
                let (cx, cy) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
                FaceBox {
                    x1: (cx - side / 2.0).max(0.0),
                    y1: (cy - side / 2.0).max(0.0),
                    x2: (cx + side / 2.0).min(w as f32 - 1.0),
                    y2: (cy + side / 2.0).min(h as f32 - 1.0),
                    score: b.score,
                }
            })
            .filter(|b| b.score >= self.config.count_confidence && b.height().min(b.width()) >= self.config.min_face_px)
            .collect())
    }

    /// Exactly one face, or why not.
    pub fn single_face(&self, img: &RgbImage) -> Result<FaceBox, FaceError> {
        let faces = self.detect(img)?;
        match faces.len() {
            0 => Err(FaceError::NoFace),
            1 => Ok(faces[0]),
            n => Err(FaceError::SeveralFaces(n)),
        }
    }

    #[tracing::instrument(target = "tanu_trace", name = "landmarks", skip_all)]
    pub fn landmarks(&self, img: &RgbImage, face: &FaceBox) -> Result<[[f32; 2]; 68], FaceError> {
        let (x1, y1) = (face.x1.trunc(), face.y1.trunc());
        let (bw, bh) = ((face.x2.trunc() - x1).abs(), (face.y2.trunc() - y1).abs());
        let region = scaled_crop(img, (x1, y1, bw, bh), 1.0);
        let crop = resize_region(img, region, 64, 64);
        let grey = grey_swapped(&crop);
        let input = grey_input(&grey, 256.0);
        let out = self.models.landmark.run(input.view())?;
        let mut pts = [[0f32; 2]; 68];
        for (i, p) in pts.iter_mut().enumerate() {
            *p = [(out[0][2 * i] * bw + x1).trunc(), (out[0][2 * i + 1] * bh + y1).trunc()];
        }
        Ok(pts)
    }

    /// The aligned 112×112 face for the embedder.
    #[tracing::instrument(target = "tanu_trace", name = "align", skip_all)]
    pub fn aligned_face(&self, img: &RgbImage, five: &[[f32; 2]; 5]) -> Option<RgbImage> {
        let m: Affine = match self.config.alignment {
            Alignment::FivePointSimilarity => align::similarity_transform(five, &align::REFERENCE_112)?,
            Alignment::ThreePointAffine => align::three_point_affine(five, &align::REFERENCE_112)?,
        };
        let inv = align::invert(&m)?;
        let mut out = RgbImage::new(112, 112);
        warp_into_with(
            img,
            |x, y| {
                let p = align::apply(&inv, [x, y]);
                (p[0], p[1])
            },
            Interpolation::Bilinear,
            Rgb([0, 0, 0]),
            &mut out,
        );
        Some(out)
    }

    #[tracing::instrument(target = "tanu_trace", name = "embed", skip_all)]
    pub fn embed(&self, aligned: &RgbImage) -> Result<Option<Embedding>, FaceError> {
        let input = nchw(aligned, |px, c| (f32::from(px[c]) - 127.0) / 128.0);
        let out = self.models.feature.run(input.view())?;
        Ok(Embedding::normalised(&out[0]))
    }

    #[tracing::instrument(target = "tanu_trace", name = "liveness", skip_all)]
    pub fn passive_liveness(&self, img: &RgbImage, face: &FaceBox) -> Result<[f32; 3], FaceError> {
        let (x1, y1) = (face.x1.trunc(), face.y1.trunc());
        let region = scaled_crop(img, (x1, y1, (face.x2.trunc() - x1).abs(), (face.y2.trunc() - y1).abs()), 2.7);
        let crop = resize_region(img, region, 128, 128);
        let input = nchw(&crop, |px, c| f32::from(px[c]));
        let out = self.models.liveness.run(input.view())?;
        let p = softmax(&out[0]);
        Ok([p[0], p[1], p[2]])
    }

    /// Probability that each eye is open (class 1 of `fr_eye`; measured on open
    /// eyes in faces-dev, where it is ≈ 1).
    #[tracing::instrument(target = "tanu_trace", name = "eyes", skip_all)]
    pub fn eyes_open(&self, img: &RgbImage, lm: &[[f32; 2]; 68]) -> Result<[f32; 2], FaceError> {
        let mut result = [0f32; 2];
        for (k, (centre, corners)) in [([37, 38, 40, 41], (36, 39)), ([43, 44, 46, 47], (42, 45))].into_iter().enumerate() {
            let cx = (centre.iter().map(|&i| lm[i][0]).sum::<f32>() / 4.0).trunc();
            let cy = (centre.iter().map(|&i| lm[i][1]).sum::<f32>() / 4.0).trunc();
            let size = ((lm[corners.1][0] - lm[corners.0][0]) * 1.6).trunc().max(2.0);
            let x0 = (cx - size / 2.0).trunc().max(0.0);
            let y0 = (cy - size / 2.0).trunc().max(0.0);
            let (w, h) = img.dimensions();
            let size = size.min(w as f32 - x0 - 1.0).min(h as f32 - y0 - 1.0).max(1.0);
            let crop = resize_region(img, (x0, y0, size, size), 24, 24);
            let grey = grey_swapped(&crop);
            let input = grey_input(&grey, 255.0);
            let out = self.models.eye.run(input.view())?;
            result[k] = softmax(&out[0])[1];
        }
        Ok(result)
    }

    /// Yaw, pitch, roll in degrees (Hopenet-style 66 bins of 3°).
    #[tracing::instrument(target = "tanu_trace", name = "pose", skip_all)]
    pub fn pose(&self, img: &RgbImage, face: &FaceBox) -> Result<[f32; 3], FaceError> {
        let (w, h) = img.dimensions();
        let (x1, y1, x2, y2) = (face.x1.trunc(), face.y1.trunc(), face.x2.trunc(), face.y2.trunc());
        let (bw, bh) = ((x2 - x1).abs(), (y2 - y1).abs());
        // The box grown by a quarter on each side, clamped to the image (the JS throws here).
        let a = (x1 - bw / 4.0).trunc().max(0.0);
        let b = (y1 - bh / 4.0).trunc().max(0.0);
        let c = (x2 + bw / 4.0).trunc().min(w as f32);
        let d = (y2 + bh / 4.0).trunc().min(h as f32);
        let crop = resize_region(img, (a, b, (c - a).max(1.0), (d - b).max(1.0)), 224, 224);
        const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
        const STD: [f32; 3] = [0.229, 0.224, 0.225];
        let input = nchw(&crop, |px, ch| (f32::from(px[2 - ch]) / 255.0 - MEAN[ch]) / STD[ch]);
        let out = self.models.pose.run(input.view())?;
        let angle = |logits: &[f32]| softmax(logits).iter().enumerate().map(|(i, p)| p * i as f32).sum::<f32>() * 3.0 - 99.0;
        Ok([angle(&out[0]), angle(&out[1]), angle(&out[2])])
    }

    /// Every measurement of the one face in `img`, without quality gates.
    pub fn observe(&self, img: &RgbImage) -> Result<FaceObservation, FaceError> {
        let face = self.single_face(img)?;
        self.observe_face(img, face)
    }

    pub fn observe_face(&self, img: &RgbImage, face: FaceBox) -> Result<FaceObservation, FaceError> {
        self.observe_face_with(img, face, PassiveModel::Run)
    }

    /// [`Engine::observe_face`], the passive model run only when asked
    /// (a capture's frames skip it while it is advisory: about a quarter of
    /// a frame's inference time).
    pub fn observe_face_with(&self, img: &RgbImage, face: FaceBox, passive: PassiveModel) -> Result<FaceObservation, FaceError> {
        let landmarks = self.landmarks(img, &face)?;
        let five_points = align::five_points(&landmarks);
        let aligned = self.aligned_face(img, &five_points).ok_or(FaceError::NoFace)?;
        let embedding = self.embed(&aligned)?.ok_or(FaceError::NoFace)?;
        let grey_aligned = grey_swapped(&aligned);
        let brightness = grey_aligned.pixels().map(|p| f32::from(p[0])).sum::<f32>() / (112.0 * 112.0);
        let sharpness = laplacian_variance(&grey_aligned);
        let (x1, y1) = (face.x1, face.y1);
        let grey64 = grey_swapped(&resize_region(img, (x1, y1, face.width().max(1.0), face.height().max(1.0)), 64, 64)).into_raw();
        Ok(FaceObservation {
            face,
            landmarks,
            five_points,
            embedding,
            passive: match passive {
                PassiveModel::Run => Some(self.passive_liveness(img, &face)?),
                PassiveModel::Skip => None,
            },
            eyes_open: self.eyes_open(img, &landmarks)?,
            pose: self.pose(img, &face)?,
            brightness,
            sharpness,
            grey64,
        })
    }

    /// The quality gates for a capture that is to be compared or kept.
    pub fn check_quality(&self, o: &FaceObservation) -> Result<(), FaceError> {
        let c = &self.config;
        let side = o.face.width().min(o.face.height());
        if side < c.min_quality_face_px {
            return Err(FaceError::TooSmall(side));
        }
        if o.brightness < c.min_brightness {
            return Err(FaceError::TooDark);
        }
        if o.brightness > c.max_brightness {
            return Err(FaceError::TooBright);
        }
        if o.sharpness < c.min_sharpness {
            return Err(FaceError::Blurred);
        }
        if o.pose[0].abs() > c.max_yaw || o.pose[1].abs() > c.max_pitch {
            return Err(FaceError::HeadTurned);
        }
        if o.eyes_open_mean() < 0.5 {
            return Err(FaceError::EyesClosed);
        }
        Ok(())
    }
}

/// faceplugin's crop around a box scaled by `scale` (alignLandmarkImage /
/// alignLivenessImage): shifted back inside the image rather than cut.
/// Returns (x, y, w, h) in pixels.
pub fn scaled_crop(img: &RgbImage, (x, y, bw, bh): (f32, f32, f32, f32), scale_value: f32) -> (f32, f32, f32, f32) {
    let (src_w, src_h) = (img.width() as f32, img.height() as f32);
    let (bw, bh) = (bw.max(1.0), bh.max(1.0));
    let scale = ((src_h - 1.0) / bh).min((src_w - 1.0) / bw).min(scale_value);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bw / 2.0 + x, bh / 2.0 + y);
    let (mut l, mut t, mut r, mut b) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > src_w - 1.0 {
        l -= r - src_w + 1.0;
        r = src_w - 1.0;
    }
    if b > src_h - 1.0 {
        t -= b - src_h + 1.0;
        b = src_h - 1.0;
    }
    let (x0, y0) = (l.trunc().max(0.0), t.trunc().max(0.0));
    (x0, y0, (r - l).trunc().min(src_w - 1.0).max(1.0), (b - t).trunc().min(src_h - 1.0).max(1.0))
}

/// Bilinear resize of the region (x, y, w, h) to `out_w`×`out_h` with OpenCV's
/// pixel-centre convention (`cv.resize`, INTER_LINEAR: no antialiasing, edges
/// replicated), which is what the models were fed in the package. Written out
/// rather than taken from a resampling crate because those antialias when
/// downscaling, which changes what the models see; imageproc's generic warp
/// does sample this way but is 10× slower here (README, Benchmarks).
#[allow(clippy::expect_used, reason = "the buffer is built to out_w × out_h × 3 bytes")]
pub fn resize_region(img: &RgbImage, (x, y, w, h): (f32, f32, f32, f32), out_w: u32, out_h: u32) -> RgbImage {
    let (sx, sy) = (w / out_w as f32, h / out_h as f32);
    let (max_x, max_y) = ((x + w - 1.0).min(img.width() as f32 - 1.0).max(0.0), (y + h - 1.0).min(img.height() as f32 - 1.0).max(0.0));
    let taps = |o: u32, s: f32, start: f32, max: f32| {
        let v = ((o as f32 + 0.5) * s - 0.5 + start).clamp(start.min(max), max);
        let i0 = v.floor();
        let i1 = (i0 + 1.0).min(max);
        (i0 as usize, i1 as usize, v - i0)
    };
    let xs: Vec<(usize, usize, f32)> = (0..out_w).map(|o| taps(o, sx, x, max_x)).collect();
    let stride = img.width() as usize * 3;
    let src = img.as_raw();
    let mut out = Vec::with_capacity((out_w * out_h * 3) as usize);
    for oy in 0..out_h {
        let (y0, y1, fy) = taps(oy, sy, y, max_y);
        let (r0, r1) = (&src[y0 * stride..], &src[y1 * stride..]);
        for &(x0, x1, fx) in &xs {
            for c in 0..3 {
                let top = f32::from(r0[x0 * 3 + c]) * (1.0 - fx) + f32::from(r0[x1 * 3 + c]) * fx;
                let bottom = f32::from(r1[x0 * 3 + c]) * (1.0 - fx) + f32::from(r1[x1 * 3 + c]) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbImage::from_raw(out_w, out_h, out).expect("out_w × out_h × 3 bytes")
}

/// Greyscale the way the JS computes it on RGBA with a BGR code: weights swapped.
pub fn grey_swapped(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        let v = 0.114 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.299 * f32::from(p[2]);
        Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

#[allow(clippy::expect_used, reason = "the vector is built to the shape: 3 planes of w × h")]
fn nchw(img: &RgbImage, f: impl Fn(&Rgb<u8>, usize) -> f32) -> Array4<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = f(px, c);
        }
    }
    Array4::from_shape_vec((1, 3, h, w), data).expect("3 planes of w×h")
}

#[allow(clippy::expect_used, reason = "the vector is built to the shape: one plane of w × h")]
fn grey_input(grey: &GrayImage, scale: f32) -> Array4<f32> {
    let (w, h) = (grey.width() as usize, grey.height() as usize);
    let data = grey.as_raw().iter().map(|v| f32::from(*v) / scale).collect();
    Array4::from_shape_vec((1, 1, h, w), data).expect("one plane of w×h")
}

fn softmax(v: &[f32]) -> Vec<f32> {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = v.iter().map(|x| (x - max).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

fn nms(sorted_by_score: Vec<FaceBox>, threshold: f32, order: NmsOrder) -> Vec<FaceBox> {
    let mut found: Vec<FaceBox> = sorted_by_score.into_iter().filter(|b| b.width() > 0.0 && b.height() > 0.0).collect();
    if order == NmsOrder::BottomEdge {
        found.sort_by(|a, b| a.y2.total_cmp(&b.y2));
    }
    let mut kept = Vec::new();
    while !found.is_empty() {
        let last = found.remove(0);
        // Overlap relative to the other box's area, with the JS's +1 pixel.
        found.retain(|b| {
            let w = (b.x2.min(last.x2) - b.x1.max(last.x1) + 1.0).max(0.0);
            let h = (b.y2.min(last.y2) - b.y1.max(last.y1) + 1.0).max(0.0);
            w * h / (b.width() * b.height()) < threshold
        });
        kept.push(last);
    }
    kept
}

/// Variance of the 4-neighbour Laplacian: low for a blurred face.
fn laplacian_variance(g: &GrayImage) -> f32 {
    let (w, h) = g.dimensions();
    let mut values = Vec::with_capacity((w * h) as usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let c = f32::from(g.get_pixel(x, y)[0]);
            let n = f32::from(g.get_pixel(x - 1, y)[0])
                + f32::from(g.get_pixel(x + 1, y)[0])
                + f32::from(g.get_pixel(x, y - 1)[0])
                + f32::from(g.get_pixel(x, y + 1)[0]);
            values.push(n - 4.0 * c);
        }
    }
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x1: f32, y1: f32, x2: f32, y2: f32, score: f32) -> FaceBox {
        FaceBox { x1, y1, x2, y2, score }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let boxes = vec![b(0.0, 0.0, 100.0, 100.0, 0.99), b(5.0, 5.0, 105.0, 105.0, 0.9), b(300.0, 300.0, 350.0, 350.0, 0.8)];
        let kept = nms(boxes.clone(), 0.4, NmsOrder::Score);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.99);
        // The JS order keeps the box with the lowest bottom edge instead.
        let kept = nms(boxes, 0.4, NmsOrder::BottomEdge);
        assert_eq!(kept[0].score, 0.99);
        assert_eq!(kept[1].score, 0.8);
    }

    #[test]
    fn resize_preserves_a_uniform_image_and_a_gradient() {
        let img = RgbImage::from_fn(100, 50, |x, _| Rgb([(x * 2) as u8, 7, 9]));
        let out = resize_region(&img, (0.0, 0.0, 100.0, 50.0), 50, 25);
        assert_eq!(out.get_pixel(0, 0)[1], 7);
        // Output pixel 10 samples source x = 20.5 → value 41.
        assert!((i32::from(out.get_pixel(10, 3)[0]) - 41).abs() <= 1);
    }

    #[test]
    fn scaled_crop_is_shifted_inside_the_image() {
        let img = RgbImage::new(200, 100);
        let (x, y, w, h) = scaled_crop(&img, (150.0, 10.0, 40.0, 40.0), 2.7);
        assert!(x >= 0.0 && y >= 0.0 && x + w <= 199.0 && y + h <= 99.0, "{x} {y} {w} {h}");
    }

    #[test]
    fn grey_uses_the_swapped_weights() {
        let img = RgbImage::from_pixel(1, 1, Rgb([200, 0, 0]));
        assert_eq!(grey_swapped(&img).get_pixel(0, 0)[0], 23); // 0.114 · 200
    }

    #[test]
    fn laplacian_separates_sharp_from_flat() {
        let flat = GrayImage::from_pixel(20, 20, Luma([100]));
        let checker = GrayImage::from_fn(20, 20, |x, y| Luma([if (x + y) % 2 == 0 { 0 } else { 255 }]));
        assert_eq!(laplacian_variance(&flat), 0.0);
        assert!(laplacian_variance(&checker) > 1000.0);
    }
}
