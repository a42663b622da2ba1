//! One typed configuration: an optional TOML file, then `TANU_*` environment
//! variables on top. Every field has a default so that `tanu serve` with no
//! file runs on the embedded defaults (SQLite under `./var/`).
use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("configuration file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("environment variable {name}={value:?} is not valid: {reason}")]
    Env { name: &'static str, value: String, reason: String },
    #[error("issuer {0:?} must be an absolute https URL (http only on a loopback host), with no query or fragment")]
    Issuer(String),
    #[error("{0}")]
    Invalid(String),
}

/// The nearest ancestor of the running executable holding `ops/vendor`, else
/// the working directory.
fn detect_prefix() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().skip(1).find(|dir| dir.join("ops/vendor").is_dir()).map(PathBuf::from))
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default())
}

/// ONNX Runtime under `prefix`: the path recorded by `ops/setup/models.sh` in
/// `ops/vendor/ort-dylib` (relative to `prefix`), else the first
/// `ops/vendor/venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*`.
pub fn find_onnxruntime(prefix: &std::path::Path) -> Option<PathBuf> {
    if let Ok(recorded) = std::fs::read_to_string(prefix.join("ops/vendor/ort-dylib")) {
        let path = prefix.join(recorded.trim());
        if path.is_file() {
            return Some(path);
        }
    }
    let mut libs: Vec<PathBuf> = std::fs::read_dir(prefix.join("ops/vendor/venv/lib"))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .filter_map(|e| std::fs::read_dir(e.path().join("site-packages/onnxruntime/capi")).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so.")) && p.is_file())
        .collect();
    libs.sort();
    libs.pop()
}

/// A numeric `TANU_*` variable.
fn num<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError> {
    value.parse().map_err(|_| ConfigError::Env { name, value, reason: "expected a number".into() })
}

/// The whole configuration. Durations are in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (`iss`), the base URL of every endpoint.
    pub issuer: String,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// `sqlite://…?mode=rwc` (default) or `postgres://…`.
    pub database_url: String,
    /// Directory for the embedded database and the generated master key.
    pub data_dir: PathBuf,
    /// The installation prefix: relative paths of installed files (the face
    /// models, ONNX Runtime, the working-day calendar) resolve against it,
    /// never against the working directory. Empty: the nearest ancestor of the
    /// `tanu` executable holding `ops/vendor` (a build in `target/` finds its
    /// checkout), else the working directory.
    pub prefix: PathBuf,
    /// Base64 of 32 bytes: the key that seals signing keys at rest. When empty,
    /// one is generated into `<data_dir>/master.key` (mode 0600) on first start.
    pub master_key: String,
    pub authorization_code_ttl: u64,
    pub access_token_ttl: u64,
    pub id_token_ttl: u64,
    pub refresh_token_ttl: u64,
    /// Absolute lifetime of an `offline_access` grant from the sign-in that
    /// created it: no refresh token outlives it, however often it rotates.
    pub refresh_grant_lifetime: u64,
    pub session_ttl: u64,
    pub login_request_ttl: u64,
    /// How long a new signing key is published in the JWKS before it signs,
    /// so that relying parties' cached key sets pick it up first.
    pub key_publish_lead: u64,
    /// How often (seconds) a running server compares the stored signing-key
    /// ids with its in-memory keys, to see a rotation made elsewhere.
    pub key_poll_interval: u64,
    /// How often (seconds) a serving instance beats in the database; the
    /// instances seen within three beats share the per-minute budgets.
    pub instance_heartbeat: u64,
    /// Requests per minute one client address may make to the browser
    /// endpoints (`/authorize` and every form).
    pub rate_limit_per_minute: u32,
    /// Requests per minute one address may make to `/token`: a budget of its
    /// own, so that a relying party's backend is not throttled like a browser.
    pub token_rate_limit_per_minute: u32,
    /// Failed authentications of one registered client per minute, from any
    /// address, before further failures are answered 429.
    pub client_auth_failures_per_minute: u32,
    /// Proxies (addresses or CIDR networks) whose forwarding header names the
    /// client; empty: the socket's peer is the client.
    pub trusted_proxies: Vec<ProxyNet>,
    /// The header those proxies set: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: ForwardedHeader,
    /// Largest request body of any route without a budget of its own, in
    /// bytes; refused with 413 before it is read.
    pub max_body_bytes: usize,
    /// First retry delay of a failed event delivery, in milliseconds; it doubles per failure.
    pub notification_retry_base_ms: u64,
    /// Every client must push its authorization requests (RFC 9126 §5), not
    /// only those registered with `require_pushed_authorization_requests`.
    pub require_pushed_authorization_requests: bool,
    /// DPoP (RFC 9449): how old a proof's `iat` may be, in seconds (5 s
    /// ahead are tolerated); its `jti` is remembered this long.
    pub dpop_proof_lifetime: u64,
    /// DPoP: every proof must carry a server nonce (`use_dpop_nonce` otherwise).
    pub dpop_nonce_required: bool,
    /// Seconds in-flight requests (and the onboarding worker) get to finish
    /// after SIGTERM before the process exits anyway.
    pub shutdown_grace: u64,
    /// The face pipeline, its models and the person registry (`[biometrics]`).
    pub biometrics: BiometricsConfig,
    /// Face sign-in: capture limits and attempt limits (`[face]`).
    pub face: FaceConfig,
    /// The connection of initiators on Temporal (`[onboarding]`).
    pub onboarding: OnboardingConfig,
    /// Documents shared by code from the cabinet (`[documents]`).
    pub documents: DocumentsConfig,
}

pub use tanu_cabinet::DocumentsConfig;
pub use tanu_onboarding::config::OnboardingConfig;

/// An address or a network (CIDR) of a trusted proxy: `10.0.0.5`, `10.0.0.0/8`, `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(pub ipnet::IpNet);

impl ProxyNet {
    pub fn contains(&self, addr: &std::net::IpAddr) -> bool {
        self.0.contains(addr)
    }
}

impl std::str::FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.contains('/') {
            s.parse::<ipnet::IpNet>().map(|n| ProxyNet(n.trunc())).map_err(|_| format!("{s:?} is not an address or a CIDR network"))
        } else {
            s.parse::<std::net::IpAddr>().map(|a| ProxyNet(a.into())).map_err(|_| format!("{s:?} is not an address or a CIDR network"))
        }
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Which header trusted proxies set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

/// `[face]`: how a face sign-in captures frames and how often it may fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaceConfig {
    /// Whether `tanu serve` offers face sign-in (needs the models). When
    /// false the login page says sign-in is unavailable.
    pub enabled: bool,
    /// Largest accepted frame (JPEG or PNG bytes).
    pub max_frame_bytes: usize,
    /// Most frames accepted in one capture.
    pub max_frames: usize,
    /// Frames received before the challenge is shown (the baseline).
    pub frames_before_challenge: usize,
    /// Frames received after the last challenge before the capture is complete.
    pub frames_after_challenge: usize,
    /// Up to this many more baseline frames, drawn at random per capture, so a
    /// recording cannot be timed to the first challenge.
    pub reveal_jitter_frames: usize,
    /// Frames between the reveal of one challenge and the next.
    pub frames_per_step: usize,
    /// The gestures a try may ask for. At least one head turn is always asked
    /// (the gesture whose geometry a flat picture cannot fake). `blink` is
    /// off by default: its refusal rate on live people is not measured (the
    /// live material has no blink the eye model sees; README, "Liveness").
    pub challenges: Vec<tanu_biometrics::Challenge>,
    /// Challenges per try, each different from the one before it.
    pub challenge_steps: usize,
    /// Challenges per try when the risk is high: every try after a failed one
    /// in the same sign-in. (Not the first comparison against the registry
    /// photo: the number of challenges would tell anyone who types an IIN
    /// whether that person has signed in before.)
    pub high_risk_steps: usize,
    /// `[face.replay]`: how long recent captures are remembered, how many,
    /// and when a capture replays one (README, "Liveness").
    pub replay: tanu_biometrics::replay::ReplayPolicy,
    /// Seconds a capture may take from its first frame.
    pub capture_timeout: u64,
    /// Captures one sign-in may try.
    pub max_tries: u32,
    /// Window, in seconds, over which failures are counted.
    pub failure_window: u64,
    /// Failures with a face presented, for one IIN from one address, within
    /// the window before that address waits for that IIN (`face::lockout`).
    pub max_failures_per_iin: u64,
    /// Seconds of the first wait; each further failure doubles it, up to the window.
    pub lockout_base: u64,
    /// Failures per client address within the window after which sign-in is refused.
    pub max_failures_per_address: u64,
    /// Test configurations only: always this challenge instead of a random one.
    /// Production leaves it unset (README, "Face sign-in").
    pub fixed_challenge: Option<tanu_biometrics::Challenge>,
}

impl Default for FaceConfig {
    fn default() -> Self {
        FaceConfig {
            enabled: true,
            max_frame_bytes: 400 * 1024,
            max_frames: 60,
            frames_before_challenge: 8,
            frames_after_challenge: 20,
            reveal_jitter_frames: 4,
            frames_per_step: 20,
            challenges: vec![tanu_biometrics::Challenge::TurnLeft, tanu_biometrics::Challenge::TurnRight],
            challenge_steps: 1,
            high_risk_steps: 2,
            replay: Default::default(),
            capture_timeout: 30,
            max_tries: 3,
            failure_window: 900,
            max_failures_per_iin: 5,
            lockout_base: 60,
            max_failures_per_address: 20,
            fixed_challenge: None,
        }
    }
}

/// `[biometrics]`: models, pipeline gates, liveness policy, threshold, registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BiometricsConfig {
    pub models: tanu_biometrics::ModelsConfig,
    pub pipeline: tanu_biometrics::pipeline::PipelineConfig,
    pub liveness: tanu_biometrics::LivenessPolicy,
    pub decode: tanu_biometrics::DecodeLimits,
    /// Similarity at or above which two faces match (README, "Verification figures").
    pub threshold: f32,
    /// The embedded person registry: `<IIN>.json` + photo per person.
    pub registry_dir: PathBuf,
    /// When set, the state registry over HTTP replaces the directory.
    pub registry_http: Option<tanu_biometrics::registry::HttpRegistryConfig>,
    /// The sandbox's test registry: synthetic persons, the only people a
    /// sandbox client's sign-in can find (Rules §14). Never the registry above.
    pub sandbox_registry_dir: PathBuf,
}

impl Default for BiometricsConfig {
    fn default() -> Self {
        BiometricsConfig {
            models: Default::default(),
            pipeline: Default::default(),
            liveness: Default::default(),
            decode: Default::default(),
            threshold: tanu_biometrics::Threshold::CALIBRATED.0,
            registry_dir: PathBuf::from("var/registry"),
            registry_http: None,
            sandbox_registry_dir: PathBuf::from("var/sandbox-registry"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://var/tanu.db?mode=rwc".into(),
            data_dir: PathBuf::from("var"),
            prefix: PathBuf::new(),
            master_key: String::new(),
            authorization_code_ttl: 60,
            access_token_ttl: 600,
            id_token_ttl: 600,
            refresh_token_ttl: 30 * 24 * 3600,
            refresh_grant_lifetime: 30 * 24 * 3600,
            session_ttl: 8 * 3600,
            login_request_ttl: 600,
            key_publish_lead: 3600,
            key_poll_interval: 10,
            instance_heartbeat: 5,
            rate_limit_per_minute: 120,
            token_rate_limit_per_minute: 1200,
            client_auth_failures_per_minute: 20,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            max_body_bytes: 64 * 1024,
            notification_retry_base_ms: 2000,
            require_pushed_authorization_requests: false,
            dpop_proof_lifetime: 60,
            dpop_nonce_required: false,
            shutdown_grace: 10,
            biometrics: BiometricsConfig::default(),
            face: FaceConfig::default(),
            onboarding: OnboardingConfig::default(),
            documents: DocumentsConfig::default(),
        }
    }
}

impl Config {
    /// Reads `path` (if given), then applies `TANU_*` variables from `env`.
    pub fn load(path: Option<&std::path::Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?
            }
            None => Config::default(),
        };
        for (name, value) in env {
            config.apply_env(&name, value)?;
        }
        config.issuer = config.issuer.trim_end_matches('/').to_string();
        config.validate()?;
        config.resolve_paths();
        Ok(config)
    }

    /// Makes the installed files' paths absolute against [`Config::prefix`]
    /// (detected when empty) and finds ONNX Runtime when it is not configured:
    /// the path `ops/setup/models.sh` records in `ops/vendor/ort-dylib`, else
    /// the `libonnxruntime.so.*` of the setup venv, whatever its Python
    /// version. Idempotent; [`Config::load`] calls it, and so does whoever
    /// builds a `Config` by hand (the test kit).
    pub fn resolve_paths(&mut self) {
        if self.prefix.as_os_str().is_empty() {
            self.prefix = detect_prefix();
        }
        let prefix = self.prefix.clone();
        let models = &mut self.biometrics.models;
        if models.dir.is_relative() {
            models.dir = prefix.join(&models.dir);
        }
        models.ort_dylib = Some(match models.ort_dylib.take() {
            Some(p) if p.is_relative() => prefix.join(p),
            Some(p) => p,
            // Not found: the error names the venv that `make setup` fills.
            None => find_onnxruntime(&prefix).unwrap_or_else(|| prefix.join("ops/vendor/venv")),
        });
        if self.onboarding.calendar_dir.is_relative() {
            self.onboarding.calendar_dir = prefix.join(&self.onboarding.calendar_dir);
        }
    }

    fn apply_env(&mut self, name: &str, value: String) -> Result<(), ConfigError> {
        match name {
            "TANU_ISSUER" => self.issuer = value,
            "TANU_LISTEN" => self.listen = value.parse().map_err(|_| ConfigError::Env { name: "TANU_LISTEN", value, reason: "expected host:port".into() })?,
            "TANU_DATABASE_URL" => self.database_url = value,
            "TANU_DATA_DIR" => self.data_dir = value.into(),
            "TANU_PREFIX" => self.prefix = value.into(),
            "ORT_DYLIB_PATH" => self.biometrics.models.ort_dylib = Some(value.into()),
            "TANU_MASTER_KEY" => self.master_key = value,
            "TANU_AUTHORIZATION_CODE_TTL" => self.authorization_code_ttl = num("TANU_AUTHORIZATION_CODE_TTL", value)?,
            "TANU_ACCESS_TOKEN_TTL" => self.access_token_ttl = num("TANU_ACCESS_TOKEN_TTL", value)?,
            "TANU_ID_TOKEN_TTL" => self.id_token_ttl = num("TANU_ID_TOKEN_TTL", value)?,
            "TANU_REFRESH_TOKEN_TTL" => self.refresh_token_ttl = num("TANU_REFRESH_TOKEN_TTL", value)?,
            "TANU_REFRESH_GRANT_LIFETIME" => self.refresh_grant_lifetime = num("TANU_REFRESH_GRANT_LIFETIME", value)?,
            "TANU_SESSION_TTL" => self.session_ttl = num("TANU_SESSION_TTL", value)?,
            "TANU_LOGIN_REQUEST_TTL" => self.login_request_ttl = num("TANU_LOGIN_REQUEST_TTL", value)?,
            "TANU_KEY_PUBLISH_LEAD" => self.key_publish_lead = num("TANU_KEY_PUBLISH_LEAD", value)?,
            "TANU_KEY_POLL_INTERVAL" => self.key_poll_interval = num("TANU_KEY_POLL_INTERVAL", value)?,
            "TANU_INSTANCE_HEARTBEAT" => self.instance_heartbeat = num("TANU_INSTANCE_HEARTBEAT", value)?,
            "TANU_RATE_LIMIT_PER_MINUTE" => self.rate_limit_per_minute = num("TANU_RATE_LIMIT_PER_MINUTE", value)?,
            "TANU_TOKEN_RATE_LIMIT_PER_MINUTE" => self.token_rate_limit_per_minute = num("TANU_TOKEN_RATE_LIMIT_PER_MINUTE", value)?,
            "TANU_MAX_BODY_BYTES" => self.max_body_bytes = num("TANU_MAX_BODY_BYTES", value)?,
            "TANU_CLIENT_AUTH_FAILURES_PER_MINUTE" => self.client_auth_failures_per_minute = num("TANU_CLIENT_AUTH_FAILURES_PER_MINUTE", value)?,
            "TANU_TRUSTED_PROXIES" => {
                self.trusted_proxies = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(str::parse)
                    .collect::<Result<_, String>>()
                    .map_err(|reason| ConfigError::Env { name: "TANU_TRUSTED_PROXIES", value: value.clone(), reason })?
            }
            "TANU_FORWARDED_HEADER" => {
                self.forwarded_header = match value.as_str() {
                    "x-forwarded-for" => ForwardedHeader::XForwardedFor,
                    "forwarded" => ForwardedHeader::Forwarded,
                    _ => return Err(ConfigError::Env { name: "TANU_FORWARDED_HEADER", value, reason: "expected x-forwarded-for or forwarded".into() }),
                }
            }
            "TANU_NOTIFICATION_RETRY_BASE_MS" => self.notification_retry_base_ms = num("TANU_NOTIFICATION_RETRY_BASE_MS", value)?,
            "TANU_SHUTDOWN_GRACE" => self.shutdown_grace = num("TANU_SHUTDOWN_GRACE", value)?,
            "TANU_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS" => {
                self.require_pushed_authorization_requests = value.parse().map_err(|_| ConfigError::Env {
                    name: "TANU_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
                    value,
                    reason: "expected true or false".into(),
                })?
            }
            "TANU_DPOP_PROOF_LIFETIME" => self.dpop_proof_lifetime = num("TANU_DPOP_PROOF_LIFETIME", value)?,
            "TANU_DPOP_NONCE_REQUIRED" => {
                self.dpop_nonce_required =
                    value.parse().map_err(|_| ConfigError::Env { name: "TANU_DPOP_NONCE_REQUIRED", value, reason: "expected true or false".into() })?
            }
            // Face sign-in's, the biometrics', onboarding's and the documents' own.
            _ => self.apply_area_env(name, value)?,
        }
        Ok(())
    }

    /// The `TANU_*` variables of the areas' sections (`[biometrics]`, `[face]`,
    /// `[onboarding]`, `[documents]`).
    fn apply_area_env(&mut self, name: &str, value: String) -> Result<(), ConfigError> {
        match name {
            "TANU_BIOMETRICS_MODELS_DIR" => self.biometrics.models.dir = value.into(),
            "TANU_BIOMETRICS_THREADS" => self.biometrics.models.threads = num("TANU_BIOMETRICS_THREADS", value)?,
            "TANU_BIOMETRICS_SESSIONS" => self.biometrics.models.sessions = num("TANU_BIOMETRICS_SESSIONS", value)?,
            "TANU_BIOMETRICS_THRESHOLD" => self.biometrics.threshold = num("TANU_BIOMETRICS_THRESHOLD", value)?,
            "TANU_REGISTRY_DIR" => self.biometrics.registry_dir = value.into(),
            "TANU_SANDBOX_REGISTRY_DIR" => self.biometrics.sandbox_registry_dir = value.into(),
            "TANU_REGISTRY_URL" => {
                self.biometrics.registry_http.get_or_insert_with(Default::default).base_url = value;
            }
            "TANU_FACE_MAX_FAILURES_PER_IIN" => self.face.max_failures_per_iin = num("TANU_FACE_MAX_FAILURES_PER_IIN", value)?,
            "TANU_FACE_LOCKOUT_BASE" => self.face.lockout_base = num("TANU_FACE_LOCKOUT_BASE", value)?,
            "TANU_FACE_MAX_FAILURES_PER_ADDRESS" => self.face.max_failures_per_address = num("TANU_FACE_MAX_FAILURES_PER_ADDRESS", value)?,
            "TANU_FACE_ENABLED" => {
                self.face.enabled = value.parse().map_err(|_| ConfigError::Env { name: "TANU_FACE_ENABLED", value, reason: "expected true or false".into() })?
            }
            "TANU_FACE_FRAMES_BEFORE_CHALLENGE" => self.face.frames_before_challenge = num("TANU_FACE_FRAMES_BEFORE_CHALLENGE", value)?,
            "TANU_FACE_REVEAL_JITTER_FRAMES" => self.face.reveal_jitter_frames = num("TANU_FACE_REVEAL_JITTER_FRAMES", value)?,
            "TANU_FACE_FIXED_CHALLENGE" => {
                self.face.fixed_challenge = Some(tanu_biometrics::Challenge::parse(&value).ok_or_else(|| ConfigError::Env {
                    name: "TANU_FACE_FIXED_CHALLENGE",
                    value,
                    reason: "expected turn_left, turn_right or blink".into(),
                })?)
            }
            "TANU_TEMPORAL_ADDRESS" => self.onboarding.temporal_address = value,
            "TANU_TEMPORAL_NAMESPACE" => self.onboarding.temporal_namespace = value,
            "TANU_ONBOARDING_TASK_QUEUE" => self.onboarding.task_queue = value,
            "TANU_ONBOARDING_WORKER" => {
                self.onboarding.worker =
                    value.parse().map_err(|_| ConfigError::Env { name: "TANU_ONBOARDING_WORKER", value, reason: "expected true or false".into() })?
            }
            "TANU_ONBOARDING_TIME_SCALE" => self.onboarding.time_scale = num("TANU_ONBOARDING_TIME_SCALE", value)?,
            "TANU_CALENDAR_DIR" => self.onboarding.calendar_dir = value.into(),
            "TANU_EDS_ROOTS" => self.onboarding.eds_roots = Some(value.into()),
            "TANU_EDS_CRLS" => self.onboarding.eds_crls = value.split(',').filter(|s| !s.is_empty()).map(PathBuf::from).collect(),
            "TANU_OPERATOR_BIN" => self.onboarding.operator_bin = value,
            "TANU_SMTP_URL" => self.onboarding.smtp_url = value,
            "TANU_MAIL_FROM" => self.onboarding.mail_from = value,
            "TANU_DOCUMENTS_CODE_TTL" => self.documents.code_ttl = num("TANU_DOCUMENTS_CODE_TTL", value)?,
            // Other TANU_* variables belong to other components (biometrics, registry, temporal).
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| ConfigError::Issuer(self.issuer.clone()))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok || url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
            return Err(ConfigError::Issuer(self.issuer.clone()));
        }
        if !(self.onboarding.time_scale.is_finite() && self.onboarding.time_scale >= 1.0) {
            return Err(ConfigError::Invalid("onboarding.time_scale must be 1 or more".into()));
        }
        if !self.onboarding.operator_bin.is_empty() && self.onboarding.operator_bin.parse::<tanu_workflows::Bin>().is_err() {
            return Err(ConfigError::Invalid(format!("onboarding.operator_bin {:?} is not a valid BIN", self.onboarding.operator_bin)));
        }
        if !self.onboarding.mail_from.is_empty() && self.onboarding.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid(format!("onboarding.mail_from {:?} is not a mailbox", self.onboarding.mail_from)));
        }
        if !(1..=3600).contains(&self.dpop_proof_lifetime) {
            return Err(ConfigError::Invalid("dpop_proof_lifetime must be 1 to 3600 seconds".into()));
        }
        if !(-1.0..=1.0).contains(&self.biometrics.threshold) {
            return Err(ConfigError::Invalid("biometrics.threshold must be between -1 and 1".into()));
        }
        let bio = &self.biometrics;
        // Each session holds its own copy of the six models (about 45 MB),
        // each thread a share of a core: a typo must not exhaust the host.
        if bio.models.sessions > 64 || !(1..=64).contains(&bio.models.threads) {
            return Err(ConfigError::Invalid("biometrics.models.sessions must be 0 (one per core) to 64, and biometrics.models.threads 1 to 64".into()));
        }
        if bio.sandbox_registry_dir.components().eq(bio.registry_dir.components()) {
            return Err(ConfigError::Invalid(
                "biometrics.sandbox_registry_dir must not be the person registry (registry_dir): sandbox clients see test persons only".into(),
            ));
        }
        let face = &self.face;
        let distinct = face.challenges.iter().collect::<std::collections::HashSet<_>>().len();
        let turns = face.challenges.iter().any(|c| *c != tanu_biometrics::Challenge::Blink);
        let steps = face.challenge_steps.max(face.high_risk_steps);
        if !turns || face.challenge_steps == 0 || face.high_risk_steps == 0 || steps > 4 || (steps > 1 && distinct < 2) {
            return Err(ConfigError::Invalid(
                "face.challenges must include a head turn; face.challenge_steps and face.high_risk_steps are 1 to 4, and more than one needs two different challenges".into(),
            ));
        }
        let capture = face.frames_before_challenge + face.reveal_jitter_frames + (steps - 1) * face.frames_per_step + face.frames_after_challenge;
        if capture > face.max_frames {
            return Err(ConfigError::Invalid(format!("face.max_frames ({}) is less than a capture needs ({capture})", face.max_frames)));
        }
        Ok(())
    }

    /// The URL of an endpoint under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// Cookies are `Secure` whenever the issuer is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The protocol's part, for `tanu-oidc`; `acr_values_supported` are the
    /// authentication method's.
    pub fn provider(&self, acr_values_supported: Vec<String>) -> tanu_oidc::config::ProviderConfig {
        tanu_oidc::config::ProviderConfig {
            issuer: self.issuer.clone(),
            authorization_code_ttl: self.authorization_code_ttl,
            access_token_ttl: self.access_token_ttl,
            id_token_ttl: self.id_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            refresh_grant_lifetime: self.refresh_grant_lifetime,
            session_ttl: self.session_ttl,
            login_request_ttl: self.login_request_ttl,
            token_rate_limit_per_minute: self.token_rate_limit_per_minute,
            client_auth_failures_per_minute: self.client_auth_failures_per_minute,
            notification_retry_base_ms: self.notification_retry_base_ms,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            dpop_proof_lifetime: self.dpop_proof_lifetime,
            dpop_nonce_required: self.dpop_nonce_required,
            acr_values_supported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.starts_with("sqlite://var/"));
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
    }

    #[test]
    fn environment_overrides_and_trailing_slash_is_dropped() {
        let c = Config::load(None, env(&[("TANU_ISSUER", "https://id.example.kz/"), ("TANU_ACCESS_TOKEN_TTL", "30")])).unwrap();
        assert_eq!(c.issuer, "https://id.example.kz");
        assert_eq!(c.access_token_ttl, 30);
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load(None, env(&[("TANU_LISTEN", "nowhere")])).unwrap_err();
        assert!(e.to_string().contains("TANU_LISTEN"));
        assert!(Config::load(None, env(&[("TANU_ISSUER", "http://id.example.kz")])).is_err(), "plain http off loopback");
        assert!(Config::load(None, env(&[("TANU_ISSUER", "https://id.example.kz/?a=b")])).is_err());
        assert!(Config::load(None, env(&[("TANU_FACE_FIXED_CHALLENGE", "smile")])).is_err());
        let c = Config::load(None, env(&[("TANU_FACE_FIXED_CHALLENGE", "blink")])).unwrap();
        assert_eq!(c.face.fixed_challenge, Some(tanu_biometrics::Challenge::Blink));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let c = Config::load(None, env(&[("TANU_TRUSTED_PROXIES", "10.0.0.5, 192.168.0.0/16,2001:db8::/32")])).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.trusted_proxies[0].contains(&"10.0.0.5".parse().unwrap()));
        assert!(!c.trusted_proxies[0].contains(&"10.0.0.6".parse().unwrap()));
        assert!(c.trusted_proxies[1].contains(&"192.168.7.1".parse().unwrap()));
        assert!(c.trusted_proxies[2].contains(&"2001:db8::1".parse().unwrap()));
        assert!(Config::load(None, env(&[])).unwrap().trusted_proxies.is_empty(), "none by default");
        let e = Config::load(None, env(&[("TANU_TRUSTED_PROXIES", "10.0.0.0/33")])).unwrap_err();
        assert!(e.to_string().contains("TANU_TRUSTED_PROXIES"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tanu.toml");
        std::fs::write(&p, "trusted_proxies = [\"10.1.0.0/16\"]\nforwarded_header = \"forwarded\"\n").unwrap();
        let c = Config::load(Some(&p), env(&[])).unwrap();
        assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
        std::fs::write(&p, "trusted_proxies = [\"nowhere\"]\n").unwrap();
        assert!(Config::load(Some(&p), env(&[])).is_err());
    }

    #[test]
    fn installed_files_resolve_against_the_prefix_not_the_working_directory() {
        let prefix = tempfile::tempdir().unwrap();
        let p = prefix.path();
        // The venv's wheel, under whatever python3.x made it.
        let capi = p.join("ops/vendor/venv/lib/python3.13/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"").unwrap();
        let c = Config::load(None, env(&[("TANU_PREFIX", p.to_str().unwrap())])).unwrap();
        assert_eq!(c.biometrics.models.dir, p.join("ops/vendor/models"));
        assert_eq!(c.biometrics.models.ort_dylib, Some(capi.join("libonnxruntime.so.1.31.1")));
        assert_eq!(c.onboarding.calendar_dir, p.join("ops/calendar"));
        // The path models.sh records wins over the search.
        std::fs::create_dir_all(p.join("lib")).unwrap();
        std::fs::write(p.join("lib/libonnxruntime.so.1.31.1"), b"").unwrap();
        std::fs::write(p.join("ops/vendor/ort-dylib"), "lib/libonnxruntime.so.1.31.1\n").unwrap();
        let c = Config::load(None, env(&[("TANU_PREFIX", p.to_str().unwrap())])).unwrap();
        assert_eq!(c.biometrics.models.ort_dylib, Some(p.join("lib/libonnxruntime.so.1.31.1")));
        // Explicit settings: relative ones under the prefix, absolute ones as given.
        let c =
            Config::load(None, env(&[("TANU_PREFIX", p.to_str().unwrap()), ("TANU_BIOMETRICS_MODELS_DIR", "m"), ("ORT_DYLIB_PATH", "/opt/ort.so")])).unwrap();
        assert_eq!(c.biometrics.models.dir, p.join("m"));
        assert_eq!(c.biometrics.models.ort_dylib, Some(PathBuf::from("/opt/ort.so")));
        // Nothing installed: the error will name the venv under the prefix.
        let empty = tempfile::tempdir().unwrap();
        let c = Config::load(None, env(&[("TANU_PREFIX", empty.path().to_str().unwrap())])).unwrap();
        assert_eq!(c.biometrics.models.ort_dylib, Some(empty.path().join("ops/vendor/venv")));
    }

    #[test]
    fn the_sandbox_registry_is_its_own() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.biometrics.sandbox_registry_dir, PathBuf::from("var/sandbox-registry"));
        assert_ne!(c.biometrics.sandbox_registry_dir, c.biometrics.registry_dir);
        let c = Config::load(None, env(&[("TANU_SANDBOX_REGISTRY_DIR", "/srv/test-persons")])).unwrap();
        assert_eq!(c.biometrics.sandbox_registry_dir, PathBuf::from("/srv/test-persons"));
        let e = Config::load(None, env(&[("TANU_SANDBOX_REGISTRY_DIR", "var/registry/")])).unwrap_err();
        assert!(e.to_string().contains("sandbox_registry_dir"), "{e}");
    }

    #[test]
    fn model_sessions_and_threads_are_bounded() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!((c.biometrics.models.sessions, c.biometrics.models.threads), (1, 1));
        assert_eq!(Config::load(None, env(&[("TANU_BIOMETRICS_SESSIONS", "0")])).unwrap().biometrics.models.sessions, 0, "one per core");
        assert_eq!(Config::load(None, env(&[("TANU_BIOMETRICS_SESSIONS", "4")])).unwrap().biometrics.models.sessions, 4);
        for (name, value) in
            [("TANU_BIOMETRICS_SESSIONS", "65"), ("TANU_BIOMETRICS_SESSIONS", "100000"), ("TANU_BIOMETRICS_THREADS", "0"), ("TANU_BIOMETRICS_THREADS", "65")]
        {
            let e = Config::load(None, env(&[(name, value)])).unwrap_err();
            assert!(e.to_string().contains("biometrics.models"), "{name}={value}: {e}");
        }
        assert!(Config::load(None, env(&[("TANU_BIOMETRICS_SESSIONS", "-1")])).is_err());
    }

    #[test]
    fn shutdown_grace_defaults_to_ten_seconds() {
        assert_eq!(Config::load(None, env(&[])).unwrap().shutdown_grace, 10);
        assert_eq!(Config::load(None, env(&[("TANU_SHUTDOWN_GRACE", "3")])).unwrap().shutdown_grace, 3);
        assert!(Config::load(None, env(&[("TANU_SHUTDOWN_GRACE", "soon")])).is_err());
        assert!(!Config::default().require_pushed_authorization_requests);
        assert!(Config::load(None, env(&[("TANU_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "true")])).unwrap().require_pushed_authorization_requests);
        assert!(Config::load(None, env(&[("TANU_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "yes")])).is_err());
    }

    #[test]
    fn file_is_read_and_unknown_keys_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tanu.toml");
        std::fs::write(&p, "issuer = \"https://id.example.kz\"\nsession_ttl = 60\n").unwrap();
        let c = Config::load(Some(&p), env(&[])).unwrap();
        assert_eq!(c.session_ttl, 60);
        std::fs::write(&p, "isuer = \"x\"\n").unwrap();
        assert!(matches!(Config::load(Some(&p), env(&[])), Err(ConfigError::Parse { .. })));
    }
}
