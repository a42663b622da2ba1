//! The six ONNX models behind one small interface.
//!
//! Each [`ModelKind`] has an input contract (name `input`, NCHW float32 of the
//! shape below, the normalisation in [`crate::pipeline`]) and output contract.
//! The default set is faceplugin-face-recognition-js@0.0.1's `model/*.onnx`,
//! fetched and checked by `ops/setup/models.sh`; another set honouring the same
//! contracts replaces it through [`ModelsConfig`] (directory and digests).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ndarray::ArrayView4;
use ort::session::Session;
use ort::value::TensorRef;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// `[1,3,240,320]` BGR (x−127)/128 → `scores [1,4420,2]`, `boxes [1,4420,4]`
    /// (corner form, relative to the input).
    Detect,
    /// `[1,1,64,64]` grey/256 of the face box → `[1,136]` 68 points relative to the box.
    Landmark,
    /// `[1,3,112,112]` RGB (x−127)/128, aligned → `[1,512]` embedding.
    Feature,
    /// `[1,3,128,128]` RGB 0–255 of the face box ×2.7 → `[1,3]` logits.
    Liveness,
    /// `[1,1,24,24]` grey/255 of one eye → `[1,2]` logits (closed, open).
    Eye,
    /// `[1,3,224,224]` BGR ImageNet-normalised → yaw, pitch, roll `[1,66]` bin logits.
    Pose,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [ModelKind::Detect, ModelKind::Landmark, ModelKind::Feature, ModelKind::Liveness, ModelKind::Eye, ModelKind::Pose];

    pub fn file_stem(self) -> &'static str {
        match self {
            ModelKind::Detect => "fr_detect",
            ModelKind::Landmark => "fr_landmark",
            ModelKind::Feature => "fr_feature",
            ModelKind::Liveness => "fr_liveness",
            ModelKind::Eye => "fr_eye",
            ModelKind::Pose => "fr_pose",
        }
    }

    pub fn input_shape(self) -> [usize; 4] {
        match self {
            ModelKind::Detect => [1, 3, 240, 320],
            ModelKind::Landmark => [1, 1, 64, 64],
            ModelKind::Feature => [1, 3, 112, 112],
            ModelKind::Liveness => [1, 3, 128, 128],
            ModelKind::Eye => [1, 1, 24, 24],
            ModelKind::Pose => [1, 3, 224, 224],
        }
    }

    /// The sha256 of the published faceplugin model (ops/setup/models.sh pins the same).
    pub fn pinned_sha256(self) -> &'static str {
        match self {
            ModelKind::Detect => "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
            ModelKind::Landmark => "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
            ModelKind::Feature => "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
            ModelKind::Liveness => "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d",
            ModelKind::Eye => "1afcea006abc1ccac3c517022abde0aa092bed74ff3c9fe6878483ef9e6e38de",
            ModelKind::Pose => "72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d",
        }
    }
}

/// Where the models and the runtime are, and how to run them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ModelsConfig {
    /// Directory holding `<stem>.onnx` for every [`ModelKind`].
    pub dir: PathBuf,
    /// `libonnxruntime.so.1.31.1`; `ORT_DYLIB_PATH` when unset.
    pub ort_dylib: Option<PathBuf>,
    /// Expected sha256 per file stem; the pinned faceplugin digests when empty.
    /// Set `verify_digests = false` only for a locally trained set under test.
    pub sha256: std::collections::BTreeMap<String, String>,
    pub verify_digests: bool,
    /// Threads per inference (intra-op). 1 suits a server running many sign-ins.
    pub threads: usize,
    /// Sessions per model, each run by one caller at a time (`Session::run`
    /// needs `&mut`): frames analysed at once run the same model in parallel
    /// up to this many. 0: one per core. 1 by default: on 2 cores two gave
    /// no more sign-ins per second and 46 MB more memory (README, "Performance").
    pub sessions: usize,
    /// Zero denormal weights at load (same outputs, several times faster).
    pub flush_denormals: bool,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            dir: PathBuf::from("ops/vendor/models"),
            ort_dylib: None,
            sha256: Default::default(),
            verify_digests: true,
            threads: 1,
            sessions: 1,
            flush_denormals: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("ONNX Runtime library not found at {0} (run `make setup`, or set ORT_DYLIB_PATH / biometrics.models.ort_dylib)")]
    RuntimeMissing(PathBuf),
    #[error("ONNX Runtime could not be loaded: {0}")]
    Runtime(String),
    #[error("model {path} is missing (run `make setup`, or set biometrics.models.dir)")]
    Missing { path: PathBuf },
    #[error("model {path} has sha256 {actual}, expected {expected}: refusing to load it")]
    DigestMismatch { path: PathBuf, expected: String, actual: String },
    #[error("model {path} is not a valid ONNX model: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("inference failed in {model}: {reason}")]
    Inference { model: &'static str, reason: String },
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime once per process from `dylib` (the first caller's path wins).
fn runtime(dylib: &Path) -> Result<&'static ort::environment::Environment, ModelError> {
    if !dylib.is_file() {
        return Err(ModelError::RuntimeMissing(dylib.to_owned()));
    }
    let env = ENVIRONMENT.get_or_init(|| ort::init_from(dylib).map_err(|e| e.to_string())?.with_name("tanu-biometrics").build().map_err(|e| e.to_string()));
    env.as_ref().map_err(|e| ModelError::Runtime(e.clone()))
}

/// One loaded model: a pool of sessions, each behind a lock (`Session::run`
/// needs `&mut`); a run takes a free one, or waits for its turn on one.
pub struct Model {
    kind: ModelKind,
    sessions: Vec<Mutex<Session>>,
    /// Where a run waits when every session is busy (round-robin).
    next: std::sync::atomic::AtomicUsize,
    /// Denormal weights zeroed at load.
    pub flushed: usize,
}

impl Model {
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// How many sessions this model runs on.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A free session, or (all busy) a turn on the next one.
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        for s in &self.sessions {
            match s.try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        let k = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.sessions.len();
        self.sessions[k].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the model on one input of its contract shape; outputs in graph order, flattened.
    pub fn run(&self, input: ArrayView4<'_, f32>) -> Result<Vec<Vec<f32>>, ModelError> {
        let err = |e: ort::Error| ModelError::Inference { model: self.kind.file_stem(), reason: e.to_string() };
        if input.shape() != self.kind.input_shape() {
            return Err(ModelError::Inference {
                model: self.kind.file_stem(),
                reason: format!("input shape {:?}, contract {:?}", input.shape(), self.kind.input_shape()),
            });
        }
        let tensor = TensorRef::from_array_view(input).map_err(err)?;
        let mut session = self.session();
        let outputs = session.run(ort::inputs!["input" => tensor]).map_err(err)?;
        let mut result = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let array = value.try_extract_array::<f32>().map_err(err)?;
            result.push(array.iter().copied().collect());
        }
        Ok(result)
    }
}

/// All six models, loaded and checked.
pub struct ModelSet {
    pub detect: Model,
    pub landmark: Model,
    pub feature: Model,
    pub liveness: Model,
    pub eye: Model,
    pub pose: Model,
}

impl ModelSet {
    pub fn load(config: &ModelsConfig) -> Result<Self, ModelError> {
        let dylib = config
            .ort_dylib
            .clone()
            .or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("ops/vendor/venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1"));
        let env = runtime(&dylib)?;
        let load = |kind| load_model(env, config, kind);
        Ok(ModelSet {
            detect: load(ModelKind::Detect)?,
            landmark: load(ModelKind::Landmark)?,
            feature: load(ModelKind::Feature)?,
            liveness: load(ModelKind::Liveness)?,
            eye: load(ModelKind::Eye)?,
            pose: load(ModelKind::Pose)?,
        })
    }
}

// The large error is ort's own (its session builder's), once per model at start.
#[allow(clippy::result_large_err)]
fn load_model(env: &ort::environment::Environment, config: &ModelsConfig, kind: ModelKind) -> Result<Model, ModelError> {
    let path = config.dir.join(format!("{}.onnx", kind.file_stem()));
    let mut bytes = std::fs::read(&path).map_err(|_| ModelError::Missing { path: path.clone() })?;
    if config.verify_digests {
        let expected = config.sha256.get(kind.file_stem()).map(String::as_str).unwrap_or(kind.pinned_sha256());
        let actual = hex::encode(Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(ModelError::DigestMismatch { path, expected: expected.to_owned(), actual });
        }
    }
    let invalid = |reason: String| ModelError::Invalid { path: path.clone(), reason };
    let flushed = if config.flush_denormals { crate::onnx_patch::flush_denormal_initializers(&mut bytes).map_err(|e| invalid(e.to_string()))? } else { 0 };
    let count = match config.sessions {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let session = Session::builder(env)
            .map_err(|e| invalid(e.to_string()))?
            .with_intra_threads(config.threads.max(1))
            .and_then(|b| b.with_inter_threads(1))
            .map_err(|e| invalid(e.to_string()))?
            .commit_from_memory(&bytes)
            .map_err(|e| invalid(e.to_string()))?;
        sessions.push(Mutex::new(session));
    }
    Ok(Model { kind, sessions, next: std::sync::atomic::AtomicUsize::new(0), flushed })
}
