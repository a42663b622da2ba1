//! The initiator portal (`/portal`) and the operator console (`/console`).
//!
//! Both are OIDC relying parties of this very provider (client
//! `tanu-onboarding`): `/onboarding/signin` sends the browser through
//! `/authorize` with PKCE, `/onboarding/callback` redeems the code over HTTP
//! with the `openidconnect` crate, verifies the ID token and reads the IIN
//! from userinfo. Who may do what then follows from the IIN: operator staff
//! (reviewer, supervisor) from `onboarding_staff`; an initiator acts for the
//! BINs bound to them (the first person to file for a BIN is bound to it;
//! others are added by the operator). Every form carries a CSRF token bound
//! to the session, is rate-limited per address, and every action is
//! authorised here, validated by the workflow, and written to the journal.
use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::Utc;
use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Multipart, Path, Query, Redirect},
    IntoResponse, Request, Response, Route,
};
use serde::Deserialize;
use tanu_workflows::onboarding::{Action, Actor, Application, Reason, Side, Step};
use tanu_workflows::temporal::{Command, Request as WorkflowRequest};
use tanu_workflows::Bin;

use super::act::{render_act, render_approval, render_contract, sha256_hex, ActFields, ActParties};
use super::form::{self, FieldErrors, RawApplication};
use super::mail::{event_text, local, local_deadline, step_text};
use super::OnboardingError;
use crate::app::App;
use crate::audit::{Event, Outcome};
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::{ClientId, Environment, RedirectUri};
use crate::i18n::{Lang, Msg};
use crate::interaction::cookie;
use crate::store::onboarding::{ApplicationFilter, FiledApplication, Staff};
use crate::store::StoreError;
use crate::web::{html, page};

pub const PORTAL_CLIENT_ID: &str = "tanu-onboarding";
const SESSION_COOKIE: &str = "tanu_onboarding";
const LOGIN_COOKIE: &str = "tanu_onboarding_login";

fn portal_secret(app: &App) -> String {
    app.derived_secret("tanu onboarding portal client secret v1")
}

fn callback_uri(app: &App) -> String {
    app.config.endpoint("/onboarding/callback")
}

/// Registers (or refreshes) the portal's own client at startup.
pub async fn ensure_portal_client(app: &App) -> Result<(), StoreError> {
    let id: ClientId = PORTAL_CLIENT_ID.parse()?;
    let redirect: RedirectUri = callback_uri(app).parse()?;
    let environment = if app.config.issuer.starts_with("https://") { Environment::Production } else { Environment::Sandbox };
    app.store.ensure_first_party_client(&id, "Tanu — connection of systems", &portal_secret(app), &redirect, environment, &app.client_secrets).await
}

// ------------------------------------------------------------------ people

/// Who is signed in, and what they may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub iin: String,
    pub name: String,
    pub staff: Option<Staff>,
    pub bins: Vec<String>,
    session_hash: String,
}

impl Principal {
    fn actor(&self, side: Side) -> Actor {
        let role = match (&self.staff, side) {
            (Some(s), Side::Operator) => s.role.as_str(),
            _ => "initiator",
        };
        Actor { side, name: format!("{} ({role})", self.name) }
    }
    fn is_staff(&self) -> bool {
        self.staff.is_some()
    }
    fn represents(&self, bin: &str) -> bool {
        self.bins.iter().any(|b| b == bin)
    }
    fn csrf(&self, app: &App) -> String {
        app.csrf_token("onboarding", &self.session_hash)
    }
}

/// Why a page cannot be served; mapped to a response in one place.
#[derive(Debug)]
enum PageError {
    SignIn(String),
    Forbidden,
    NotFound,
    BadRequest(Msg),
    TooMany,
    Onboarding(OnboardingError),
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Store(e)
    }
}

impl From<OnboardingError> for PageError {
    fn from(e: OnboardingError) -> Self {
        PageError::Onboarding(e)
    }
}

impl PageError {
    fn respond(self, lang: Lang) -> Response {
        let (status, msg, detail) = match self {
            PageError::SignIn(next) => {
                return Redirect::see_other(format!("/onboarding/signin?next={}", urlencode(&next))).into_response();
            }
            PageError::Forbidden => (StatusCode::FORBIDDEN, Msg::onb_err_forbidden, None),
            PageError::NotFound => (StatusCode::NOT_FOUND, Msg::error_bad_request, None),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, m, None),
            PageError::TooMany => (StatusCode::TOO_MANY_REQUESTS, Msg::error_rate_limited, None),
            PageError::Onboarding(OnboardingError::Refused(reason)) => (StatusCode::CONFLICT, Msg::onb_err_not_now, Some(reason)),
            PageError::Onboarding(e) => {
                tracing::warn!(error = %e, "onboarding unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, Msg::onb_err_unavailable, None)
            }
            PageError::Store(e) => {
                tracing::error!(error = %e, "onboarding storage");
                (StatusCode::INTERNAL_SERVER_ERROR, Msg::error_title, None)
            }
        };
        html(status, MessagePage { lang, title: Msg::onb_title, message: msg, detail, back: None })
    }
}

type PageResult = Result<Response, PageError>;

fn finish(lang: Lang, r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.respond(lang))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn lang_of(req: &Request) -> Lang {
    crate::i18n::lang_of(req)
}

async fn principal(app: &App, cookies: &CookieJar, here: &str) -> Result<Principal, PageError> {
    let Some(c) = crate::interaction::cookie_value(app, cookies, SESSION_COOKIE) else { return Err(PageError::SignIn(here.into())) };
    let hash = token_hash(&c);
    let Some(s) = app.store.portal_session(&hash).await? else { return Err(PageError::SignIn(here.into())) };
    Ok(Principal {
        staff: app.store.staff(&s.iin).await?,
        bins: app.store.initiator_bins(&s.iin).await?,
        iin: s.iin,
        name: s.name,
        session_hash: hash,
    })
}

/// The person signed in through this sign-in (IIN and session hash), for
/// other pages that reuse it: the cabinet's document verifier page.
pub async fn signed_in_person(app: &App, cookies: &CookieJar) -> Result<Option<(String, String)>, StoreError> {
    let Some(c) = crate::interaction::cookie_value(app, cookies, SESSION_COOKIE) else { return Ok(None) };
    let hash = token_hash(&c);
    Ok(app.store.portal_session(&hash).await?.map(|s| (s.iin, hash)))
}

/// Every form: the address's rate limit, then the session's CSRF token.
fn check_form(app: &App, req: &Request, who: &Principal, csrf: &str) -> Result<(), PageError> {
    if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
        return Err(PageError::TooMany);
    }
    if !ct_eq(&who.csrf(app), csrf) {
        return Err(PageError::BadRequest(Msg::error_expired));
    }
    Ok(())
}

async fn audit(app: &App, who: &Principal, step: &str, outcome: Outcome, detail: &str) {
    let e = Event { client_id: None, subject: Some(app.journal.pseudonym(&who.iin)), step, outcome, reason: Some(detail) };
    if let Err(err) = app.journal.append(e).await {
        tracing::error!(error = %err, step, "journal append failed");
    }
}

// ----------------------------------------------------------------- sign-in

pub fn auth_routes() -> Route {
    Route::new()
        .at("/", poem::get(home))
        .at("/signin", poem::get(signin))
        .at("/callback", poem::get(callback))
        .at("/signout", poem::post(signout))
        .at("/logo/:id", poem::get(logo))
}

#[handler]
async fn home(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        match principal(app, cookies, "/onboarding").await {
            Ok(p) if p.is_staff() => Ok(Redirect::see_other("/console").into_response()),
            Ok(_) => Ok(Redirect::see_other("/portal").into_response()),
            Err(PageError::SignIn(_)) => Ok(html(StatusCode::OK, HomePage { lang })),
            Err(e) => Err(e),
        }
    }.await)
}

#[derive(Deserialize)]
struct SigninQuery {
    next: Option<String>,
}

/// Where to go after sign-in: only one of the pages that send people to
/// sign in (`principal`'s `here`), matched segment by segment; anything else
/// (`/\t/evil.example`, `//evil`, `/\\evil`, `https://…`) goes to the portal.
/// Never an open redirect.
fn safe_next(next: Option<&str>) -> String {
    let id_ok = |s: &str| !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let ok = next.is_some_and(|n| match n.split('/').collect::<Vec<_>>().as_slice() {
        ["", "onboarding"] | ["", "portal"] | ["", "portal", "new"] | ["", "console"] | ["", "me", "verify"] => true,
        ["", "portal" | "console", "applications", id] => id_ok(id),
        _ => false,
    });
    match next {
        Some(n) if ok => n.to_owned(),
        _ => "/portal".into(),
    }
}

#[handler]
async fn signin(req: &Request, cookies: &CookieJar, Query(q): Query<SigninQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
            return Err(PageError::TooMany);
        }
        let (state, nonce, verifier, binding) = (random_token(24), random_token(24), random_token(48), random_token(24));
        app.store
            .insert_portal_login(crate::store::onboarding::PortalLogin {
                state: state.clone(),
                verifier: verifier.clone(),
                nonce: nonce.clone(),
                next: safe_next(q.next.as_deref()),
                binding_hash: token_hash(&binding),
                created_at: Utc::now(),
            })
            .await?;
        cookies.add(cookie(app, LOGIN_COOKIE, &binding, Some(600)));
        let url = crate::first_party::AuthorizationRequest {
            client_id: PORTAL_CLIENT_ID,
            redirect_uri: &callback_uri(app),
            scope: "openid profile iin",
            state: &state,
            nonce: &nonce,
            code_verifier: &verifier,
            lang,
        }
        .url(app);
        Ok(Redirect::see_other(url).into_response())
    }.await)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[handler]
async fn callback(req: &Request, cookies: &CookieJar, Query(q): Query<CallbackQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let login = match &q.state {
            Some(state) => app.store.take_portal_login(state).await?,
            None => None,
        };
        let bound = crate::interaction::cookie_value(app, cookies, LOGIN_COOKIE).map(|c| token_hash(&c));
        let Some(login) = login.filter(|l| bound.as_deref().is_some_and(|b| ct_eq(b, &l.binding_hash))) else {
            return Err(PageError::BadRequest(Msg::error_expired));
        };
        cookies.add(cookie(app, LOGIN_COOKIE, "", Some(0)));
        if q.error.is_some() || q.code.is_none() || Utc::now() - login.created_at > chrono::Duration::minutes(10) {
            return Ok(html(StatusCode::OK, HomePage { lang }));
        }
        let person = redeem(app, q.code.as_deref().unwrap_or_default(), &login).await.map_err(|e| {
            tracing::warn!(error = %e, "portal sign-in: code redemption failed");
            PageError::BadRequest(Msg::error_expired)
        })?;
        let token = random_token(32);
        let ttl = chrono::Duration::seconds(app.config.onboarding.session_ttl as i64);
        app.store.insert_portal_session(&token_hash(&token), &person.0, &person.1, ttl).await?;
        cookies.add(cookie(app, SESSION_COOKIE, &token, Some(ttl.num_seconds())));
        Ok(Redirect::see_other(login.next).into_response())
    }.await)
}

/// Redeems the code as any relying party would: discovery, token request
/// with PKCE and client authentication, ID token verification, userinfo.
async fn redeem(app: &App, code: &str, login: &crate::store::onboarding::PortalLogin) -> anyhow::Result<(String, String)> {
    use openidconnect::core::{CoreClient, CoreProviderMetadata};
    use openidconnect::{AuthorizationCode, ClientSecret, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl, TokenResponse};
    let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build()?;
    let md = CoreProviderMetadata::discover_async(IssuerUrl::new(app.config.issuer.clone())?, &http).await?;
    let rp = CoreClient::from_provider_metadata(md, openidconnect::ClientId::new(PORTAL_CLIENT_ID.into()), Some(ClientSecret::new(portal_secret(app))))
        .set_redirect_uri(RedirectUrl::new(callback_uri(app))?);
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone()))
        .request_async(&http)
        .await?;
    let id_token = tokens.id_token().ok_or_else(|| anyhow::anyhow!("no ID token"))?;
    id_token.claims(&rp.id_token_verifier(), &Nonce::new(login.nonce.clone()))?;
    #[derive(Debug, Clone, Deserialize, serde::Serialize)]
    struct Iin {
        iin: Option<String>,
    }
    impl openidconnect::AdditionalClaims for Iin {}
    let info: openidconnect::UserInfoClaims<Iin, openidconnect::core::CoreGenderClaim> =
        rp.user_info(tokens.access_token().clone(), None)?.request_async(&http).await?;
    let iin = info.additional_claims().iin.clone().ok_or_else(|| anyhow::anyhow!("userinfo has no iin"))?;
    let family = info.family_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let given = info.given_name().and_then(|n| n.get(None)).map(|n| n.to_string());
    let name = [family, given].into_iter().flatten().collect::<Vec<_>>().join(" ");
    Ok((iin, if name.is_empty() { "—".into() } else { name }))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn signout(req: &Request, cookies: &CookieJar, Form(f): Form<CsrfForm>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = principal(app, cookies, "/onboarding").await?;
        check_form(app, req, &who, &f.csrf)?;
        app.store.end_portal_session(&who.session_hash).await?;
        cookies.add(cookie(app, SESSION_COOKIE, "", Some(0)));
        Ok(Redirect::see_other("/onboarding").into_response())
    }.await)
}

/// The sanitised logo (always PNG), for the consent screen of the client.
#[handler]
async fn logo(Path(id): Path<String>, Data(app): Data<&Arc<App>>) -> Response {
    let logo = match app.store.application(&id).await {
        Ok(Some(a)) => a.row.logo,
        _ => None,
    };
    match logo.and_then(|b| STANDARD.decode(b).ok()) {
        Some(png) => png
            .with_content_type("image/png")
            .with_header("Cache-Control", "public, max-age=3600")
            .with_header("Content-Security-Policy", "default-src 'none'")
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ------------------------------------------------------------------ pages

pub struct Nav {
    pub name: String,
    pub csrf: String,
    pub staff: bool,
}

impl Nav {
    fn of(app: &App, who: &Principal) -> Nav {
        Nav { name: who.name.clone(), csrf: who.csrf(app), staff: who.is_staff() }
    }
}

page!(HomePage, "onb_home.html" {});
page!(MessagePage, "onb_message.html" { title: Msg, message: Msg, detail: Option<String>, back: Option<String> });
page!(PortalPage, "onb_portal.html" { nav: Nav, rows: Vec<RowView> });
page!(FormPage, "onb_form.html" { nav: Nav, values: BTreeMap<String, String>, errors: FieldErrors, previous: Option<String>, problem: Option<Msg> });
page!(ApplicationPage, "onb_application.html" { nav: Nav, a: ApplicationView, operator: bool, notice: Option<String> });
page!(SignPage, "onb_sign.html" { nav: Nav, id: String, document: String, fields: Vec<(&'static str, String)>, action: String, operator: bool, error: Option<String> });
page!(QueuePage, "onb_queue.html" { nav: Nav, rows: Vec<RowView>, steps: Vec<(&'static str, Msg)>, step: String, overdue: bool, closed: bool });
page!(SecretPage, "onb_secret.html" { nav: Nav, id: String, client_id: String, secret: Option<String> });

impl FormPage {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }
    fn error(&self, name: &str) -> Option<Msg> {
        self.errors.get(name).copied()
    }
}

/// One line of a list.
pub struct RowView {
    pub id: String,
    pub organisation: String,
    pub bin: String,
    pub system: String,
    pub step: Msg,
    pub step_code: &'static str,
    pub side: Option<Msg>,
    pub due: Option<String>,
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub breaches: i32,
    pub filed: String,
}

fn step_of(code: &str) -> Step {
    Step::ALL.into_iter().find(|s| s.as_str() == code).unwrap_or(Step::Review)
}

fn side_msg(side: Side) -> Msg {
    match side {
        Side::Operator => Msg::onb_awaited_operator,
        Side::Initiator => Msg::onb_awaited_initiator,
    }
}

fn row_view(app: &App, a: &FiledApplication) -> RowView {
    let step = a.step().unwrap_or_else(|| step_of(&a.row.step));
    let now = app.onboarding.procedure_now(a.row.filed_at);
    let deadline = a.procedure.as_ref().and_then(|p| p.deadline.as_ref());
    RowView {
        id: a.row.id.clone(),
        organisation: a.row.organisation_name.clone(),
        bin: a.row.bin.clone(),
        system: a.row.system_name.clone(),
        step: step_text(step),
        step_code: step.as_str(),
        side: deadline.map(|d| side_msg(d.side)),
        due: deadline.map(|d| local_deadline(d.due)),
        days_left: a.procedure.as_ref().and_then(|p| p.working_days_left(now, &app.onboarding.calendar)),
        overdue: a.row.overdue,
        breaches: a.row.breaches,
        filed: local(a.row.filed_at),
    }
}

pub struct TimelineRow {
    pub at: String,
    pub step: Msg,
    pub event: Msg,
    pub actor: String,
    pub detail: String,
    pub deadline: String,
    pub on_time: Option<bool>,
}

pub struct CredentialView {
    pub env: Msg,
    pub env_code: String,
    pub client_id: String,
    pub secret_waiting: bool,
}

pub struct DocumentView {
    pub kind: String,
    pub sha256: String,
    pub signer: String,
    pub at: String,
}

pub struct MailView {
    pub at: String,
    pub to: String,
    pub subject: String,
    pub sent: bool,
    pub error: String,
}

/// Everything the application page shows.
pub struct ApplicationView {
    pub row: RowView,
    pub responsible_official: String,
    pub contact_email: String,
    pub redirect_uri: String,
    pub sandbox_redirect_uri: String,
    pub tos_uri: String,
    pub policy_uri: String,
    pub has_logo: bool,
    pub authorised_person: String,
    pub closed: bool,
    pub closing_reason: Option<String>,
    pub breaches: Vec<(Msg, String)>,
    pub timeline: Vec<TimelineRow>,
    pub credentials: Vec<CredentialView>,
    pub documents: Vec<DocumentView>,
    pub mails: Vec<MailView>,
    pub positive_test: bool,
    pub last_act: Option<String>,
    pub today: String,
}

async fn application_view(app: &App, filed: FiledApplication, with_mails: bool) -> Result<ApplicationView, PageError> {
    // The workflow's own state when it answers (fresher than the projection).
    let mut filed = filed;
    if let Some(live) = app.onboarding.live(&filed.row.id).await {
        filed.procedure = Some(live);
    }
    let row = row_view(app, &filed);
    let p: Option<&Application> = filed.procedure.as_ref();
    let r = &filed.row;
    let credentials = app
        .store
        .credentials(&r.id)
        .await?
        .into_iter()
        .map(|c| CredentialView {
            env: if c.environment == "production" { Msg::onb_env_production } else { Msg::onb_env_sandbox },
            env_code: c.environment,
            client_id: c.client_id,
            secret_waiting: c.sealed_secret.is_some(),
        })
        .collect();
    let documents = app
        .store
        .documents(&r.id)
        .await?
        .into_iter()
        .map(|d| DocumentView { kind: d.kind, sha256: d.document_sha256, signer: format!("{} ({})", d.signer_name, d.signer_iin), at: local(d.created_at) })
        .collect();
    let mails = if with_mails {
        app.store
            .mails(&r.id)
            .await?
            .into_iter()
            .map(|m| MailView { at: local(m.created_at), to: m.recipient, subject: m.subject, sent: m.sent_at.is_some(), error: m.error.unwrap_or_default() })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ApplicationView {
        responsible_official: r.responsible_official.clone(),
        contact_email: r.contact_email.clone(),
        redirect_uri: r.redirect_uri.clone(),
        sandbox_redirect_uri: r.sandbox_redirect_uri.clone().unwrap_or_default(),
        tos_uri: r.tos_uri.clone(),
        policy_uri: r.policy_uri.clone(),
        has_logo: r.logo.is_some(),
        authorised_person: r.authorised_person.clone(),
        closed: p.is_some_and(|p| p.step.is_closed()),
        closing_reason: p.and_then(|p| p.closing_reason.clone()),
        breaches: p.map(|p| p.breaches.iter().map(|(s, at)| (step_text(*s), local(*at))).collect()).unwrap_or_default(),
        timeline: p
            .map(|p| {
                p.timeline
                    .iter()
                    .map(|e| TimelineRow {
                        at: local(e.at),
                        step: step_text(e.step),
                        event: event_text(&e.event),
                        actor: e.actor.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| "Tanu".into()),
                        detail: e.detail.clone().unwrap_or_default(),
                        deadline: e.deadline.map(local_deadline).unwrap_or_default(),
                        on_time: e.on_time,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        positive_test: p.is_some_and(|p| p.has_positive_test()),
        last_act: p.and_then(|p| p.acts.last().cloned()),
        today: Utc::now().with_timezone(&tanu_workflows::ALMATY).format("%Y-%m-%d").to_string(),
        credentials,
        documents,
        mails,
        row,
    })
}

/// Where a page is: the initiator's portal or the operator's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Portal,
    Console,
}

impl Area {
    fn operator(self) -> bool {
        self == Area::Console
    }
    /// The application's page in this area.
    fn page(self, id: &str) -> String {
        let area = if self.operator() { "console" } else { "portal" };
        format!("/{area}/applications/{id}")
    }
}

/// The signed-in person and the application, if they may see it in `area`
/// (the console is for staff before anything is looked up).
async fn open(app: &App, cookies: &CookieJar, area: Area, id: &str) -> Result<(Principal, FiledApplication), PageError> {
    let here = area.page(id);
    let who = if area.operator() { staff_only(app, cookies, &here).await? } else { principal(app, cookies, &here).await? };
    let a = visible(app, &who, id, area.operator()).await?;
    Ok((who, a))
}

/// The application, if `who` may see it: staff see all; an initiator sees
/// the applications of the BINs they act for.
async fn visible(app: &App, who: &Principal, id: &str, as_operator: bool) -> Result<FiledApplication, PageError> {
    let a = app.store.application(id).await?.ok_or(PageError::NotFound)?;
    let allowed = if as_operator { who.is_staff() } else { who.represents(&a.row.bin) };
    if allowed { Ok(a) } else { Err(PageError::Forbidden) }
}

/// Sends a request to the workflow, audits it, and returns to the page.
async fn take(app: &App, who: &Principal, a: &FiledApplication, side: Side, command: Command, back: &str) -> PageResult {
    let seen = app.onboarding.live(&a.row.id).await.map(|p| p.timeline.len()).unwrap_or_default();
    let name = command.clone().into_action(None).name();
    let step = format!("onboarding.{name}");
    let result = app.onboarding.act(&a.row.id, WorkflowRequest { actor: who.actor(side), command }).await;
    let outcome = if result.is_ok() { Outcome::Success } else { Outcome::Failure };
    audit(app, who, &step, outcome, &format!("application {}", a.row.id)).await;
    result?;
    app.onboarding.settled(&a.row.id, seen).await;
    Ok(Redirect::see_other(back).into_response())
}

// ----------------------------------------------------------------- portal

pub fn portal_routes() -> Route {
    Route::new()
        .at("/", poem::get(portal_home))
        .at("/new", poem::get(new_form).post(file_application))
        .at("/applications/:id", poem::get(portal_application))
        .at("/applications/:id/test", poem::post(portal_test))
        .at("/applications/:id/contract", poem::post(portal_contract))
        .at("/applications/:id/contract.txt", poem::get(portal_contract_document))
        .at("/applications/:id/act", poem::post(act_prepare))
        .at("/applications/:id/act/document", poem::post(act_document))
        .at("/applications/:id/act/sign", poem::post(act_sign))
        .at("/applications/:id/secret/:env", poem::post(reveal_secret))
}

#[handler]
async fn portal_home(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = principal(app, cookies, "/portal").await?;
        let mut rows = Vec::new();
        for bin in &who.bins {
            let filter = ApplicationFilter { bin: Some(bin.clone()), ..Default::default() };
            rows.extend(app.store.applications(&filter).await?.iter().map(|a| row_view(app, a)));
        }
        Ok(html(StatusCode::OK, PortalPage { lang, nav: Nav::of(app, &who), rows }))
    }.await)
}

#[derive(Deserialize)]
struct NewQuery {
    from: Option<String>,
}

#[handler]
async fn new_form(req: &Request, cookies: &CookieJar, Query(q): Query<NewQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = principal(app, cookies, "/portal/new").await?;
        let mut values = BTreeMap::new();
        let mut previous = None;
        // Applying again after a refusal or lapse starts from the old form.
        if let Some(from) = q.from.as_deref() {
            let old = visible(app, &who, from, false).await?;
            if old.step().is_some_and(|s| matches!(s, Step::Refused | Step::Lapsed)) {
                let r = &old.row;
                for (k, v) in [
                    ("organisation_name", &r.organisation_name),
                    ("bin", &r.bin),
                    ("responsible_official", &r.responsible_official),
                    ("contact_email", &r.contact_email),
                    ("system_name", &r.system_name),
                    ("redirect_uri", &r.redirect_uri),
                    ("tos_uri", &r.tos_uri),
                    ("policy_uri", &r.policy_uri),
                    ("authorised_person", &r.authorised_person),
                ] {
                    values.insert(k.to_owned(), v.clone());
                }
                if let Some(s) = &r.sandbox_redirect_uri {
                    values.insert("sandbox_redirect_uri".into(), s.clone());
                }
                previous = Some(r.id.clone());
            }
        }
        Ok(html(StatusCode::OK, FormPage { lang, nav: Nav::of(app, &who), values, errors: FieldErrors::new(), previous, problem: None }))
    }.await)
}

/// Reads one multipart part, refusing it as soon as it passes `limit` bytes
/// (never more than `limit + 1` bytes are held).
async fn read_part(field: poem::web::Field, limit: usize, too_large: Msg) -> Result<Vec<u8>, PageError> {
    use tokio::io::AsyncReadExt;
    let reader = field.into_async_read();
    tokio::pin!(reader);
    let mut out = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut out).await.map_err(|_| PageError::BadRequest(Msg::error_bad_request))?;
    if out.len() > limit {
        return Err(PageError::BadRequest(too_large));
    }
    Ok(out)
}

/// Reads the multipart form: text fields and the logo, bounded together by
/// `limit` while they are read.
async fn read_form(mut multipart: Multipart, limit: usize) -> Result<(RawApplication, String, Option<String>), PageError> {
    let mut raw = RawApplication::default();
    let (mut csrf, mut previous) = (String::new(), None);
    let mut total = 0usize;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = read_part(field, limit - total, Msg::onb_err_logo_size).await?;
        total += bytes.len();
        match name.as_str() {
            "logo" => raw.logo = Some(bytes),
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "previous" => previous = Some(String::from_utf8_lossy(&bytes).into_owned()).filter(|s| !s.is_empty()),
            n if form::FIELDS.contains(&n) => {
                raw.fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    Ok((raw, csrf, previous))
}

#[handler]
async fn file_application(req: &Request, cookies: &CookieJar, multipart: Multipart, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = principal(app, cookies, "/portal/new").await?;
        let (raw, csrf, previous) = read_form(multipart, app.config.onboarding.max_upload_bytes).await?;
        check_form(app, req, &who, &csrf)?;
        let again = |errors: FieldErrors, problem: Option<Msg>| {
            // The form comes back with what was typed: nothing is lost.
            let page = FormPage { lang, nav: Nav::of(app, &who), values: raw.fields.clone(), errors, previous: previous.clone(), problem };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        };
        let new = match form::parse(&raw) {
            Ok(n) => n,
            Err(errors) => return again(errors, None),
        };
        // The first person to file for a BIN acts for it; others are added by the operator.
        if app.store.bin_is_bound(&new.bin).await? && !who.represents(new.bin.as_str()) {
            let mut errors = FieldErrors::new();
            errors.insert("bin", Msg::onb_err_bin_taken);
            return again(errors, None);
        }
        if let Some(p) = &previous {
            visible(app, &who, p, false).await?;
        }
        let filed_at = Utc::now();
        let id = super::new_application_id(filed_at);
        app.store.insert_application(&id, &new, lang, &who.iin, filed_at, previous.clone()).await?;
        if let Err(e) = app.onboarding.start(&id, filed_at, who.actor(Side::Initiator)).await {
            app.store.delete_unstarted_application(&id).await?;
            tracing::warn!(error = %e, "filing: workflow not started");
            return again(FieldErrors::new(), Some(Msg::onb_err_unavailable));
        }
        app.store.bind_initiator(&who.iin, &new.bin, &who.name, &new.contact_email, lang).await?;
        audit(app, &who, "onboarding.filed", Outcome::Success, &format!("application {id}")).await;
        app.onboarding.settled(&id, 0).await;
        Ok(Redirect::see_other(format!("/portal/applications/{id}")).into_response())
    }.await)
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

/// The application's page, for the initiator or the operator.
async fn application_page(req: &Request, cookies: &CookieJar, id: &str, notice: Option<String>, app: &App, area: Area) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, a) = open(app, cookies, area, id).await?;
        let view = application_view(app, a, area.operator()).await?;
        Ok(html(StatusCode::OK, ApplicationPage { lang, nav: Nav::of(app, &who), a: view, operator: area.operator(), notice }))
    }.await)
}

#[handler]
async fn portal_application(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Query(q): Query<NoticeQuery>, Data(app): Data<&Arc<App>>) -> Response {
    application_page(req, cookies, &id, q.notice, app, Area::Portal).await
}

#[derive(Deserialize)]
struct TestForm {
    csrf: String,
    result: String,
    note: String,
}

fn test_command(f: &TestForm) -> Result<Command, PageError> {
    let positive = match f.result.as_str() {
        "positive" => true,
        "negative" => false,
        _ => return Err(PageError::BadRequest(Msg::error_bad_request)),
    };
    let note = f.note.trim();
    if note.is_empty() || note.chars().count() > 4000 {
        return Err(PageError::BadRequest(Msg::onb_err_required));
    }
    Ok(Command::Act { action: Action::RecordTest { positive, note: note.to_owned() } })
}

#[handler]
async fn portal_test(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<TestForm>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let back = Area::Portal.page(&id);
        let (who, a) = open(app, cookies, Area::Portal, &id).await?;
        check_form(app, req, &who, &f.csrf)?;
        take(app, &who, &a, Side::Initiator, test_command(&f)?, &back).await
    }.await)
}

#[handler]
async fn portal_contract(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<CsrfForm>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let back = Area::Portal.page(&id);
        let (who, a) = open(app, cookies, Area::Portal, &id).await?;
        check_form(app, req, &who, &f.csrf)?;
        take(app, &who, &a, Side::Initiator, Command::Act { action: Action::ConcludeContract }, &back).await
    }.await)
}

/// The act's fields as posted (plus the CSRF token).
fn act_fields(form: &BTreeMap<String, String>) -> Result<ActFields, PageError> {
    ActFields::parse(|k| form.get(k).cloned().unwrap_or_default()).map_err(|_| PageError::BadRequest(Msg::onb_err_required))
}

fn act_text(app: &App, a: &FiledApplication, f: &ActFields) -> String {
    let parties = ActParties {
        application_id: &a.row.id,
        operator: &app.config.onboarding.operator_name,
        initiator: &a.row.organisation_name,
        bin: &a.row.bin,
        initiator_system: &a.row.system_name,
    };
    render_act(a.lang(), &parties, f)
}

#[handler]
async fn act_prepare(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<BTreeMap<String, String>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, a) = open(app, cookies, Area::Portal, &id).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        let fields = act_fields(&f)?;
        let document = act_text(app, &a, &fields);
        Ok(html(StatusCode::OK, SignPage { lang, nav: Nav::of(app, &who), id, document, fields: fields.pairs(), action: "act".into(), operator: false, error: None }))
    }.await)
}

/// The draft contract, once the operator has sent it.
async fn contract_text(app: &App, a: &FiledApplication) -> Result<String, PageError> {
    let live = app.onboarding.live(&a.row.id).await.or_else(|| a.procedure.clone()).ok_or(PageError::NotFound)?;
    if !matches!(live.step, Step::Contract | Step::Production | Step::Connected) {
        return Err(PageError::NotFound);
    }
    let parties = ActParties {
        application_id: &a.row.id,
        operator: &app.config.onboarding.operator_name,
        initiator: &a.row.organisation_name,
        bin: &a.row.bin,
        initiator_system: &a.row.system_name,
    };
    let act = live.acts.last().cloned().unwrap_or_default();
    Ok(render_contract(a.lang(), &parties, &app.config.onboarding.operator_bin, &a.row.redirect_uri, &act))
}

async fn contract_download(req: &Request, cookies: &CookieJar, id: &str, app: &App, area: Area) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (_, a) = open(app, cookies, area, id).await?;
        Ok(download(&format!("contract-{id}.txt"), contract_text(app, &a).await?))
    }.await)
}

#[handler]
async fn portal_contract_document(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Data(app): Data<&Arc<App>>) -> Response {
    contract_download(req, cookies, &id, app, Area::Portal).await
}

#[handler]
async fn console_contract_document(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Data(app): Data<&Arc<App>>) -> Response {
    contract_download(req, cookies, &id, app, Area::Console).await
}

fn download(name: &str, document: String) -> Response {
    document
        .with_content_type("text/plain; charset=utf-8")
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "no-store")
        .into_response()
}

#[handler]
async fn act_document(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<BTreeMap<String, String>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, a) = open(app, cookies, Area::Portal, &id).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        Ok(download(&format!("act-{id}.txt"), act_text(app, &a, &act_fields(&f)?)))
    }.await)
}

/// Multipart: the fields again and the signature file.
async fn read_signed(mut multipart: Multipart, limit: usize) -> Result<(BTreeMap<String, String>, Vec<u8>), PageError> {
    let (mut fields, mut signature) = (BTreeMap::new(), Vec::new());
    let mut total = 0usize;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = read_part(field, limit - total, Msg::error_too_large).await?;
        total += bytes.len();
        if name == "signature" {
            signature = bytes;
        } else {
            fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok((fields, signature))
}

#[handler]
async fn act_sign(req: &Request, cookies: &CookieJar, Path(id): Path<String>, multipart: Multipart, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let back = Area::Portal.page(&id);
        let (who, a) = open(app, cookies, Area::Portal, &id).await?;
        let (f, signature) = read_signed(multipart, app.config.onboarding.max_upload_bytes).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        let fields = act_fields(&f)?;
        let document = act_text(app, &a, &fields);
        let bin: Bin = a.bin()?;
        let refuse = |error: String| {
            let page = SignPage { lang, nav: Nav::of(app, &who), id: id.clone(), document: document.clone(), fields: fields.pairs(), action: "act".into(), operator: false, error: Some(error) };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        };
        let signer = match app.onboarding.verify(document.as_bytes(), &signature, Some(&bin)) {
            Ok(s) => s,
            Err(e) => {
                audit(app, &who, "onboarding.act_signature", Outcome::Failure, &format!("application {id}: {e}")).await;
                return refuse(format!("{} {e}", Msg::onb_err_signature.text(lang)));
            }
        };
        // §16: signed by the authorised person, who is the one signed in.
        if signer.iin != who.iin {
            return refuse(Msg::onb_err_signer.text(lang).to_owned());
        }
        let sha = sha256_hex(document.as_bytes());
        let signer_name = signer.common_name.clone().unwrap_or_else(|| fields.authorised_person.clone());
        let resubmit = a.step() == Some(Step::Rework) || app.onboarding.live(&id).await.is_some_and(|p| p.step == Step::Rework);
        let action = if resubmit {
            Action::ResubmitAct { document_sha256: sha.clone(), signer: signer_name.clone() }
        } else {
            Action::SubmitAct { document_sha256: sha.clone(), signer: signer_name.clone() }
        };
        let response = take(app, &who, &a, Side::Initiator, Command::Act { action }, &back).await?;
        app.store.insert_document(&id, "act", &document, &sha, STANDARD.encode(&signature), &signer.iin, &signer_name, &who.name).await?;
        Ok(response)
    }.await)
}

#[handler]
async fn reveal_secret(req: &Request, cookies: &CookieJar, Path((id, env)): Path<(String, String)>, Form(f): Form<CsrfForm>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, _) = open(app, cookies, Area::Portal, &id).await?;
        check_form(app, req, &who, &f.csrf)?;
        let credential = app.store.credential(&id, &env).await?.ok_or(PageError::NotFound)?;
        let secret = match app.store.take_sealed_secret(&id, &env).await? {
            Some(sealed) => {
                let bytes = app.open_secret(&sealed, &credential.client_id).map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            None => None,
        };
        audit(app, &who, "onboarding.secret_shown", if secret.is_some() { Outcome::Success } else { Outcome::Failure }, &format!("application {id} {env}")).await;
        Ok(html(StatusCode::OK, SecretPage { lang, nav: Nav::of(app, &who), id, client_id: credential.client_id, secret }))
    }.await)
}

// ---------------------------------------------------------------- console

pub fn console_routes() -> Route {
    Route::new()
        .at("/", poem::get(queue))
        .at("/export.csv", poem::get(export_csv))
        .at("/applications/:id", poem::get(console_application))
        .at("/applications/:id/act", poem::post(console_act))
        .at("/applications/:id/contract.txt", poem::get(console_contract_document))
        .at("/applications/:id/approval", poem::post(approval_prepare))
        .at("/applications/:id/approval/document", poem::post(approval_document_download))
        .at("/applications/:id/approval/sign", poem::post(approval_sign))
}

async fn staff_only(app: &App, cookies: &CookieJar, here: &str) -> Result<Principal, PageError> {
    let who = principal(app, cookies, here).await?;
    if who.is_staff() { Ok(who) } else { Err(PageError::Forbidden) }
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    step: Option<String>,
    overdue: Option<String>,
    closed: Option<String>,
}

fn filter_of(q: &QueueQuery) -> ApplicationFilter {
    ApplicationFilter {
        bin: None,
        step: q.step.as_deref().and_then(|s| Step::ALL.into_iter().find(|x| x.as_str() == s)),
        overdue_only: q.overdue.is_some(),
        open_only: q.closed.is_none(),
    }
}

#[handler]
async fn queue(req: &Request, cookies: &CookieJar, Query(q): Query<QueueQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = staff_only(app, cookies, "/console").await?;
        let rows = app.store.applications(&filter_of(&q)).await?.iter().map(|a| row_view(app, a)).collect();
        let steps = Step::ALL.into_iter().map(|s| (s.as_str(), step_text(s))).collect();
        Ok(html(StatusCode::OK, QueuePage {
            lang,
            nav: Nav::of(app, &who),
            rows,
            steps,
            step: q.step.clone().unwrap_or_default(),
            overdue: q.overdue.is_some(),
            closed: q.closed.is_some(),
        }))
    }.await)
}

/// The register: every application with its step, deadline and breaches.
#[handler]
async fn export_csv(req: &Request, cookies: &CookieJar, Query(q): Query<QueueQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let who = staff_only(app, cookies, "/console").await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = ["application", "filed_at", "bin", "organisation", "system", "step", "awaiting", "deadline", "working_days_left", "overdue", "breaches", "sandbox_client", "production_client"];
        let csv_err = |e: csv::Error| PageError::Store(StoreError::Invalid(e.to_string()));
        w.write_record(header).map_err(csv_err)?;
        for a in app.store.applications(&filter_of(&q)).await? {
            let r = row_view(app, &a);
            let p = a.procedure.as_ref();
            let side = p.and_then(|p| p.deadline.as_ref()).map(|d| if d.side == Side::Operator { "operator" } else { "initiator" }).unwrap_or("");
            w.write_record([
                r.id.as_str(),
                &a.row.filed_at.to_rfc3339(),
                &r.bin,
                // A cell starting with = + - @ would be a formula in a spreadsheet.
                &neutralise(&r.organisation),
                &neutralise(&r.system),
                r.step_code,
                side,
                &p.and_then(|p| p.deadline.as_ref()).map(|d| d.due.to_rfc3339()).unwrap_or_default(),
                &r.days_left.map(|d| d.to_string()).unwrap_or_default(),
                if r.overdue { "true" } else { "false" },
                &r.breaches.to_string(),
                p.and_then(|p| p.sandbox_client_id.as_deref()).unwrap_or(""),
                p.and_then(|p| p.production_client_id.as_deref()).unwrap_or(""),
            ])
            .map_err(csv_err)?;
        }
        let body = w.into_inner().map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
        audit(app, &who, "onboarding.export", Outcome::Success, "register CSV").await;
        Ok(body
            .with_content_type("text/csv; charset=utf-8")
            .with_header("Content-Disposition", "attachment; filename=\"tanu-register.csv\"")
            .with_header("Cache-Control", "no-store")
            .into_response())
    }.await)
}

fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

#[handler]
async fn console_application(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Query(q): Query<NoticeQuery>, Data(app): Data<&Arc<App>>) -> Response {
    application_page(req, cookies, &id, q.notice, app, Area::Console).await
}

#[derive(Deserialize)]
struct ConsoleActForm {
    csrf: String,
    command: String,
    reason: Option<String>,
    result: Option<String>,
    note: Option<String>,
}

fn reason(f: &ConsoleActForm) -> Result<Reason, PageError> {
    Reason::try_from(f.reason.clone().unwrap_or_default()).map_err(|_| PageError::BadRequest(Msg::onb_err_reason))
}

#[handler]
async fn console_act(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<ConsoleActForm>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let back = Area::Console.page(&id);
        let (who, a) = open(app, cookies, Area::Console, &id).await?;
        check_form(app, req, &who, &f.csrf)?;
        let command = match f.command.as_str() {
            "approve" => Command::Act { action: Action::Approve },
            "refuse" => Command::Act { action: Action::Refuse { reason: reason(&f)? } },
            "grant_sandbox" => Command::GrantSandbox,
            "record_test" => test_command(&TestForm { csrf: String::new(), result: f.result.clone().unwrap_or_default(), note: f.note.clone().unwrap_or_default() })?,
            "return_act" => Command::Act { action: Action::ReturnAct { reason: reason(&f)? } },
            "send_draft_contract" => Command::Act { action: Action::SendDraftContract },
            "conclude_contract" => Command::Act { action: Action::ConcludeContract },
            "grant_production" => Command::GrantProduction,
            _ => return Err(PageError::BadRequest(Msg::error_bad_request)),
        };
        take(app, &who, &a, Side::Operator, command, &back).await
    }.await)
}

fn approval_document(app: &App, a: &FiledApplication, act_sha: &str, approver: &str, date: chrono::NaiveDate) -> String {
    render_approval(a.lang(), &a.row.id, &app.config.onboarding.operator_name, act_sha, approver, date)
}

/// The approval's fields: the act it approves, the approver, the date.
fn approval_fields(f: &BTreeMap<String, String>) -> Result<(String, String, chrono::NaiveDate), PageError> {
    let act = f.get("act_sha256").cloned().unwrap_or_default();
    let approver = f.get("approver").map(|s| s.trim().to_owned()).unwrap_or_default();
    let date = chrono::NaiveDate::parse_from_str(f.get("date").map(String::as_str).unwrap_or(""), "%Y-%m-%d");
    match date {
        Ok(date) if act.len() == 64 && act.bytes().all(|b| b.is_ascii_hexdigit()) && !approver.is_empty() && approver.len() < 300 => Ok((act, approver, date)),
        _ => Err(PageError::BadRequest(Msg::onb_err_required)),
    }
}

fn approval_pairs(act: &str, approver: &str, date: chrono::NaiveDate) -> Vec<(&'static str, String)> {
    vec![("act_sha256", act.to_owned()), ("approver", approver.to_owned()), ("date", date.to_string())]
}

#[handler]
async fn approval_prepare(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<BTreeMap<String, String>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, a) = open(app, cookies, Area::Console, &id).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        let (act, approver, date) = approval_fields(&f)?;
        let document = approval_document(app, &a, &act, &approver, date);
        Ok(html(StatusCode::OK, SignPage { lang, nav: Nav::of(app, &who), id, document, fields: approval_pairs(&act, &approver, date), action: "approval".into(), operator: true, error: None }))
    }.await)
}

#[handler]
async fn approval_document_download(req: &Request, cookies: &CookieJar, Path(id): Path<String>, Form(f): Form<BTreeMap<String, String>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let (who, a) = open(app, cookies, Area::Console, &id).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        let (act, approver, date) = approval_fields(&f)?;
        Ok(download(&format!("approval-{id}.txt"), approval_document(app, &a, &act, &approver, date)))
    }.await)
}

#[handler]
async fn approval_sign(req: &Request, cookies: &CookieJar, Path(id): Path<String>, multipart: Multipart, Data(app): Data<&Arc<App>>) -> Response {
    let lang = lang_of(req);
    finish(lang, async {
        let back = Area::Console.page(&id);
        let (who, a) = open(app, cookies, Area::Console, &id).await?;
        let (f, signature) = read_signed(multipart, app.config.onboarding.max_upload_bytes).await?;
        check_form(app, req, &who, f.get("csrf").map(String::as_str).unwrap_or(""))?;
        let (act, approver, date) = approval_fields(&f)?;
        let document = approval_document(app, &a, &act, &approver, date);
        let refuse = |error: String| {
            let page = SignPage { lang, nav: Nav::of(app, &who), id: id.clone(), document: document.clone(), fields: approval_pairs(&act, &approver, date), action: "approval".into(), operator: true, error: Some(error) };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
        };
        let operator_bin = app.config.onboarding.operator_bin.parse::<Bin>().ok();
        let signer = match app.onboarding.verify(document.as_bytes(), &signature, operator_bin.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                audit(app, &who, "onboarding.approval_signature", Outcome::Failure, &format!("application {id}: {e}")).await;
                return refuse(format!("{} {e}", Msg::onb_err_signature.text(lang)));
            }
        };
        if signer.iin != who.iin {
            return refuse(Msg::onb_err_signer.text(lang).to_owned());
        }
        let sha = sha256_hex(document.as_bytes());
        let signer_name = signer.common_name.clone().unwrap_or_else(|| approver.clone());
        let response = take(app, &who, &a, Side::Operator, Command::Act { action: Action::ApproveAct { document_sha256: sha.clone(), signer: signer_name.clone() } }, &back).await?;
        app.store.insert_document(&id, "approval", &document, &sha, STANDARD.encode(&signature), &signer.iin, &signer_name, &who.name).await?;
        Ok(response)
    }.await)
}

impl ApplicationPage {
    fn is(&self, step: &str) -> bool {
        self.a.row.step_code == step
    }
}

impl PortalPage {
    fn base(&self) -> &'static str {
        "/portal"
    }
}

impl QueuePage {
    fn base(&self) -> &'static str {
        "/console"
    }
    fn selected(&self, code: &str) -> bool {
        self.step == code
    }
}

impl FormPage {
    fn initiator_fields(&self) -> [(&'static str, Msg, &'static str); 4] {
        [
            ("organisation_name", Msg::onb_f_organisation_name, "text"),
            ("bin", Msg::onb_f_bin, "text"),
            ("responsible_official", Msg::onb_f_responsible_official, "text"),
            ("contact_email", Msg::onb_f_contact_email, "email"),
        ]
    }
    fn system_fields(&self) -> [(&'static str, Msg, &'static str); 5] {
        [
            ("system_name", Msg::onb_f_system_name, "text"),
            ("redirect_uri", Msg::onb_f_redirect_uri, "url"),
            ("sandbox_redirect_uri", Msg::onb_f_sandbox_redirect_uri, "url"),
            ("tos_uri", Msg::onb_f_tos_uri, "url"),
            ("policy_uri", Msg::onb_f_policy_uri, "url"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_one_of_our_pages_only() {
        for ok in ["/portal", "/portal/new", "/console", "/onboarding", "/portal/applications/ab12-cd_3", "/console/applications/x1"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "/\t/evil.example", "//evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example/portal",
            "/portal/../../evil", "/portal/applications/a/b", "/portal/applications/", "/portal?x=//evil", "/portal\n",
            "/ /evil", "/%2F/evil", "portal", "", "/token", "/portal/applications/a%2f..",
        ] {
            assert_eq!(safe_next(Some(bad)), "/portal", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/portal");
    }
}
