//! The sign-ins in progress, kept in the database between requests (issue
//! 16): any instance behind a balancer takes any request of a sign-in, and a
//! restart loses nothing but the frames in flight.
//!
//! A sign-in's state (the IIN, consent, tries, the capture's challenges and
//! counters) is one sealed row written by compare-and-swap on its version, so
//! that two requests on two instances never lose each other's change; each
//! analysed frame's measurements are a sealed row of their own, appended. Both
//! are sealed (AES-256-GCM under a key derived from the master key, bound to
//! the row: a value copied to another sign-in does not open) and go with the
//! sign-in: at its end, or when it expires.
use chrono::{DateTime, Duration, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tanu_biometrics::decision::Challenge;
use tanu_biometrics::liveness::FrameAnalysis;
use tanu_biometrics::template::{open_bytes, seal_bytes};
use tanu_biometrics::{Iin, Schedule, Step};

use super::Face;
use super::FaceFailure;
use crate::config::FaceConfig;
use crate::store::StoreError;

/// What one sign-in has established so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Login {
    pub iin: Iin,
    pub name: String,
    /// The citizen's account, when the IIN has signed in before.
    pub citizen_id: Option<String>,
    /// Consent in force in the database.
    pub consented: bool,
    /// Consent given in this sign-in, recorded once the citizen is proven.
    pub consent_given_now: bool,
    pub tries: u32,
    pub capture: Option<Capture>,
    pub last_failure: Option<FaceFailure>,
}

impl Login {
    pub fn consents(&self) -> bool {
        self.consented || self.consent_given_now
    }
}

/// One try's capture: its challenges and counters (the frames' measurements
/// are kept beside it, [`Logins::add_frame`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Capture {
    /// The capture's own number, drawn at random: frames are kept under it,
    /// so a late frame of an abandoned capture never joins a later one.
    pub number: u32,
    /// When it started, ms since the epoch: the instances share the wall
    /// clock, not a process's `Instant`.
    pub started_ms: i64,
    /// The challenges of this try, each with the count of received frames
    /// whose answer reveals it.
    pub plan: Vec<(Challenge, usize)>,
    /// The challenges revealed so far, with the arrival of the revealing frame.
    pub revealed: Vec<Step>,
    pub received: usize,
}

impl Capture {
    /// A try's challenges: `challenge_steps` of them (`high_risk_steps` when
    /// the risk is high) from the configured gestures, each different from the
    /// one before and at least one a head turn (the gesture whose geometry a
    /// flat picture cannot fake); the first revealed after a baseline of
    /// random length, each next one `frames_per_step` frames later. A test
    /// configuration may fix one.
    pub fn plan(face: &FaceConfig, fixed: Option<Challenge>, high_risk: bool, now: DateTime<Utc>) -> Self {
        use rand::seq::SliceRandom;
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        let turns = [Challenge::TurnLeft, Challenge::TurnRight];
        let challenges = match fixed {
            Some(c) => vec![c],
            None => loop {
                let mut drawn: Vec<Challenge> = Vec::new();
                let steps = if high_risk { face.high_risk_steps } else { face.challenge_steps };
                for _ in 0..steps.max(1) {
                    let allowed: Vec<Challenge> = face.challenges.iter().copied().filter(|c| drawn.last() != Some(c)).collect();
                    drawn.push(*allowed.choose(&mut rng).unwrap_or(&Challenge::TurnLeft));
                }
                if drawn.iter().any(|c| turns.contains(c)) {
                    break drawn;
                }
            },
        };
        let first = face.frames_before_challenge + if face.reveal_jitter_frames > 0 { rng.gen_range(0..=face.reveal_jitter_frames) } else { 0 };
        let plan = challenges.into_iter().enumerate().map(|(k, c)| (c, first + k * face.frames_per_step)).collect();
        Capture { number: rng.gen(), started_ms: now.timestamp_millis(), plan, revealed: Vec::new(), received: 0 }
    }

    pub fn schedule(&self) -> Schedule {
        Schedule { steps: self.revealed.clone() }
    }

    /// Milliseconds since the capture started.
    pub fn elapsed_ms(&self, now: DateTime<Utc>) -> u32 {
        u32::try_from((now.timestamp_millis() - self.started_ms).max(0)).unwrap_or(u32::MAX)
    }
}

/// Why a sign-in's state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(super) enum LoginsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another request changed the sign-in every time this one tried: only
    /// many requests of one sign-in at once do that (a browser sends one frame
    /// at a time).
    #[error("the sign-in is being changed by too many requests at once")]
    Busy,
}

/// How many times a write is redone after another request wrote first.
const ATTEMPTS: usize = 16;

/// The sign-ins in progress (see the module's text).
pub(super) struct Logins<'a> {
    ctx: &'a Face,
}

impl<'a> Logins<'a> {
    pub fn of(ctx: &'a Face) -> Self {
        Logins { ctx }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ctx.oidc.clock.now()
    }

    pub fn seal<T: Serialize>(&self, context: &str, value: &T) -> Result<String, StoreError> {
        use base64::Engine;
        let bytes = postcard::to_stdvec(value).map_err(|e| StoreError::Invalid(format!("face sign-in state: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(seal_bytes(&self.ctx.config.face_sign_in_key, context.as_bytes(), &bytes)))
    }

    pub fn open<T: DeserializeOwned>(&self, context: &str, sealed: &str) -> Result<T, StoreError> {
        use base64::Engine;
        let corrupt = |detail: String| StoreError::Corrupt { what: "face sign-in", detail };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(sealed).map_err(|e| corrupt(e.to_string()))?;
        let plain = open_bytes(&self.ctx.config.face_sign_in_key, context.as_bytes(), &bytes).map_err(|e| corrupt(e.to_string()))?;
        postcard::from_bytes(&plain).map_err(|e| corrupt(e.to_string()))
    }

    async fn read(&self, id: &str) -> Result<Option<(Login, i64)>, StoreError> {
        match self.ctx.oidc.store.face_sign_in(id, self.now()).await? {
            Some(row) => Ok(Some((self.open(&format!("state:{id}"), &row.state)?, row.version))),
            None => Ok(None),
        }
    }

    /// The sign-in, if one is in progress.
    pub async fn get(&self, id: &str) -> Result<Option<Login>, LoginsError> {
        Ok(self.read(id).await?.map(|(l, _)| l))
    }

    /// Applies `f` to the sign-in and keeps the result; `f` runs again on the
    /// newer state when another request wrote first. `None`: no sign-in.
    pub async fn update<T>(&self, id: &str, mut f: impl FnMut(&mut Login) -> T) -> Result<Option<T>, LoginsError> {
        for _ in 0..ATTEMPTS {
            let Some((mut login, version)) = self.read(id).await? else { return Ok(None) };
            let before = postcard::to_stdvec(&login).ok();
            let out = f(&mut login);
            if before.is_some() && before == postcard::to_stdvec(&login).ok() {
                return Ok(Some(out));
            }
            let sealed = self.seal(&format!("state:{id}"), &login)?;
            if self.ctx.oidc.store.update_face_sign_in(id, version, &sealed, self.now()).await? {
                return Ok(Some(out));
            }
        }
        Err(LoginsError::Busy)
    }

    /// Starts the sign-in, or replaces it with what `f` makes of the one in progress.
    pub async fn start(&self, id: &str, ttl_seconds: u64, mut f: impl FnMut(Option<Login>) -> Login) -> Result<(), LoginsError> {
        let now = self.now();
        self.ctx.oidc.store.purge_face_sign_ins(now).await?;
        let expires = now + Duration::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 1000));
        for _ in 0..ATTEMPTS {
            let (current, version) = match self.read(id).await? {
                Some((l, v)) => (Some(l), Some(v)),
                None => (None, None),
            };
            let sealed = self.seal(&format!("state:{id}"), &f(current))?;
            let written = match version {
                Some(v) => self.ctx.oidc.store.update_face_sign_in(id, v, &sealed, now).await?,
                None => self.ctx.oidc.store.create_face_sign_in(id, &sealed, expires, now).await?,
            };
            if written {
                return Ok(());
            }
        }
        Err(LoginsError::Busy)
    }

    /// Ends the sign-in (its frames with it) and returns what it held.
    pub async fn take(&self, id: &str) -> Result<Option<Login>, LoginsError> {
        for _ in 0..ATTEMPTS {
            let Some((login, version)) = self.read(id).await? else { return Ok(None) };
            if self.ctx.oidc.store.end_face_sign_in(id, version).await? {
                return Ok(Some(login));
            }
        }
        Err(LoginsError::Busy)
    }

    /// Keeps one analysed frame of capture `number`.
    pub async fn add_frame(&self, id: &str, number: u32, analysis: &FrameAnalysis, ttl_seconds: u64) -> Result<(), LoginsError> {
        let sealed = self.seal(&format!("frame:{id}:{number}"), analysis)?;
        let expires = self.now() + Duration::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 1000));
        Ok(self.ctx.oidc.store.add_face_frame(id, number, analysis.at_ms, &sealed, expires).await?)
    }

    /// The analysed frames of capture `number`, by arrival; they are not
    /// kept after this (the capture is decided once).
    pub async fn take_frames(&self, id: &str, number: u32) -> Result<Vec<FrameAnalysis>, LoginsError> {
        let context = format!("frame:{id}:{number}");
        let rows = self.ctx.oidc.store.take_face_frames(id, number).await?;
        Ok(rows.iter().map(|r| self.open(&context, r)).collect::<Result<_, _>>()?)
    }
}
