//! The interactive part of an authorization: the login session handed to an
//! authenticator, the consent screen, and the browser session that results.
//!
//! The authorization endpoint saves a validated request as an *interaction*
//! bound to the browser (a cookie whose hash is stored with it) and sends the
//! browser to `/login/{id}`, which the configured [`Authenticator`] serves.
//! The authenticator calls [`complete_login`] when the citizen is
//! authenticated, or [`deny`]; the request then resumes at
//! `/authorize/resume/{id}`.
use std::sync::Arc;

use chrono::{Duration, Utc};
use poem::{
    handler,
    http::StatusCode,
    web::{
        cookie::{Cookie, CookieJar},
        Data, Form, Path,
    },
    Request, Response,
};

use crate::web::see_other;
use crate::{
    authorize::{proceed, AuthorizationRequest, Back},
    config::ProviderConfig,
    crypto::{ct_eq, random_token, token_hash},
    domain::Environment,
    i18n::{Lang, Msg},
    pages::{ConsentPage, LoginUnavailablePage},
    store::{
        sessions::{BrowserSession, NewSession},
        Citizen, Client, StoreError,
    },
    web::{error_page, html},
    OidcState,
};

pub const SESSION_COOKIE: &str = "tanu_session";
/// The sandbox's browser session has a cookie of its own: signing in to a
/// sandbox client neither replaces nor reuses the production session.
pub const SANDBOX_SESSION_COOKIE: &str = "tanu_sandbox_session";
pub const BINDING_COOKIE: &str = "tanu_binding";

/// The cookie that holds the browser's session of `environment`.
pub fn session_cookie(environment: Environment) -> &'static str {
    match environment {
        Environment::Production => SESSION_COOKIE,
        Environment::Sandbox => SANDBOX_SESSION_COOKIE,
    }
}

/// An authentication method. Its routes are mounted under `/login`;
/// `GET /login/{interaction_id}` must begin authentication for that
/// interaction. It is given the provider's state, through which it loads the
/// interaction ([`pending`]) and ends it ([`complete_login`], [`deny`]), and
/// reaches the store, the journal, the clock and the address limits. Face
/// sign-in is one; tests define their own.
pub trait Authenticator: Send + Sync + 'static {
    fn routes(&self, provider: Arc<OidcState>) -> poem::Route;
    /// The assurance levels (`acr`) this method asserts, for discovery's
    /// `acr_values_supported`.
    fn acr_values(&self) -> Vec<String>;
}

/// A pending authorization, loaded for the browser that started it.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub id: String,
    pub request: AuthorizationRequest,
    pub client: Client,
    pub authenticated_session_id: Option<String>,
    binding: String,
}

impl Interaction {
    pub fn lang(&self) -> Lang {
        self.request.lang
    }
    /// Fixed at `/authorize` from the client: which registry, templates,
    /// session and pairwise key this sign-in uses.
    pub fn environment(&self) -> Environment {
        self.request.environment
    }
    pub fn csrf(&self, app: &OidcState) -> String {
        app.csrf_token(&self.id, &self.binding)
    }
    pub fn check_csrf(&self, app: &OidcState, presented: &str) -> bool {
        ct_eq(&self.csrf(app), presented)
    }
    fn back<'a>(&'a self, app: &'a OidcState) -> Back<'a> {
        Back { redirect_uri: &self.request.redirect_uri, state: self.request.state.as_deref(), issuer: &app.config.issuer }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    #[error("the sign-in has expired, was completed, or belongs to another browser")]
    Gone,
    #[error("invalid form submission")]
    Csrf,
    /// An authenticator proved a person of the other environment (a sandbox
    /// sign-in must end with a test person, a production one with a citizen).
    #[error("the authenticated person is not of the sign-in's environment")]
    Environment,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl InteractionError {
    pub fn page(&self, lang: Lang) -> Response {
        match self {
            InteractionError::Gone => error_page(StatusCode::BAD_REQUEST, lang, Msg::error_expired, None),
            InteractionError::Csrf => error_page(StatusCode::FORBIDDEN, lang, Msg::error_expired, None),
            InteractionError::Environment => {
                tracing::error!("an authenticator proved a person of another environment; refused");
                error_page(StatusCode::FORBIDDEN, lang, Msg::error_title, None)
            }
            InteractionError::Store(e) => crate::web::store_failure_page(lang, e, "interaction"),
        }
    }
}

/// A cookie's name as set ([`tanu_ui::web::Cookies::name`]).
pub fn cookie_name(config: &ProviderConfig, name: &str) -> String {
    config.cookies().name(name)
}

/// The value of one of our cookies, by its unprefixed name.
pub fn cookie_value(config: &ProviderConfig, cookies: &CookieJar, name: &str) -> Option<String> {
    config.cookies().value(cookies, name)
}

pub fn cookie(config: &ProviderConfig, name: &str, value: &str, max_age: Option<i64>) -> Cookie {
    config.cookies().make(name, value, max_age)
}

/// The browser's binding secret, set on first visit.
fn binding(app: &OidcState, cookies: &CookieJar) -> String {
    if let Some(v) = cookie_value(&app.config, cookies, BINDING_COOKIE) {
        if v.len() >= 32 {
            return v;
        }
    }
    let v = random_token(32);
    cookies.add(cookie(&app.config, BINDING_COOKIE, &v, None));
    v
}

pub async fn pending(app: &OidcState, id: &str, cookies: &CookieJar) -> Result<Interaction, InteractionError> {
    let row = app.store.login_request(id).await?.ok_or(InteractionError::Gone)?;
    let presented = cookie_value(&app.config, cookies, BINDING_COOKIE).unwrap_or_default();
    if row.completed || row.expires_at < Utc::now() || !ct_eq(&token_hash(&presented), &row.browser_binding_hash) {
        return Err(InteractionError::Gone);
    }
    let request: AuthorizationRequest =
        serde_json::from_str(&row.request_json).map_err(|e| StoreError::Corrupt { what: "login request", detail: e.to_string() })?;
    // The environment was fixed at /authorize from this client; a request
    // whose environment is not the client's is not continued.
    let client = app.store.client(&request.client_id).await?.filter(|c| !c.disabled && c.environment == request.environment).ok_or(InteractionError::Gone)?;
    Ok(Interaction { id: row.id, request, client, authenticated_session_id: row.authenticated_session_id, binding: presented })
}

/// The redirect URI of a pending interaction (for the pages' `form-action`).
pub async fn redirect_uri_of(app: &OidcState, id: &str) -> Option<String> {
    let row = app.store.login_request(id).await.ok()??;
    serde_json::from_str::<AuthorizationRequest>(&row.request_json).ok().map(|r| r.redirect_uri)
}

/// The browser's live session of `environment`, if any: the cookie of that
/// environment, and a stored session of that environment.
pub async fn current_session(app: &OidcState, cookies: &CookieJar, environment: Environment) -> Result<Option<BrowserSession>, StoreError> {
    let Some(c) = cookie_value(&app.config, cookies, session_cookie(environment)) else { return Ok(None) };
    app.store.live_session(&token_hash(&c), environment, Utc::now()).await
}

/// Saves the request (new interaction, or updates the pending one) and returns its id.
async fn save(app: &OidcState, cookies: &CookieJar, request: &AuthorizationRequest, pending: Option<Interaction>) -> Result<String, StoreError> {
    let json = serde_json::to_string(request).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if let Some(i) = pending {
        app.store.update_login_request(&i.id, json).await?;
        return Ok(i.id);
    }
    let now = Utc::now();
    let expires_at = now + Duration::seconds(app.config.login_request_ttl as i64);
    app.store.open_login_request(token_hash(&binding(app, cookies)), &request.client_id, json, now, expires_at).await
}

pub async fn start_login(app: &OidcState, cookies: &CookieJar, request: AuthorizationRequest, pending: Option<Interaction>) -> Response {
    match save(app, cookies, &request, pending).await {
        Ok(id) => see_other(format!("/login/{id}")),
        Err(e) => InteractionError::from(e).page(request.lang),
    }
}

pub async fn start_consent(app: &OidcState, cookies: &CookieJar, request: AuthorizationRequest, pending: Option<Interaction>) -> Response {
    match save(app, cookies, &request, pending).await {
        Ok(id) => see_other(format!("/consent/{id}")),
        Err(e) => InteractionError::from(e).page(request.lang),
    }
}

/// Completes the interaction if nobody has yet: of two parallel callers
/// exactly one gets `true`.
pub async fn claim(app: &OidcState, id: &str) -> Result<bool, StoreError> {
    app.store.claim_login_request(id, Utc::now()).await
}

/// What an authenticator proved.
pub struct Authenticated<'a> {
    pub citizen: &'a Citizen,
    /// RFC 8176 method references, e.g. `["face"]`.
    pub amr: Vec<String>,
    pub acr: String,
}

/// Starts a browser session for the authenticated citizen and resumes the
/// request. The citizen must be of the interaction's environment: a sandbox
/// sign-in never ends with a real citizen, whatever the authenticator.
pub async fn complete_login(app: &OidcState, cookies: &CookieJar, interaction: &Interaction, who: Authenticated<'_>) -> Response {
    let environment = interaction.environment();
    if who.citizen.environment != environment {
        return InteractionError::Environment.page(interaction.lang());
    }
    let subject = app.journal.subject(who.citizen);
    let result: Result<String, InteractionError> = async {
        // A new login replaces whatever session this browser had in this environment.
        let old = current_session(app, cookies, environment).await?;
        let now = Utc::now();
        let secret = random_token(32);
        let session = NewSession {
            cookie_hash: token_hash(&secret),
            citizen_id: &who.citizen.id,
            environment,
            acr: &who.acr,
            amr: &who.amr,
            expires_at: now + Duration::seconds(app.config.session_ttl as i64),
        };
        app.store.start_session(session, old.as_ref().map(|o| o.id.as_str()), &interaction.id, now).await?;
        cookies.add(cookie(&app.config, session_cookie(environment), &secret, Some(app.config.session_ttl as i64)));
        Ok(interaction.id.clone())
    }
    .await;
    match result {
        Ok(id) => {
            let event = crate::audit::Event {
                client_id: Some(interaction.client.id.as_str()),
                subject: Some(subject),
                step: "sign_in",
                outcome: crate::audit::Outcome::Success,
                reason: None,
            };
            if let Err(e) = app.journal.append(event).await {
                // §8: no unrecorded sign-in. Refuse rather than proceed unjournalled.
                return InteractionError::from(e).page(interaction.lang());
            }
            crate::metrics::sign_in(crate::audit::Outcome::Success, "ok");
            if let Err(e) = notify_outcome(app, interaction, crate::audit::Outcome::Success, "ok").await {
                return InteractionError::from(e).page(interaction.lang());
            }
            see_other(format!("/authorize/resume/{id}"))
        }
        Err(e) => e.page(interaction.lang()),
    }
}

/// Why a sign-in ended without success. The code goes to the journal and
/// to the relying party's §10 event; the description (to the relying party
/// in `error_description`) reveals nothing about the citizen. The
/// interaction knows only its own ends; a method's failures are the
/// method's (face sign-in's are `face::FaceFailure`), carried by their code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Cancelled,
    ConsentDeclined,
    NotAuthenticated,
    /// An authentication method's own failure, by its stable code.
    Method(&'static str),
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::Cancelled => "cancelled",
            Failure::ConsentDeclined => "consent_declined",
            Failure::NotAuthenticated => "not_authenticated",
            Failure::Method(code) => code,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Failure::Cancelled => "the citizen cancelled the sign-in",
            Failure::ConsentDeclined => "the citizen declined to share the requested data",
            _ => "the citizen could not be authenticated",
        }
    }
}

/// Tells the relying party of an attempt's outcome (Rules §10), if it asked to be told.
async fn notify_outcome(app: &OidcState, interaction: &Interaction, outcome: crate::audit::Outcome, reason: &str) -> Result<(), StoreError> {
    let outcome = match outcome {
        crate::audit::Outcome::Success => "success",
        crate::audit::Outcome::Failure => "failure",
    };
    let event = crate::notify::AttemptEvent { outcome, reason, state: interaction.request.state.as_deref(), time: Utc::now().timestamp() };
    crate::notify::enqueue(app, &interaction.client, event).await
}

/// Ends the interaction and tells the relying party `access_denied`.
pub async fn deny(app: &OidcState, interaction: &Interaction, failure: Failure) -> Response {
    match claim(app, &interaction.id).await {
        Ok(true) => {}
        Ok(false) => return InteractionError::Gone.page(interaction.lang()),
        Err(e) => return InteractionError::from(e).page(interaction.lang()),
    }
    let event = crate::audit::Event {
        client_id: Some(interaction.client.id.as_str()),
        subject: None,
        step: "sign_in",
        outcome: crate::audit::Outcome::Failure,
        reason: Some(failure.code()),
    };
    if let Err(e) = app.journal.append(event).await {
        return InteractionError::from(e).page(interaction.lang());
    }
    crate::metrics::sign_in(crate::audit::Outcome::Failure, failure.code());
    if let Err(e) = notify_outcome(app, interaction, crate::audit::Outcome::Failure, failure.code()).await {
        return InteractionError::from(e).page(interaction.lang());
    }
    interaction.back(app).error(crate::errors::ErrorCode::AccessDenied, failure.description())
}

/// Ends this browser's session of `environment` (logout), never another
/// browser's, and revokes the session's online grants (their access tokens):
/// only `offline_access` grants outlive the session.
pub async fn end_session(app: &OidcState, cookies: &CookieJar, environment: Environment) -> Result<(), StoreError> {
    if let Some(s) = current_session(app, cookies, environment).await? {
        app.store.end_session(&s.id, Utc::now()).await?;
    }
    let mut gone = cookie(&app.config, session_cookie(environment), "", Some(0));
    gone.make_removal();
    cookies.add(gone);
    Ok(())
}

// ---------------------------------------------------------------- consent

fn scope_messages(request: &AuthorizationRequest) -> Vec<Msg> {
    use crate::domain::Scope;
    request
        .scopes()
        .0
        .into_iter()
        .filter_map(|s| match s {
            Scope::Profile => Some(Msg::consent_scope_profile),
            Scope::Iin => Some(Msg::consent_scope_iin),
            Scope::OfflineAccess => Some(Msg::consent_scope_offline_access),
            Scope::Openid => None,
        })
        .collect()
}

#[handler]
pub async fn consent_page(Path(id): Path<String>, cookies: &CookieJar, req: &Request, Data(app): Data<&Arc<OidcState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    let i = match pending(app, &id, cookies).await {
        Ok(i) => i,
        Err(e) => return e.page(lang),
    };
    match current_session(app, cookies, i.environment()).await {
        Ok(Some(_)) => {}
        Ok(None) => return InteractionError::Gone.page(i.lang()),
        Err(e) => return InteractionError::from(e).page(i.lang()),
    }
    html(
        StatusCode::OK,
        ConsentPage { lang: i.lang(), rp: (&i.client).into(), scopes: scope_messages(&i.request), csrf: i.csrf(app), interaction: i.id.clone() },
    )
}

pub use tanu_parse::forms::ConsentForm;

#[handler]
pub async fn consent_submit(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<ConsentForm>>,
    Data(app): Data<&Arc<OidcState>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    if app.limiter.check(crate::client_ip(req)).is_err() {
        return error_page(StatusCode::TOO_MANY_REQUESTS, lang, Msg::error_rate_limited, None);
    }
    let i = match pending(app, &id, cookies).await {
        Ok(i) => i,
        Err(e) => return e.page(lang),
    };
    let Ok(Form(form)) = form else { return error_page(StatusCode::BAD_REQUEST, i.lang(), Msg::error_bad_request, None) };
    if !i.check_csrf(app, &form.csrf) {
        return InteractionError::Csrf.page(i.lang());
    }
    let session = match current_session(app, cookies, i.environment()).await {
        Ok(Some(s)) => s,
        Ok(None) => return InteractionError::Gone.page(i.lang()),
        Err(e) => return InteractionError::from(e).page(i.lang()),
    };
    match form.decision.as_str() {
        "allow" => {
            let wanted = i.request.scopes().needing_consent();
            if !wanted.0.is_empty() {
                if let Err(e) = app.store.record_consent(&session.citizen_id, &i.client.id, &wanted).await {
                    return InteractionError::from(e).page(i.lang());
                }
            }
            let mut request = i.request.clone();
            request.consent_given = true;
            proceed(app, cookies, request, Some(i)).await
        }
        "deny" => deny(app, &i, Failure::ConsentDeclined).await,
        _ => error_page(StatusCode::BAD_REQUEST, i.lang(), Msg::error_bad_request, None),
    }
}

// ---------------------------------------------------------------- no method

/// The authenticator of a build with no authentication method enabled: it
/// shows who asked, says that sign-in is unavailable, and lets the citizen
/// cancel. It never authenticates anyone.
pub struct NoMethodAuthenticator;

use tanu_parse::forms::CsrfForm as CancelForm;

#[handler]
async fn no_method_page(Path(id): Path<String>, cookies: &CookieJar, req: &Request, Data(app): Data<&Arc<OidcState>>) -> Response {
    match pending(app, &id, cookies).await {
        Ok(i) => html(StatusCode::OK, LoginUnavailablePage { lang: i.lang(), rp: (&i.client).into(), csrf: i.csrf(app), interaction: i.id.clone() }),
        Err(e) => e.page(crate::i18n::lang_of(req)),
    }
}

#[handler]
async fn no_method_cancel(
    Path(id): Path<String>,
    cookies: &CookieJar,
    req: &Request,
    form: poem::Result<Form<CancelForm>>,
    Data(app): Data<&Arc<OidcState>>,
) -> Response {
    let i = match pending(app, &id, cookies).await {
        Ok(i) => i,
        Err(e) => return e.page(crate::i18n::lang_of(req)),
    };
    match form {
        Ok(Form(f)) if i.check_csrf(app, &f.csrf) => deny(app, &i, Failure::Cancelled).await,
        _ => InteractionError::Csrf.page(i.lang()),
    }
}

impl Authenticator for NoMethodAuthenticator {
    fn routes(&self, _provider: Arc<OidcState>) -> poem::Route {
        poem::Route::new().at("/:id", poem::get(no_method_page)).at("/:id/cancel", poem::post(no_method_cancel))
    }

    /// It authenticates no one, so it asserts no level.
    fn acr_values(&self) -> Vec<String> {
        vec![]
    }
}
