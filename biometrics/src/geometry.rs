//! Geometry that a flat picture cannot fake (pure; unit-tested alone).
//!
//! A photo or a screen, however it is moved, tilted or rotated in front of the
//! camera, is a plane: the image of every point on it moves by one projective
//! transform (a homography), so all 68 landmarks of a face printed on it stay
//! related by one homography from frame to frame. A real head turning is not
//! a plane: the nose tip stands in front of the cheeks and the jaw line behind
//! them, so their images move by different amounts (parallax) and no single
//! homography maps the straight face onto the turned one. The residual of the
//! best homography, relative to the face's size, measures that.

use nalgebra::{DMatrix, Matrix3, Vector3};

/// A 3×3 projective transform of the image plane.
pub type Homography = Matrix3<f64>;

/// The least-squares homography taking `src` onto `dst` (normalised DLT,
/// Hartley & Zisserman, Algorithm 4.2). `None` for fewer than four points or
/// a degenerate configuration.
pub fn fit_homography(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Homography> {
    let n = src.len().min(dst.len());
    if n < 4 {
        return None;
    }
    let (ts, s) = normaliser(&src[..n])?;
    let (td, d) = normaliser(&dst[..n])?;
    let mut a = DMatrix::<f64>::zeros(2 * n, 9);
    for i in 0..n {
        let ([x, y], [u, v]) = (s[i], d[i]);
        a.row_mut(2 * i).copy_from_slice(&[-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u]);
        a.row_mut(2 * i + 1).copy_from_slice(&[0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v]);
    }
    // The right singular vector of the smallest singular value. nalgebra's thin
    // SVD of a 2n×9 matrix gives all nine right singular vectors when 2n ≥ 9.
    let svd = a.svd(false, true);
    let v_t = svd.v_t?;
    let (k, _) = svd.singular_values.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
    let h = v_t.row(k);
    let hn = Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
    let h = td.try_inverse()? * hn * ts;
    (h[(2, 2)].abs() > 1e-12).then(|| h / h[(2, 2)])
}

/// Where `h` takes the point `p`.
pub fn apply(h: &Homography, p: [f32; 2]) -> Option<[f64; 2]> {
    let q = h * Vector3::new(f64::from(p[0]), f64::from(p[1]), 1.0);
    (q[2].abs() > 1e-12).then(|| [q[0] / q[2], q[1] / q[2]])
}

/// Root-mean-square distance, in units of `scale`, between `dst` and `src`
/// carried by the best homography: 0 for points on a plane seen by a pinhole
/// camera, growing with parallax. `None` when no homography fits.
pub fn planar_residual(src: &[[f32; 2]], dst: &[[f32; 2]], scale: f32) -> Option<f32> {
    let h = fit_homography(src, dst)?;
    let n = src.len().min(dst.len());
    let mut sum = 0.0;
    for i in 0..n {
        let q = apply(&h, src[i])?;
        sum += (q[0] - f64::from(dst[i][0])).powi(2) + (q[1] - f64::from(dst[i][1])).powi(2);
    }
    let rms = (sum / n as f64).sqrt();
    (scale > 0.0 && rms.is_finite()).then(|| (rms / f64::from(scale)) as f32)
}

/// Hartley's normalisation: centroid at the origin, mean distance √2.
fn normaliser(p: &[[f32; 2]]) -> Option<(Matrix3<f64>, Vec<[f64; 2]>)> {
    let n = p.len() as f64;
    let (cx, cy) = p.iter().fold((0.0, 0.0), |(x, y), q| (x + f64::from(q[0]), y + f64::from(q[1])));
    let (cx, cy) = (cx / n, cy / n);
    let mean_dist = p.iter().map(|q| ((f64::from(q[0]) - cx).powi(2) + (f64::from(q[1]) - cy).powi(2)).sqrt()).sum::<f64>() / n;
    if mean_dist < 1e-9 {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean_dist;
    let t = Matrix3::new(s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0);
    Some((t, p.iter().map(|q| [(f64::from(q[0]) - cx) * s, (f64::from(q[1]) - cy) * s]).collect()))
}

/// The element-wise mean of several landmark sets (a steadier baseline).
pub fn mean_points(sets: &[&[[f32; 2]; 68]]) -> Option<[[f32; 2]; 68]> {
    if sets.is_empty() {
        return None;
    }
    let mut out = [[0f32; 2]; 68];
    for set in sets {
        for (o, p) in out.iter_mut().zip(set.iter()) {
            o[0] += p[0];
            o[1] += p[1];
        }
    }
    let n = sets.len() as f32;
    for o in &mut out {
        o[0] /= n;
        o[1] /= n;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rough 3-D face: points on a grid with depth like a head's (nose forward,
    /// sides back), in units of face width.
    fn head() -> Vec<[f64; 3]> {
        let mut pts = Vec::new();
        for i in 0..8 {
            for j in 0..8 {
                let (x, y) = (i as f64 / 7.0 - 0.5, j as f64 / 7.0 - 0.5);
                let z = 0.3 * (1.0 - 4.0 * x * x) - 0.1 * y * y; // a cylinder-ish bulge
                pts.push([x, y, z]);
            }
        }
        pts
    }

    fn project(pts: &[[f64; 3]], yaw_deg: f64, flat: bool) -> Vec<[f32; 2]> {
        let (s, c) = yaw_deg.to_radians().sin_cos();
        let (f, dist, width) = (600.0, 3.0, 150.0);
        pts.iter()
            .map(|p| {
                let z = if flat { 0.0 } else { p[2] };
                let (x, zz) = (p[0] * c + z * s, -p[0] * s + z * c);
                let depth = dist - zz;
                [(320.0 + f * x / depth * width / 200.0) as f32, (240.0 + f * p[1] / depth * width / 200.0) as f32]
            })
            .collect()
    }

    #[test]
    fn a_homography_is_recovered_exactly_from_its_own_points() {
        let h = Matrix3::new(1.1, 0.05, 12.0, -0.03, 0.95, -7.0, 0.0004, -0.0002, 1.0);
        let src: Vec<[f32; 2]> = (0..20).map(|i| [(i * 37 % 200) as f32, (i * 53 % 180) as f32]).collect();
        let dst: Vec<[f32; 2]> = src.iter().map(|p| apply(&h, *p).map(|q| [q[0] as f32, q[1] as f32]).unwrap()).collect();
        let fit = fit_homography(&src, &dst).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                assert!((fit[(i, j)] - h[(i, j)]).abs() < 1e-3 * (1.0 + h[(i, j)].abs()), "{fit} vs {h}");
            }
        }
        assert!(planar_residual(&src, &dst, 100.0).unwrap() < 1e-4);
    }

    #[test]
    fn a_turning_plane_is_planar_and_a_turning_head_is_not() {
        let pts = head();
        let straight_flat = project(&pts, 0.0, true);
        let straight_head = project(&pts, 0.0, false);
        for yaw in [10.0, 20.0, 40.0, 60.0] {
            let flat = planar_residual(&straight_flat, &project(&pts, yaw, true), 150.0).unwrap();
            let real = planar_residual(&straight_head, &project(&pts, yaw, false), 150.0).unwrap();
            assert!(flat < 1e-4, "a plane turned {yaw}° leaves {flat}");
            assert!(real > 0.01, "a head turned {yaw}° leaves only {real}");
        }
    }

    #[test]
    fn degenerate_input_is_refused_not_a_panic() {
        assert!(fit_homography(&[[0.0, 0.0]; 3], &[[0.0, 0.0]; 3]).is_none());
        assert!(fit_homography(&[[1.0, 1.0]; 10], &[[2.0, 2.0]; 10]).is_none());
        assert!(planar_residual(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], &[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], 0.0).is_none());
        assert!(mean_points(&[]).is_none());
    }
}
