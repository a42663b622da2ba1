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

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::Utc;
use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Path, Query},
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
use crate::audit::{Event, Outcome};
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::{ClientId, RedirectUri};
use crate::i18n::{Lang, Msg};
use crate::state::OnboardingState;
use crate::store::onboarding::{ApplicationFilter, FiledApplication, Staff};
use crate::store::StoreError;
use tanu_parse::multipart;
use tanu_ui::{page, web::html};

mod console;
mod portal;
mod signin;

pub use console::console_routes;
pub use portal::portal_routes;
pub use signin::auth_routes;
use {portal::*, signin::*};

pub const PORTAL_CLIENT_ID: &str = "tanu-onboarding";
const SESSION_COOKIE: &str = "tanu_onboarding";
const LOGIN_COOKIE: &str = "tanu_onboarding_login";

fn portal_secret(app: &OnboardingState) -> String {
    app.derived_secret("tanu onboarding portal client secret v1")
}

fn callback_uri(app: &OnboardingState) -> String {
    app.endpoint("/onboarding/callback")
}

/// Registers (or refreshes) the portal's own client at startup.
pub async fn ensure_portal_client(app: &OnboardingState) -> Result<(), StoreError> {
    let id: ClientId = PORTAL_CLIENT_ID.parse()?;
    let redirect: RedirectUri = callback_uri(app).parse()?;
    app.store.ensure_first_party_client(&id, "Tanu — connection of systems", &portal_secret(app), &redirect, &app.client_secrets).await
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
    fn csrf(&self, app: &OnboardingState) -> String {
        app.csrf_token("onboarding", &self.session_hash)
    }
}

/// Why a page cannot be served. Handlers return it (`PageResult`); it is
/// rendered in one place, [`render_errors`], in the request's language.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    #[error("not signed in")]
    SignIn(String),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("bad request")]
    BadRequest(Msg),
    #[error("too many requests")]
    TooMany,
    #[error(transparent)]
    Onboarding(#[from] OnboardingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl poem::error::ResponseError for PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
            PageError::Forbidden => StatusCode::FORBIDDEN,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            PageError::Onboarding(OnboardingError::Refused(_)) => StatusCode::CONFLICT,
            PageError::Onboarding(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl PageError {
    fn respond(&self, lang: Lang) -> Response {
        let status = poem::error::ResponseError::status(self);
        let (msg, detail) = match self {
            PageError::SignIn(next) => {
                return tanu_ui::web::see_other(format!("/onboarding/signin?next={}", urlencode(next)));
            }
            PageError::Forbidden => (Msg::onb_err_forbidden, None),
            PageError::NotFound => (Msg::error_bad_request, None),
            PageError::BadRequest(m) => (*m, None),
            PageError::TooMany => (Msg::error_rate_limited, None),
            PageError::Onboarding(OnboardingError::Refused(reason)) => (Msg::onb_err_not_now, Some(reason.clone())),
            PageError::Onboarding(e) => {
                tracing::warn!(error = %e, "onboarding unavailable");
                (Msg::onb_err_unavailable, None)
            }
            PageError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "onboarding: database unavailable");
                (Msg::error_unavailable, None)
            }
            PageError::Store(e) => {
                tracing::error!(error = %e, "onboarding storage");
                (Msg::error_title, None)
            }
        };
        html(status, MessagePage { lang, title: Msg::onb_title, message: msg, detail, back: None })
    }
}

type PageResult = Result<Response, PageError>;

/// The one place a page's refusal becomes a response: the portal's, the
/// console's and sign-in's routes are wrapped in it; any other error passes.
pub(crate) fn render_errors(routes: Route) -> impl poem::Endpoint {
    use poem::{Endpoint, EndpointExt};
    routes.around(|ep, req| async move {
        let lang = lang_of(&req);
        match ep.call(req).await {
            Ok(r) => Ok(r.into_response()),
            Err(e) => match e.downcast_ref::<PageError>() {
                Some(refused) => Ok(refused.respond(lang)),
                None => Err(e),
            },
        }
    })
}

/// The page a request belongs to, to come back to after signing in: an
/// application's page for anything under it, the filing form for
/// `/portal/new`, the area's home otherwise (a form's target is never one).
fn here_of(req: &Request) -> String {
    let path = req.original_uri().path();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [area @ ("portal" | "console"), "applications", id, ..] => format!("/{area}/applications/{id}"),
        ["portal", "new"] => "/portal/new".into(),
        [area @ ("portal" | "console"), ..] => format!("/{area}"),
        _ => "/onboarding".into(),
    }
}

/// The signed-in person, as a handler's argument: not signed in, the
/// browser is sent to sign in and back to the page ([`here_of`]).
pub(crate) struct Signed(pub Principal);

impl<'a> poem::FromRequest<'a> for Signed {
    async fn from_request(req: &'a Request, _body: &mut poem::RequestBody) -> poem::Result<Self> {
        let app = req.data::<Arc<OnboardingState>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
        Ok(Signed(principal(app, req.cookie(), &here_of(req)).await?))
    }
}

/// A form posted by the signed-in person, as a handler's argument: the
/// person ([`Signed`]), then the form, within the address's rate limit and
/// carrying the session's CSRF token ([`check_form`]); else refused.
pub(crate) struct SignedForm<T>(pub Principal, pub T);

impl<'a, T: serde::de::DeserializeOwned + tanu_parse::forms::CsrfBound> poem::FromRequest<'a> for SignedForm<T> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let Signed(who) = Signed::from_request(req, body).await?;
        let f = checked_form::<T>(req, body, &who).await?;
        Ok(SignedForm(who, f))
    }
}

/// A form posted by a member of the operator's staff ([`StaffMember`]),
/// checked as [`SignedForm`]'s.
pub(crate) struct StaffForm<T>(pub Principal, pub T);

impl<'a, T: serde::de::DeserializeOwned + tanu_parse::forms::CsrfBound> poem::FromRequest<'a> for StaffForm<T> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let StaffMember(who) = StaffMember::from_request(req, body).await?;
        let f = checked_form::<T>(req, body, &who).await?;
        Ok(StaffForm(who, f))
    }
}

async fn checked_form<T: serde::de::DeserializeOwned + tanu_parse::forms::CsrfBound>(
    req: &Request,
    body: &mut poem::RequestBody,
    who: &Principal,
) -> poem::Result<T> {
    use poem::FromRequest;
    let app = req.data::<Arc<OnboardingState>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let Form(f) = Form::<T>::from_request(req, body).await?;
    check_form(app, req, who, tanu_parse::forms::CsrfBound::csrf(&f))?;
    Ok(f)
}

/// A `multipart/form-data` upload posted by the signed-in person, as a
/// handler's argument: the person ([`Signed`]), then the upload read within
/// the configured size (`onboarding.max_upload_bytes`), within the address's
/// rate limit and carrying the session's CSRF token ([`check_form`]).
pub(crate) struct SignedMultipart<U>(pub Principal, pub U);

impl<'a, U: Upload> poem::FromRequest<'a> for SignedMultipart<U> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let Signed(who) = Signed::from_request(req, body).await?;
        let upload = checked_upload::<U>(req, body, &who).await?;
        Ok(SignedMultipart(who, upload))
    }
}

/// An upload posted by a member of the operator's staff ([`StaffMember`]),
/// checked as [`SignedMultipart`]'s.
pub(crate) struct StaffMultipart<U>(pub Principal, pub U);

impl<'a, U: Upload> poem::FromRequest<'a> for StaffMultipart<U> {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let StaffMember(who) = StaffMember::from_request(req, body).await?;
        let upload = checked_upload::<U>(req, body, &who).await?;
        Ok(StaffMultipart(who, upload))
    }
}

/// What a multipart upload is read into (`tanu_parse::multipart`'s forms).
pub(crate) trait Upload: Sized {
    /// What an upload over the size is told.
    const TOO_LARGE: Msg;
    fn from_parts(parts: Vec<multipart::Part>) -> Self;
    fn csrf(&self) -> &str;
}

/// The portal's application form (its fields, the logo).
impl Upload for multipart::ApplicationUpload {
    const TOO_LARGE: Msg = Msg::onb_err_logo_size;
    fn from_parts(parts: Vec<multipart::Part>) -> Self {
        multipart::application(parts, &form::FIELDS)
    }
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A signed document's form (the act, the approval): its fields again and the signature file.
impl Upload for multipart::SignedUpload {
    const TOO_LARGE: Msg = Msg::error_too_large;
    fn from_parts(parts: Vec<multipart::Part>) -> Self {
        multipart::signed(parts)
    }
    fn csrf(&self) -> &str {
        self.fields.get("csrf").map(String::as_str).unwrap_or("")
    }
}

/// Reads the upload with `tanu_parse::multipart` (the reader its fuzz
/// target drives): every part bounded while it is read, the parts together
/// by the configured size; past it, `U::TOO_LARGE`. Another content type, a
/// malformed body or too many parts is a bad request. Then the form's check.
async fn checked_upload<U: Upload>(req: &Request, body: &mut poem::RequestBody, who: &Principal) -> poem::Result<U> {
    let app = req.data::<Arc<OnboardingState>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let bad = || PageError::BadRequest(Msg::error_bad_request);
    let boundary = multipart::boundary(req.content_type()).map_err(|_| bad())?;
    let limits = multipart::Limits::upload(app.onboarding.config.max_upload_bytes);
    let parts = multipart::read_parts(body.take()?.into_bytes_stream(), boundary, limits).await.map_err(|e| match e {
        multipart::MultipartError::TooLarge(_) => PageError::BadRequest(U::TOO_LARGE),
        _ => bad(),
    })?;
    let upload = U::from_parts(parts);
    check_form(app, req, who, upload.csrf())?;
    Ok(upload)
}

/// A document to be signed with EDS by the person signed in (the
/// initiator's act, the operator's approval): its text and the fields it
/// was made of, shown again on its signing page.
pub(super) struct ToSign<'a> {
    pub id: &'a str,
    pub text: String,
    pub fields: Vec<(&'static str, String)>,
    /// The signing page's action (`act`, `approval`) and side.
    pub action: &'static str,
    pub operator: bool,
}

impl ToSign<'_> {
    /// Who signed `signature` over the text: a certificate under the trusted
    /// roots (of `bin`'s organisation when given), issued to the person
    /// signed in (Rules §16). Else the signing page again with the reason
    /// (422), a bad signature journalled.
    pub(super) async fn signer(
        &self,
        app: &OnboardingState,
        req: &Request,
        who: &Principal,
        signature: &[u8],
        bin: Option<&Bin>,
    ) -> Result<tanu_workflows::eds::Signer, Response> {
        let lang = lang_of(req);
        let refuse = |error: String| {
            let page = SignPage {
                lang,
                nav: Nav::of(app, who),
                id: self.id.to_owned(),
                document: self.text.clone(),
                fields: self.fields.clone(),
                action: self.action.into(),
                operator: self.operator,
                error: Some(error),
            };
            html(StatusCode::UNPROCESSABLE_ENTITY, page)
        };
        let signer = match app.onboarding.verify(self.text.as_bytes(), signature, bin) {
            Ok(s) => s,
            Err(e) => {
                let step = format!("onboarding.{}_signature", self.action);
                audit(app, who, &step, Outcome::Failure, &format!("application {}: {e}", self.id)).await;
                return Err(refuse(format!("{} {e}", Msg::onb_err_signature.text(lang))));
            }
        };
        if signer.iin != who.iin {
            return Err(refuse(Msg::onb_err_signer.text(lang).to_owned()));
        }
        Ok(signer)
    }
}

/// A signed-in member of the operator's staff, as a handler's argument
/// (anyone else: forbidden, before anything is looked up).
pub(crate) struct StaffMember(pub Principal);

impl<'a> poem::FromRequest<'a> for StaffMember {
    async fn from_request(req: &'a Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let Signed(who) = Signed::from_request(req, body).await?;
        if !who.is_staff() {
            return Err(PageError::Forbidden.into());
        }
        Ok(StaffMember(who))
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn lang_of(req: &Request) -> Lang {
    crate::i18n::lang_of(req)
}

async fn principal(app: &OnboardingState, cookies: &CookieJar, here: &str) -> Result<Principal, PageError> {
    let Some(c) = app.cookies.value(cookies, SESSION_COOKIE) else { return Err(PageError::SignIn(here.into())) };
    let hash = token_hash(&c);
    let Some(s) = app.store.portal_session(&hash).await? else { return Err(PageError::SignIn(here.into())) };
    Ok(Principal { staff: app.store.staff(&s.iin).await?, bins: app.store.initiator_bins(&s.iin).await?, iin: s.iin, name: s.name, session_hash: hash })
}

/// The person signed in through this sign-in (IIN and session hash), for
/// other pages that reuse it: the cabinet's document verifier page.
pub async fn signed_in_person(app: &OnboardingState, cookies: &CookieJar) -> Result<Option<(String, String)>, StoreError> {
    let Some(c) = app.cookies.value(cookies, SESSION_COOKIE) else { return Ok(None) };
    let hash = token_hash(&c);
    Ok(app.store.portal_session(&hash).await?.map(|s| (s.iin, hash)))
}

/// Every form: the address's rate limit, then the session's CSRF token.
fn check_form(app: &OnboardingState, req: &Request, who: &Principal, csrf: &str) -> Result<(), PageError> {
    if app.limiter.check(tanu_ui::web::client_ip(req)).is_err() {
        return Err(PageError::TooMany);
    }
    if !ct_eq(&who.csrf(app), csrf) {
        return Err(PageError::BadRequest(Msg::error_expired));
    }
    Ok(())
}

async fn audit(app: &OnboardingState, who: &Principal, step: &str, outcome: Outcome, detail: &str) {
    let e = Event { client_id: None, subject: Some(app.journal.pseudonym(&who.iin)), step, outcome, reason: Some(detail) };
    app.journal.append_after(e).await;
}

// ------------------------------------------------------------------ pages

pub struct Nav {
    pub name: String,
    pub csrf: String,
    pub staff: bool,
}

impl Nav {
    fn of(app: &OnboardingState, who: &Principal) -> Nav {
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

fn row_view(app: &OnboardingState, a: &FiledApplication) -> RowView {
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

async fn application_view(app: &OnboardingState, filed: FiledApplication, with_mails: bool) -> Result<ApplicationView, PageError> {
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

/// The application, if `who` may see it: staff see all; an initiator sees
/// the applications of the BINs they act for.
async fn visible(app: &OnboardingState, who: &Principal, id: &str, as_operator: bool) -> Result<FiledApplication, PageError> {
    let a = app.store.application(id).await?.ok_or(PageError::NotFound)?;
    let allowed = if as_operator { who.is_staff() } else { who.represents(&a.row.bin) };
    if allowed {
        Ok(a)
    } else {
        Err(PageError::Forbidden)
    }
}

/// Sends a request to the workflow, audits it, and returns to the page.
async fn take(app: &OnboardingState, who: &Principal, a: &FiledApplication, side: Side, command: Command, back: &str) -> PageResult {
    let seen = app.onboarding.live(&a.row.id).await.map(|p| p.timeline.len()).unwrap_or_default();
    let name = command.clone().into_action(None).name();
    let step = format!("onboarding.{name}");
    let result = app.onboarding.act(&a.row.id, WorkflowRequest { actor: who.actor(side), command }).await;
    let outcome = if result.is_ok() { Outcome::Success } else { Outcome::Failure };
    audit(app, who, &step, outcome, &format!("application {}", a.row.id)).await;
    result?;
    app.onboarding.settled(&a.row.id, seen).await;
    Ok(tanu_ui::web::see_other(back))
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
