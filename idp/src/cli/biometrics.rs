//! `tanu biometrics compare|eval|liveness` and `tanu registry add`: the face
//! engine from the command line, machine-readable for scripts and evaluation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tanu_biometrics::decision::{Challenge, Embedding, MatchDecision, Threshold};
use tanu_biometrics::eval::{calibrate, eer, fnmr_at_fmr, rates_at, Scored};
use tanu_biometrics::pipeline::{Alignment, Engine, NmsOrder};
use tanu_biometrics::registry::DirectoryRegistry;
use tanu_biometrics::sequence::Frame;
use tanu_biometrics::{decode_image, FaceError, Iin, Schedule, Step};

use crate::config::{BiometricsConfig, Config};

#[derive(Subcommand)]
pub enum BiometricsCommand {
    /// Compare the faces in two images (1:1).
    Compare {
        a: PathBuf,
        b: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Verification figures on a labelled pair list (file_x,file_y,Decision).
    Eval(EvalArgs),
    /// Every stage's output for one image (faces, points, pose, eyes, passive score).
    Inspect { image: PathBuf },
    /// Liveness over a frame sequence: image files in order, or a video.
    Liveness(LivenessArgs),
    /// Presentation-attack figures (ISO/IEC 30107-3): attacks made from each
    /// photo against every challenge schedule (APCER), and the live video's
    /// stretches and their replays (BPCER, replay APCER).
    PadEval(PadEvalArgs),
}

#[derive(Args)]
pub struct PadEvalArgs {
    /// Directory of photos of faces (the victims).
    #[arg(long)]
    photos: PathBuf,
    /// At most this many photos (sorted by name), those with exactly one face.
    #[arg(long, default_value_t = 8)]
    limit: usize,
    /// The shared clip (its gestures are known: `pad::SHARED_CLIP`).
    #[arg(long)]
    video: PathBuf,
    /// Also evaluate each challenge alone (shows what each gesture stops).
    #[arg(long)]
    single: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    pairs: PathBuf,
    #[arg(long)]
    images: PathBuf,
    #[arg(long)]
    json: bool,
    /// Alignment to measure (the default is the engine's).
    #[arg(long, value_enum)]
    alignment: Option<AlignmentArg>,
    /// Order of non-maximum suppression to measure.
    #[arg(long, value_enum)]
    nms: Option<NmsArg>,
    /// Score the pairs with faceplugin's `matchFeature` instead of cosine similarity.
    #[arg(long)]
    js_match_feature: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlignmentArg {
    FivePoint,
    ThreePoint,
}

#[derive(Clone, Copy, ValueEnum)]
enum NmsArg {
    Score,
    BottomEdge,
}

#[derive(Args)]
pub struct LivenessArgs {
    /// Frames in capture order (JPEG/PNG).
    frames: Vec<PathBuf>,
    /// A video file, split into frames with ffmpeg.
    #[arg(long, conflicts_with = "frames")]
    video: Option<PathBuf>,
    /// Frames per second taken from the video, or assumed between image files.
    #[arg(long, default_value_t = 10)]
    fps: u32,
    /// The challenge that was shown (repeat for a try of several, in order);
    /// random when omitted.
    #[arg(long)]
    challenge: Vec<String>,
    /// When each challenge was shown, in ms from the first frame (one per
    /// `--challenge`; the last value repeats).
    #[arg(long)]
    challenge_at_ms: Vec<u32>,
    /// Judge the sequence checks without requiring the challenge.
    #[arg(long)]
    no_challenge: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Add (or replace) a person in the embedded registry directory, or with
    /// `--sandbox` a test person in the sandbox registry (the only people
    /// sandbox clients can sign in).
    Add {
        #[arg(long)]
        iin: String,
        #[arg(long)]
        name: String,
        /// The document photo: JPEG or PNG with exactly one face.
        #[arg(long)]
        photo: PathBuf,
        /// A test person, in `biometrics.sandbox_registry_dir`.
        #[arg(long)]
        sandbox: bool,
    },
}

fn engine(config: &BiometricsConfig) -> anyhow::Result<Engine> {
    Ok(Engine::load(&config.models, config.pipeline.clone())?)
}

fn read_image(path: &Path, config: &BiometricsConfig) -> Result<image::RgbImage, FaceError> {
    let bytes = std::fs::read(path).map_err(|e| FaceError::Image(tanu_biometrics::ImageError::Corrupt(e.to_string())))?;
    Ok(decode_image(&bytes, &config.decode)?)
}

fn embed(engine: &Engine, path: &Path, config: &BiometricsConfig) -> Result<Embedding, FaceError> {
    let img = read_image(path, config)?;
    Ok(engine.observe(&img)?.embedding)
}

fn refusal(path: &Path, e: &FaceError) -> serde_json::Value {
    json!({"error": e.code(), "message": e.to_string(), "image": path.display().to_string()})
}

pub fn run(cmd: BiometricsCommand, config: &Config) -> anyhow::Result<()> {
    let bio = &config.biometrics;
    match cmd {
        BiometricsCommand::Compare { a, b, json } => {
            let engine = engine(bio)?;
            let result = embed(&engine, &a, bio)
                .map_err(|e| (a.clone(), e))
                .and_then(|ea| embed(&engine, &b, bio).map_err(|e| (b.clone(), e)).map(|eb| MatchDecision::decide(&ea, &eb, Threshold(bio.threshold))));
            match result {
                Ok(d) if json => println!("{}", serde_json::to_string(&d)?),
                Ok(d) => println!("similarity {:.4}, threshold {:.4}: {}", d.similarity, d.threshold, if d.is_match { "match" } else { "no match" }),
                Err((path, e)) if json => {
                    println!("{}", refusal(&path, &e));
                    std::process::exit(2);
                }
                Err((path, e)) => anyhow::bail!("{}: {e}", path.display()),
            }
            Ok(())
        }
        BiometricsCommand::Eval(args) => eval(args, bio),
        BiometricsCommand::Inspect { image } => {
            let engine = engine(bio)?;
            let img = read_image(&image, bio)?;
            let faces = engine.detect(&img)?;
            let observation = match engine.observe(&img) {
                Ok(o) => json!({"observation": o, "quality": engine.check_quality(&o).err().map(|e| e.code()),
                                "embedding_head": &o.embedding.as_slice()[..4]}),
                Err(e) => refusal(&image, &e),
            };
            println!("{}", json!({"image": image.display().to_string(), "faces": faces, "result": observation}));
            Ok(())
        }
        BiometricsCommand::Liveness(args) => liveness(args, bio),
        BiometricsCommand::PadEval(args) => pad_eval(args, config),
    }
}

fn eval(args: EvalArgs, bio: &BiometricsConfig) -> anyhow::Result<()> {
    let mut bio = bio.clone();
    if let Some(a) = args.alignment {
        bio.pipeline.alignment = match a {
            AlignmentArg::FivePoint => Alignment::FivePointSimilarity,
            AlignmentArg::ThreePoint => Alignment::ThreePointAffine,
        };
    }
    if let Some(n) = args.nms {
        bio.pipeline.nms_order = match n {
            NmsArg::Score => NmsOrder::Score,
            NmsArg::BottomEdge => NmsOrder::BottomEdge,
        };
    }
    let engine = engine(&bio)?;
    let text = std::fs::read_to_string(&args.pairs).with_context(|| format!("reading {}", args.pairs.display()))?;
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.trim().split(',').collect();
        if cols.len() != 3 {
            anyhow::bail!("{}:{}: expected file_x,file_y,Decision", args.pairs.display(), n + 1);
        }
        pairs.push((cols[0].to_owned(), cols[1].to_owned(), cols[2].eq_ignore_ascii_case("yes")));
    }
    let mut cache: HashMap<String, Result<Embedding, &'static str>> = HashMap::new();
    for (x, y, _) in &pairs {
        for f in [x, y] {
            if !cache.contains_key(f) {
                let r = embed(&engine, &args.images.join(f), &bio).map_err(|e| e.code());
                cache.insert(f.clone(), r);
            }
        }
    }
    let mut scores = Vec::new();
    let mut skipped = 0;
    for (x, y, genuine) in &pairs {
        match (&cache[x], &cache[y]) {
            (Ok(a), Ok(b)) => {
                let similarity = if args.js_match_feature { js_match_feature(a.as_slice(), b.as_slice()) } else { a.similarity(b) };
                scores.push(Scored { similarity, genuine: *genuine });
            }
            _ => skipped += 1,
        }
    }
    let mut refused: Vec<(&String, &str)> = cache.iter().filter_map(|(f, r)| r.as_ref().err().map(|code| (f, *code))).collect();
    refused.sort();
    let genuine = scores.iter().filter(|s| s.genuine).count();
    let fusion = fusion_effect(&pairs, &cache, args.js_match_feature);
    let at_threshold = rates_at(&scores, bio.threshold);
    let report = json!({
        "pairs": pairs.len(),
        "genuine": genuine,
        "impostor": scores.len() - genuine,
        "pairs_skipped": skipped,
        "images": cache.len(),
        "faces_not_found": refused.iter().map(|(f, c)| json!({"image": f, "reason": c})).collect::<Vec<_>>(),
        "eer": eer(&scores),
        "fnmr_at_fmr_1pct": fnmr_at_fmr(&scores, 0.01),
        "fnmr_at_fmr_0": fnmr_at_fmr(&scores, 0.0),
        "calibrated_threshold": calibrate(&scores),
        "d_prime": tanu_biometrics::eval::d_prime(&scores),
        "threshold": at_threshold,
        "lowest_genuine": scores.iter().filter(|s| s.genuine).map(|s| s.similarity).fold(f32::INFINITY, f32::min),
        "highest_impostor": scores.iter().filter(|s| !s.genuine).map(|s| s.similarity).fold(f32::NEG_INFINITY, f32::max),
        "fusion": fusion,
        "alignment": bio.pipeline.alignment,
        "nms_order": bio.pipeline.nms_order,
        "score": if args.js_match_feature { "faceplugin_matchFeature" } else { "cosine" },
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Does fusing several captures into one reference help? People with three or
/// more photos (grouped through the genuine pairs) give, for each probe photo,
/// the genuine score against one other photo and against the fused rest; the
/// impostor scores are the probe against the other people's fused galleries.
fn fusion_effect(pairs: &[(String, String, bool)], cache: &HashMap<String, Result<Embedding, &'static str>>, skip: bool) -> serde_json::Value {
    if skip {
        return serde_json::Value::Null;
    }
    let mut parent: HashMap<&str, &str> = HashMap::new();
    fn find<'a>(p: &mut HashMap<&'a str, &'a str>, x: &'a str) -> &'a str {
        let up = *p.get(x).unwrap_or(&x);
        if up == x {
            x
        } else {
            let r = find(p, up);
            p.insert(x, r);
            r
        }
    }
    for (x, y, genuine) in pairs {
        if *genuine {
            let (a, b) = (find(&mut parent, x), find(&mut parent, y));
            parent.insert(a, b);
        }
    }
    let mut groups: HashMap<&str, Vec<(&str, &Embedding)>> = HashMap::new();
    for (name, e) in cache.iter().filter_map(|(n, e)| e.as_ref().ok().map(|e| (n.as_str(), e))) {
        groups.entry(find(&mut parent, name)).or_default().push((name, e));
    }
    let people: Vec<&Vec<(&str, &Embedding)>> = groups.values().filter(|g| g.len() >= 3).collect();
    let (mut single, mut fused, mut impostor_single, mut impostor_fused) = (vec![], vec![], vec![], vec![]);
    for (i, person) in people.iter().enumerate() {
        for (k, (_, probe)) in person.iter().enumerate() {
            let rest: Vec<Embedding> = person.iter().enumerate().filter(|(j, _)| *j != k).map(|(_, (_, e))| (*e).clone()).collect();
            single.extend(rest.iter().map(|r| probe.similarity(r)));
            if let Some(f) = Embedding::fuse(&rest) {
                fused.push(probe.similarity(&f));
            }
            for (_, other) in people.iter().enumerate().filter(|(j, _)| *j != i) {
                let all: Vec<Embedding> = other.iter().map(|(_, e)| (*e).clone()).collect();
                impostor_single.extend(all.iter().map(|r| probe.similarity(r)));
                if let Some(f) = Embedding::fuse(&all) {
                    impostor_fused.push(probe.similarity(&f));
                }
            }
        }
    }
    let stats = |v: &[f32]| {
        let n = v.len().max(1) as f32;
        json!({"n": v.len(), "mean": v.iter().sum::<f32>() / n,
               "min": v.iter().copied().fold(f32::INFINITY, f32::min), "max": v.iter().copied().fold(f32::NEG_INFINITY, f32::max)})
    };
    json!({"people": people.len(), "genuine_single": stats(&single), "genuine_fused": stats(&fused),
           "impostor_single": stats(&impostor_single), "impostor_fused": stats(&impostor_fused)})
}

/// faceplugin's `matchFeature`, kept to show what it computes: it subtracts
/// the pair's element-wise mean from both vectors, which leaves f1 = −f2, so
/// every pair scores −1.
fn js_match_feature(f1: &[f32], f2: &[f32]) -> f32 {
    let (mut a, mut b) = (f1.to_vec(), f2.to_vec());
    let (mut sa, mut sb) = (0f32, 0f32);
    for i in 0..a.len() {
        let m = (a[i] + b[i]) / 2.0;
        a[i] -= m;
        b[i] -= m;
        sa += a[i] * a[i];
        sb += b[i] * b[i];
    }
    (0..a.len()).map(|i| a[i] / sa.sqrt() * (b[i] / sb.sqrt())).sum()
}

fn liveness(args: LivenessArgs, bio: &BiometricsConfig) -> anyhow::Result<()> {
    let engine = engine(bio)?;
    let step = 1000 / args.fps.max(1);
    let tmp;
    let paths: Vec<PathBuf> = match &args.video {
        Some(video) => {
            tmp = tempfile::tempdir()?;
            video_frames(video, args.fps, tmp.path())?
        }
        None => args.frames.clone(),
    };
    if paths.is_empty() {
        anyhow::bail!("give frames or --video");
    }
    let mut frames = Vec::with_capacity(paths.len());
    for (i, p) in paths.iter().enumerate() {
        let image = read_image(p, bio).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        frames.push(Frame { at_ms: i as u32 * step, image });
    }
    let challenges = match args.challenge.as_slice() {
        [] => vec![Challenge::random()],
        named => named
            .iter()
            .map(|c| Challenge::parse(c).ok_or_else(|| anyhow::anyhow!("challenge must be turn_left, turn_right or blink")))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    let steps = challenges
        .iter()
        .enumerate()
        .map(|(k, &challenge)| {
            let at = args.challenge_at_ms.get(k).or(args.challenge_at_ms.last()).copied().unwrap_or(0);
            Step { challenge, revealed_at_ms: at }
        })
        .collect();
    let mut policy = bio.liveness.clone();
    if args.no_challenge {
        policy.require_challenge = false;
    }
    let outcome = engine.analyse_sequence(&frames, &Schedule { steps }, &policy)?;
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
    } else {
        for c in &outcome.report.checks {
            println!("{:<24} {:<5} {}", c.check, if c.passed { "ok" } else { "FAIL" }, c.detail);
        }
        println!("decision: {}", if outcome.report.live { "live" } else { "refused" });
    }
    if !outcome.report.live {
        std::process::exit(3);
    }
    Ok(())
}

fn pad_eval(args: PadEvalArgs, config: &Config) -> anyhow::Result<()> {
    use tanu_biometrics::attacks::Instrument;
    use tanu_biometrics::pad;
    let bio = &config.biometrics;
    let engine = engine(bio)?;
    let policy = &bio.liveness;
    let mut schedules = pad::schedules(&config.face.challenges, config.face.challenge_steps);
    for s in pad::schedules(&config.face.challenges, config.face.high_risk_steps) {
        if !schedules.contains(&s) {
            schedules.push(s);
        }
    }
    if args.single {
        schedules.extend(pad::single_schedules());
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(&args.photos)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_image(p)).collect();
    names.sort();
    let mut attacks = Vec::new();
    let mut used = 0;
    for path in names {
        if used >= args.limit {
            break;
        }
        let photo = read_image(&path, bio).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match pad::attack_photo(&engine, &name, &photo, &schedules, &Instrument::all(), policy, used as u64) {
            Ok(p) => {
                attacks.extend(p);
                used += 1;
            }
            Err(e) => eprintln!("{name}: skipped ({})", e.code()),
        }
    }
    let tmp = tempfile::tempdir()?;
    let captures = pad::live_captures(pad::SHARED_CLIP, |from, seconds, fps| clip_stretch(&args.video, from, seconds, fps, tmp.path(), bio));
    let (live, replays) = pad::live_and_replayed(&engine, &captures, policy)?;
    attacks.extend(replays);
    let (apcer, bpcer) = (pad::apcer(&attacks), pad::bpcer(&live));
    if args.json {
        println!("{}", serde_json::to_string(&json!({"photos": used, "apcer": apcer, "bpcer": bpcer, "attacks": attacks, "live": live}))?);
        return Ok(());
    }
    println!("| attack class | challenges | presentations | accepted | APCER |\n|---|---|---|---|---|");
    for r in &apcer {
        println!("| {} | {} | {} | {} | {:.1} % |", r.class, r.schedule, r.presentations, r.errors, 100.0 * r.rate);
    }
    println!("\n| live material | challenges | presentations | refused | BPCER |\n|---|---|---|---|---|");
    for r in &bpcer {
        println!("| {} | {} | {} | {} | {:.1} % |", r.class, r.schedule, r.presentations, r.errors, 100.0 * r.rate);
    }
    for p in live.iter().filter(|p| !p.accepted) {
        println!("refused live: {} ({}): {}", p.source, p.schedule, p.failed.join(","));
    }
    for p in attacks.iter().filter(|p| p.accepted) {
        println!("accepted attack: {} {} ({})", p.source, p.instrument, p.schedule);
    }
    Ok(())
}

fn is_image(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(), Some("jpg" | "jpeg" | "png"))
}

/// `seconds` of `video` from `from`, at `fps`, as frames timed from 0.
fn clip_stretch(video: &Path, from: f32, seconds: f32, fps: u32, tmp: &Path, bio: &BiometricsConfig) -> Vec<Frame> {
    let dir = tmp.join(format!("{from:.3}-{fps}"));
    let _ = std::fs::create_dir_all(&dir);
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-ss", &from.to_string(), "-t", &seconds.to_string(), "-i"])
        .arg(video)
        .args(["-vf", &format!("fps={fps}")])
        .arg(dir.join("f-%03d.png"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return Vec::new();
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    paths.sort();
    let step = 1000 / fps.max(1);
    paths.iter().enumerate().filter_map(|(i, p)| read_image(p, bio).ok().map(|image| Frame { at_ms: i as u32 * step, image })).collect()
}

/// Splits a video into PNG frames at `fps` with ffmpeg (a Debian package; setup installs it).
pub fn video_frames(video: &Path, fps: u32, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(video)
        .args(["-vf", &format!("fps={fps}")])
        .arg(dir.join("frame-%04d.png"))
        .status()
        .context("running ffmpeg (install the Debian package ffmpeg)")?;
    if !status.success() {
        anyhow::bail!("ffmpeg could not read {}", video.display());
    }
    let mut frames: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    frames.sort();
    Ok(frames)
}

pub async fn run_registry(cmd: RegistryCommand, config: &Config) -> anyhow::Result<()> {
    let bio = &config.biometrics;
    match cmd {
        RegistryCommand::Add { iin, name, photo, sandbox } => {
            let iin: Iin = iin.parse().map_err(|e| anyhow::anyhow!("--iin: {e}"))?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                anyhow::bail!("--name must be 1 to 200 characters");
            }
            let bytes = std::fs::read(&photo).with_context(|| format!("reading {}", photo.display()))?;
            let img = decode_image(&bytes, &bio.decode).map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
            // The registry photo must be usable for the first verification.
            let engine = engine(bio)?;
            engine.observe(&img).map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
            let ext = if bytes.starts_with(&[0x89, b'P', b'N', b'G']) { "png" } else { "jpg" };
            let dir = if sandbox { &bio.sandbox_registry_dir } else { &bio.registry_dir };
            let path = DirectoryRegistry::new(dir).add(&iin, name, &bytes, ext)?;
            println!("added {} to {}", iin, path.display());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn faceplugin_match_feature_is_always_minus_one() {
        let a = [0.3, -0.1, 0.7, 0.2];
        let b = [0.25, -0.05, 0.6, 0.3];
        assert!((super::js_match_feature(&a, &b) + 1.0).abs() < 1e-5);
        assert!((super::js_match_feature(&a, &[-0.9, 0.4, 0.0, 0.1]) + 1.0).abs() < 1e-5);
    }
}
