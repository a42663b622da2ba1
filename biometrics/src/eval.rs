//! Verification figures over labelled pairs: FMR/FNMR at a threshold, the EER,
//! FNMR at a fixed FMR, and the threshold calibration. Pure functions of the
//! scores, so they are tested on constructed score lists.

use serde::Serialize;

/// One compared pair: its similarity and whether it is the same person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub similarity: f32,
    pub genuine: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub threshold: f32,
    /// Impostor pairs accepted / impostor pairs.
    pub fmr: f64,
    /// Genuine pairs rejected / genuine pairs.
    pub fnmr: f64,
}

/// Rates when `similarity >= threshold` means "match".
pub fn rates_at(scores: &[Scored], threshold: f32) -> Rates {
    let (mut g, mut i, mut false_rejects, mut false_accepts) = (0usize, 0usize, 0usize, 0usize);
    for s in scores {
        if s.genuine {
            g += 1;
            false_rejects += usize::from(s.similarity < threshold);
        } else {
            i += 1;
            false_accepts += usize::from(s.similarity >= threshold);
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Rates { threshold, fmr: ratio(false_accepts, i), fnmr: ratio(false_rejects, g) }
}

/// Every threshold that changes a decision: each observed score, and just above the highest.
fn candidate_thresholds(scores: &[Scored]) -> Vec<f32> {
    let mut t: Vec<f32> = scores.iter().map(|s| s.similarity).collect();
    t.sort_by(f32::total_cmp);
    t.dedup();
    if let Some(&max) = t.last() {
        t.push(max + 1e-4);
    }
    t
}

/// The equal error rate: the threshold where FMR and FNMR are closest, and their mean there.
pub fn eer(scores: &[Scored]) -> Rates {
    candidate_thresholds(scores)
        .into_iter()
        .map(|t| rates_at(scores, t))
        .min_by(|a, b| (a.fmr - a.fnmr).abs().total_cmp(&(b.fmr - b.fnmr).abs()).then(a.fmr.total_cmp(&b.fmr)))
        .map(|r| Rates { fmr: (r.fmr + r.fnmr) / 2.0, fnmr: (r.fmr + r.fnmr) / 2.0, ..r })
        .unwrap_or(Rates { threshold: 0.0, fmr: 0.0, fnmr: 0.0 })
}

/// The lowest FNMR among thresholds whose FMR is at most `max_fmr`.
pub fn fnmr_at_fmr(scores: &[Scored], max_fmr: f64) -> Rates {
    candidate_thresholds(scores)
        .into_iter()
        .map(|t| rates_at(scores, t))
        .filter(|r| r.fmr <= max_fmr)
        .min_by(|a, b| a.fnmr.total_cmp(&b.fnmr).then(a.threshold.total_cmp(&b.threshold)))
        .unwrap_or(Rates { threshold: f32::INFINITY, fmr: 0.0, fnmr: 1.0 })
}

/// The calibration rule: the midpoint between the highest impostor score and
/// the lowest genuine score above it, when the classes separate; otherwise the
/// EER threshold.
pub fn calibrate(scores: &[Scored]) -> f32 {
    let max_impostor = scores.iter().filter(|s| !s.genuine).map(|s| s.similarity).fold(f32::NEG_INFINITY, f32::max);
    let min_genuine = scores.iter().filter(|s| s.genuine).map(|s| s.similarity).fold(f32::INFINITY, f32::min);
    if max_impostor < min_genuine && max_impostor.is_finite() && min_genuine.is_finite() {
        (max_impostor + min_genuine) / 2.0
    } else {
        eer(scores).threshold
    }
}

/// Separation of the genuine and impostor score distributions,
/// (μg − μi) / √((σg² + σi²) / 2): larger is better, and unlike the error
/// rates it still moves when a small set is already perfectly separated.
pub fn d_prime(scores: &[Scored]) -> f64 {
    let stats = |genuine: bool| {
        let v: Vec<f64> = scores.iter().filter(|s| s.genuine == genuine).map(|s| f64::from(s.similarity)).collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
    };
    let ((mg, vg), (mi, vi)) = (stats(true), stats(false));
    let spread = ((vg + vi) / 2.0).sqrt();
    if spread == 0.0 {
        0.0
    } else {
        (mg - mi) / spread
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(similarity: f32, genuine: bool) -> Scored {
        Scored { similarity, genuine }
    }

    #[test]
    fn rates_count_both_kinds_of_error() {
        let scores = [s(0.9, true), s(0.5, true), s(0.6, false), s(0.1, false)];
        assert_eq!(rates_at(&scores, 0.55), Rates { threshold: 0.55, fmr: 0.5, fnmr: 0.5 });
        assert_eq!(rates_at(&scores, 0.95), Rates { threshold: 0.95, fmr: 0.0, fnmr: 1.0 });
        assert_eq!(rates_at(&scores, 0.0), Rates { threshold: 0.0, fmr: 1.0, fnmr: 0.0 });
    }

    #[test]
    fn separable_scores_have_zero_eer_and_a_midpoint_threshold() {
        let scores = [s(0.8, true), s(0.7, true), s(0.3, false), s(0.2, false)];
        let e = eer(&scores);
        assert_eq!((e.fmr, e.fnmr), (0.0, 0.0));
        assert!((calibrate(&scores) - 0.5).abs() < 1e-6);
        let r = fnmr_at_fmr(&scores, 0.0);
        assert_eq!(r.fnmr, 0.0);
    }

    #[test]
    fn d_prime_grows_with_separation() {
        let near = [s(0.6, true), s(0.5, true), s(0.4, false), s(0.3, false)];
        let far = [s(0.9, true), s(0.8, true), s(0.1, false), s(0.0, false)];
        // Means 0.55 and 0.35, both variances 0.0025: 0.2 / 0.05 = 4.
        assert!((d_prime(&near) - 4.0).abs() < 1e-5, "{}", d_prime(&near));
        assert!(d_prime(&far) > d_prime(&near));
    }

    #[test]
    fn overlapping_scores() {
        // Genuine 0.9 0.6 0.4; impostor 0.5 0.3 0.2 0.1.
        let scores = [s(0.9, true), s(0.6, true), s(0.4, true), s(0.5, false), s(0.3, false), s(0.2, false), s(0.1, false)];
        // At FMR = 0 the threshold must exceed 0.5: genuine 0.4 is lost → 1/3.
        assert!((fnmr_at_fmr(&scores, 0.0).fnmr - 1.0 / 3.0).abs() < 1e-9);
        // At FMR ≤ 25 % the threshold may be 0.4 (1 of 4 impostors) → FNMR 0.
        assert_eq!(fnmr_at_fmr(&scores, 0.25).fnmr, 0.0);
        let e = eer(&scores);
        assert!(e.fmr > 0.0 && e.fmr < 0.34, "{e:?}");
        assert!(!calibrate(&scores).is_nan());
    }
}
