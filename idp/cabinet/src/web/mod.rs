//! The cabinet's pages under `/me`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{
    handler,
    http::StatusCode,
    web::{cookie::CookieJar, Data, Form, Path, Query},
    EndpointExt, FromRequest, IntoResponse, Request, RequestBody, Response, Route,
};
use serde::{Deserialize, Serialize};

use super::documents::{DocumentError, DocumentKind, DocumentView, Documents, Verifier};
use super::CABINET_CLIENT_ID;
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::domain::{ClientId, RedirectUri, Scope};
use crate::i18n::{Lang, Msg};
use crate::interaction::{cookie, cookie_value};
use crate::store::cabinet::{CabinetLogin, Channel};
use crate::store::{Citizen, StoreError};
use crate::CabinetState;
use tanu_ui::web::{html, page};

mod access;
mod shares;
mod verifier;
pub(crate) use access::entries;
use {access::*, shares::*, verifier::*};

const SESSION_COOKIE: &str = "tanu_cabinet";
const LOGIN_COOKIE: &str = "tanu_cabinet_login";
/// History entries per page.
pub const PAGE_SIZE: u64 = 20;
/// The deepest page served (bounds what one request reads).
pub const MAX_PAGE: u64 = 499;
/// At most this many entries of each kind in a download (the newest).
pub const DOWNLOAD_LIMIT: u64 = 10_000;

pub fn client_secret(app: &CabinetState) -> String {
    app.client_secret.clone()
}

fn callback_uri(app: &CabinetState) -> String {
    app.config.endpoint("/me/callback")
}

fn cabinet_client_id() -> Result<ClientId, StoreError> {
    Ok(CABINET_CLIENT_ID.parse()?)
}

/// Registers (or refreshes) the cabinet's own client at startup.
pub async fn ensure_cabinet_client(app: &CabinetState) -> Result<(), StoreError> {
    let redirect: RedirectUri = callback_uri(app).parse()?;
    app.store.ensure_first_party_client(&cabinet_client_id()?, "Tanu — citizen's cabinet", &client_secret(app), &redirect, &app.client_secrets).await
}

/// The cabinet's pages and API; `registry` reads the documents shared from the person registry.
pub fn routes(config: &crate::CabinetConfig, registry: Documents) -> impl poem::Endpoint {
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
        .nest("/api", super::api::routes(config.endpoint("/me/api")))
        .data(Arc::new(registry))
}

// ---------------------------------------------------------------- session

/// The cabinet's state, for an extractor.
fn cabinet_of(req: &poem::Request) -> poem::Result<&Arc<CabinetState>> {
    req.data::<Arc<CabinetState>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
}

/// The signed-in citizen.
struct Me {
    citizen: Citizen,
    session_hash: String,
}

impl Me {
    fn csrf(&self, app: &CabinetState) -> String {
        app.oidc.csrf_token("cabinet", &self.session_hash)
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
            PageError::SignIn => return tanu_ui::web::see_other(format!("/me?lang={}", lang.code())),
            PageError::VerifierSignIn(code) => {
                let next = match code {
                    Some(c) => format!("%2Fme%2Fverify%3Fcode%3D{c}"),
                    None => "%2Fme%2Fverify".into(),
                };
                return tanu_ui::web::see_other(format!("/onboarding/signin?next={next}"));
            }
            PageError::NotFound => (StatusCode::NOT_FOUND, Msg::me_not_found),
            PageError::Csrf => (StatusCode::FORBIDDEN, Msg::error_expired),
            PageError::TooMany => (StatusCode::TOO_MANY_REQUESTS, Msg::error_rate_limited),
            PageError::Store(e) => return tanu_ui::web::store_failure_page(lang, &e, "cabinet"),
        };
        tanu_ui::web::error_page(status, lang, message, None)
    }
}

type PageResult = Result<Response, PageError>;

fn finish(lang: Lang, r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.respond(lang))
}

async fn me(app: &CabinetState, cookies: &CookieJar) -> Result<Me, PageError> {
    let Some(c) = cookie_value(&app.oidc.config, cookies, SESSION_COOKIE) else { return Err(PageError::SignIn) };
    let hash = token_hash(&c);
    let Some(s) = app.store.cabinet_session(&hash).await? else { return Err(PageError::SignIn) };
    let citizen = app.store.citizen(&s.citizen_id).await?.ok_or(PageError::SignIn)?;
    Ok(Me { citizen, session_hash: hash })
}

/// The signed-in citizen, as a handler's argument: a request without a live
/// cabinet session is sent to sign in.
impl<'a> FromRequest<'a> for Me {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let app = cabinet_of(req)?;
        me(app, req.cookie()).await.map_err(|e| refusal(req, e))
    }
}

/// A form of the signed-in citizen, as a handler's argument: the session,
/// then the address's rate limit and the session's CSRF token, checked before
/// the handler runs; every refusal is the cabinet's own page.
struct SignedInForm<T>(Me, T);

impl<'a, T: serde::de::DeserializeOwned + CsrfBound> FromRequest<'a> for SignedInForm<T> {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let app = cabinet_of(req)?;
        let who = me(app, req.cookie()).await.map_err(|e| refusal(req, e))?;
        let Ok(Form(f)) = Form::<T>::from_request(req, body).await else { return Err(refusal(req, PageError::Csrf)) };
        check_form(app, req, &who, f.csrf()).map_err(|e| refusal(req, e))?;
        Ok(SignedInForm(who, f))
    }
}

/// A refusal as the response an extractor ends the request with.
fn refusal(req: &Request, e: PageError) -> poem::Error {
    poem::Error::from_response(e.respond(crate::i18n::lang_of(req)))
}

/// Every form: the address's rate limit, then the session's CSRF token.
fn check_form(app: &CabinetState, req: &Request, who: &Me, csrf: &str) -> Result<(), PageError> {
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
async fn home(req: &Request, cookies: &CookieJar, Query(q): Query<NoticeQuery>, Data(app): Data<&Arc<CabinetState>>) -> Response {
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
                .held_consents(&who.citizen.id, &cabinet_client_id()?)
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
async fn signin(req: &Request, cookies: &CookieJar, Data(app): Data<&Arc<CabinetState>>) -> Response {
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
            cookies.add(cookie(&app.oidc.config, LOGIN_COOKIE, &binding, Some(600)));
            let url = tanu_core::first_party::AuthorizationRequest {
                client_id: CABINET_CLIENT_ID,
                redirect_uri: &callback_uri(app),
                scope: "openid",
                state: &state,
                nonce: &nonce,
                code_verifier: &verifier,
                lang,
            }
            .url(&app.config.endpoint("/authorize"));
            Ok(tanu_ui::web::see_other(url))
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
async fn callback(req: &Request, cookies: &CookieJar, Query(q): Query<CallbackQuery>, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let login = match &q.state {
                Some(state) => app.store.take_cabinet_login(state).await?,
                None => None,
            };
            let bound = cookie_value(&app.oidc.config, cookies, LOGIN_COOKIE).map(|c| token_hash(&c));
            let Some(login) = login.filter(|l| bound.as_deref().is_some_and(|b| ct_eq(b, &l.binding_hash))) else {
                return Err(PageError::Csrf);
            };
            cookies.add(cookie(&app.oidc.config, LOGIN_COOKIE, "", Some(0)));
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
            cookies.add(cookie(&app.oidc.config, SESSION_COOKIE, &token, Some(ttl.num_seconds())));
            Ok(tanu_ui::web::see_other(format!("/me?lang={}", lang.code())))
        }
        .await,
    )
}

/// Redeems the code as any relying party would (discovery, token request
/// with PKCE and client authentication, ID token verification); the
/// cabinet's subject type is public, so `sub` is the citizen.
async fn redeem(app: &CabinetState, code: &str, login: &CabinetLogin) -> anyhow::Result<String> {
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

use tanu_parse::forms::{CsrfBound, CsrfForm};

#[handler]
async fn signout(req: &Request, cookies: &CookieJar, SignedInForm(who, _): SignedInForm<CsrfForm>, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            app.store.end_cabinet_session(&who.session_hash).await?;
            cookies.add(cookie(&app.oidc.config, SESSION_COOKIE, "", Some(0)));
            Ok(tanu_ui::web::see_other(format!("/me?lang={}", lang.code())))
        }
        .await,
    )
}

/// Takes back everything the citizen gave one relying party, at once.
#[handler]
async fn revoke(req: &Request, Path(client): Path<String>, SignedInForm(who, _): SignedInForm<CsrfForm>, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let client: ClientId = client.parse().map_err(|_| PageError::NotFound)?;
            if client.as_str() == CABINET_CLIENT_ID {
                return Err(PageError::NotFound);
            }
            if !revoke_consent(app, &who.citizen, &client).await? {
                return Err(PageError::NotFound);
            }
            Ok(tanu_ui::web::see_other(format!("/me?notice=revoked&lang={}", lang.code())))
        }
        .await,
    )
}

/// The citizen takes back everything given to `client` (not the cabinet
/// itself): grants and consents revoked, journalled, the relying party told.
/// `false` when the citizen held nothing with it (another citizen's grant
/// is not found).
pub(super) async fn revoke_consent(app: &CabinetState, citizen: &Citizen, client: &ClientId) -> Result<bool, StoreError> {
    if client.as_str() == CABINET_CLIENT_ID {
        return Ok(false);
    }
    let Some(grants) = app.store.revoke_client_for_citizen(&citizen.id, client).await? else { return Ok(false) };
    let event = crate::audit::Event {
        client_id: Some(client.as_str()),
        subject: Some(app.journal.subject(citizen)),
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
async fn tell_relying_party_of_revocation(app: &CabinetState, client: &ClientId, citizen_id: &str, grants: &[String]) {
    let registered = match app.store.client(client).await {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(e) => return tracing::error!(error = %e, "back-channel logout after revocation: client lookup"),
    };
    match crate::notify::backchannel_logout(&app.oidc, &registered, citizen_id, None).await {
        Ok(sent) => tracing::info!(client = %client, grants = grants.len(), back_channel = sent, "grants revoked by the citizen"),
        Err(e) => tracing::error!(error = %e, client = %client, "back-channel logout after revocation not queued"),
    }
}
