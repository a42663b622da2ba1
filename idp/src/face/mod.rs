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
//! The sign-in's state and its frames' measurements are in the database
//! between requests, sealed, for the sign-in only ([`logins`]): any instance
//! takes any request. A new capture uses one of
//! the sign-in's tries and is journalled. Failures in which a face was
//! presented are held against (IIN pseudonym, address), every failure against
//! the address ([`lockout`]); every step goes to the journal.
mod decide;
mod failure;
mod lockout;
mod logins;

use std::sync::Arc;

use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Json, Path},
    Body, EndpointExt, IntoResponse, Request, Response,
};
use tanu_biometrics::decision::{Challenge, Embedding, MatchDecision, Threshold};
use tanu_biometrics::pipeline::Engine;
use tanu_biometrics::registry::{DirectoryRegistry, HttpRegistry, PersonRegistry, RegistryError};
use tanu_biometrics::replay::{FrameSignature, ReplayIndex, ReplayPolicy};
use tanu_biometrics::sequence::{Frame, SequenceOutcome};
use tanu_biometrics::template::{self, TemplateMasterKey};
use tanu_biometrics::Step;
use tanu_biometrics::{decode_image, DecodeLimits, Iin};

use crate::audit::{Event, Outcome};
use crate::config::Config;
use crate::config::{BiometricsConfig, FaceConfig};
use crate::domain::Environment;
use crate::i18n::Msg;
use crate::interaction::{complete_login, deny, pending, Authenticated, Authenticator, Failure, Interaction, InteractionError};
use crate::oidc::client_ip;
use crate::oidc::OidcState;
use crate::store::biometric::CONSENT_TEXT_VERSION;
use crate::web::see_other;
use crate::web::{html, FaceCameraPage, FaceConsentPage, FaceIinPage, FaceResultPage};
use decide::*;
pub use failure::FaceFailure;
use logins::{Capture, Login, Logins, LoginsError};

/// RFC 8176's method reference for facial recognition.
pub const AMR_FACE: &str = "face";
/// Our `amr` value naming the liveness method: an active, server-chosen
/// challenge verified over a frame sequence (RFC 8176 allows private values).
pub const AMR_LIVENESS: &str = "liveness_challenge";

const SCRIPT: &str = include_str!("../../assets/face.js");

/// The face engine and the person registries (the sign-ins in progress are
/// in the database: [`logins`]).
pub struct FaceAuthenticator {
    state: Arc<FaceState>,
    settings: FaceSettings,
}

/// Face sign-in's settings and keys: its part of the configuration, and the
/// keys derived for it from the master key.
#[derive(Clone)]
pub(crate) struct FaceSettings {
    pub face: FaceConfig,
    pub biometrics: BiometricsConfig,
    /// Wraps each citizen's template data key (biometrics::template).
    pub template_key: [u8; 32],
    /// Seals face sign-ins' state and frame measurements between requests ([`logins`]).
    pub face_sign_in_key: [u8; 32],
}

/// The key that wraps each citizen's template data key, derived from the
/// master key (the same on every instance sharing it).
pub fn template_key(master: &crate::crypto::MasterKey) -> [u8; 32] {
    master.derive("tanu biometric templates v1")
}

/// What face sign-in's handlers work with, and nothing more: the provider's
/// state it was given ([`Authenticator::routes`]) — the interaction, and
/// the store, journal, clock and address limits it shares — and its own
/// settings. Registered on its routes; no handler of face sign-in takes the
/// composition root's `App`.
pub(crate) struct Face {
    /// The provider's state: the store, journal, clock and address limits
    /// face sign-in shares with it, and the interaction it finishes.
    pub oidc: Arc<OidcState>,
    pub config: FaceSettings,
    /// How long a sign-in's state is kept (the interaction's lifetime).
    pub login_request_ttl: u64,
}

/// Where a sign-in of each environment finds its people (Rules §9, §14).
pub struct Registries {
    /// The person registry: real citizens, for production clients.
    pub production: Arc<dyn PersonRegistry>,
    /// The sandbox's test registry: synthetic persons, all a sandbox client can reach.
    pub sandbox: Arc<dyn PersonRegistry>,
}

impl Registries {
    pub fn of(&self, environment: Environment) -> &dyn PersonRegistry {
        match environment {
            Environment::Production => self.production.as_ref(),
            Environment::Sandbox => self.sandbox.as_ref(),
        }
    }
}

struct FaceState {
    engine: Arc<Engine>,
    registries: Registries,
    fixed_challenge: Option<Challenge>,
    /// Recent captures' frame signatures, every instance's: a capture
    /// replaying another's is refused ([`FaceState::replayed`]).
    replays: tokio::sync::Mutex<Replays>,
    replay_policy: ReplayPolicy,
    /// Frames decoded and analysed at once (each holds one decoded frame).
    analysing: tokio::sync::Semaphore,
}

impl FaceAuthenticator {
    /// Loads the models (a clear error when they are missing) and the registry.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let master = crate::app::master_key(config)?;
        let settings = FaceSettings {
            face: config.face.clone(),
            biometrics: config.biometrics.clone(),
            template_key: template_key(&master),
            face_sign_in_key: master.derive("tanu face sign-ins v1"),
        };
        let engine = Engine::load(&config.biometrics.models, config.biometrics.pipeline.clone())?;
        let production: Arc<dyn PersonRegistry> = match &config.biometrics.registry_http {
            Some(http) if !http.base_url.is_empty() => Arc::new(HttpRegistry::new(http.clone())?),
            _ => Arc::new(DirectoryRegistry::new(&config.biometrics.registry_dir)),
        };
        let registries = Registries { production, sandbox: Arc::new(DirectoryRegistry::new(&config.biometrics.sandbox_registry_dir)) };
        let fixed_challenge = config.face.fixed_challenge;
        if let Some(c) = fixed_challenge {
            tracing::warn!(challenge = c.as_str(), "face.fixed_challenge is set: for tests only, never in production");
        }
        Ok(Self::with_parts(Arc::new(engine), registries, fixed_challenge, config.face.replay.clone(), settings))
    }

    fn with_parts(engine: Arc<Engine>, registries: Registries, fixed_challenge: Option<Challenge>, replay: ReplayPolicy, settings: FaceSettings) -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        FaceAuthenticator {
            settings,
            state: Arc::new(FaceState {
                engine,
                registries,
                fixed_challenge,
                replays: tokio::sync::Mutex::new(Replays { index: ReplayIndex::new(replay.clone()), seen: 0 }),
                replay_policy: replay,
                analysing: tokio::sync::Semaphore::new(workers),
            }),
        }
    }
}

/// The assurance level face sign-in asserts in `acr` (liveness and a 1:1
/// match); documented in the README.
pub const ACR_FACE_LIVENESS: &str = "urn:kz:tanu:loa:face-liveness";

impl Authenticator for FaceAuthenticator {
    fn routes(&self, provider: Arc<OidcState>) -> poem::Route {
        let face = Arc::new(Face { login_request_ttl: provider.config.login_request_ttl, config: self.settings.clone(), oidc: provider });
        let inner = poem::Route::new()
            .at("/assets/face.js", poem::get(script))
            .at("/:id", poem::get(iin_page).post(iin_submit))
            .at("/:id/biometric-consent", poem::get(consent_page).post(consent_submit))
            .at("/:id/camera", poem::get(camera_page))
            .at("/:id/frame", poem::post(frame))
            .at("/:id/verify", poem::post(verify))
            .at("/:id/give-up", poem::post(give_up))
            .at("/:id/cancel", poem::post(cancel));
        poem::Route::new().nest("/", inner.data(self.state.clone()).data(face))
    }

    fn acr_values(&self) -> Vec<String> {
        vec![ACR_FACE_LIVENESS.into()]
    }
}

#[handler]
fn script() -> Response {
    SCRIPT.with_content_type("text/javascript; charset=utf-8").with_header("Cache-Control", "no-cache").into_response()
}

// The forms' types are in tanu-parse, where a fuzz target deserialises them.
use tanu_parse::forms::{ConsentForm, CsrfBound, CsrfForm, IinForm};

/// A page's refusal, already in the citizen's language: what every failure
/// of a face sign-in page becomes (`?` through [`InLang`]), and how an
/// extractor ends a request.
pub(super) struct Refused(Box<Response>);

impl Refused {
    fn page(page: Response) -> Self {
        Refused(Box::new(page))
    }
}

impl From<Refused> for poem::Error {
    fn from(r: Refused) -> Self {
        poem::Error::from_response(*r.0)
    }
}

/// A page's result: the response, or the refusal.
type PageResult = Result<Response, Refused>;

/// A failure as the page that says so, in `lang`; each error type is mapped
/// in one place (`InteractionError::page`, `LoginsError::page`).
trait InLang<T> {
    fn in_lang(self, lang: crate::i18n::Lang) -> Result<T, Refused>;
}

impl<T> InLang<T> for Result<T, InteractionError> {
    fn in_lang(self, lang: crate::i18n::Lang) -> Result<T, Refused> {
        self.map_err(|e| Refused::page(e.page(lang)))
    }
}

impl<T> InLang<T> for Result<T, crate::store::StoreError> {
    fn in_lang(self, lang: crate::i18n::Lang) -> Result<T, Refused> {
        self.map_err(|e| Refused::page(InteractionError::from(e).page(lang)))
    }
}

impl<T> InLang<T> for Result<T, LoginsError> {
    fn in_lang(self, lang: crate::i18n::Lang) -> Result<T, Refused> {
        self.map_err(|e| Refused::page(e.page(lang)))
    }
}

/// Face sign-in's state, for an extractor.
fn face_of(req: &Request) -> poem::Result<&Arc<Face>> {
    req.data::<Arc<Face>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The pending sign-in of the path's `{id}`, bound to this browser, as a
/// handler's argument: an expired one, or another browser's, is refused with
/// the page that says so.
struct Pending(Interaction);

impl<'a> poem::FromRequest<'a> for Pending {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let ctx = face_of(req)?;
        let id = req.raw_path_param("id").unwrap_or_default();
        Ok(Pending(pending(&ctx.oidc, id, req.cookie()).await.in_lang(crate::i18n::lang_of(req))?))
    }
}

/// A form posted in a pending sign-in, as a handler's argument: the sign-in,
/// then the form with the sign-in's CSRF token (missing or wrong: refused).
struct PendingForm<T>(Interaction, T);

impl<'a, T: serde::de::DeserializeOwned + CsrfBound> poem::FromRequest<'a> for PendingForm<T> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let ctx = face_of(req)?;
        let Pending(i) = Pending::from_request(req, body).await?;
        match Form::<T>::from_request(req, body).await {
            Ok(Form(f)) if i.check_csrf(&ctx.oidc, f.csrf()) => Ok(PendingForm(i, f)),
            _ => Err(Refused::page(InteractionError::Csrf.page(i.lang())).into()),
        }
    }
}

fn iin_form(ctx: &Face, i: &Interaction, iin: &str, error: Option<Msg>, status: StatusCode) -> Response {
    html(status, FaceIinPage { lang: i.lang(), rp: (&i.client).into(), interaction: i.id.clone(), csrf: i.csrf(&ctx.oidc), iin: iin.into(), error })
}

#[handler]
async fn iin_page(Pending(i): Pending, Data(ctx): Data<&Arc<Face>>) -> Response {
    iin_form(ctx, &i, "", None, StatusCode::OK)
}

/// Refused while this address waits for this IIN, or has too many recent
/// failures of its own ([`lockout`]).
async fn locked(ctx: &Face, environment: Environment, iin: &Iin, address: &str) -> Result<bool, crate::store::StoreError> {
    let policy = lockout::Policy::from_config(&ctx.config.face);
    let now = ctx.oidc.clock.now();
    let presented = lockout::FACE_PRESENTED.map(FaceFailure::code);
    let (pair, by_address) =
        ctx.oidc.store.face_lockout_evidence(&ctx.oidc.journal.person(environment, iin.as_str()), address, &presented, policy.since(now)).await?;
    Ok(policy.locked(&pair, by_address, now))
}

fn address(req: &Request) -> String {
    client_ip(req).map(|a| a.to_string()).unwrap_or_else(|| "unknown".into())
}

#[handler]
async fn iin_submit(PendingForm(i, f): PendingForm<IinForm>, req: &Request, Data(ctx): Data<&Arc<Face>>, Data(state): Data<&Arc<FaceState>>) -> PageResult {
    let lang = i.lang();
    if ctx.oidc.limiter.check(client_ip(req)).is_err() {
        return Ok(iin_form(ctx, &i, "", Some(Msg::error_rate_limited), StatusCode::TOO_MANY_REQUESTS));
    }
    let shown: String = f.iin.chars().filter(char::is_ascii_digit).take(12).collect();
    let Ok(iin) = f.iin.trim().parse::<Iin>() else {
        return Ok(iin_form(ctx, &i, &shown, Some(Msg::face_iin_invalid), StatusCode::UNPROCESSABLE_ENTITY));
    };
    // Once a capture has started, the sign-in's person is fixed: another IIN
    // posted now must not rename the person the face is being proven for.
    let logins = Logins::of(ctx);
    let started = logins.get(&i.id).await.in_lang(lang)?.filter(|l| l.tries > 0 || l.capture.is_some()).map(|l| l.iin);
    if started.as_ref().is_some_and(|fixed| *fixed != iin) {
        return Ok(see_other(format!("/login/{}/camera", i.id)));
    }
    let addr = address(req);
    let environment = i.environment();
    if locked(ctx, environment, &iin, &addr).await.in_lang(lang)? {
        return Ok(iin_form(ctx, &i, &shown, Some(Msg::face_locked), StatusCode::TOO_MANY_REQUESTS));
    }
    // A sandbox sign-in looks in the test registry only: a real citizen's IIN
    // that is no test person's is unknown there, refused exactly as any
    // unknown IIN (same page, same status, same count).
    let person = match state.registries.of(environment).lookup(&iin).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            // Counted as a failure, so the form cannot be used to probe the registry.
            let _ = ctx.oidc.store.record_face_failure(&ctx.oidc.journal.person(environment, iin.as_str()), &addr, "not_in_registry").await;
            journal(ctx, &i, Some(&iin), "registry_lookup", Outcome::Failure, Some("not_in_registry")).await.in_lang(lang)?;
            return Ok(iin_form(ctx, &i, &shown, Some(Msg::face_not_in_registry), StatusCode::UNPROCESSABLE_ENTITY));
        }
        Err(e) => {
            tracing::warn!(error = %e, "person registry");
            return Ok(iin_form(ctx, &i, &shown, Some(Msg::face_registry_unavailable), StatusCode::SERVICE_UNAVAILABLE));
        }
    };
    let citizen = ctx.oidc.store.citizen_by_iin(environment, iin.as_str()).await.in_lang(lang)?;
    let consented = match &citizen {
        Some(c) => ctx.oidc.store.biometric_consent(&c.id).await.in_lang(lang)?.is_some(),
        None => false,
    };
    // The same IIN posted again keeps the sign-in's tries and capture: posting
    // it must not buy fresh tries or a fresh challenge.
    let (name, citizen_id) = (person.name, citizen.map(|c| c.id));
    logins
        .start(&i.id, ctx.login_request_ttl, |current| match current.filter(|l| l.iin == iin) {
            Some(l) => Login { name: name.clone(), citizen_id: citizen_id.clone(), consented, ..l },
            None => Login {
                iin: iin.clone(),
                name: name.clone(),
                citizen_id: citizen_id.clone(),
                consented,
                consent_given_now: false,
                tries: 0,
                capture: None,
                last_failure: None,
            },
        })
        .await
        .in_lang(lang)?;
    // Everyone is asked for the biometric consent next, whether they gave it
    // before or not: the page after the IIN must not tell whoever typed it
    // that this person has used the system (it is recorded once, when the
    // face is proven, if none is in force).
    Ok(see_other(format!("/login/{}/biometric-consent", i.id)))
}

/// The recent captures, as far as this instance has read them from the database.
struct Replays {
    index: ReplayIndex,
    /// The newest remembered capture read (`face_captures_seen.seq`).
    seen: i64,
}

impl FaceState {
    /// Whether a capture replays a recent one of any instance; it is
    /// remembered either way. The captures are in the database (sealed), and
    /// each instance keeps its index of them, reading what was added since it
    /// last looked: a capture replayed on another instance is found too.
    async fn replayed(&self, ctx: &Face, capture: Vec<FrameSignature>) -> Result<bool, LoginsError> {
        let logins = Logins::of(ctx);
        let now = ctx.oidc.clock.now();
        let ttl = chrono::Duration::milliseconds(i64::try_from(self.replay_policy.ttl_ms).unwrap_or(i64::MAX / 2));
        let mut replays = self.replays.lock().await;
        let newer = ctx.oidc.store.captures_seen_since(replays.seen, now - ttl, self.replay_policy.max_captures as u64).await?;
        for row in newer {
            replays.seen = row.seq;
            match logins.open::<Vec<FrameSignature>>("replay capture", &row.signatures) {
                Ok(signatures) => replays.index.remember(signatures, u64::try_from(row.at.timestamp_millis()).unwrap_or(0)),
                Err(e) => tracing::warn!(error = %e, "a remembered capture does not open; skipped"),
            }
        }
        replays.index.forget_expired(u64::try_from(now.timestamp_millis()).unwrap_or(0));
        let replayed = replays.index.is_replay(&capture);
        if !capture.is_empty() {
            ctx.oidc.store.remember_capture(now, &logins.seal("replay capture", &capture)?, now - ttl).await?;
        }
        Ok(replayed)
    }
}

impl LoginsError {
    fn page(&self, lang: crate::i18n::Lang) -> Response {
        match self {
            LoginsError::Store(e) => crate::web::store_failure_page(lang, e, "face sign-in state"),
            LoginsError::Busy => crate::web::error_page(StatusCode::CONFLICT, lang, Msg::error_title, None),
        }
    }
}

#[handler]
async fn consent_page(Pending(i): Pending, Data(ctx): Data<&Arc<Face>>) -> PageResult {
    if Logins::of(ctx).get(&i.id).await.in_lang(i.lang())?.is_none() {
        return Ok(see_other(format!("/login/{}", i.id)));
    }
    Ok(html(StatusCode::OK, FaceConsentPage { lang: i.lang(), interaction: i.id.clone(), csrf: i.csrf(&ctx.oidc), version: CONSENT_TEXT_VERSION }))
}

#[handler]
async fn consent_submit(PendingForm(i, f): PendingForm<ConsentForm>, Data(ctx): Data<&Arc<Face>>) -> PageResult {
    let (logins, lang) = (Logins::of(ctx), i.lang());
    if f.decision == "accept" {
        return Ok(match logins.update(&i.id, |l| l.consent_given_now = true).await.in_lang(lang)? {
            Some(()) => see_other(format!("/login/{}/camera", i.id)),
            None => see_other(format!("/login/{}", i.id)),
        });
    }
    let iin = logins.take(&i.id).await.in_lang(lang)?.map(|l| l.iin);
    journal(ctx, &i, iin.as_ref(), "biometric_consent", Outcome::Failure, Some("declined")).await.in_lang(lang)?;
    Ok(deny(&ctx.oidc, &i, Failure::ConsentDeclined).await)
}

#[handler]
async fn camera_page(Pending(i): Pending, Data(ctx): Data<&Arc<Face>>) -> PageResult {
    let lang = i.lang();
    // Leaving a capture that has begun uses the try: a new capture would draw
    // new challenges, and redrawing them for free would let an attacker wait
    // for the one they prepared.
    let logins = Logins::of(ctx);
    let ready = logins
        .update(&i.id, |l| {
            let abandoned = l.capture.take().filter(|c| c.received > 0).map(|c| c.number);
            if abandoned.is_some() {
                l.tries += 1;
            }
            (l.consents(), abandoned, l.iin.clone())
        })
        .await
        .in_lang(lang)?;
    Ok(match ready {
        Some((true, abandoned, iin)) => {
            if let Some(number) = abandoned {
                journal(ctx, &i, Some(&iin), "capture_abandoned", Outcome::Failure, None).await.in_lang(lang)?;
                // Its measurements are of no use any more.
                logins.take_frames(&i.id, number).await.in_lang(lang)?;
            }
            html(StatusCode::OK, FaceCameraPage { lang, interaction: i.id.clone(), csrf: i.csrf(&ctx.oidc) })
        }
        Some((false, ..)) => see_other(format!("/login/{}/biometric-consent", i.id)),
        None => see_other(format!("/login/{}", i.id)),
    })
}

/// Journals a step of face sign-in before its effect; a failed write refuses
/// the step (the journal policy, `audit.rs`).
async fn journal(ctx: &Face, i: &Interaction, iin: Option<&Iin>, step: &str, outcome: Outcome, reason: Option<&str>) -> Result<(), crate::store::StoreError> {
    let event =
        Event { client_id: Some(i.client.id.as_str()), subject: iin.map(|x| ctx.oidc.journal.person(i.environment(), x.as_str())), step, outcome, reason };
    ctx.oidc.journal.append(event).await.map(|_| ())
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
