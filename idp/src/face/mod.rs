//! Face sign-in (Rules §4–§11): the [`Authenticator`] that proves a citizen
//! with a liveness-checked 1:1 face match.
//!
//! The journey, all under `/login/{interaction}`:
//! 1. `GET`: the relying party as registered and the IIN form; `POST` checks
//!    the IIN, the attempt limits and the person registry.
//! 2. `…/biometric-consent`: consent to biometric processing (§4, §11),
//!    asked of everyone (whether the person signed in before must not show
//!    to whoever typed the IIN). It is held with the attempt and recorded,
//!    when none is in force, once the citizen is proven to be the person the
//!    IIN names.
//! 3. `…/camera`: the page captures; `POST …/frame` receives each frame,
//!    which is analysed as it arrives (its pixels are dropped, its
//!    measurements kept). The server decides when each challenge it chose at
//!    random is shown: one head turn after a baseline of a random length,
//!    two after a failed try.
//! 4. `POST …/verify`: liveness over the measurements, a check that the
//!    capture replays no recent capture, then the 1:1 comparison — the first
//!    time against the registry's document photo, afterwards against the
//!    reference template, which the first success forms (§5, §9).
//!
//! Measurements live in memory for the attempt only. A new capture uses one of
//! the sign-in's tries and is journalled. Failures in which a face was
//! presented are held against (IIN pseudonym, address), every failure against
//! the address ([`lockout`]); every step goes to the journal.
mod lockout;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Json, Path},
    Body, EndpointExt, IntoResponse, Request, Response,
};
use serde::Deserialize;
use tanu_biometrics::decision::{Challenge, Embedding, MatchDecision, Threshold};
use tanu_biometrics::liveness::FrameAnalysis;
use tanu_biometrics::pipeline::Engine;
use tanu_biometrics::registry::{DirectoryRegistry, HttpRegistry, PersonRegistry, RegistryError};
use tanu_biometrics::replay::{FrameSignature, ReplayIndex, ReplayPolicy};
use tanu_biometrics::sequence::{Frame, SequenceOutcome};
use tanu_biometrics::template::{self, TemplateMasterKey};
use tanu_biometrics::{decode_image, DecodeLimits, Iin, Schedule, Step};

use crate::app::App;
use crate::audit::{Event, Outcome};
use crate::config::Config;
use crate::i18n::Msg;
use crate::interaction::{complete_login, deny, pending, Authenticated, Authenticator, Failure, Interaction, InteractionError};
use crate::oidc::client_ip;
use crate::store::biometric::CONSENT_TEXT_VERSION;
use crate::web::{html, FaceCameraPage, FaceConsentPage, FaceIinPage, FaceResultPage};

/// RFC 8176's method reference for facial recognition.
pub const AMR_FACE: &str = "face";
/// Our `amr` value naming the liveness method: an active, server-chosen
/// challenge verified over a frame sequence (RFC 8176 allows private values).
pub const AMR_LIVENESS: &str = "liveness_challenge";

const SCRIPT: &str = include_str!("../../assets/face.js");

/// What one sign-in has established so far, kept in memory only.
struct Login {
    iin: Iin,
    name: String,
    /// The citizen's account, when the IIN has signed in before.
    citizen_id: Option<String>,
    /// Consent in force in the database.
    consented: bool,
    /// Consent given in this sign-in, recorded once the citizen is proven.
    consent_given_now: bool,
    tries: u32,
    capture: Option<Capture>,
    last_failure: Option<Failure>,
    created: Instant,
}

struct Capture {
    /// Which capture of the sign-in this is (late analyses of an abandoned one are dropped).
    number: u32,
    started: Instant,
    /// The challenges of this try, each with the count of received frames
    /// whose answer reveals it.
    plan: Vec<(Challenge, usize)>,
    /// The challenges revealed so far, with the arrival of the revealing frame.
    revealed: Vec<Step>,
    received: usize,
    frames: Vec<FrameAnalysis>,
}

impl Capture {
    /// A try's challenges: `challenge_steps` of them (`high_risk_steps` when
    /// the risk is high) from the configured gestures, each different from the one before and at least one a head
    /// turn (the gesture whose geometry a flat picture cannot fake); the
    /// first revealed after a baseline of random length, each next one
    /// `frames_per_step` frames later. A test configuration may fix one.
    fn plan(number: u32, face: &crate::config::FaceConfig, fixed: Option<Challenge>, high_risk: bool) -> Self {
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
        Capture { number, started: Instant::now(), plan, revealed: Vec::new(), received: 0, frames: Vec::new() }
    }

    fn schedule(&self) -> Schedule {
        Schedule { steps: self.revealed.clone() }
    }
}

/// The face engine, the person registry and the sign-ins in progress.
pub struct FaceAuthenticator {
    state: Arc<FaceState>,
}

struct FaceState {
    engine: Arc<Engine>,
    registry: Arc<dyn PersonRegistry>,
    logins: Mutex<HashMap<String, Login>>,
    fixed_challenge: Option<Challenge>,
    /// Recent captures' frame signatures: a capture replaying another's is refused.
    replays: Mutex<ReplayIndex>,
    /// Frames decoded and analysed at once (each holds one decoded frame).
    analysing: tokio::sync::Semaphore,
}

impl FaceAuthenticator {
    /// Loads the models (a clear error when they are missing) and the registry.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let engine = Engine::load(&config.biometrics.models, config.biometrics.pipeline.clone())?;
        let registry: Arc<dyn PersonRegistry> = match &config.biometrics.registry_http {
            Some(http) if !http.base_url.is_empty() => Arc::new(HttpRegistry::new(http.clone())?),
            _ => Arc::new(DirectoryRegistry::new(&config.biometrics.registry_dir)),
        };
        let fixed_challenge = config.face.fixed_challenge;
        if let Some(c) = fixed_challenge {
            tracing::warn!(challenge = c.as_str(), "face.fixed_challenge is set: for tests only, never in production");
        }
        Ok(Self::with_parts(Arc::new(engine), registry, fixed_challenge, config.face.replay.clone()))
    }

    pub fn with_parts(engine: Arc<Engine>, registry: Arc<dyn PersonRegistry>, fixed_challenge: Option<Challenge>, replay: ReplayPolicy) -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        FaceAuthenticator {
            state: Arc::new(FaceState {
                engine,
                registry,
                logins: Mutex::new(HashMap::new()),
                fixed_challenge,
                replays: Mutex::new(ReplayIndex::new(replay)),
                analysing: tokio::sync::Semaphore::new(workers),
            }),
        }
    }
}

impl Authenticator for FaceAuthenticator {
    fn routes(&self) -> poem::Route {
        let inner = poem::Route::new()
            .at("/assets/face.js", poem::get(script))
            .at("/:id", poem::get(iin_page).post(iin_submit))
            .at("/:id/biometric-consent", poem::get(consent_page).post(consent_submit))
            .at("/:id/camera", poem::get(camera_page))
            .at("/:id/frame", poem::post(frame))
            .at("/:id/verify", poem::post(verify))
            .at("/:id/give-up", poem::post(give_up))
            .at("/:id/cancel", poem::post(cancel));
        poem::Route::new().nest("/", inner.data(self.state.clone()))
    }
}

#[handler]
fn script() -> Response {
    SCRIPT
        .with_content_type("text/javascript; charset=utf-8")
        .with_header("Cache-Control", "no-cache")
        .into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

#[derive(Deserialize)]
struct IinForm {
    csrf: String,
    iin: String,
}

#[derive(Deserialize)]
struct ConsentForm {
    csrf: String,
    decision: String,
}

async fn load(app: &App, id: &str, cookies: &CookieJar, req: &Request) -> Result<Interaction, Response> {
    pending(app, id, cookies).await.map_err(|e| e.page(crate::i18n::lang_of(req)))
}

/// A form that carries the interaction's CSRF token.
trait CsrfBound {
    fn csrf(&self) -> &str;
}

macro_rules! csrf_bound {
    ($($t:ty),*) => { $(impl CsrfBound for $t { fn csrf(&self) -> &str { &self.csrf } })* };
}
csrf_bound!(CsrfForm, IinForm, ConsentForm);

/// The interaction and its submitted form, or the page that says why not
/// (expired sign-in, missing or wrong CSRF token).
async fn load_form<T: CsrfBound>(
    app: &App,
    id: &str,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<T>>,
) -> Result<(Interaction, T), Response> {
    let i = load(app, id, cookies, req).await?;
    match form {
        Ok(Form(f)) if i.check_csrf(app, f.csrf()) => Ok((i, f)),
        _ => Err(InteractionError::Csrf.page(i.lang())),
    }
}

fn iin_form(app: &App, i: &Interaction, iin: &str, error: Option<Msg>, status: StatusCode) -> Response {
    html(status, FaceIinPage { lang: i.lang(), rp: (&i.client).into(), interaction: i.id.clone(), csrf: i.csrf(app), iin: iin.into(), error })
}

#[handler]
async fn iin_page(Path(id): Path<String>, cookies: &CookieJar, req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    match load(app, &id, cookies, req).await {
        Ok(i) => iin_form(app, &i, "", None, StatusCode::OK),
        Err(r) => r,
    }
}

/// Refused while this address waits for this IIN, or has too many recent
/// failures of its own ([`lockout`]).
async fn locked(app: &App, iin: &Iin, address: &str) -> Result<bool, crate::store::StoreError> {
    let policy = lockout::Policy::from_config(&app.config.face);
    let now = Utc::now();
    let presented = lockout::FACE_PRESENTED.map(Failure::code);
    let (pair, by_address) =
        app.store.face_lockout_evidence(&app.journal.pseudonym(iin.as_str()), address, &presented, policy.since(now)).await?;
    Ok(policy.locked(&pair, by_address, now))
}

fn address(req: &Request) -> String {
    client_ip(req).map(|a| a.to_string()).unwrap_or_else(|| "unknown".into())
}

#[handler]
async fn iin_submit(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<IinForm>>,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let (i, f) = match load_form(app, &id, cookies, req, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if app.limiter.check(client_ip(req)).is_err() {
        return iin_form(app, &i, "", Some(Msg::error_rate_limited), StatusCode::TOO_MANY_REQUESTS);
    }
    let shown: String = f.iin.chars().filter(char::is_ascii_digit).take(12).collect();
    let Ok(iin) = f.iin.trim().parse::<Iin>() else {
        return iin_form(app, &i, &shown, Some(Msg::face_iin_invalid), StatusCode::UNPROCESSABLE_ENTITY);
    };
    // Once a capture has started, the sign-in's person is fixed: another IIN
    // posted now must not rename the person the face is being proven for.
    let started = state.with_login(&i.id, |l| (l.tries > 0 || l.capture.is_some()).then(|| l.iin.clone())).flatten();
    if started.as_ref().is_some_and(|fixed| *fixed != iin) {
        return see_other(&format!("/login/{}/camera", i.id));
    }
    let addr = address(req);
    match locked(app, &iin, &addr).await {
        Ok(false) => {}
        Ok(true) => return iin_form(app, &i, &shown, Some(Msg::face_locked), StatusCode::TOO_MANY_REQUESTS),
        Err(e) => return InteractionError::from(e).page(i.lang()),
    }
    let person = match state.registry.lookup(&iin).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            // Counted as a failure, so the form cannot be used to probe the registry.
            let _ = app.store.record_face_failure(&app.journal.pseudonym(iin.as_str()), &addr, "not_in_registry").await;
            journal(app, &i, Some(&iin), "registry_lookup", Outcome::Failure, Some("not_in_registry")).await;
            return iin_form(app, &i, &shown, Some(Msg::face_not_in_registry), StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(e) => {
            tracing::warn!(error = %e, "person registry");
            return iin_form(app, &i, &shown, Some(Msg::face_registry_unavailable), StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let citizen = match app.store.citizen_by_iin(iin.as_str()).await {
        Ok(c) => c,
        Err(e) => return InteractionError::from(e).page(i.lang()),
    };
    let consented = match &citizen {
        Some(c) => match app.store.biometric_consent(&c.id).await {
            Ok(consent) => consent.is_some(),
            Err(e) => return InteractionError::from(e).page(i.lang()),
        },
        None => false,
    };
    // The same IIN posted again keeps the sign-in's tries and capture: posting
    // it must not buy fresh tries or a fresh challenge.
    let mut logins = state.logins.lock().expect("logins lock");
    let (tries, consent_given_now, capture, last_failure) = match logins.remove(&i.id).filter(|l| l.iin == iin) {
        Some(l) => (l.tries, l.consent_given_now, l.capture, l.last_failure),
        None => (0, false, None, None),
    };
    logins.insert(
        i.id.clone(),
        Login {
            iin,
            name: person.name,
            citizen_id: citizen.map(|c| c.id),
            consented,
            consent_given_now,
            tries,
            capture,
            last_failure,
            created: Instant::now(),
        },
    );
    drop(logins);
    state.purge(app.config.login_request_ttl);
    // Everyone is asked for the biometric consent next, whether they gave it
    // before or not: the page after the IIN must not tell whoever typed it
    // that this person has used the system (it is recorded once, when the
    // face is proven, if none is in force).
    see_other(&format!("/login/{}/biometric-consent", i.id))
}

fn see_other(location: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header("Location", location).finish()
}

impl FaceState {
    /// Drops sign-ins older than a login request may live (and their frames).
    fn purge(&self, ttl_seconds: u64) {
        let ttl = std::time::Duration::from_secs(ttl_seconds);
        self.logins.lock().expect("logins lock").retain(|_, l| l.created.elapsed() < ttl);
    }

    fn with_login<T>(&self, id: &str, f: impl FnOnce(&mut Login) -> T) -> Option<T> {
        self.logins.lock().expect("logins lock").get_mut(id).map(f)
    }
}

#[handler]
async fn consent_page(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let i = match load(app, &id, cookies, req).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    if state.with_login(&i.id, |_| ()).is_none() {
        return see_other(&format!("/login/{}", i.id));
    }
    html(StatusCode::OK, FaceConsentPage { lang: i.lang(), interaction: i.id.clone(), csrf: i.csrf(app), version: CONSENT_TEXT_VERSION })
}

#[handler]
async fn consent_submit(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<ConsentForm>>,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let (i, f) = match load_form(app, &id, cookies, req, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match f.decision.as_str() {
        "accept" => match state.with_login(&i.id, |l| l.consent_given_now = true) {
            Some(()) => see_other(&format!("/login/{}/camera", i.id)),
            None => see_other(&format!("/login/{}", i.id)),
        },
        _ => {
            let iin = state.logins.lock().expect("logins lock").remove(&i.id).map(|l| l.iin);
            journal(app, &i, iin.as_ref(), "biometric_consent", Outcome::Failure, Some("declined")).await;
            deny(app, &i, Failure::ConsentDeclined).await
        }
    }
}

#[handler]
async fn camera_page(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let i = match load(app, &id, cookies, req).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    // Leaving a capture that has begun uses the try: a new capture would draw
    // new challenges, and redrawing them for free would let an attacker wait
    // for the one they prepared.
    let ready = state.with_login(&i.id, |l| {
        let abandoned = l.capture.take().is_some_and(|c| c.received > 0);
        if abandoned {
            l.tries += 1;
        }
        (l.consented || l.consent_given_now, abandoned, l.iin.clone())
    });
    match ready {
        Some((true, abandoned, iin)) => {
            if abandoned {
                journal(app, &i, Some(&iin), "capture_abandoned", Outcome::Failure, None).await;
            }
            html(StatusCode::OK, FaceCameraPage { lang: i.lang(), interaction: i.id.clone(), csrf: i.csrf(app) })
        }
        Some((false, ..)) => see_other(&format!("/login/{}/biometric-consent", i.id)),
        None => see_other(&format!("/login/{}", i.id)),
    }
}

fn problem(status: StatusCode, detail: &str) -> Response {
    crate::oidc::errors::problem(status, status.canonical_reason().unwrap_or("error"), detail)
}

/// One camera frame: `image/jpeg` or `image/png` bytes, CSRF token in `X-CSRF-Token`.
#[handler]
async fn frame(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    body: Body,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let i = match pending(app, &id, cookies).await {
        Ok(i) => i,
        Err(_) => return problem(StatusCode::GONE, "the sign-in has expired or belongs to another browser"),
    };
    let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !i.check_csrf(app, token) {
        return problem(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token");
    }
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !matches!(content_type, "image/jpeg" | "image/png") {
        return problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "a frame is image/jpeg or image/png");
    }
    let limit = app.config.face.max_frame_bytes;
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(b) => b,
        Err(_) => return problem(StatusCode::PAYLOAD_TOO_LARGE, &format!("a frame is at most {limit} bytes")),
    };
    let face = &app.config.face;
    let fixed = state.fixed_challenge;
    let admitted = state.with_login(&i.id, |l| {
        if !(l.consented || l.consent_given_now) {
            return Err((StatusCode::CONFLICT, "consent first"));
        }
        // The retry link disappears after the last try; the server holds the line too.
        if l.tries >= face.max_tries {
            return Err((StatusCode::CONFLICT, "no attempts left in this sign-in"));
        }
        // More than one challenge when the risk is high: any try after a
        // failed one. Not the first comparison against the registry photo:
        // the number of steps would tell whoever typed the IIN whether the
        // person has signed in before.
        let (number, high_risk) = (l.tries, l.tries > 0);
        let capture = l.capture.get_or_insert_with(|| Capture::plan(number, face, fixed, high_risk));
        if capture.received >= face.max_frames || capture.started.elapsed().as_secs() > face.capture_timeout {
            return Err((StatusCode::CONFLICT, "the capture is complete"));
        }
        let at_ms = capture.started.elapsed().as_millis() as u32;
        capture.received += 1;
        // Each challenge is revealed in the answer to the frame that completes
        // its count; only frames arriving after that answer can perform it
        // (the time is set again when the answer leaves, below).
        let reveals = capture.plan.get(capture.revealed.len()).filter(|(_, n)| capture.received >= *n).map(|(c, _)| *c);
        if let Some(challenge) = reveals {
            capture.revealed.push(Step { challenge, revealed_at_ms: at_ms });
        }
        let all_revealed = capture.revealed.len() == capture.plan.len();
        let since_last = capture.plan.last().map_or(0, |(_, n)| capture.received.saturating_sub(*n));
        let done = (all_revealed && since_last >= face.frames_after_challenge) || capture.received >= face.max_frames;
        let revealed_step = reveals.map(|_| capture.revealed.len() - 1);
        Ok((capture.number, at_ms, revealed_step, serde_json::json!({
            "frames": capture.received,
            "challenge": capture.revealed.last().map(|s| s.challenge.as_str()),
            "step": capture.revealed.len(),
            "steps": capture.plan.len(),
            "done": done,
        })))
    });
    let (number, at_ms, revealed_step, answer) = match admitted {
        Some(Ok(x)) => x,
        Some(Err((status, detail))) => return problem(status, detail),
        None => return problem(StatusCode::CONFLICT, "no sign-in in progress: enter the IIN first"),
    };
    // Decode and analyse now, keep the measurements, drop the pixels. An
    // undecodable frame is dropped, not fatal: the checks count frames.
    let limits = frame_limits(app);
    let engine = state.engine.clone();
    let Ok(_permit) = state.analysing.acquire().await else { return problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down") };
    let analysed = tokio::task::spawn_blocking(move || {
        let began = Instant::now();
        let image = decode_image(&bytes, &limits).ok()?;
        crate::metrics::inference_time("decode", began.elapsed().as_secs_f64());
        let analysis = engine.analyse_frame(&Frame { at_ms, image }).map_err(|e| tracing::warn!(error = %e, "frame analysis")).ok();
        crate::metrics::inference_time("frame", began.elapsed().as_secs_f64());
        analysis
    })
    .await
    .ok()
    .flatten();
    state.with_login(&i.id, |l| {
        if let Some(c) = l.capture.as_mut().filter(|c| c.number == number) {
            c.frames.extend(analysed);
            // A frame sent before this answer arrived (pipelined) was sent
            // without knowing the challenge: the reveal is when the answer leaves.
            if let Some(step) = revealed_step.and_then(|k| c.revealed.get_mut(k)) {
                step.revealed_at_ms = c.started.elapsed().as_millis() as u32;
            }
        }
    });
    Json(answer).into_response()
}

/// What a camera sends: bounded in bytes and in pixels (a portrait 1080p frame at most).
fn frame_limits(app: &App) -> DecodeLimits {
    DecodeLimits { max_bytes: app.config.face.max_frame_bytes, max_width: 1920, max_height: 1920, max_alloc: 64 << 20 }
}

/// What the verification concluded.
enum Verdict {
    Proven { embedding: Embedding, first_time: bool },
    Failed(Failure),
}

#[handler]
async fn verify(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<CsrfForm>>,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    let (i, _) = match load_form(app, &id, cookies, req, form).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let taken = state.with_login(&i.id, |l| {
        (l.iin.clone(), l.citizen_id.clone(), l.consented || l.consent_given_now, l.capture.take())
    });
    let Some((iin, citizen_id, consented, capture)) = taken else { return see_other(&format!("/login/{}", i.id)) };
    if !consented {
        return see_other(&format!("/login/{}/biometric-consent", i.id));
    }
    let addr = address(req);
    match locked(app, &iin, &addr).await {
        Ok(false) => {}
        Ok(true) => return fail(app, state, &i, &iin, &addr, Failure::TooManyAttempts).await,
        Err(e) => return InteractionError::from(e).page(i.lang()),
    }
    let verdict = match capture {
        None => Verdict::Failed(Failure::NoFace),
        Some(c) if c.started.elapsed().as_secs() > app.config.face.capture_timeout + 10 => Verdict::Failed(Failure::Timeout),
        Some(c) if c.revealed.len() < c.plan.len() => Verdict::Failed(Failure::Timeout),
        Some(c) => match judge(app, state, &i, &iin, citizen_id.as_deref(), c).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "face verification");
                return html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    FaceResultPage { lang: i.lang(), interaction: i.id.clone(), csrf: i.csrf(app), code: "engine_error", reason: Msg::fail_engine, tries_left: 0 },
                );
            }
        },
    };
    match verdict {
        Verdict::Failed(failure) => fail(app, state, &i, &iin, &addr, failure).await,
        Verdict::Proven { embedding, first_time } => succeed(app, cookies, state, &i, &iin, embedding, first_time).await,
    }
}

/// Liveness over the frames' measurements, the replay check, then the
/// comparison.
async fn judge(
    app: &App,
    state: &Arc<FaceState>,
    i: &Interaction,
    iin: &Iin,
    citizen_id: Option<&str>,
    capture: Capture,
) -> anyhow::Result<Verdict> {
    let schedule = capture.schedule();
    let outcome = SequenceOutcome::new(capture.frames, &schedule, &app.config.biometrics.liveness);
    let signatures = FrameSignature::of_capture(&outcome.frames);
    let replayed = {
        let mut index = state.replays.lock().expect("replay index lock");
        let now = Utc::now().timestamp_millis().max(0) as u64;
        index.forget_expired(now);
        let replayed = index.is_replay(&signatures);
        index.remember(signatures, now);
        replayed
    };
    if replayed {
        crate::metrics::liveness_check_failed("replayed_capture");
        journal(app, i, Some(iin), "liveness", Outcome::Failure, Some("replayed_capture")).await;
        return Ok(Verdict::Failed(Failure::LivenessFailed));
    }
    if !outcome.report.live {
        let failed = outcome.report.failed();
        for check in &failed {
            crate::metrics::liveness_check_failed(check);
        }
        let detail = failed.join(",");
        journal(app, i, Some(iin), "liveness", Outcome::Failure, Some(&detail)).await;
        let failure = if outcome.frames.iter().all(|f| f.faces == 0) {
            Failure::NoFace
        } else if failed.contains(&"single_face") {
            Failure::SeveralFaces
        } else {
            Failure::LivenessFailed
        };
        return Ok(Verdict::Failed(failure));
    }
    let challenge = schedule.names();
    journal(app, i, Some(iin), "liveness", Outcome::Success, Some(challenge.as_str())).await;
    let Some(probe) = outcome.probe else {
        journal(app, i, Some(iin), "match", Outcome::Failure, Some("no_usable_frame")).await;
        return Ok(Verdict::Failed(Failure::NoFace));
    };
    // §9: the reference template when there is one, else the document photo.
    let master = TemplateMasterKey::from_bytes(app.template_key);
    let stored = match citizen_id {
        Some(c) => app.store.reference_template(c).await?,
        None => None,
    };
    let (reference, first_time) = match stored.map(|s| template::open(&master, citizen_id.unwrap_or_default(), &s)) {
        Some(Ok(e)) => (e, false),
        Some(Err(e)) => {
            // Unreadable (key changed or tampered): fall back to the document photo and re-form it.
            tracing::warn!(error = %e, "reference template unreadable; verifying against the registry photo");
            (document_embedding(app, state, iin).await?, true)
        }
        None => (document_embedding(app, state, iin).await?, true),
    };
    let decision = MatchDecision::decide(&probe, &reference, Threshold(app.config.biometrics.threshold));
    let against = if first_time { "document_photo" } else { "reference_template" };
    if !decision.is_match {
        journal(app, i, Some(iin), "match", Outcome::Failure, Some(against)).await;
        return Ok(Verdict::Failed(Failure::NoMatch));
    }
    journal(app, i, Some(iin), "match", Outcome::Success, Some(against)).await;
    Ok(Verdict::Proven { embedding: probe, first_time })
}

async fn document_embedding(app: &App, state: &Arc<FaceState>, iin: &Iin) -> anyhow::Result<Embedding> {
    let person = state.registry.lookup(iin).await?.ok_or(RegistryError::InvalidRecord("the person left the registry".into()))?;
    let limits = app.config.biometrics.decode;
    let engine = state.engine.clone();
    let observed = tokio::task::spawn_blocking(move || -> anyhow::Result<Embedding> {
        let img = decode_image(&person.photo, &limits)?;
        Ok(engine.observe(&img)?.embedding)
    })
    .await??;
    Ok(observed)
}

async fn succeed(app: &App, cookies: &CookieJar, state: &Arc<FaceState>, i: &Interaction, iin: &Iin, embedding: Embedding, first_time: bool) -> Response {
    // A consent is recorded when none is in force (the page is shown to everyone).
    let Some((name, consent_now)) = state.with_login(&i.id, |l| (l.name.clone(), l.consent_given_now && !l.consented)) else {
        return see_other(&format!("/login/{}", i.id));
    };
    let (family, given) = split_name(&name);
    let result: Result<crate::store::Citizen, crate::store::StoreError> = async {
        let citizen = app.store.upsert_citizen(iin.as_str(), &given, &family, birth_date(iin).as_deref()).await?;
        if consent_now {
            app.store.record_biometric_consent(&citizen.id, CONSENT_TEXT_VERSION).await?;
        }
        if first_time {
            let master = TemplateMasterKey::from_bytes(app.template_key);
            app.store.save_reference_template(&citizen.id, &template::seal(&master, &citizen.id, &embedding)).await?;
        }
        Ok(citizen)
    }
    .await;
    let citizen = match result {
        Ok(c) => c,
        Err(e) => return InteractionError::from(e).page(i.lang()),
    };
    if consent_now {
        journal(app, i, Some(iin), "biometric_consent", Outcome::Success, Some(CONSENT_TEXT_VERSION)).await;
    }
    if first_time {
        journal(app, i, Some(iin), "reference_formed", Outcome::Success, None).await;
    }
    state.logins.lock().expect("logins lock").remove(&i.id);
    let amr = vec![AMR_FACE.to_owned(), AMR_LIVENESS.to_owned()];
    complete_login(app, cookies, i, Authenticated { citizen: &citizen, amr, acr: crate::oidc::ACR_FACE_LIVENESS.into() }).await
}

async fn fail(app: &App, state: &Arc<FaceState>, i: &Interaction, iin: &Iin, addr: &str, failure: Failure) -> Response {
    if lockout::recorded(failure) {
        if let Err(e) = app.store.record_face_failure(&app.journal.pseudonym(iin.as_str()), addr, failure.code()).await {
            return InteractionError::from(e).page(i.lang());
        }
    }
    let max = app.config.face.max_tries;
    let locked_now = locked(app, iin, addr).await.unwrap_or(true);
    let tries = state
        .with_login(&i.id, |l| {
            l.tries += 1;
            l.last_failure = Some(failure);
            l.tries
        })
        .unwrap_or(max);
    let tries_left = if locked_now || failure == Failure::TooManyAttempts { 0 } else { max.saturating_sub(tries) };
    let reason = match failure {
        Failure::NoFace => Msg::fail_no_face,
        Failure::SeveralFaces => Msg::fail_several_faces,
        Failure::LivenessFailed => Msg::fail_liveness,
        Failure::NoMatch => Msg::fail_no_match,
        Failure::Timeout => Msg::fail_timeout,
        Failure::TooManyAttempts => Msg::face_locked,
        _ => Msg::fail_title,
    };
    html(
        StatusCode::UNPROCESSABLE_ENTITY,
        FaceResultPage { lang: i.lang(), interaction: i.id.clone(), csrf: i.csrf(app), code: failure.code(), reason, tries_left },
    )
}

/// The citizen stops after a failure: the relying party gets `access_denied`
/// with the (non-revealing) reason of the last failure.
#[handler]
async fn give_up(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<CsrfForm>>,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    match load_form(app, &id, cookies, req, form).await {
        Ok((i, _)) => {
            let last = state.logins.lock().expect("logins lock").remove(&i.id).and_then(|l| l.last_failure);
            deny(app, &i, last.unwrap_or(Failure::Cancelled)).await
        }
        Err(r) => r,
    }
}

#[handler]
async fn cancel(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<CsrfForm>>,
    Data(app): Data<&Arc<App>>,
    Data(state): Data<&Arc<FaceState>>,
) -> Response {
    match load_form(app, &id, cookies, req, form).await {
        Ok((i, _)) => {
            state.logins.lock().expect("logins lock").remove(&i.id);
            deny(app, &i, Failure::Cancelled).await
        }
        Err(r) => r,
    }
}

async fn journal(app: &App, i: &Interaction, iin: Option<&Iin>, step: &str, outcome: Outcome, reason: Option<&str>) {
    let event = Event {
        client_id: Some(i.client.id.as_str()),
        subject: iin.map(|x| app.journal.pseudonym(x.as_str())),
        step,
        outcome,
        reason,
    };
    if let Err(e) = app.journal.append(event).await {
        tracing::error!(error = %e, step, "journal append failed");
    }
}

/// Registry names are "Family Given [Patronymic]".
fn split_name(name: &str) -> (String, String) {
    let mut parts = name.split_whitespace();
    let family = parts.next().unwrap_or_default().to_owned();
    let given = parts.collect::<Vec<_>>().join(" ");
    (family, given)
}

/// The birth date an IIN encodes: YYMMDD, and the 7th digit's century
/// (1–2: 1800s, 3–4: 1900s, 5–6: 2000s).
pub fn birth_date(iin: &Iin) -> Option<String> {
    let s = iin.as_str();
    let century = match s.as_bytes()[6] {
        b'1' | b'2' => 1800,
        b'3' | b'4' => 1900,
        b'5' | b'6' => 2000,
        _ => return None,
    };
    let year = century + s[0..2].parse::<i32>().ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, s[2..4].parse().ok()?, s[4..6].parse().ok()?)?;
    Some(date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_from_iins() {
        assert_eq!(birth_date(&"900101300017".parse().unwrap()).as_deref(), Some("1990-01-01"));
        assert_eq!(birth_date(&"010712600051".parse().unwrap()).as_deref(), Some("2001-07-12"));
        assert_eq!(birth_date(&"000000000000".parse().unwrap()), None);
    }

    #[test]
    fn names_split_family_first() {
        assert_eq!(split_name("Сейтова Айгерим Маратовна"), ("Сейтова".into(), "Айгерим Маратовна".into()));
        assert_eq!(split_name("Single"), ("Single".into(), "".into()));
    }
}
