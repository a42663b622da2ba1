//! Presentation-attack detection figures (ISO/IEC 30107-3): APCER, the share
//! of attack presentations accepted, per attack class and challenge schedule;
//! BPCER, the share of live presentations refused. Attacks come from
//! [`crate::attacks`]; live presentations from a real video. Used by the
//! tests and by `tanu biometrics pad-eval`.

use std::collections::BTreeMap;

use image::RgbImage;
use serde::Serialize;

use crate::attacks::{present, replayed, Instrument, PhotoFace, Script, FRAME_MS};
use crate::decision::Challenge;
use crate::liveness::{LivenessPolicy, Schedule, Step};
use crate::pipeline::{Engine, FaceError};
use crate::replay::{FrameSignature, ReplayIndex, ReplayPolicy};
use crate::sequence::{Frame, SequenceOutcome};

/// Frames of the straight baseline before the first reveal, and between reveals
/// (the server's defaults at 8 frames a second).
pub const BASELINE_FRAMES: usize = 9;
pub const STEP_FRAMES: usize = 20;
pub const TAIL_FRAMES: usize = 20;

/// Every schedule the server may draw from `vocabulary` with `steps`
/// challenges: each different from the one before, at least one a head turn.
pub fn schedules(vocabulary: &[Challenge], steps: usize) -> Vec<Vec<Challenge>> {
    let mut all: Vec<Vec<Challenge>> = vec![Vec::new()];
    for _ in 0..steps {
        let mut longer = Vec::new();
        for s in &all {
            for c in vocabulary.iter().filter(|c| s.last() != Some(*c)) {
                longer.push([s.as_slice(), &[*c]].concat());
            }
        }
        all = longer;
    }
    all.retain(|s| s.iter().any(|c| *c != Challenge::Blink));
    all
}

/// Single challenges, to show what each gesture alone stops (not what the server asks).
pub fn single_schedules() -> Vec<Vec<Challenge>> {
    Challenge::ALL.iter().map(|c| vec![*c]).collect()
}

/// The reveal frames of `challenges` for a capture paced like the page's.
pub fn script(challenges: &[Challenge]) -> Script {
    let reveals: Vec<(Challenge, usize)> = challenges.iter().enumerate().map(|(k, c)| (*c, BASELINE_FRAMES + k * STEP_FRAMES)).collect();
    let frames = BASELINE_FRAMES + (challenges.len() - 1) * STEP_FRAMES + TAIL_FRAMES;
    Script { frames, reveals }
}

/// The schedule the server would have recorded for `script` (the reveal frame's arrival).
pub fn schedule_of(script: &Script) -> Schedule {
    Schedule { steps: script.reveals.iter().map(|(c, i)| Step { challenge: *c, revealed_at_ms: *i as u32 * FRAME_MS }).collect() }
}

/// One presentation and what the decision said.
#[derive(Debug, Clone, Serialize)]
pub struct Presentation {
    pub class: String,
    pub instrument: String,
    pub schedule: String,
    pub source: String,
    pub accepted: bool,
    pub failed: Vec<&'static str>,
}

/// Where the victim's face is on a photo, from the engine.
pub fn photo_face(engine: &Engine, photo: &RgbImage) -> Result<PhotoFace, FaceError> {
    let o = engine.observe(photo)?;
    let lm = o.landmarks;
    let eye = |idx: [usize; 4]| [idx.iter().map(|&i| lm[i][0]).sum::<f32>() / 4.0, idx.iter().map(|&i| lm[i][1]).sum::<f32>() / 4.0];
    Ok(PhotoFace {
        centre: [(o.face.x1 + o.face.x2) / 2.0, (o.face.y1 + o.face.y2) / 2.0],
        height: o.face.height(),
        eyes: [eye([37, 38, 40, 41]), eye([43, 44, 46, 47])],
        eye_width: (lm[39][0] - lm[36][0]).abs().max((lm[45][0] - lm[42][0]).abs()),
    })
}

/// Every instrument made from `photo` against every schedule in `schedules`.
pub fn attack_photo(
    engine: &Engine,
    name: &str,
    photo: &RgbImage,
    schedules: &[Vec<Challenge>],
    instruments: &[Instrument],
    policy: &LivenessPolicy,
    seed: u64,
) -> Result<Vec<Presentation>, FaceError> {
    let face = photo_face(engine, photo)?;
    let mut out = Vec::new();
    for (k, challenges) in schedules.iter().enumerate() {
        let script = script(challenges);
        let schedule = schedule_of(&script);
        for (j, instrument) in instruments.iter().enumerate() {
            let frames = present(photo, &face, *instrument, &script, seed ^ ((k as u64) << 32) ^ j as u64);
            let outcome = engine.analyse_sequence(&frames, &schedule, policy)?;
            out.push(Presentation {
                class: instrument.class().into(),
                instrument: instrument.name(),
                schedule: schedule.names(),
                source: name.into(),
                accepted: outcome.report.live,
                failed: outcome.report.failed(),
            });
        }
    }
    Ok(out)
}

/// A live capture and the schedule a live person followed in it.
pub struct LiveCapture {
    pub name: String,
    /// Captures of one group sample the same stretch at the same rate, at
    /// different phases: they share no frame, like two sign-ins of one person.
    pub group: String,
    pub frames: Vec<Frame>,
    pub schedule: Schedule,
}

/// Each live capture decided — and checked against the replay index holding
/// the earlier captures of its group, which share no frame with it (a person
/// signing in again must not be taken for a replay) — then the same capture
/// replayed (re-encoded, noise, a pixel's shift) in another sign-in, against
/// an index that remembered the first.
pub fn live_and_replayed(engine: &Engine, captures: &[LiveCapture], policy: &LivenessPolicy) -> Result<(Vec<Presentation>, Vec<Presentation>), FaceError> {
    let mut live = Vec::new();
    let mut replays = Vec::new();
    let mut groups: BTreeMap<&str, ReplayIndex> = BTreeMap::new();
    for (k, c) in captures.iter().enumerate() {
        let first = engine.analyse_sequence(&c.frames, &c.schedule, policy)?;
        let signatures = FrameSignature::of_capture(&first.frames);
        let index = groups.entry(c.group.as_str()).or_insert_with(|| ReplayIndex::new(ReplayPolicy::default()));
        let mistaken = index.is_replay(&signatures);
        index.remember(signatures.clone(), k as u64);
        live.push(verdict(&first, "live", &c.name, &c.schedule, !mistaken));
        let mut own = ReplayIndex::new(ReplayPolicy::default());
        own.remember(signatures, 0);
        let again = engine.analyse_sequence(&replayed(&c.frames, 1000 + k as u64), &c.schedule, policy)?;
        let caught = own.is_replay(&FrameSignature::of_capture(&again.frames));
        replays.push(verdict(&again, "replayed capture", &c.name, &c.schedule, !caught));
    }
    Ok((live, replays))
}

fn verdict(outcome: &SequenceOutcome, class: &str, source: &str, schedule: &Schedule, not_replay: bool) -> Presentation {
    let mut failed = outcome.report.failed();
    if !not_replay {
        failed.push("replayed_capture");
    }
    Presentation {
        class: class.into(),
        instrument: class.replace(' ', "_"),
        schedule: schedule.names(),
        source: source.into(),
        accepted: outcome.report.live && not_replay,
        failed,
    }
}

/// One row of the table: a class (and schedule) with its error rate.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    pub class: String,
    pub schedule: String,
    pub presentations: usize,
    /// Accepted attacks (APCER) or refused live presentations (BPCER).
    pub errors: usize,
    pub rate: f32,
}

/// APCER per (class, schedule) over attack presentations.
pub fn apcer(presentations: &[Presentation]) -> Vec<Rate> {
    rates(presentations, |p| p.accepted)
}

/// BPCER per schedule over live presentations.
pub fn bpcer(presentations: &[Presentation]) -> Vec<Rate> {
    rates(presentations, |p| !p.accepted)
}

fn rates(presentations: &[Presentation], error: impl Fn(&Presentation) -> bool) -> Vec<Rate> {
    let mut by: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for p in presentations {
        let e = by.entry((p.class.clone(), p.schedule.clone())).or_default();
        e.0 += 1;
        e.1 += usize::from(error(p));
    }
    by.into_iter().map(|((class, schedule), (n, errors))| Rate { class, schedule, presentations: n, errors, rate: errors as f32 / n.max(1) as f32 }).collect()
}

/// Where a live person performs gestures in a recorded video: the stretch, and
/// when each challenge would have been shown (seconds into the video), just
/// before the person performs it — a live person following the instructions.
pub struct LiveScript {
    pub name: &'static str,
    pub from_s: f32,
    pub to_s: f32,
    pub reveals: &'static [(Challenge, f32)],
}

/// The gestures of the shared clip (`short_hamilton_clip.mp4`), read off its
/// frames (`tanu biometrics liveness --video … --json`): its continuous shot
/// runs 3.6–7.8 s and starts with the head 11° to his left; it turns to his
/// right from 3.9 s to 5.4 s, comes back, and turns to his left from 6.9 s —
/// only 13° beyond where it started, so the two-turn stretch is a hard case. It holds no blink of both eyes that the
/// eye model sees at 8–10 frames a second, so blink is not measured on it.
pub const SHARED_CLIP: &[LiveScript] = &[
    LiveScript { name: "turn_right", from_s: 3.6, to_s: 5.45, reveals: &[(Challenge::TurnRight, 3.8)] },
    LiveScript { name: "turn_left", from_s: 5.5, to_s: 7.8, reveals: &[(Challenge::TurnLeft, 6.55)] },
    LiveScript { name: "turn_right+turn_left", from_s: 3.6, to_s: 7.8, reveals: &[(Challenge::TurnRight, 3.8), (Challenge::TurnLeft, 5.5)] },
];

/// Frame rates and phases at which each live stretch is sampled (a camera's
/// frames fall anywhere in time; the page sends about 8 a second).
pub const SAMPLINGS: &[(u32, u32)] = &[(8, 0), (8, 40), (8, 80), (10, 0), (10, 50)];

/// The live captures of `scripts`, with `extract(from_s, seconds, fps)` giving
/// a video's frames (at_ms from 0 at `from_s`).
pub fn live_captures(scripts: &[LiveScript], mut extract: impl FnMut(f32, f32, u32) -> Vec<Frame>) -> Vec<LiveCapture> {
    let mut out = Vec::new();
    for script in scripts {
        for &(fps, phase_ms) in SAMPLINGS {
            let from = script.from_s + phase_ms as f32 / 1000.0;
            let frames = extract(from, script.to_s - from, fps);
            let steps = script
                .reveals
                .iter()
                .map(|(c, at)| {
                    let at_ms = ((at - from) * 1000.0).max(0.0) as u32;
                    // The reveal rides on the last frame that arrived by then.
                    let revealed_at_ms = frames.iter().map(|f| f.at_ms).filter(|t| *t <= at_ms).max().unwrap_or(0);
                    Step { challenge: *c, revealed_at_ms }
                })
                .collect();
            out.push(LiveCapture {
                name: format!("{} at {fps} fps +{phase_ms} ms", script.name),
                group: format!("{} at {fps} fps", script.name),
                frames,
                schedule: Schedule { steps },
            });
        }
    }
    out
}
