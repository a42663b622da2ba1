//! The cabinet's pages under `/me`.
use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Path, Query},
    EndpointExt, IntoResponse, Request, Response, Route,
};
use serde::{Deserialize, Serialize};

use super::documents::{DocumentError, DocumentKind, DocumentView, Documents, Verifier};
use super::CABINET_CLIENT_ID;
use crate::app::App;
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::{ClientId, Environment, RedirectUri, Scope};
use crate::i18n::{Lang, Msg};
use crate::interaction::{cookie, cookie_value};
use crate::store::cabinet::{CabinetLogin, Channel};
use crate::store::{Citizen, StoreError};
use crate::web::{html, page};

const SESSION_COOKIE: &str = "tanu_cabinet";
const LOGIN_COOKIE: &str = "tanu_cabinet_login";
/// History entries per page.
pub const PAGE_SIZE: u64 = 20;
/// The deepest page served (bounds what one request reads).
pub const MAX_PAGE: u64 = 499;
/// At most this many entries of each kind in a download (the newest).
pub const DOWNLOAD_LIMIT: u64 = 10_000;

pub fn client_secret(app: &App) -> String {
    app.derived_secret("tanu cabinet client secret v1")
}

fn callback_uri(app: &App) -> String {
    app.config.endpoint("/me/callback")
}

fn cabinet_client_id() -> ClientId {
    CABINET_CLIENT_ID.parse().expect("a valid client id")
}

/// Registers (or refreshes) the cabinet's own client at startup.
pub async fn ensure_cabinet_client(app: &App) -> Result<(), StoreError> {
    let redirect: RedirectUri = callback_uri(app).parse()?;
    let environment = if app.config.issuer.starts_with("https://") { Environment::Production } else { Environment::Sandbox };
    app.store
        .ensure_first_party_client(&cabinet_client_id(), "Tanu — citizen's cabinet", &client_secret(app), &redirect, environment, &app.client_secrets)
        .await
}

pub fn routes(config: &crate::config::Config) -> impl poem::Endpoint {
    Route::new()
        .at("/", poem::get(home))
        .at("/signin", poem::get(signin))
        .at("/callback", poem::get(callback))
        .at("/signout", poem::post(signout))
        .at("/consents/:client/revoke", poem::post(revoke))
        .at("/history", poem::get(history))
        .at("/history.csv", poem::get(history_csv))
        .at("/history.json", poem::get(history_json))
        .at("/biometrics", poem::get(biometrics))
        .at("/biometrics/withdraw", poem::post(withdraw))
        .at("/documents", poem::get(documents))
        .at("/documents/open", poem::post(open_document))
        .at("/documents/:id/revoke", poem::post(revoke_share))
        .at("/verify", poem::get(verify_page).post(verify_submit))
        .at("/verify/redeem", poem::post(api_redeem))
        .at("/verify/redemptions", poem::post(api_redemptions))
        .nest("/api", super::api::routes(config))
        .data(Arc::new(Documents::new(config)))
}

// ---------------------------------------------------------------- session

/// The signed-in citizen.
struct Me {
    citizen: Citizen,
    session_hash: String,
}

impl Me {
    fn csrf(&self, app: &App) -> String {
        app.csrf_token("cabinet", &self.session_hash)
    }
}

/// Why a page cannot be served; mapped to a response in one place.
#[derive(Debug)]
enum PageError {
    SignIn,
    /// The verifier page: sign in through the portal's sign-in first, and
    /// come back to it with the QR code's code, if it had one.
    VerifierSignIn(Option<String>),
    NotFound,
    Csrf,
    TooMany,
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Store(e)
    }
}

impl PageError {
    fn respond(self, lang: Lang) -> Response {
        let (status, message) = match self {
            PageError::SignIn => return crate::web::see_other(format!("/me?lang={}", lang.code())),
            PageError::VerifierSignIn(code) => {
                let next = match code {
                    Some(c) => format!("%2Fme%2Fverify%3Fcode%3D{c}"),
                    None => "%2Fme%2Fverify".into(),
                };
                return crate::web::see_other(format!("/onboarding/signin?next={next}"));
            }
            PageError::NotFound => (StatusCode::NOT_FOUND, Msg::me_not_found),
            PageError::Csrf => (StatusCode::FORBIDDEN, Msg::error_expired),
            PageError::TooMany => (StatusCode::TOO_MANY_REQUESTS, Msg::error_rate_limited),
            PageError::Store(e) => {
                tracing::error!(error = %e, "cabinet storage");
                (StatusCode::INTERNAL_SERVER_ERROR, Msg::error_title)
            }
        };
        crate::web::error_page(status, lang, message, None)
    }
}

type PageResult = Result<Response, PageError>;

fn finish(lang: Lang, r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.respond(lang))
}

async fn me(app: &App, cookies: &CookieJar) -> Result<Me, PageError> {
    let Some(c) = cookie_value(app, cookies, SESSION_COOKIE) else { return Err(PageError::SignIn) };
    let hash = token_hash(&c);
    let Some(s) = app.store.cabinet_session(&hash).await? else { return Err(PageError::SignIn) };
    let citizen = app.store.citizen(&s.citizen_id).await?.ok_or(PageError::SignIn)?;
    Ok(Me { citizen, session_hash: hash })
}

/// Every form: the address's rate limit, then the session's CSRF token.
fn check_form(app: &App, req: &Request, who: &Me, csrf: &str) -> Result<(), PageError> {
    if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
        return Err(PageError::TooMany);
    }
    if !ct_eq(&who.csrf(app), csrf) {
        return Err(PageError::Csrf);
    }
    Ok(())
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

// ---------------------------------------------------------------- pages

pub struct ConsentRow {
    pub client_id: String,
    pub organisation: String,
    pub system: String,
    pub logo_uri: Option<String>,
    pub claims: Vec<Msg>,
    pub granted: String,
    pub last_used: Option<String>,
}

pub struct HistoryRow {
    pub at: String,
    pub kind: Msg,
    pub party: String,
    pub detail: String,
    pub note: Option<Msg>,
}

page!(HomePage, "me_home.html" { notice: Option<Msg> });
page!(ConsentsPage, "me_consents.html" { csrf: String, rows: Vec<ConsentRow>, notice: Option<Msg> });
page!(HistoryPage, "me_history.html" { csrf: String, rows: Vec<HistoryRow>, page: u64, more: bool });
page!(BiometricsPage, "me_biometrics.html" {
    csrf: String,
    consent_version: Option<String>,
    consent_at: Option<String>,
    template_at: Option<String>,
});

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

fn notice(q: &NoticeQuery) -> Option<Msg> {
    match q.notice.as_deref() {
        Some("revoked") => Some(Msg::me_revoked),
        Some("withdrawn") => Some(Msg::me_bio_withdrawn),
        Some("share_revoked") => Some(Msg::me_doc_revoked),
        _ => None,
    }
}

fn scope_msg(s: Scope) -> Msg {
    match s {
        Scope::Openid => Msg::me_claim_sub,
        Scope::Profile => Msg::consent_scope_profile,
        Scope::Iin => Msg::consent_scope_iin,
        Scope::OfflineAccess => Msg::consent_scope_offline_access,
    }
}

/// Signed in: the consents. Signed out: what the cabinet is, and sign-in.
#[handler]
async fn home(req: &Request, cookies: &CookieJar, Query(q): Query<NoticeQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = match me(app, cookies).await {
                Ok(w) => w,
                Err(PageError::SignIn) => return Ok(html(StatusCode::OK, HomePage { lang, notice: notice(&q) })),
                Err(e) => return Err(e),
            };
            let rows = app
                .store
                .held_consents(&who.citizen.id, &cabinet_client_id())
                .await?
                .into_iter()
                .map(|h| ConsentRow {
                    client_id: h.client.id.to_string(),
                    organisation: h.client.organisation_name.clone(),
                    system: h.client.system_name.clone(),
                    logo_uri: h.client.logo_uri.clone(),
                    claims: h.scopes.0.iter().copied().map(scope_msg).collect(),
                    granted: when(h.granted_at),
                    last_used: h.last_used.map(when),
                })
                .collect();
            Ok(html(StatusCode::OK, ConsentsPage { lang, csrf: who.csrf(app), rows, notice: notice(&q) }))
        }
        .await,
    )
}

#[handler]
async fn signin(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
                return Err(PageError::TooMany);
            }
            let (state, nonce, verifier, binding) = (random_token(24), random_token(24), random_token(48), random_token(24));
            app.store
                .insert_cabinet_login(CabinetLogin {
                    state: state.clone(),
                    verifier: verifier.clone(),
                    nonce: nonce.clone(),
                    binding_hash: token_hash(&binding),
                    lang: lang.code().into(),
                    created_at: Utc::now(),
                })
                .await?;
            cookies.add(cookie(app, LOGIN_COOKIE, &binding, Some(600)));
            let url = crate::first_party::AuthorizationRequest {
                client_id: CABINET_CLIENT_ID,
                redirect_uri: &callback_uri(app),
                scope: "openid",
                state: &state,
                nonce: &nonce,
                code_verifier: &verifier,
                lang,
            }
            .url(app);
            Ok(crate::web::see_other(url))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[handler]
async fn callback(req: &Request, cookies: &CookieJar, Query(q): Query<CallbackQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let login = match &q.state {
                Some(state) => app.store.take_cabinet_login(state).await?,
                None => None,
            };
            let bound = cookie_value(app, cookies, LOGIN_COOKIE).map(|c| token_hash(&c));
            let Some(login) = login.filter(|l| bound.as_deref().is_some_and(|b| ct_eq(b, &l.binding_hash))) else {
                return Err(PageError::Csrf);
            };
            cookies.add(cookie(app, LOGIN_COOKIE, "", Some(0)));
            let lang = Lang::from_code(&login.lang);
            if q.error.is_some() || q.code.is_none() || Utc::now() - login.created_at > chrono::Duration::minutes(10) {
                return Ok(html(StatusCode::OK, HomePage { lang, notice: None }));
            }
            let citizen_id = redeem(app, q.code.as_deref().unwrap_or_default(), &login).await.map_err(|e| {
                tracing::warn!(error = %e, "cabinet sign-in: code redemption failed");
                PageError::Csrf
            })?;
            let citizen = app.store.citizen(&citizen_id).await?.ok_or(PageError::SignIn)?;
            let token = random_token(32);
            let ttl = chrono::Duration::seconds(app.config.session_ttl.min(i64::MAX as u64 / 2_000) as i64);
            app.store.insert_cabinet_session(&token_hash(&token), &citizen.id, ttl).await?;
            cookies.add(cookie(app, SESSION_COOKIE, &token, Some(ttl.num_seconds())));
            Ok(crate::web::see_other(format!("/me?lang={}", lang.code())))
        }
        .await,
    )
}

/// Redeems the code as any relying party would (discovery, token request
/// with PKCE and client authentication, ID token verification); the
/// cabinet's subject type is public, so `sub` is the citizen.
async fn redeem(app: &App, code: &str, login: &CabinetLogin) -> anyhow::Result<String> {
    use openidconnect::core::{CoreClient, CoreProviderMetadata};
    use openidconnect::{AuthorizationCode, ClientSecret, IssuerUrl, Nonce, PkceCodeVerifier, RedirectUrl, TokenResponse};
    let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build()?;
    let md = CoreProviderMetadata::discover_async(IssuerUrl::new(app.config.issuer.clone())?, &http).await?;
    let rp = CoreClient::from_provider_metadata(md, openidconnect::ClientId::new(CABINET_CLIENT_ID.into()), Some(ClientSecret::new(client_secret(app))))
        .set_redirect_uri(RedirectUrl::new(callback_uri(app))?);
    let tokens =
        rp.exchange_code(AuthorizationCode::new(code.into()))?.set_pkce_verifier(PkceCodeVerifier::new(login.verifier.clone())).request_async(&http).await?;
    let id_token = tokens.id_token().ok_or_else(|| anyhow::anyhow!("no ID token"))?;
    let claims = id_token.claims(&rp.id_token_verifier(), &Nonce::new(login.nonce.clone()))?;
    Ok(claims.subject().to_string())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

#[handler]
async fn signout(req: &Request, cookies: &CookieJar, form: poem::Result<Form<CsrfForm>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            check_form(app, req, &who, &f.csrf)?;
            app.store.end_cabinet_session(&who.session_hash).await?;
            cookies.add(cookie(app, SESSION_COOKIE, "", Some(0)));
            Ok(crate::web::see_other(format!("/me?lang={}", lang.code())))
        }
        .await,
    )
}

/// Takes back everything the citizen gave one relying party, at once.
#[handler]
async fn revoke(req: &Request, cookies: &CookieJar, Path(client): Path<String>, form: poem::Result<Form<CsrfForm>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            check_form(app, req, &who, &f.csrf)?;
            let client: ClientId = client.parse().map_err(|_| PageError::NotFound)?;
            if client.as_str() == CABINET_CLIENT_ID {
                return Err(PageError::NotFound);
            }
            if !revoke_consent(app, &who.citizen, &client).await? {
                return Err(PageError::NotFound);
            }
            Ok(crate::web::see_other(format!("/me?notice=revoked&lang={}", lang.code())))
        }
        .await,
    )
}

/// The citizen takes back everything given to `client` (not the cabinet
/// itself): grants and consents revoked, journalled, the relying party told.
/// `false` when the citizen held nothing with it (another citizen's grant
/// is not found).
pub(super) async fn revoke_consent(app: &App, citizen: &Citizen, client: &ClientId) -> Result<bool, StoreError> {
    if client.as_str() == CABINET_CLIENT_ID {
        return Ok(false);
    }
    let Some(grants) = app.store.revoke_client_for_citizen(&citizen.id, client).await? else { return Ok(false) };
    let event = crate::audit::Event {
        client_id: Some(client.as_str()),
        subject: Some(app.journal.pseudonym(&citizen.iin)),
        step: "consent_revoked",
        outcome: crate::audit::Outcome::Success,
        reason: Some("by the citizen (cabinet)"),
    };
    app.journal.append_after(event).await;
    tell_relying_party_of_revocation(app, client, &citizen.id, &grants).await;
    Ok(true)
}

/// The one place the relying party is told that the citizen revoked its
/// grants: an OIDC Back-Channel Logout token (`sub`, no `sid`: every session
/// of the citizen at that client) when the client registered a
/// `backchannel_logout_uri`, delivered and retried through the §10 outbox.
/// A failure to queue it is logged; the revocation itself stands.
async fn tell_relying_party_of_revocation(app: &App, client: &ClientId, citizen_id: &str, grants: &[String]) {
    let registered = match app.store.client(client).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => return tracing::error!(error = %e, "back-channel logout after revocation: client lookup"),
    };
    match crate::notify::backchannel_logout(app, &registered, citizen_id, None).await {
        Ok(sent) => tracing::info!(client = %client, grants = grants.len(), back_channel = sent, "grants revoked by the citizen"),
        Err(e) => tracing::error!(error = %e, client = %client, "back-channel logout after revocation not queued"),
    }
}

// ---------------------------------------------------------------- history

/// One entry of the access history, as downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// `release`, `attempt` or `document_view` (`step` names the document, `party` who looked).
    pub kind: &'static str,
    pub client_id: Option<String>,
    /// The relying party's organisation and system.
    pub party: Option<String>,
    pub grant_id: Option<String>,
    pub channel: Option<Channel>,
    pub claims: Vec<String>,
    pub step: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

/// The newest `limit` entries of both kinds, newest first.
pub(super) async fn entries(app: &App, citizen: &Citizen, limit: u64) -> Result<Vec<Entry>, StoreError> {
    let clients: std::collections::HashMap<String, String> = app
        .store
        .clients()
        .await?
        .into_iter()
        .map(|c| {
            let name = if c.organisation_name == c.system_name { c.system_name } else { format!("{} — {}", c.organisation_name, c.system_name) };
            (c.id.to_string(), name)
        })
        .collect();
    let party = |id: &str| clients.get(id).cloned();
    let mut out: Vec<Entry> = app
        .store
        .releases(&citizen.id, limit)
        .await?
        .into_iter()
        .map(|r| Entry {
            at: r.at,
            kind: "release",
            party: party(&r.client_id),
            client_id: Some(r.client_id),
            grant_id: Some(r.grant_id),
            channel: Some(r.channel),
            claims: r.claims,
            step: None,
            outcome: None,
            reason: None,
        })
        .collect();
    let subject = app.journal.pseudonym(&citizen.iin);
    out.extend(app.store.journal_of_subject(&subject, limit).await?.into_iter().map(|j| Entry {
        at: j.at,
        kind: "attempt",
        party: j.client_id.as_deref().and_then(party),
        client_id: j.client_id,
        grant_id: None,
        channel: None,
        claims: vec![],
        step: Some(j.step),
        outcome: Some(j.outcome),
        reason: j.reason,
    }));
    // Who looked at the citizen's documents (the shares redeemed).
    out.extend(app.store.document_views(&citizen.id, limit).await?.into_iter().map(|s| Entry {
        at: s.redeemed_at.unwrap_or(s.created_at),
        kind: "document_view",
        party: s.redeemed_by_name,
        client_id: s.redeemed_by.as_deref().and_then(|b| b.strip_prefix("client:")).map(str::to_string),
        grant_id: None,
        channel: None,
        claims: vec![],
        step: Some(s.document),
        outcome: None,
        reason: None,
    }));
    out.sort_by_key(|e| std::cmp::Reverse(e.at));
    out.truncate(limit as usize);
    Ok(out)
}

fn row(e: &Entry) -> HistoryRow {
    let party = e.party.clone().or_else(|| e.client_id.clone()).unwrap_or_else(|| "Tanu".into());
    match e.kind {
        "release" => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_release,
            party,
            detail: e.claims.join(", "),
            note: e.channel.map(|c| match c {
                Channel::IdToken => Msg::me_channel_id_token,
                Channel::Userinfo => Msg::me_channel_userinfo,
                Channel::Refresh => Msg::me_channel_refresh,
            }),
        },
        "document_view" => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_document_view,
            party,
            detail: String::new(),
            note: e.step.as_deref().and_then(DocumentKind::parse).map(document_msg),
        },
        _ => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_attempt,
            party,
            detail: [e.step.clone(), e.reason.clone()].into_iter().flatten().collect::<Vec<_>>().join(": "),
            note: Some(if e.outcome.as_deref() == Some("success") { Msg::me_success } else { Msg::me_failure }),
        },
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

#[handler]
async fn history(req: &Request, cookies: &CookieJar, Query(q): Query<PageQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let page = q.page.unwrap_or(0).min(MAX_PAGE);
            let mut all = entries(app, &who.citizen, (page + 1) * PAGE_SIZE + 1).await?;
            let more = all.len() as u64 > (page + 1) * PAGE_SIZE;
            let rows = all.drain(..).skip((page * PAGE_SIZE) as usize).take(PAGE_SIZE as usize).map(|e| row(&e)).collect();
            Ok(html(StatusCode::OK, HistoryPage { lang, csrf: who.csrf(app), rows, page, more }))
        }
        .await,
    )
}

fn download(name: &str, content_type: &str, body: Vec<u8>) -> Response {
    body.with_content_type(content_type)
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "no-store")
        .into_response()
}

/// A cell a spreadsheet would not run as a formula.
fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[handler]
async fn history_csv(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let mut w = csv::Writer::from_writer(vec![]);
            let header = ["at", "kind", "client_id", "party", "grant_id", "channel", "claims", "step", "outcome", "reason"];
            let csv_err = |e: csv::Error| PageError::Store(StoreError::Invalid(e.to_string()));
            w.write_record(header).map_err(csv_err)?;
            for e in entries(app, &who.citizen, DOWNLOAD_LIMIT).await? {
                let cells = [
                    e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    e.kind.to_string(),
                    e.client_id.unwrap_or_default(),
                    e.party.unwrap_or_default(),
                    e.grant_id.unwrap_or_default(),
                    e.channel.map(|c| c.as_str().to_string()).unwrap_or_default(),
                    e.claims.join(" "),
                    e.step.unwrap_or_default(),
                    e.outcome.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                ];
                w.write_record(cells.iter().map(|c| neutralise(c))).map_err(csv_err)?;
            }
            let body = w.into_inner().map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
            Ok(download("tanu-access-history.csv", "text/csv; charset=utf-8", body))
        }
        .await,
    )
}

#[handler]
async fn history_json(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let body =
                serde_json::to_vec(&entries(app, &who.citizen, DOWNLOAD_LIMIT).await?).map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
            Ok(download("tanu-access-history.json", "application/json", body))
        }
        .await,
    )
}

// ---------------------------------------------------------------- biometrics

#[handler]
async fn biometrics(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let h = app.store.biometric_holding(&who.citizen.id).await?;
            Ok(html(
                StatusCode::OK,
                BiometricsPage {
                    lang,
                    csrf: who.csrf(app),
                    consent_version: h.consent_version,
                    consent_at: h.consent_accepted_at.map(when),
                    template_at: h.template_formed_at.map(when),
                },
            ))
        }
        .await,
    )
}

#[handler]
async fn withdraw(req: &Request, cookies: &CookieJar, form: poem::Result<Form<CsrfForm>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            check_form(app, req, &who, &f.csrf)?;
            super::withdraw_biometrics(&app.store, &app.journal, &who.citizen, "citizen (cabinet)").await?;
            // Every session of the citizen has ended, this one too.
            cookies.add(cookie(app, SESSION_COOKIE, "", Some(0)));
            Ok(crate::web::see_other(format!("/me?notice=withdrawn&lang={}", lang.code())))
        }
        .await,
    )
}

// ---------------------------------------------------------------- documents

pub struct ShareRow {
    pub id: String,
    pub document: Msg,
    pub created: String,
    pub expires: String,
    /// `active`, `redeemed`, `revoked` or `expired`.
    pub state_code: &'static str,
    pub state_msg: Msg,
    pub viewed_by: Option<String>,
    pub viewed_at: Option<String>,
}

/// A share just opened: its code and QR code, shown once.
pub struct Opened {
    pub code: String,
    pub qr_svg: String,
    pub url: String,
    pub expires: String,
}

page!(DocumentsPage, "me_documents.html" {
    csrf: String,
    available: Vec<(&'static str, Msg)>,
    registry_down: bool,
    rows: Vec<ShareRow>,
    opened: Option<Opened>,
    notice: Option<Msg>,
});

pub fn document_msg(k: DocumentKind) -> Msg {
    match k {
        DocumentKind::IdentityCard => Msg::me_doc_identity_card,
    }
}

fn share_row(s: &crate::store::documents::DocumentShare, now: DateTime<Utc>) -> ShareRow {
    use crate::store::documents::ShareState;
    let state = s.state(now);
    ShareRow {
        id: s.id.clone(),
        document: DocumentKind::parse(&s.document).map(document_msg).unwrap_or(Msg::me_doc_identity_card),
        created: when(s.created_at),
        expires: when(s.expires_at),
        state_code: state.as_str(),
        state_msg: match state {
            ShareState::Active => Msg::me_doc_active,
            ShareState::Redeemed => Msg::me_doc_viewed,
            ShareState::Revoked => Msg::me_doc_state_revoked,
            ShareState::Expired => Msg::me_doc_expired,
        },
        viewed_by: s.redeemed_by_name.clone(),
        viewed_at: s.redeemed_at.map(when),
    }
}

async fn documents_page(app: &App, docs: &Documents, who: &Me, lang: Lang, opened: Option<Opened>, notice: Option<Msg>) -> PageResult {
    let (available, registry_down) = match docs.available(&who.citizen).await {
        Ok(a) => (a, false),
        Err(e) => {
            tracing::warn!(error = %e, "documents: registry");
            (vec![], true)
        }
    };
    let now = Utc::now();
    let rows = app.store.document_shares(&who.citizen.id, 50).await?.iter().map(|s| share_row(s, now)).collect();
    Ok(html(
        StatusCode::OK,
        DocumentsPage {
            lang,
            csrf: who.csrf(app),
            available: available.into_iter().map(|k| (k.as_str(), document_msg(k))).collect(),
            registry_down,
            rows,
            opened,
            notice,
        },
    ))
}

#[handler]
async fn documents(
    req: &Request,
    cookies: &CookieJar,
    Query(q): Query<NoticeQuery>,
    Data(app): Data<&Arc<App>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            documents_page(app, docs, &who, lang, None, notice(&q)).await
        }
        .await,
    )
}

#[derive(Deserialize)]
struct OpenForm {
    csrf: String,
    document: String,
}

#[handler]
async fn open_document(
    req: &Request,
    cookies: &CookieJar,
    form: poem::Result<Form<OpenForm>>,
    Data(app): Data<&Arc<App>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            check_form(app, req, &who, &f.csrf)?;
            let kind = DocumentKind::parse(&f.document).ok_or(PageError::NotFound)?;
            let (share, code) = match docs.open(app, &who.citizen, kind).await {
                Ok(x) => x,
                Err(DocumentError::NoDocument) => return Err(PageError::NotFound),
                Err(DocumentError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "documents: open");
                    return documents_page(app, docs, &who, lang, None, Some(Msg::me_doc_registry_down)).await;
                }
            };
            let url = super::documents::verify_url(app, &code);
            let opened = Opened { qr_svg: super::documents::qr_svg(&url), url, code: code.as_str().to_string(), expires: when(share.expires_at) };
            documents_page(app, docs, &who, lang, Some(opened), None).await
        }
        .await,
    )
}

#[handler]
async fn revoke_share(req: &Request, cookies: &CookieJar, Path(id): Path<String>, form: poem::Result<Form<CsrfForm>>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let who = me(app, cookies).await?;
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            check_form(app, req, &who, &f.csrf)?;
            // Only the citizen's own usable share: another's, a used or an expired one is not found.
            if !app.store.revoke_document_share(&who.citizen.id, &id, Utc::now()).await? {
                return Err(PageError::NotFound);
            }
            Ok(crate::web::see_other(format!("/me/documents?notice=share_revoked&lang={}", lang.code())))
        }
        .await,
    )
}

// ---------------------------------------------------------------- verifier page

pub struct RedemptionRow {
    pub at: String,
    pub document: Msg,
    pub share_id: String,
}

pub struct Shown {
    pub document: Msg,
    pub iin: String,
    pub name: String,
    pub birthdate: Option<String>,
    pub photo: String,
    pub at: String,
}

page!(VerifyPage, "me_verify.html" {
    csrf: String,
    organisation: String,
    code: String,
    error: Option<Msg>,
    shown: Option<Shown>,
    rows: Vec<RedemptionRow>,
});

page!(VerifyRefusedPage, "me_verify_refused.html" {});

/// The organisation user signed in through the portal's sign-in, if an operator registered them.
/// `code`: the QR code's code (already parsed), kept through a sign-in.
async fn verifier_user(app: &App, cookies: &CookieJar, code: Option<&str>) -> Result<Option<(Verifier, String, String)>, PageError> {
    let Some((iin, session_hash)) = crate::onboarding::web::signed_in_person(app, cookies).await? else {
        return Err(PageError::VerifierSignIn(code.map(str::to_owned)));
    };
    let Some(v) = app.store.document_verifier(&iin).await? else { return Ok(None) };
    Ok(Some((Verifier::user(app, &v), v.organisation.clone(), app.csrf_token("document verifier", &session_hash))))
}

async fn verify_view(
    app: &App,
    lang: Lang,
    verifier: &Verifier,
    organisation: String,
    csrf: String,
    code: String,
    error: Option<Msg>,
    shown: Option<Shown>,
) -> PageResult {
    let rows = app
        .store
        .redemptions_by(&verifier.key, 50)
        .await?
        .into_iter()
        .map(|s| RedemptionRow {
            at: s.redeemed_at.map(when).unwrap_or_default(),
            document: DocumentKind::parse(&s.document).map(document_msg).unwrap_or(Msg::me_doc_identity_card),
            share_id: s.id,
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(html(status, VerifyPage { lang, csrf, organisation, code, error, shown, rows }))
}

#[derive(Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

#[handler]
async fn verify_page(req: &Request, cookies: &CookieJar, Query(q): Query<CodeQuery>, Data(app): Data<&Arc<App>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            // The QR code's address fills the form; redeeming is the user's press (a GET changes nothing).
            let code = q.code.as_deref().and_then(super::documents::ShortCode::parse).map(|c| c.as_str().to_string());
            let Some((verifier, organisation, csrf)) = verifier_user(app, cookies, code.as_deref()).await? else {
                return Ok(html(StatusCode::FORBIDDEN, VerifyRefusedPage { lang }));
            };
            let code = code.unwrap_or_default();
            verify_view(app, lang, &verifier, organisation, csrf, code, None, None).await
        }
        .await,
    )
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    code: String,
}

#[handler]
async fn verify_submit(
    req: &Request,
    cookies: &CookieJar,
    form: poem::Result<Form<CodeForm>>,
    Data(app): Data<&Arc<App>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let Some((verifier, organisation, csrf)) = verifier_user(app, cookies, None).await? else {
                return Ok(html(StatusCode::FORBIDDEN, VerifyRefusedPage { lang }));
            };
            let Ok(Form(f)) = form else { return Err(PageError::Csrf) };
            if app.limiter.check(crate::oidc::client_ip(req)).is_err() {
                return Err(PageError::TooMany);
            }
            if !ct_eq(&csrf, &f.csrf) {
                return Err(PageError::Csrf);
            }
            let (error, shown) = match docs.redeem(app, &verifier, &f.code).await {
                Ok(v) => (None, Some(shown(&v))),
                Err(DocumentError::TooMany(_)) => return Err(PageError::TooMany),
                Err(DocumentError::Locked(_)) => (Some(Msg::me_verify_locked), None),
                Err(DocumentError::InvalidCode) => (Some(Msg::me_verify_invalid), None),
                Err(DocumentError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "documents: redeem");
                    (Some(Msg::me_doc_registry_down), None)
                }
            };
            let mut page = verify_view(app, lang, &verifier, organisation, csrf, String::new(), error, shown).await?;
            if error == Some(Msg::me_verify_locked) {
                page.set_status(StatusCode::TOO_MANY_REQUESTS);
            }
            Ok(page)
        }
        .await,
    )
}

fn shown(v: &DocumentView) -> Shown {
    Shown {
        document: document_msg(v.document),
        iin: v.iin.clone(),
        name: v.name.clone(),
        birthdate: v.birthdate.clone(),
        photo: format!("data:{};base64,{}", v.photo_content_type, v.photo_base64),
        at: when(v.viewed_at),
    }
}

// ---------------------------------------------------------------- verifier API

/// `POST /me/verify/redeem` (form `code`): a relying party redeems a code
/// with its OIDC client's credentials (its registered method:
/// `client_secret_basic`, `client_secret_post` or `private_key_jwt`). The
/// document as JSON, once; errors in the OAuth JSON form.
#[handler]
async fn api_redeem(req: &Request, body: poem::Body, Data(app): Data<&Arc<App>>, Data(docs): Data<&Arc<Documents>>) -> Response {
    let (client, params) = match crate::oidc::client_auth::client_form(app, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let code = params.get("code").unwrap_or_default().to_string();
    match docs.redeem(app, &Verifier::client(&client), &code).await {
        Ok(v) => poem::web::Json(v).with_header("Cache-Control", "no-store").into_response(),
        Err(e) => redeem_error(e).into_response(),
    }
}

fn redeem_error(e: DocumentError) -> crate::oidc::errors::OAuthError {
    use crate::oidc::errors::OAuthError;
    match e {
        DocumentError::TooMany(wait) => OAuthError::too_many(crate::oidc::errors::ErrorCode::SlowDown, "too many redemptions", wait),
        DocumentError::Locked(wait) => {
            OAuthError::too_many(crate::oidc::errors::ErrorCode::AccessDenied, "too many wrong codes: this verifier is locked", wait)
        }
        DocumentError::InvalidCode => {
            OAuthError::with_status(StatusCode::BAD_REQUEST, crate::oidc::errors::ErrorCode::InvalidGrant, "the code is wrong, used, revoked or expired")
        }
        DocumentError::NoDocument => {
            OAuthError::with_status(StatusCode::NOT_FOUND, crate::oidc::errors::ErrorCode::InvalidGrant, "the registry no longer holds the document")
        }
        DocumentError::Registry(e) => {
            tracing::warn!(error = %e, "documents: registry");
            OAuthError::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                crate::oidc::errors::ErrorCode::TemporarilyUnavailable,
                "the registry is unavailable; the code is still usable",
            )
        }
        DocumentError::Store(e) => OAuthError::server_error(e),
    }
}

/// One redemption of a verifier, as its own history lists it.
#[derive(Serialize)]
struct Redemption {
    share_id: String,
    document: String,
    viewed_at: Option<DateTime<Utc>>,
}

/// `POST /me/verify/redemptions`: the relying party's own redemptions, newest first.
#[handler]
async fn api_redemptions(req: &Request, body: poem::Body, Data(app): Data<&Arc<App>>) -> Response {
    use crate::oidc::errors::OAuthError;
    let (client, _) = match crate::oidc::client_auth::client_form(app, req, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match app.store.redemptions_by(&Verifier::client(&client).key, 500).await {
        Ok(rows) => {
            let out: Vec<Redemption> = rows.into_iter().map(|s| Redemption { share_id: s.id, document: s.document, viewed_at: s.redeemed_at }).collect();
            poem::web::Json(out).with_header("Cache-Control", "no-store").into_response()
        }
        Err(e) => OAuthError::server_error(e).into_response(),
    }
}
