//! Presentation attacks made from one still photo of the victim, as an
//! attacker with a webcam emulator would make them (ISO/IEC 30107-3 attack
//! instruments, simulated): the photo turned into a 640×480 stream with
//! per-frame sensor noise and jitter so no two frames repeat, and then moved,
//! rotated about an axis in perspective to fake a head turn, its eyes painted
//! or blurred to fake a blink, or given the look of a screen or a print.
//!
//! The generator knows the challenge schedule the server revealed, as an
//! attacker watching the page does, and performs its fake gesture after each
//! reveal. Used by the tests and by `tanu biometrics pad-eval`.

use image::{imageops, Rgb, RgbImage};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::decision::Challenge;
use crate::sequence::Frame;

/// Width and height of the emulated camera.
pub const CAMERA: (u32, u32) = (640, 480);
/// Milliseconds between frames (the page sends about 8 a second).
pub const FRAME_MS: u32 = 125;

/// What the attacker does to the photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instrument {
    /// The photo held still: only sensor noise and hand jitter.
    Still,
    /// The photo moved about: drift, in-plane rotation and scale.
    Moved,
    /// The photo rotated about its vertical axis by this many degrees after each
    /// turn challenge (sign: which way the picture is turned).
    RotatedVertical(f32),
    /// The photo tilted about its horizontal axis.
    RotatedHorizontal(f32),
    /// The eyes painted over with skin colour after a blink challenge.
    PaintedEyes,
    /// The eyes blurred after a blink challenge.
    BlurredEyes,
    /// The photo shown on a screen (gamma, tint, screen-door grid, moiré),
    /// turned like [`Instrument::RotatedVertical`] and with painted eyes.
    Screen(f32),
    /// The photo printed (halftone dots, paper tone), turned and painted likewise.
    Print(f32),
}

impl Instrument {
    /// A short stable name for tables.
    pub fn name(&self) -> String {
        match self {
            Instrument::Still => "still".into(),
            Instrument::Moved => "moved".into(),
            Instrument::RotatedVertical(d) => format!("rotated_vertical_{d:+.0}"),
            Instrument::RotatedHorizontal(d) => format!("rotated_horizontal_{d:+.0}"),
            Instrument::PaintedEyes => "painted_eyes".into(),
            Instrument::BlurredEyes => "blurred_eyes".into(),
            Instrument::Screen(d) => format!("screen_{d:+.0}"),
            Instrument::Print(d) => format!("print_{d:+.0}"),
        }
    }

    /// The attack class a table groups this instrument under.
    pub fn class(&self) -> &'static str {
        match self {
            Instrument::Still => "still photo (noise, jitter)",
            Instrument::Moved => "photo moved",
            Instrument::RotatedVertical(_) => "photo rotated about vertical axis",
            Instrument::RotatedHorizontal(_) => "photo rotated about horizontal axis",
            Instrument::PaintedEyes => "painted eyes",
            Instrument::BlurredEyes => "blurred eyes",
            Instrument::Screen(_) => "screen look",
            Instrument::Print(_) => "print look",
        }
    }

    /// Every instrument the evaluation presents, both ways where a sign matters.
    pub fn all() -> Vec<Instrument> {
        let mut v = vec![Instrument::Still, Instrument::Moved, Instrument::PaintedEyes, Instrument::BlurredEyes];
        for d in [20.0, 40.0, 60.0] {
            v.push(Instrument::RotatedVertical(d));
            v.push(Instrument::RotatedVertical(-d));
        }
        for d in [30.0, -30.0] {
            v.push(Instrument::RotatedHorizontal(d));
        }
        for d in [40.0, -40.0] {
            v.push(Instrument::Screen(d));
            v.push(Instrument::Print(d));
        }
        v
    }
}

/// Where the victim's face is on the photo: its box and eye centres, from the
/// engine's landmarks.
#[derive(Debug, Clone, Copy)]
pub struct PhotoFace {
    pub centre: [f32; 2],
    pub height: f32,
    pub eyes: [[f32; 2]; 2],
    /// Eye width (corner to corner).
    pub eye_width: f32,
}

/// When each challenge of a try was revealed, by frame index.
#[derive(Debug, Clone)]
pub struct Script {
    pub frames: usize,
    pub reveals: Vec<(Challenge, usize)>,
}

/// The frames of one presentation of `instrument` against `script`.
#[allow(clippy::expect_used, reason = "a constant, finite sigma")]
pub fn present(photo: &RgbImage, face: &PhotoFace, instrument: Instrument, script: &Script, seed: u64) -> Vec<Frame> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 3.0).expect("finite sigma");
    // The texture on the medium: a screen or a print changes it once.
    let texture = match instrument {
        Instrument::Screen(_) => screen_look(photo, &mut rng),
        Instrument::Print(_) => print_look(photo, &mut rng),
        _ => photo.clone(),
    };
    let painted = match instrument {
        Instrument::PaintedEyes | Instrument::Screen(_) | Instrument::Print(_) => Some(paint_eyes(&texture, face)),
        Instrument::BlurredEyes => Some(blur_eyes(&texture, face)),
        _ => None,
    };
    let (w, h) = CAMERA;
    // The photo placed so the face is ~200 px tall in the middle of the view.
    let scale = 200.0 / face.height.max(1.0);
    let place =
        Projection::translate(w as f32 / 2.0, h as f32 / 2.0) * Projection::scale(scale, scale) * Projection::translate(-face.centre[0], -face.centre[1]);
    // The ranges the published PAD figures were drawn with: `TAU` instead
    // would change the random draws, and so every attack and every figure.
    #[allow(clippy::approx_constant)]
    let (phase_x, phase_y) = (rng.gen_range(0.0..6.28f32), rng.gen_range(0.0..6.28f32));
    (0..script.frames)
        .map(|i| {
            let t = i as f32;
            // Hand jitter, and for `Moved` a slow drift, roll and zoom.
            let (mut dx, mut dy, mut roll, mut zoom) = (rng.gen_range(-2.0..2.0f32), rng.gen_range(-2.0..2.0f32), rng.gen_range(-0.5..0.5f32), 1.0);
            if instrument == Instrument::Moved {
                dx += 40.0 * (t / 6.0 + phase_x).sin();
                dy += 25.0 * (t / 7.0 + phase_y).sin();
                roll += 8.0 * (t / 5.0).sin();
                zoom = 1.0 + 0.1 * (t / 8.0).sin();
            }
            let (gesture, turn) = gesture_at(i, script);
            let mut warp =
                Projection::translate(w as f32 / 2.0 + dx, h as f32 / 2.0 + dy) * Projection::rotate(roll.to_radians()) * Projection::scale(zoom, zoom);
            // Fake the turn: rotate the plane in perspective.
            let degrees = match (instrument, gesture) {
                (Instrument::RotatedVertical(d) | Instrument::Screen(d) | Instrument::Print(d), Some(Challenge::TurnLeft | Challenge::TurnRight)) => {
                    Some((d * turn, true))
                }
                (Instrument::RotatedHorizontal(d), Some(_)) => Some((d * turn, false)),
                _ => None,
            };
            if let Some((deg, vertical)) = degrees {
                warp = warp * perspective(deg, vertical);
            }
            let warp = warp * Projection::translate(-(w as f32) / 2.0, -(h as f32) / 2.0) * place;
            let closed = gesture == Some(Challenge::Blink) && turn > 0.5;
            let source = match (&painted, closed) {
                (Some(p), true) => p,
                _ => &texture,
            };
            let mut out = RgbImage::from_pixel(w, h, Rgb([118, 112, 104]));
            warp_into(source, &warp, Interpolation::Bilinear, Rgb([118, 112, 104]), &mut out);
            for p in out.pixels_mut() {
                for c in p.0.iter_mut() {
                    *c = (f32::from(*c) + noise.sample(&mut rng)).round().clamp(0.0, 255.0) as u8;
                }
            }
            Frame { at_ms: i as u32 * FRAME_MS, image: jpeg_round_trip(&out) }
        })
        .collect()
}

/// The gesture the attacker is faking at frame `i`, and how far into it
/// (0 → 1 → 0): it starts two frames after the reveal, ramps over three
/// frames, holds four and returns over three.
fn gesture_at(i: usize, script: &Script) -> (Option<Challenge>, f32) {
    for (c, reveal) in &script.reveals {
        let k = i as i64 - *reveal as i64 - 2;
        let amount = match *c {
            Challenge::Blink => match k {
                0 | 1 => 1.0,
                _ => 0.0,
            },
            _ => match k {
                0..=2 => (k + 1) as f32 / 3.0,
                3..=6 => 1.0,
                7..=9 => (10 - k) as f32 / 3.0,
                _ => 0.0,
            },
        };
        if amount > 0.0 {
            return (Some(*c), amount);
        }
    }
    (None, 0.0)
}

/// A plane through the view's centre rotated by `degrees` about its vertical
/// (or horizontal) axis, seen by a pinhole camera 1000 px away, in coordinates
/// centred on the view.
#[allow(clippy::expect_used, reason = "the projection is invertible for |degrees| < 90, all its callers' angles")]
fn perspective(degrees: f32, vertical: bool) -> Projection {
    let (s, c) = degrees.to_radians().sin_cos();
    let d = 1000.0;
    let m = if vertical { [d * c, 0.0, 0.0, 0.0, d, 0.0, s, 0.0, d] } else { [d, 0.0, 0.0, 0.0, d * c, 0.0, 0.0, s, d] };
    Projection::from_matrix(m).expect("invertible for |degrees| < 90")
}

fn jpeg_round_trip(img: &RgbImage) -> RgbImage {
    let mut bytes = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85);
    match img.write_with_encoder(encoder) {
        Ok(()) => image::load_from_memory(&bytes).map(|d| d.to_rgb8()).unwrap_or_else(|_| img.clone()),
        Err(_) => img.clone(),
    }
}

/// A screen: gamma and contrast of a display, a blue cast, the dark grid
/// between sub-pixels (screen door) and a moiré beat with the camera's sensor.
fn screen_look(photo: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    let pitch = rng.gen_range(3..=4u32);
    // As measured (`PI` would change the draws and the figures).
    #[allow(clippy::approx_constant)]
    let (angle, period) = (rng.gen_range(0.0..3.14f32), rng.gen_range(18.0..40.0f32));
    let (ca, sa) = (angle.cos(), angle.sin());
    RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
        let p = photo.get_pixel(x, y);
        let door = if x % pitch == 0 || y % pitch == 0 { 0.85 } else { 1.0 };
        let moire = 1.0 + 0.06 * ((x as f32 * ca + y as f32 * sa) * std::f32::consts::TAU / period).sin();
        let mut out = [0u8; 3];
        for c in 0..3 {
            let v = (f32::from(p[c]) / 255.0).powf(0.8) * 255.0;
            let v = 128.0 + 0.85 * (v - 128.0) + if c == 2 { 10.0 } else { 0.0 };
            out[c] = (v * door * moire).round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

/// A print: halftone dots on a 45° screen, less saturation, paper's tone.
fn print_look(photo: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    let period = rng.gen_range(3.0..5.0f32);
    let k = std::f32::consts::TAU / period / std::f32::consts::SQRT_2;
    RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
        let p = photo.get_pixel(x, y);
        let (u, v) = (x as f32 + y as f32, x as f32 - y as f32);
        let dots = 0.82 + 0.18 * (u * k).cos() * (v * k).cos();
        let grey = (f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2])) / 3.0;
        let tone = [6.0, 4.0, -6.0];
        let mut out = [0u8; 3];
        for c in 0..3 {
            let sat = grey + 0.8 * (f32::from(p[c]) - grey);
            out[c] = (sat * dots + tone[c]).round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

/// Both eyes painted over with the colour of the skin below them, edges softened.
fn paint_eyes(photo: &RgbImage, face: &PhotoFace) -> RgbImage {
    let mut out = photo.clone();
    let (rx, ry) = (face.eye_width * 0.75, face.eye_width * 0.45);
    for eye in face.eyes {
        let below = [eye[0], eye[1] + face.eye_width * 0.9];
        let skin = mean_colour(photo, below, face.eye_width * 0.3);
        let (x0, x1) = ((eye[0] - rx).max(0.0) as u32, ((eye[0] + rx) as u32).min(photo.width().saturating_sub(1)));
        let (y0, y1) = ((eye[1] - ry).max(0.0) as u32, ((eye[1] + ry) as u32).min(photo.height().saturating_sub(1)));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d = ((x as f32 - eye[0]) / rx).powi(2) + ((y as f32 - eye[1]) / ry).powi(2);
                if d <= 1.0 {
                    let a = (1.0 - d).min(0.3) / 0.3;
                    let p = out.get_pixel_mut(x, y);
                    for c in 0..3 {
                        p[c] = (f32::from(p[c]) * (1.0 - a) + skin[c] * a).round() as u8;
                    }
                }
            }
        }
    }
    out
}

/// Both eye regions blurred (a smeared photo or a crude edit).
fn blur_eyes(photo: &RgbImage, face: &PhotoFace) -> RgbImage {
    let mut out = photo.clone();
    let r = face.eye_width;
    for eye in face.eyes {
        let (x0, y0) = ((eye[0] - r).max(0.0) as u32, (eye[1] - r * 0.6).max(0.0) as u32);
        let (w, h) = (((2.0 * r) as u32).min(photo.width() - x0), ((1.2 * r) as u32).min(photo.height() - y0));
        if w == 0 || h == 0 {
            continue;
        }
        let patch = imageops::blur(&imageops::crop_imm(photo, x0, y0, w, h).to_image(), r / 4.0);
        imageops::replace(&mut out, &patch, i64::from(x0), i64::from(y0));
    }
    out
}

fn mean_colour(img: &RgbImage, at: [f32; 2], radius: f32) -> [f32; 3] {
    let (mut sum, mut n) = ([0f32; 3], 0f32);
    let r = radius.max(1.0) as i64;
    for dy in -r..=r {
        for dx in -r..=r {
            let (x, y) = (at[0] as i64 + dx, at[1] as i64 + dy);
            if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
                let p = img.get_pixel(x as u32, y as u32);
                for c in 0..3 {
                    sum[c] += f32::from(p[c]);
                }
                n += 1.0;
            }
        }
    }
    if n == 0.0 {
        return [128.0; 3];
    }
    [sum[0] / n, sum[1] / n, sum[2] / n]
}

/// The frames of a live capture replayed by an attacker in another sign-in:
/// re-encoded, with fresh noise and a one-pixel shift, so no byte repeats.
#[allow(clippy::expect_used, reason = "a constant, finite sigma")]
pub fn replayed(frames: &[Frame], seed: u64) -> Vec<Frame> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 2.0).expect("finite sigma");
    frames
        .iter()
        .map(|f| {
            let (w, h) = f.image.dimensions();
            let mut out = RgbImage::new(w, h);
            let shift = Projection::translate(rng.gen_range(-1.0..1.0f32), rng.gen_range(-1.0..1.0f32));
            warp_into(&f.image, &shift, Interpolation::Bilinear, Rgb([0, 0, 0]), &mut out);
            for p in out.pixels_mut() {
                for c in p.0.iter_mut() {
                    *c = (f32::from(*c) + noise.sample(&mut rng)).round().clamp(0.0, 255.0) as u8;
                }
            }
            Frame { at_ms: f.at_ms, image: jpeg_round_trip(&out) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> PhotoFace {
        PhotoFace { centre: [100.0, 100.0], height: 80.0, eyes: [[85.0, 90.0], [115.0, 90.0]], eye_width: 14.0 }
    }

    fn photo() -> RgbImage {
        RgbImage::from_fn(200, 200, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
    }

    #[test]
    fn no_two_frames_of_a_still_photo_repeat_and_each_is_a_camera_frame() {
        let script = Script { frames: 6, reveals: vec![(Challenge::TurnLeft, 2)] };
        let frames = present(&photo(), &face(), Instrument::Still, &script, 1);
        assert_eq!(frames.len(), 6);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.image.dimensions(), CAMERA);
            assert_eq!(f.at_ms, i as u32 * FRAME_MS);
        }
        assert_ne!(frames[0].image.as_raw(), frames[1].image.as_raw());
    }

    #[test]
    fn the_fake_gesture_follows_the_reveal() {
        let script = Script { frames: 20, reveals: vec![(Challenge::TurnRight, 5)] };
        assert_eq!(gesture_at(6, &script), (None, 0.0));
        assert_eq!(gesture_at(7, &script).0, Some(Challenge::TurnRight));
        assert_eq!(gesture_at(11, &script), (Some(Challenge::TurnRight), 1.0));
        assert_eq!(gesture_at(17, &script), (None, 0.0));
        let blink = Script { frames: 20, reveals: vec![(Challenge::Blink, 5)] };
        assert_eq!(gesture_at(8, &blink), (Some(Challenge::Blink), 1.0));
        assert_eq!(gesture_at(9, &blink), (None, 0.0));
    }

    #[test]
    fn a_rotated_photo_is_narrower_where_it_turns_away() {
        let p = perspective(40.0, true);
        let (left, right) = (p * (-100.0f32, 0.0f32), p * (100.0f32, 0.0f32));
        assert!(right.0.abs() < left.0.abs(), "{left:?} {right:?}");
        // The horizontal axis leaves x alone at the centre line and foreshortens y.
        let tilt = perspective(30.0, false);
        let (top, bottom) = (tilt * (0.0f32, -100.0f32), tilt * (0.0f32, 100.0f32));
        assert!(bottom.1.abs() < top.1.abs(), "{top:?} {bottom:?}");
    }

    #[test]
    fn screen_and_print_change_the_texture_and_paint_changes_only_the_eyes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let p = photo();
        assert_ne!(screen_look(&p, &mut rng).as_raw(), p.as_raw());
        assert_ne!(print_look(&p, &mut rng).as_raw(), p.as_raw());
        let painted = paint_eyes(&p, &face());
        assert_eq!(painted.get_pixel(10, 10), p.get_pixel(10, 10));
        assert_ne!(painted.get_pixel(85, 90), p.get_pixel(85, 90));
    }
}
