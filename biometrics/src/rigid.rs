//! A blink is the whole face's (pure; unit-tested alone).
//!
//! A photo whose eye regions are painted closed for a few frames changes
//! there and nowhere else: outside the eyes each frame is the same picture,
//! moved as a plane, plus the camera's noise. A living face that blinks keeps
//! moving while it does — the head's small 3-D motion (parallax that no plane
//! transform removes), the brows and cheeks that go with the lids, the light
//! on the skin shifting with them.
//!
//! [`nonrigid_change`] measures that between two frames from what a frame
//! keeps once its pixels are dropped (the face box, the 68 landmarks and the
//! 64×64 grey crop of the box). Only the face outside the eyes counts: inside
//! the polygon of the jaw line and the brows, outside an ellipse around each
//! eye (1.1 × 0.8 eye widths, wider than lids or paint). The second crop is
//! brought onto the first by the best homography — any motion of a flat
//! picture (jitter, drift, roll, zoom, tilt) is one — started from the
//! landmarks outside the eyes and refined on the pixels themselves
//! (Gauss–Newton with a grey offset): the landmark model's points move when
//! the eyes are painted, so they alone would leave a painted photo misaligned.
//! What remains is averaged over 8×8-pixel blocks of the crop (independent
//! sensor noise drops about eightfold; the change of a living face is
//! spatially coherent and stays), the blocks' mean is removed (a change of
//! the camera's exposure is not a face moving), and the measure is the root
//! mean square of the block means, in grey levels.
//!
//! Measured (`cargo test -p tanu-biometrics --test pad -- --ignored --nocapture
//! rigid_copy_figures`): photos of faces-dev presented by the attack generator
//! (sensor noise σ 3, ±2 px jitter, JPEG q85) stay below 1.9 wherever a blink
//! is placed in their capture, painted or blurred eyes included; the shared
//! clip's live frames, which hold no blink, give 6.5 or more at every place a
//! blink could be. `LivenessPolicy::min_nonrigid` (2.5) sits nearer the
//! photos' floor because a person holding still to blink moves less than
//! that singer. The floor grows slowly with the camera noise an attacker
//! adds: Gaussian noise of σ 8 or 16 more on every frame lifts it to 2.0 at
//! most. What it does not stop: a picture whose surface is made to change
//! outside the eyes too (a warped or relit photo, a video of the face).

use nalgebra::{Matrix3, SMatrix, SVector};

use crate::geometry::fit_homography;
use crate::pipeline::FaceBox;

/// Side of the grey crop the pipeline keeps ([`crate::liveness::FaceSample::grey64`]).
pub const CROP: usize = 64;
/// Side of the averaging block, in crop pixels.
pub const BLOCK: usize = 8;
/// Fewest valid pixels that make a block count.
const MIN_BLOCK_PIXELS: usize = 16;
/// Fewest blocks that make a comparison.
const MIN_BLOCKS: usize = 6;
/// Half-axes of the excluded ellipse around each eye, in eye widths (corner
/// to corner): wider than the lids and the paint an attacker would use.
const EYE_RX: f32 = 1.1;
const EYE_RY: f32 = 0.8;

/// What a frame keeps of its face: enough to compare it with another.
#[derive(Debug, Clone, Copy)]
pub struct FaceView<'a> {
    pub face: &'a FaceBox,
    pub landmarks: &'a [[f32; 2]],
    pub grey64: &'a [u8],
}

/// Landmarks that do not move with the lids: jaw, brows, nose, mouth.
fn outside_eyes(landmarks: &[[f32; 2]]) -> Vec<[f32; 2]> {
    landmarks.iter().enumerate().filter(|(i, _)| !(36..48).contains(i)).map(|(_, p)| *p).collect()
}

impl FaceView<'_> {
    fn valid(&self) -> bool {
        self.landmarks.len() == 68 && self.grey64.len() == CROP * CROP && self.face.width() > 1.0 && self.face.height() > 1.0
    }

    /// The image point at the centre of crop pixel (u, v) (the pipeline's
    /// resize convention: pixel centres, `resize_region`).
    fn image_point(&self, u: usize, v: usize) -> [f32; 2] {
        let (sx, sy) = (self.face.width() / CROP as f32, self.face.height() / CROP as f32);
        [self.face.x1 + (u as f32 + 0.5) * sx - 0.5, self.face.y1 + (v as f32 + 0.5) * sy - 0.5]
    }

    /// [`Self::image_point`] as a matrix.
    fn crop_to_image(&self) -> Matrix3<f64> {
        let (sx, sy) = (f64::from(self.face.width()) / CROP as f64, f64::from(self.face.height()) / CROP as f64);
        Matrix3::new(sx, 0.0, f64::from(self.face.x1) + 0.5 * sx - 0.5, 0.0, sy, f64::from(self.face.y1) + 0.5 * sy - 0.5, 0.0, 0.0, 1.0)
    }

    /// Image points to crop pixels.
    fn image_to_crop(&self) -> Option<Matrix3<f64>> {
        self.crop_to_image().try_inverse()
    }

    /// Whether image point `p` is on the face (inside the polygon of the jaw
    /// line and the brows) and outside both eye ellipses.
    fn on_face_outside_eyes(&self, p: [f32; 2], outline: &[[f32; 2]], eyes: &[([f32; 2], f32); 2]) -> bool {
        let in_eye = eyes.iter().any(|(c, w)| {
            let (dx, dy) = ((p[0] - c[0]) / (EYE_RX * w), (p[1] - c[1]) / (EYE_RY * w));
            dx * dx + dy * dy <= 1.0
        });
        !in_eye && inside(p, outline)
    }

    /// The jaw line (0–16) closed by the brows (26 back to 17).
    fn outline(&self) -> Vec<[f32; 2]> {
        (0..17).chain((17..27).rev()).map(|i| self.landmarks[i]).collect()
    }

    /// Each eye's centre (its six points) and width (corner to corner).
    fn eyes(&self) -> [([f32; 2], f32); 2] {
        let eye = |r: std::ops::Range<usize>, a: usize, b: usize| {
            let n = r.len() as f32;
            let c = r.fold([0f32; 2], |s, i| [s[0] + self.landmarks[i][0] / n, s[1] + self.landmarks[i][1] / n]);
            let w = ((self.landmarks[b][0] - self.landmarks[a][0]).powi(2) + (self.landmarks[b][1] - self.landmarks[a][1]).powi(2)).sqrt();
            (c, w.max(1.0))
        };
        [eye(36..42, 36, 39), eye(42..48, 42, 45)]
    }
}

/// Even-odd rule.
fn inside(p: [f32; 2], polygon: &[[f32; 2]]) -> bool {
    let mut inside = false;
    let mut j = polygon.len().wrapping_sub(1);
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The change of the face outside the eyes from `a` to `b` that no plane
/// motion explains, in grey levels (RMS over 8×8 blocks of the crop of the
/// mean-removed difference after the best homography). `None` when the two
/// cannot be compared (malformed input, no homography, too little face
/// outside the eyes).
pub fn nonrigid_change(a: FaceView<'_>, b: FaceView<'_>) -> Option<f32> {
    if !a.valid() || !b.valid() {
        return None;
    }
    let start = fit_homography(&outside_eyes(a.landmarks), &outside_eyes(b.landmarks))?;
    // From A's crop to B's, in centred crop coordinates (±1 across the crop).
    let warp = normaliser().try_inverse()? * b.image_to_crop()? * start * a.crop_to_image() * normaliser();
    let warp = warp / warp[(2, 2)];
    let (outline, eyes) = (a.outline(), a.eyes());
    let points: Vec<(usize, f64, f64)> = (0..CROP * CROP)
        .filter(|k| a.on_face_outside_eyes(a.image_point(k % CROP, k / CROP), &outline, &eyes))
        .map(|k| (k, ((k % CROP) as f64 - HALF) / HALF, ((k / CROP) as f64 - HALF) / HALF))
        .collect();
    let (ga, gb) = (Grid::smoothed(a.grey64), Grid::smoothed(b.grey64));
    let warp = register(warp, &points, &ga, &gb)?;
    let blocks_per_side = CROP / BLOCK;
    let mut sums = vec![(0f64, 0usize); blocks_per_side * blocks_per_side];
    for &(k, x, y) in &points {
        let Some(later) = project(&warp, x, y).and_then(|(u, v)| gb.sample(u, v)) else { continue };
        let s = &mut sums[(k / CROP / BLOCK) * blocks_per_side + (k % CROP) / BLOCK];
        s.0 += later - ga.v[k];
        s.1 += 1;
    }
    let means: Vec<f64> = sums.iter().filter(|(_, n)| *n >= MIN_BLOCK_PIXELS).map(|(s, n)| s / *n as f64).collect();
    if means.len() < MIN_BLOCKS {
        return None;
    }
    let offset = means.iter().sum::<f64>() / means.len() as f64;
    let rms = (means.iter().map(|m| (m - offset).powi(2)).sum::<f64>() / means.len() as f64).sqrt();
    rms.is_finite().then_some(rms as f32)
}

/// A blink against the open frames around it: `views` are a capture's faces
/// in order, closed from `first` to `last`. The blink's frames are those and
/// one either side; the references the frames just outside them (two before
/// `first`, two after `last`) that `open` says are open. For each blink frame
/// the mean [`nonrigid_change`] from the references; the median over the
/// blink's frames (one odd frame does not decide). `None` when nothing could
/// be compared.
pub fn blink_change(views: &[FaceView<'_>], first: usize, last: usize, open: impl Fn(usize) -> bool) -> Option<f32> {
    let n = views.len();
    let references: Vec<usize> = [first.checked_sub(2), Some(last + 2)].into_iter().flatten().filter(|&r| r < n && open(r)).collect();
    let mut changes: Vec<f32> = (first.saturating_sub(1)..(last + 2).min(n))
        .filter_map(|i| {
            let c: Vec<f32> = references.iter().filter_map(|&r| nonrigid_change(views[r], views[i])).collect();
            (!c.is_empty()).then(|| c.iter().sum::<f32>() / c.len() as f32)
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    changes.sort_by(f32::total_cmp);
    Some(changes[changes.len() / 2])
}

/// Half the crop's side: crop pixel u sits at (u − HALF) / HALF.
const HALF: f64 = (CROP as f64 - 1.0) / 2.0;

/// Centred crop coordinates (±1) to crop pixels.
fn normaliser() -> Matrix3<f64> {
    Matrix3::new(HALF, 0.0, HALF, 0.0, HALF, HALF, 0.0, 0.0, 1.0)
}

/// Where homography `h` takes centred point (x, y), in crop pixels.
fn project(h: &Matrix3<f64>, x: f64, y: f64) -> Option<(f64, f64)> {
    let d = h[(2, 0)] * x + h[(2, 1)] * y + h[(2, 2)];
    if d.abs() < 1e-9 {
        return None;
    }
    let (wx, wy) = ((h[(0, 0)] * x + h[(0, 1)] * y + h[(0, 2)]) / d, (h[(1, 0)] * x + h[(1, 1)] * y + h[(1, 2)]) / d);
    Some((wx * HALF + HALF, wy * HALF + HALF))
}

/// A crop as numbers, smoothed by a 3×3 box (sensor noise, JPEG blocks), with
/// its gradient for the registration.
struct Grid {
    v: Vec<f64>,
    gx: Vec<f64>,
    gy: Vec<f64>,
}

impl Grid {
    fn smoothed(grey: &[u8]) -> Grid {
        let at = |u: usize, v: usize| f64::from(grey[v * CROP + u]);
        let mut out = vec![0f64; CROP * CROP];
        for v in 0..CROP {
            for u in 0..CROP {
                let (mut s, mut n) = (0.0, 0.0);
                for y in v.saturating_sub(1)..=(v + 1).min(CROP - 1) {
                    for x in u.saturating_sub(1)..=(u + 1).min(CROP - 1) {
                        s += at(x, y);
                        n += 1.0;
                    }
                }
                out[v * CROP + u] = s / n;
            }
        }
        let diff = |k0: usize, k1: usize, span: f64| (out[k1] - out[k0]) / span;
        let (mut gx, mut gy) = (vec![0f64; CROP * CROP], vec![0f64; CROP * CROP]);
        for v in 0..CROP {
            for u in 0..CROP {
                let (l, r) = (u.saturating_sub(1), (u + 1).min(CROP - 1));
                let (t, b) = (v.saturating_sub(1), (v + 1).min(CROP - 1));
                gx[v * CROP + u] = diff(v * CROP + l, v * CROP + r, (r - l) as f64);
                gy[v * CROP + u] = diff(t * CROP + u, b * CROP + u, (b - t) as f64);
            }
        }
        Grid { v: out, gx, gy }
    }

    /// Bilinear value at crop pixel (u, v), and the gradient there; `None` outside.
    fn sample_all(&self, u: f64, v: f64) -> Option<[f64; 3]> {
        let max = (CROP - 1) as f64;
        if !(0.0..=max).contains(&u) || !(0.0..=max).contains(&v) {
            return None;
        }
        let (u0, v0) = (u.floor() as usize, v.floor() as usize);
        let (u1, v1) = ((u0 + 1).min(CROP - 1), (v0 + 1).min(CROP - 1));
        let (fu, fv) = (u - u0 as f64, v - v0 as f64);
        let lerp = |g: &[f64]| {
            let top = g[v0 * CROP + u0] * (1.0 - fu) + g[v0 * CROP + u1] * fu;
            let bottom = g[v1 * CROP + u0] * (1.0 - fu) + g[v1 * CROP + u1] * fu;
            top * (1.0 - fv) + bottom * fv
        };
        Some([lerp(&self.v), lerp(&self.gx), lerp(&self.gy)])
    }

    fn sample(&self, u: f64, v: f64) -> Option<f64> {
        self.sample_all(u, v).map(|s| s[0])
    }
}

/// The homography (centred crop coordinates, A to B) and grey offset that
/// best bring B onto A over `points` (Gauss–Newton on the pixel difference,
/// from the landmarks' homography): the best a moved flat picture can do.
fn register(mut h: Matrix3<f64>, points: &[(usize, f64, f64)], a: &Grid, b: &Grid) -> Option<Matrix3<f64>> {
    let mut offset = 0.0;
    for _ in 0..ITERATIONS {
        let mut jtj = SMatrix::<f64, 9, 9>::zeros();
        let mut jtr = SVector::<f64, 9>::zeros();
        for &(k, x, y) in points {
            let d = h[(2, 0)] * x + h[(2, 1)] * y + 1.0;
            if d.abs() < 1e-9 {
                continue;
            }
            let (wx, wy) = ((h[(0, 0)] * x + h[(0, 1)] * y + h[(0, 2)]) / d, (h[(1, 0)] * x + h[(1, 1)] * y + h[(1, 2)]) / d);
            let Some([value, gx, gy]) = b.sample_all(wx * HALF + HALF, wy * HALF + HALF) else { continue };
            let (bx, by) = (gx * HALF / d, gy * HALF / d);
            let p = bx * wx + by * wy;
            let j = SVector::<f64, 9>::from_column_slice(&[bx * x, bx * y, bx, by * x, by * y, by, -p * x, -p * y, 1.0]);
            let r = value + offset - a.v[k];
            jtj += j * j.transpose();
            jtr += j * r;
        }
        for i in 0..9 {
            jtj[(i, i)] *= 1.0 + 1e-6;
        }
        let step = jtj.cholesky()?.solve(&(-jtr));
        let delta = Matrix3::new(step[0], step[1], step[2], step[3], step[4], step[5], step[6], step[7], 0.0);
        h += delta;
        offset += step[8];
        if !h.iter().all(|v| v.is_finite()) {
            return None;
        }
        if step.rows(0, 8).norm() < 1e-5 {
            break;
        }
    }
    Some(h)
}

/// Gauss–Newton steps of the registration (it converges in a few from the
/// landmarks' homography).
const ITERATIONS: usize = 15;

/// A synthetic face for the tests: a 68-point layout (iBUG order) and crops.
#[cfg(test)]
pub(crate) mod synthetic {
    use super::CROP;
    use crate::pipeline::FaceBox;

    /// The 68 points of a frontal face in face widths, centred on the face, y down.
    pub fn face_points() -> Vec<[f64; 2]> {
        use std::f64::consts::PI;
        let mut p: Vec<[f64; 2]> = (0..17)
            .map(|k| {
                let t = PI * f64::from(k) / 16.0;
                [-0.5 * t.cos(), -0.1 + 0.6 * t.sin()]
            })
            .collect();
        for x0 in [-0.42, 0.12] {
            p.extend((0..5).map(|j| [x0 + 0.075 * f64::from(j), -0.30 - 0.04 * (PI * f64::from(j) / 4.0).sin()]));
        }
        p.extend((0..4).map(|j| [0.0, -0.2 + 0.08 * f64::from(j)]));
        p.extend((0..5).map(|j| [-0.1 + 0.05 * f64::from(j), 0.1]));
        let eye = [[-0.08, 0.0], [-0.03, -0.03], [0.03, -0.03], [0.08, 0.0], [0.03, 0.03], [-0.03, 0.03]];
        for cx in [-0.2, 0.2] {
            p.extend(eye.iter().map(|e| [cx + e[0], -0.15 + e[1]]));
        }
        for (n, rx, ry) in [(12, 0.18, 0.07), (8, 0.12, 0.03)] {
            p.extend((0..n).map(|j| {
                let t = PI + 2.0 * PI * f64::from(j) / f64::from(n);
                [rx * t.cos(), 0.28 + ry * t.sin()]
            }));
        }
        p
    }

    /// Where each eye's paint goes: its centre in face widths, and its half-axes.
    pub const EYES: [[f64; 2]; 2] = [[-0.2, -0.15], [0.2, -0.15]];

    /// Whether face point (x, y) (face widths) is under the paint of an eye.
    pub fn under_paint(x: f64, y: f64) -> bool {
        EYES.iter().any(|c| ((x - c[0]) / 0.12).powi(2) + ((y - c[1]) / 0.07).powi(2) <= 1.0)
    }

    /// Skin-like texture with structure at several scales, at face point (x, y).
    pub fn skin(x: f64, y: f64) -> f64 {
        120.0 + 40.0 * (9.0 * x).sin() * (7.0 * y).cos() + 20.0 * (23.0 * x + 13.0 * y).sin() + 10.0 * (41.0 * y).cos()
    }

    /// The 64×64 crop of `face` showing `grey(x, y)` at each image point.
    pub fn crop(face: &FaceBox, grey: impl Fn(f64, f64) -> f64) -> Vec<u8> {
        let (sx, sy) = (f64::from(face.width()) / CROP as f64, f64::from(face.height()) / CROP as f64);
        (0..CROP * CROP)
            .map(|k| {
                let (u, v) = ((k % CROP) as f64, (k / CROP) as f64);
                let (x, y) = (f64::from(face.x1) + (u + 0.5) * sx - 0.5, f64::from(face.y1) + (v + 0.5) * sy - 0.5);
                grey(x, y).round().clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    /// Pseudo-random sensor noise in ±`amplitude`, fixed by (frame, pixel).
    pub fn noise(frame: u32, x: f64, y: f64, amplitude: f64) -> f64 {
        let h = (frame as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ ((x * 7.0) as i64 as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)
            ^ ((y * 13.0) as i64 as u64).wrapping_mul(0x94D0_49BB_1331_11EB);
        let h = (h ^ (h >> 31)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        amplitude * (((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::synthetic::*;
    use super::*;

    /// The face 160 px wide at (cx, cy), rotated by `roll`: its landmarks, box
    /// and the map from image points back to face points.
    struct Placed {
        landmarks: Vec<[f32; 2]>,
        face: FaceBox,
        back: Box<dyn Fn(f64, f64) -> (f64, f64)>,
    }

    fn place(cx: f64, cy: f64, roll: f64) -> Placed {
        let (s, c) = roll.to_radians().sin_cos();
        let w = 160.0;
        let landmarks: Vec<[f32; 2]> =
            face_points().iter().map(|p| [(cx + w * (c * p[0] - s * p[1])) as f32, (cy + w * (s * p[0] + c * p[1])) as f32]).collect();
        let face = FaceBox { x1: (cx - 100.0) as f32, y1: (cy - 95.0) as f32, x2: (cx + 100.0) as f32, y2: (cy + 105.0) as f32, score: 0.99 };
        let back = Box::new(move |x: f64, y: f64| {
            let (dx, dy) = ((x - cx) / w, (y - cy) / w);
            (c * dx + s * dy, -s * dx + c * dy)
        });
        Placed { landmarks, face, back }
    }

    /// A frame of the face at `placed`: `extra` adds to the skin at face points.
    fn render(p: &Placed, frame: u32, painted: bool, extra: impl Fn(f64, f64) -> f64) -> Vec<u8> {
        crop(&p.face, |x, y| {
            let (fx, fy) = (p.back)(x, y);
            let base = if painted && under_paint(fx, fy) { 150.0 } else { skin(fx, fy) + extra(fx, fy) };
            base + noise(frame, x, y, 4.0)
        })
    }

    fn change(a: &Placed, ga: &[u8], b: &Placed, gb: &[u8]) -> Option<f32> {
        nonrigid_change(FaceView { face: &a.face, landmarks: &a.landmarks, grey64: ga }, FaceView { face: &b.face, landmarks: &b.landmarks, grey64: gb })
    }

    #[test]
    fn a_moved_picture_with_painted_eyes_is_a_rigid_copy() {
        let a = place(320.0, 240.0, 0.0);
        let b = place(322.3, 238.9, 1.5);
        let (ga, gb) = (render(&a, 1, false, |_, _| 0.0), render(&b, 2, true, |_, _| 0.0));
        let m = change(&a, &ga, &b, &gb).unwrap();
        assert!(m < 1.0, "{m}");
        // A change of exposure is not a face moving either.
        let brighter: Vec<u8> = gb.iter().map(|v| v.saturating_add(12)).collect();
        assert!(change(&a, &ga, &b, &brighter).unwrap() < 1.0);
    }

    #[test]
    fn a_face_that_moves_beyond_a_plane_is_not() {
        let a = place(320.0, 240.0, 0.0);
        let b = place(321.0, 240.5, 0.5);
        // A cheek raised and the mouth's corner drawn, as with a blink.
        let cheek =
            |x: f64, y: f64| 25.0 * (-((x - 0.25).powi(2) + (y - 0.1).powi(2)) / 0.01).exp() - 20.0 * (-((x + 0.15).powi(2) + (y - 0.3).powi(2)) / 0.008).exp();
        let (ga, gb) = (render(&a, 1, false, |_, _| 0.0), render(&b, 2, true, cheek));
        let m = change(&a, &ga, &b, &gb).unwrap();
        assert!(m > 2.5, "{m}");
    }

    #[test]
    fn what_cannot_be_compared_is_none() {
        let a = place(320.0, 240.0, 0.0);
        let ga = render(&a, 1, false, |_, _| 0.0);
        assert!(change(&a, &ga, &a, &ga[..100]).is_none());
        let few = FaceView { face: &a.face, landmarks: &a.landmarks[..30], grey64: &ga };
        assert!(nonrigid_change(few, FaceView { face: &a.face, landmarks: &a.landmarks, grey64: &ga }).is_none());
        assert!(!inside([0.0, 0.0], &[]));
        assert!(inside([1.0, 1.0], &[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]));
    }
}
