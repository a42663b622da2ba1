//! The cabinet as a JSON API (`/me/api/…`, issue 14), so that a mobile app
//! can offer what the pages offer: consents (list, revoke), the access
//! history (paged), biometric data (show, withdraw), documents shared by
//! code (open access → code and QR code, list, revoke). Described by
//! `poem-openapi`; the document is served at `/me/api/openapi.json`.
//!
//! Authentication: `Authorization: Bearer <access token>` of a live grant
//! issued to the cabinet's own client (`tanu-cabinet`), that is, obtained by
//! signing in to the cabinet with Tanu. A token of any other relying party is
//! refused, whatever its scope: a relying party holding a citizen's consent
//! must not be able to manage that citizen's consents. No cookie is read, so
//! no request can be forged cross-site (no CSRF token is needed).
//!
//! Every error, including a missing token or a malformed parameter, is one
//! JSON form: `{"error": "<code>", "message": "<text>"}`.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Route};
use poem_openapi::{
    auth::{ApiKey, Bearer},
    param::{Path, Query},
    payload::Json,
    ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme,
};

use super::documents::{DocumentError, DocumentKind, Documents};
use super::web::{entries, revoke_consent, MAX_PAGE, PAGE_SIZE};
use super::CABINET_CLIENT_ID;
use crate::crypto::token_hash;
use crate::domain::ClientId;
use crate::oidc::{
    dpop,
    errors::{ErrorCode, OAuthError},
};
use crate::store::{tokens::TokenKind, Citizen, StoreError};
use crate::CabinetState;

/// The API and its OpenAPI document.
/// The API under `/me/api`, its OpenAPI document naming `server` (that address).
pub fn routes(server: String) -> impl Endpoint {
    let service = OpenApiService::new(CabinetApi, "Tanu — citizen's cabinet API", env!("CARGO_PKG_VERSION")).server(server);
    let spec = service.spec_endpoint();
    Route::new().at("/openapi.json", spec).nest("/", service).after(|r| async move { Ok(one_error_form(r)) })
}

/// Whatever the framework refused before an operation ran (no route, a
/// malformed parameter or body, a missing token) in the API's one error form.
fn one_error_form(r: poem::Result<poem::Response>) -> poem::Response {
    match r {
        Ok(resp) => resp,
        Err(e) => {
            let status = e.status();
            let code = match status.as_u16() {
                401 => "unauthorized",
                404 => "not_found",
                405 => "method_not_allowed",
                413 => "too_large",
                415 => "unsupported_media_type",
                s if s >= 500 => "server_error",
                _ => "bad_request",
            };
            let message = if status.is_server_error() { "internal error; it has been logged".to_string() } else { e.to_string() };
            let mut resp = poem::web::Json(serde_json::json!({ "error": code, "message": message }))
                .with_status(status)
                .with_header("Cache-Control", "no-store")
                .into_response();
            if status == poem::http::StatusCode::UNAUTHORIZED {
                // RFC 6750 §3, RFC 9449 §7.1: the challenge, and a nonce when one is needed.
                let (challenge, nonce) = match e.downcast_ref::<Refused>() {
                    Some(r) => (r.www_authenticate.clone().unwrap_or_else(default_challenge), r.dpop_nonce.clone()),
                    None => (default_challenge(), None),
                };
                for (name, value) in [("WWW-Authenticate", Some(challenge)), ("DPoP-Nonce", nonce)] {
                    if let Some(v) = value.and_then(|v| poem::http::HeaderValue::from_str(&v).ok()) {
                        resp.headers_mut().insert(name, v);
                    }
                }
            }
            resp
        }
    }
}

/// Either scheme, with the DPoP algorithms (no error: nothing was presented).
fn default_challenge() -> String {
    format!("Bearer realm=\"tanu\", DPoP algs=\"{}\"", dpop::ALGS.join(" "))
}

/// A Tanu access token of the cabinet's own client: `Authorization: Bearer
/// <token>` (RFC 6750) for a token bound to no key.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "bearer_citizen")]
struct CabinetBearer(Citizen);

/// A Tanu access token of the cabinet's own client bound to a DPoP key:
/// `Authorization: DPoP <token>` with a `DPoP` proof of that key for this very
/// request (RFC 9449 §7: `htm`, `htu` the operation's URL, `ath` the token's
/// hash). Such a token is refused as a bearer token: a stolen one is useless
/// without the key.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "Authorization", key_in = "header", checker = "dpop_citizen")]
struct CabinetDpop(Citizen);

/// Either: tried in this order, the last refusal (with its challenge) answered.
#[derive(SecurityScheme)]
enum CabinetToken {
    Bearer(CabinetBearer),
    Dpop(CabinetDpop),
}

impl CabinetToken {
    fn citizen(&self) -> &Citizen {
        match self {
            CabinetToken::Bearer(b) => &b.0,
            CabinetToken::Dpop(d) => &d.0,
        }
    }
}

async fn bearer_citizen(req: &Request, bearer: Bearer) -> poem::Result<Citizen> {
    citizen_of(req, &format!("Bearer {}", bearer.token)).await
}

async fn dpop_citizen(req: &Request, key: ApiKey) -> poem::Result<Citizen> {
    citizen_of(req, &key.key).await
}

async fn citizen_of(req: &Request, authorization: &str) -> poem::Result<Citizen> {
    let Some(app) = req.data::<Arc<CabinetState>>() else { return Err(poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)) };
    authenticate(app, req, authorization).await.map_err(|e| match e.status {
        poem::http::StatusCode::UNAUTHORIZED => poem::Error::from(Refused::from(e)),
        status => poem::Error::from_status(status),
    })
}

/// Why a token was refused, carried to `bad_request` with its challenge.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Refused {
    message: String,
    www_authenticate: Option<String>,
    dpop_nonce: Option<String>,
}

impl poem::error::ResponseError for Refused {
    fn status(&self) -> poem::http::StatusCode {
        poem::http::StatusCode::UNAUTHORIZED
    }
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Self {
        Refused { message: e.error_description, www_authenticate: e.www_authenticate, dpop_nonce: e.dpop_nonce }
    }
}

async fn authenticate(app: &CabinetState, req: &Request, authorization: &str) -> Result<Citizen, OAuthError> {
    let bearer = |d: &str| {
        let mut e = OAuthError::with_status(poem::http::StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken, d);
        e.www_authenticate = Some(format!("Bearer error=\"invalid_token\", error_description=\"{d}\""));
        e
    };
    let (scheme, token) = authorization.split_once(' ').map(|(s, t)| (s.to_ascii_lowercase(), t.trim())).unwrap_or_default();
    let with_proof = match scheme.as_str() {
        "bearer" => false,
        "dpop" => true,
        _ => return Err(bearer("a live access token of the cabinet is required (Bearer or DPoP)")),
    };
    // RFC 9449 §7.1: the proof first (its jti is spent even if the token then fails).
    let proof = if with_proof {
        let path = req.original_uri().path();
        let checked = dpop::check(&app.oidc, req, path, Some(token), dpop::At::Resource).await?;
        Some(checked.ok_or_else(|| dpop::refusal(&app.oidc, &dpop::DpopError::Required, dpop::At::Resource, Utc::now()))?)
    } else {
        None
    };
    let invalid = "a live access token of the cabinet is required";
    let found = app.store.find_token(&token_hash(token), Some(TokenKind::Access)).await.map_err(OAuthError::from)?;
    let found = found.filter(|f| f.kind == TokenKind::Access && f.is_live(Utc::now()) && f.client_id == CABINET_CLIENT_ID);
    let found = found.ok_or_else(|| if with_proof { OAuthError::dpop_resource_error(ErrorCode::InvalidToken, invalid, None) } else { bearer(invalid) })?;
    dpop::resource_binding(&app.oidc, found.dpop_jkt.as_deref(), proof.as_ref())?;
    app.store.citizen(&found.citizen_id).await.map_err(OAuthError::from)?.ok_or_else(|| bearer(invalid))
}

/// The one error form.
#[derive(Object)]
struct ErrorBody {
    /// `bad_request`, `unauthorized`, `not_found`, `too_many_requests`,
    /// `registry_unavailable`, `server_error`, …
    error: String,
    message: String,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
enum ApiError {
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// `Bearer` or `DPoP` challenge with the error (RFC 6750 §3, RFC 9449 §7.1).
        #[oai(header = "WWW-Authenticate")]
        Option<String>,
        /// A fresh server nonce when one is required (RFC 9449 §9).
        #[oai(header = "DPoP-Nonce")]
        Option<String>,
    ),
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
    #[oai(status = 500)]
    Server(Json<ErrorBody>),
}

fn bad_request(e: poem::Error) -> ApiError {
    if e.status().is_server_error() {
        return ApiError::Server(body("server_error", "internal error; it has been logged"));
    }
    if e.status().as_u16() == 401 {
        return match e.downcast::<Refused>() {
            Ok(r) => ApiError::Unauthorized(body("unauthorized", &r.message), Some(r.www_authenticate.unwrap_or_else(default_challenge)), r.dpop_nonce),
            Err(_) => ApiError::Unauthorized(body("unauthorized", "a live access token of the cabinet is required"), Some(default_challenge()), None),
        };
    }
    ApiError::BadRequest(body("bad_request", &e.to_string()))
}

fn body(error: &str, message: &str) -> Json<ErrorBody> {
    Json(ErrorBody { error: error.into(), message: message.into() })
}

fn not_found() -> ApiError {
    ApiError::NotFound(body("not_found", "no such item of yours"))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "cabinet API: database unavailable");
            return ApiError::Unavailable(body("temporarily_unavailable", "the service cannot reach its database; try again shortly"));
        }
        tracing::error!(error = %e, "cabinet API storage");
        ApiError::Server(body("server_error", "internal error; it has been logged"))
    }
}

impl From<DocumentError> for ApiError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::NoDocument => not_found(),
            DocumentError::Store(e) => e.into(),
            e => {
                tracing::warn!(error = %e, "cabinet API documents");
                ApiError::Unavailable(body("registry_unavailable", "the registry is unavailable; try again later"))
            }
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(Object)]
struct ConsentOut {
    client_id: String,
    organisation: String,
    system: String,
    logo_uri: Option<String>,
    /// The consented scopes (and those of the live grants).
    scopes: Vec<String>,
    granted_at: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
}

#[derive(Object)]
struct Done {
    done: bool,
}

#[derive(Object)]
struct EntryOut {
    at: DateTime<Utc>,
    /// `release`, `attempt` or `document_view`.
    kind: String,
    client_id: Option<String>,
    party: Option<String>,
    grant_id: Option<String>,
    /// `id_token`, `userinfo` or `refresh` (releases).
    channel: Option<String>,
    claims: Vec<String>,
    /// The journal step (attempts) or the document (document views).
    step: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
}

#[derive(Object)]
struct HistoryOut {
    page: u64,
    page_size: u64,
    /// Whether an older page exists.
    more: bool,
    entries: Vec<EntryOut>,
}

#[derive(Object)]
struct BiometricsOut {
    consent_version: Option<String>,
    consent_accepted_at: Option<DateTime<Utc>>,
    template_formed_at: Option<DateTime<Utc>>,
}

#[derive(Object)]
struct WithdrawOut {
    /// Whether a biometric consent was in force.
    had_consent: bool,
}

#[derive(Object)]
struct ShareOut {
    id: String,
    document: String,
    /// `active`, `redeemed`, `revoked` or `expired`.
    state: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    viewed_at: Option<DateTime<Utc>>,
    viewed_by: Option<String>,
}

#[derive(Object)]
struct DocumentsOut {
    /// The documents the registry holds for the citizen.
    available: Vec<String>,
    shares: Vec<ShareOut>,
}

#[derive(Object)]
struct OpenIn {
    /// `identity_card`.
    document: String,
}

#[derive(Object)]
struct OpenedOut {
    share_id: String,
    /// The short code (8 digits), shown once.
    code: String,
    expires_at: DateTime<Utc>,
    /// The verifier page's address with the code: what the QR code holds.
    verify_url: String,
    /// The QR code as SVG.
    qr_svg: String,
}

struct CabinetApi;

fn share_out(s: crate::store::documents::DocumentShare, now: DateTime<Utc>) -> ShareOut {
    ShareOut {
        state: s.state(now).as_str().into(),
        id: s.id,
        document: s.document,
        created_at: s.created_at,
        expires_at: s.expires_at,
        viewed_at: s.redeemed_at,
        viewed_by: s.redeemed_by_name,
    }
}

#[OpenApi]
impl CabinetApi {
    /// The relying parties holding the citizen's consent.
    #[oai(path = "/consents", method = "get")]
    async fn consents(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken) -> ApiResult<Vec<ConsentOut>> {
        let cabinet: ClientId = CABINET_CLIENT_ID.parse().map_err(crate::store::StoreError::from)?;
        let held = app.store.held_consents(&auth.citizen().id, &cabinet).await?;
        Ok(Json(
            held.into_iter()
                .map(|h| ConsentOut {
                    client_id: h.client.id.to_string(),
                    organisation: h.client.organisation_name.clone(),
                    system: h.client.system_name.clone(),
                    logo_uri: h.client.logo_uri.clone(),
                    scopes: h.scopes.0.iter().map(|s| s.as_str().to_string()).collect(),
                    granted_at: h.granted_at,
                    last_used: h.last_used,
                })
                .collect(),
        ))
    }

    /// Revokes everything given to one relying party: its tokens stop working
    /// at once, it is told (back-channel logout), the next sign-in asks again.
    #[oai(path = "/consents/:client_id", method = "delete")]
    async fn revoke_consent(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken, client_id: Path<String>) -> ApiResult<Done> {
        let client: ClientId = client_id.0.parse().map_err(|_| not_found())?;
        if !revoke_consent(&app, auth.citizen(), &client).await? {
            return Err(not_found());
        }
        Ok(Json(Done { done: true }))
    }

    /// The access history, newest first: releases, journal records, document views.
    #[oai(path = "/history", method = "get")]
    async fn history(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken, page: Query<Option<u64>>) -> ApiResult<HistoryOut> {
        let page = page.0.unwrap_or(0).min(MAX_PAGE);
        let all = entries(&app, auth.citizen(), (page + 1) * PAGE_SIZE + 1).await?;
        let more = all.len() as u64 > (page + 1) * PAGE_SIZE;
        let entries = all
            .into_iter()
            .skip((page * PAGE_SIZE) as usize)
            .take(PAGE_SIZE as usize)
            .map(|e| EntryOut {
                at: e.at,
                kind: e.kind.into(),
                client_id: e.client_id,
                party: e.party,
                grant_id: e.grant_id,
                channel: e.channel.map(|c| c.as_str().into()),
                claims: e.claims,
                step: e.step,
                outcome: e.outcome,
                reason: e.reason,
            })
            .collect();
        Ok(Json(HistoryOut { page, page_size: PAGE_SIZE, more, entries }))
    }

    /// The biometric data held for the citizen.
    #[oai(path = "/biometrics", method = "get")]
    async fn biometrics(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken) -> ApiResult<BiometricsOut> {
        let h = app.store.biometric_holding(&auth.citizen().id).await?;
        Ok(Json(BiometricsOut { consent_version: h.consent_version, consent_accepted_at: h.consent_accepted_at, template_formed_at: h.template_formed_at }))
    }

    /// Withdraws biometric consent: template and key destroyed, every
    /// session ended (this token's online grant too).
    #[oai(path = "/biometrics/withdraw", method = "post")]
    async fn withdraw(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken) -> ApiResult<WithdrawOut> {
        let had = super::withdraw_biometrics(&app.store, &app.journal, auth.citizen(), "citizen (cabinet API)").await?;
        Ok(Json(WithdrawOut { had_consent: had }))
    }

    /// The documents the registry holds and the accesses opened to them.
    #[oai(path = "/documents", method = "get")]
    async fn documents(&self, app: poem::web::Data<&Arc<CabinetState>>, docs: poem::web::Data<&Arc<Documents>>, auth: CabinetToken) -> ApiResult<DocumentsOut> {
        let available = docs.available(auth.citizen()).await?.into_iter().map(|k| k.as_str().to_string()).collect();
        let now = Utc::now();
        let shares = app.store.document_shares(&auth.citizen().id, 50).await?.into_iter().map(|s| share_out(s, now)).collect();
        Ok(Json(DocumentsOut { available, shares }))
    }

    /// Opens access to a document: a short code and its QR code, shown once.
    #[oai(path = "/documents", method = "post")]
    async fn open(
        &self,
        app: poem::web::Data<&Arc<CabinetState>>,
        docs: poem::web::Data<&Arc<Documents>>,
        auth: CabinetToken,
        body: Json<OpenIn>,
    ) -> ApiResult<OpenedOut> {
        let kind = DocumentKind::parse(&body.0.document).ok_or_else(|| ApiError::BadRequest(self::body("bad_request", "unknown document")))?;
        let (share, code) = docs.open(&app, auth.citizen(), kind).await?;
        let verify_url = super::documents::verify_url(&app, &code);
        Ok(Json(OpenedOut {
            share_id: share.id,
            code: code.as_str().into(),
            expires_at: share.expires_at,
            qr_svg: super::documents::qr_svg(&verify_url),
            verify_url,
        }))
    }

    /// Revokes an access before it is used.
    #[oai(path = "/documents/:id", method = "delete")]
    async fn revoke_share(&self, app: poem::web::Data<&Arc<CabinetState>>, auth: CabinetToken, id: Path<String>) -> ApiResult<Done> {
        if !app.store.revoke_document_share(&auth.citizen().id, &id.0, Utc::now()).await? {
            return Err(not_found());
        }
        Ok(Json(Done { done: true }))
    }
}
