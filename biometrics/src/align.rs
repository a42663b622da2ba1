//! Face alignment: the five reference points of the 112×112 embedder input and
//! the transform that brings a face's points onto them.

/// Where the eyes, nose tip and mouth corners sit in the embedder's 112×112
/// input (`REFERENCE_FACIAL_POINTS` of faceplugin's `lib/fr_feature.js`).
pub const REFERENCE_112: [[f32; 2]; 5] = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// A 2×3 affine matrix `[a b c; d e f]`: x' = a·x + b·y + c, y' = d·x + e·y + f.
pub type Affine = [[f32; 3]; 2];

/// The five points (left eye, right eye, nose tip, left and right mouth corner)
/// from the 68-point landmarks, as faceplugin's `convert68pts5pts` takes them.
pub fn five_points(landmarks68: &[[f32; 2]; 68]) -> [[f32; 2]; 5] {
    let avg = |idx: &[usize]| {
        let n = idx.len() as f32;
        [idx.iter().map(|&i| landmarks68[i][0]).sum::<f32>() / n, idx.iter().map(|&i| landmarks68[i][1]).sum::<f32>() / n]
    };
    [avg(&[37, 38, 40, 41]), avg(&[43, 44, 46, 47]), landmarks68[30], avg(&[48, 60]), avg(&[54, 64])]
}

/// The least-squares similarity transform (rotation, uniform scale, translation;
/// no reflection) taking `src` onto `dst` — the standard 5-point alignment
/// (Umeyama 1991). `None` when the points are degenerate (all equal).
pub fn similarity_transform(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Affine> {
    let n = src.len().min(dst.len());
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean = |p: &[[f32; 2]]| {
        let (sx, sy) = p[..n].iter().fold((0f64, 0f64), |(x, y), q| (x + f64::from(q[0]), y + f64::from(q[1])));
        (sx / nf, sy / nf)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    // For a similarity x' = s·R·x + t in 2-D the least-squares solution is closed form:
    // with centred points, a = Σ(x·x' + y·y') / Σ|x|², b = Σ(x·y' − y·x') / Σ|x|².
    let (mut num_a, mut num_b, mut den) = (0f64, 0f64, 0f64);
    for i in 0..n {
        let (x, y) = (f64::from(src[i][0]) - msx, f64::from(src[i][1]) - msy);
        let (u, v) = (f64::from(dst[i][0]) - mdx, f64::from(dst[i][1]) - mdy);
        num_a += x * u + y * v;
        num_b += x * v - y * u;
        den += x * x + y * y;
    }
    if den < 1e-9 {
        return None;
    }
    let (a, b) = (num_a / den, num_b / den);
    let tx = mdx - (a * msx - b * msy);
    let ty = mdy - (b * msx + a * msy);
    Some([[a as f32, -b as f32, tx as f32], [b as f32, a as f32, ty as f32]])
}

/// The exact affine through the first three point pairs — what faceplugin's
/// `warpAndCropFace` does (`getAffineTransform` on eyes and nose only). Kept to
/// measure the 5-point similarity against it (README).
pub fn three_point_affine(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Affine> {
    let m = nalgebra::Matrix3::new(
        f64::from(src[0][0]),
        f64::from(src[0][1]),
        1.0,
        f64::from(src[1][0]),
        f64::from(src[1][1]),
        1.0,
        f64::from(src[2][0]),
        f64::from(src[2][1]),
        1.0,
    );
    let inv = m.try_inverse()?;
    let solve = |k: usize| {
        let v = inv * nalgebra::Vector3::new(f64::from(dst[0][k]), f64::from(dst[1][k]), f64::from(dst[2][k]));
        [v[0] as f32, v[1] as f32, v[2] as f32]
    };
    Some([solve(0), solve(1)])
}

pub fn apply(m: &Affine, p: [f32; 2]) -> [f32; 2] {
    [m[0][0] * p[0] + m[0][1] * p[1] + m[0][2], m[1][0] * p[0] + m[1][1] * p[1] + m[1][2]]
}

/// The inverse of an affine map, for sampling the source at each output pixel.
pub fn invert(m: &Affine) -> Option<Affine> {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if det.abs() < 1e-12 {
        return None;
    }
    let (a, b, c, d) = (m[1][1] / det, -m[0][1] / det, -m[1][0] / det, m[0][0] / det);
    Some([[a, b, -(a * m[0][2] + b * m[1][2])], [c, d, -(c * m[0][2] + d * m[1][2])]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 2], b: [f32; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-3 && (a[1] - b[1]).abs() < 1e-3
    }

    #[test]
    fn similarity_recovers_a_known_transform() {
        // Rotate 30°, scale 2.5, shift (7, -3).
        let (s, t) = (2.5f32, 30f32.to_radians());
        let src = REFERENCE_112;
        let dst: Vec<[f32; 2]> = src.iter().map(|p| [s * (t.cos() * p[0] - t.sin() * p[1]) + 7.0, s * (t.sin() * p[0] + t.cos() * p[1]) - 3.0]).collect();
        let m = similarity_transform(&src, &dst).unwrap();
        for (p, q) in src.iter().zip(&dst) {
            assert!(close(apply(&m, *p), *q), "{:?} -> {:?} != {:?}", p, apply(&m, *p), q);
        }
        assert!((m[0][0] - s * t.cos()).abs() < 1e-4);
    }

    #[test]
    fn similarity_never_reflects_or_shears() {
        let src = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        let mirrored = [[0.0, 0.0], [-1.0, 0.0], [0.0, 1.0]];
        let m = similarity_transform(&src, &mirrored).unwrap();
        // a = m00 = m11 and b = m10 = -m01: a rotation-scale, determinant ≥ 0.
        assert_eq!(m[0][0], m[1][1]);
        assert_eq!(m[1][0], -m[0][1]);
        assert!(similarity_transform(&[[1.0, 1.0]; 5], &REFERENCE_112).is_none());
    }

    #[test]
    fn three_point_affine_is_exact_on_its_points() {
        let src = [[10.0, 10.0], [50.0, 12.0], [30.0, 40.0]];
        let m = three_point_affine(&src, &REFERENCE_112).unwrap();
        for i in 0..3 {
            assert!(close(apply(&m, src[i]), REFERENCE_112[i]));
        }
        assert!(three_point_affine(&[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], &REFERENCE_112).is_none());
    }

    #[test]
    fn inverse_undoes() {
        let m = similarity_transform(&[[0.0, 0.0], [4.0, 1.0], [2.0, 5.0]], &REFERENCE_112[..3]).unwrap();
        let inv = invert(&m).unwrap();
        let p = [13.0, -4.0];
        assert!(close(apply(&inv, apply(&m, p)), p));
    }

    #[test]
    fn five_points_from_68() {
        let mut l = [[0.0f32; 2]; 68];
        for (i, p) in l.iter_mut().enumerate() {
            *p = [i as f32, 2.0 * i as f32];
        }
        let f = five_points(&l);
        assert_eq!(f[0], [39.0, 78.0]); // mean of 37, 38, 40, 41
        assert_eq!(f[1], [45.0, 90.0]);
        assert_eq!(f[2], [30.0, 60.0]);
        assert_eq!(f[3], [54.0, 108.0]);
        assert_eq!(f[4], [59.0, 118.0]);
    }
}
