//! Texture of the face region: periodic patterns that a camera looking at a
//! real face does not see, but does see on a screen (the dark grid between
//! sub-pixels, moiré with the sensor) or a print (halftone dots). Such
//! patterns put isolated peaks into the spectrum of the face region; skin,
//! hair and sensor noise spread their energy smoothly over each frequency
//! ring.

use image::RgbImage;
use rustfft::{num_complex::Complex, FftPlanner};

use crate::pipeline::FaceBox;

/// Side of the analysed square, in native pixels (no resampling: resampling
/// would smear exactly the fine patterns looked for).
const SIDE: usize = 96;

/// The strongest spectral peak of the face region relative to its frequency
/// ring: the magnitude of the largest bin divided by the median magnitude of
/// the bins at the same radius, over periods of 2–12 px. Large for a regular
/// grid or dot screen; near the ring's spread for skin and noise. `None` when
/// the face is too small to analyse.
pub fn periodic_peak(img: &RgbImage, face: &FaceBox) -> Option<f32> {
    let side = SIDE.min(face.width().min(face.height()) as usize);
    if side < 32 {
        return None;
    }
    let (cx, cy) = ((face.x1 + face.x2) / 2.0, (face.y1 + face.y2) / 2.0);
    let x0 = (cx - side as f32 / 2.0).clamp(0.0, (img.width() as usize).saturating_sub(side) as f32) as u32;
    let y0 = (cy - side as f32 / 2.0).clamp(0.0, (img.height() as usize).saturating_sub(side) as f32) as u32;
    if img.width() < side as u32 || img.height() < side as u32 {
        return None;
    }
    // Grey, mean removed, Hann window (no leakage from the crop's edges).
    let mut grey: Vec<f32> = Vec::with_capacity(side * side);
    for y in 0..side as u32 {
        for x in 0..side as u32 {
            let p = img.get_pixel(x0 + x, y0 + y);
            grey.push(0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]));
        }
    }
    let mean = grey.iter().sum::<f32>() / grey.len() as f32;
    let hann: Vec<f32> = (0..side).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / (side - 1) as f32).cos()).collect();
    let mut data: Vec<Complex<f32>> = grey.iter().enumerate().map(|(i, v)| Complex::new((v - mean) * hann[i % side] * hann[i / side], 0.0)).collect();
    let fft = FftPlanner::new().plan_fft_forward(side);
    for row in data.chunks_exact_mut(side) {
        fft.process(row);
    }
    let mut column = vec![Complex::new(0.0, 0.0); side];
    for x in 0..side {
        for y in 0..side {
            column[y] = data[y * side + x];
        }
        fft.process(&mut column);
        for y in 0..side {
            data[y * side + x] = column[y];
        }
    }
    // Rings by integer radius; half the plane (the spectrum of a real image is symmetric).
    let (lo, hi) = ((side as f32 / 12.0).ceil() as usize, side / 2);
    let mut rings: Vec<Vec<f32>> = vec![Vec::new(); hi + 1];
    for ky in 0..=side / 2 {
        for kx in 0..side {
            let fx = if kx > side / 2 { kx as f32 - side as f32 } else { kx as f32 };
            let r = (fx * fx + (ky * ky) as f32).sqrt().round() as usize;
            if (lo..=hi).contains(&r) {
                rings[r].push(data[ky * side + kx].norm());
            }
        }
    }
    let mut best = 0f32;
    for ring in rings.iter_mut().filter(|r| r.len() >= 8) {
        let max = ring.iter().copied().fold(0f32, f32::max);
        ring.sort_by(f32::total_cmp);
        let median = ring[ring.len() / 2].max(1e-3);
        best = best.max(max / median);
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use rand::{Rng, SeedableRng};

    fn face() -> FaceBox {
        FaceBox { x1: 20.0, y1: 20.0, x2: 180.0, y2: 180.0, score: 1.0 }
    }

    fn noisy(seed: u64) -> RgbImage {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        RgbImage::from_fn(200, 200, |x, y| {
            let base = 120.0 + 30.0 * ((x as f32 / 40.0).sin() + (y as f32 / 55.0).cos());
            let v = (base + rng.gen_range(-6.0..6.0f32)).clamp(0.0, 255.0) as u8;
            Rgb([v, v, v])
        })
    }

    #[test]
    fn a_grid_stands_out_and_smooth_texture_does_not() {
        let plain = periodic_peak(&noisy(1), &face()).unwrap();
        let mut grid = noisy(1);
        for (x, y, p) in grid.enumerate_pixels_mut() {
            if x % 3 == 0 || y % 3 == 0 {
                for c in p.0.iter_mut() {
                    *c = (f32::from(*c) * 0.75) as u8;
                }
            }
        }
        let gridded = periodic_peak(&grid, &face()).unwrap();
        assert!(gridded > 3.0 * plain, "grid {gridded} vs plain {plain}");
    }

    #[test]
    fn too_small_a_face_is_not_analysed() {
        let tiny = FaceBox { x1: 0.0, y1: 0.0, x2: 20.0, y2: 20.0, score: 1.0 };
        assert!(periodic_peak(&noisy(2), &tiny).is_none());
        assert!(periodic_peak(&RgbImage::new(40, 40), &face()).is_none());
    }
}
