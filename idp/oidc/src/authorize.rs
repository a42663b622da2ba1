//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636,
//! RFC 9207) and the resumption of a request after login or consent.
use std::sync::Arc;

use crate::errors::ErrorCode;
use chrono::{Duration, Utc};
use poem::{
    handler,
    http::{Method, StatusCode},
    web::{cookie::CookieJar, Data, Path},
    Body, Request, Response,
};
use serde::{Deserialize, Serialize};
use tanu_core::pkce::{PkceChallenge, PkceError};

use super::errors::Params;
use crate::{
    crypto::{random_token, token_hash},
    domain::{ClientId, Environment, Scope, ScopeSet},
    i18n::{Lang, Msg},
    interaction::{self, Interaction},
    store::{
        grants::{NewCode, NewGrant},
        Client,
    },
    web::error_page,
    OidcState,
};

/// Which of `prompt`'s values were asked for (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    fn parse(s: Option<&str>) -> Result<Self, &'static str> {
        let mut p = Prompt::default();
        for v in s.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                // One account per citizen: choosing an account is the same as logging in.
                "select_account" => p.login = true,
                _ => return Err("prompt has an unknown value"),
            }
        }
        if p.none && (p.login || p.consent) {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(p)
    }
}

/// A validated authorization request, kept while the citizen logs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: ClientId,
    /// Exactly as registered and presented.
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 challenge in its stored form (`tanu_core::pkce`).
    pub pkce: String,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub acr_values: Vec<String>,
    pub lang: Lang,
    #[serde(default)]
    pub consent_given: bool,
    /// RFC 9449 §10: the DPoP key thumbprint the code is bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The client's environment, fixed here for the whole sign-in: which
    /// registry, reference templates, browser session and pairwise key it
    /// uses (Rules §14). A request stored without one is a sandbox one, the
    /// environment that reaches no real citizen.
    #[serde(default = "sandbox")]
    pub environment: Environment,
}

fn sandbox() -> Environment {
    Environment::Sandbox
}

impl AuthorizationRequest {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse_lenient(&self.scope)
    }
}

/// Where an error goes back to: a client and redirect URI already checked.
pub struct Back<'a> {
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
    pub issuer: &'a str,
}

impl Back<'_> {
    /// `redirect_uri` plus parameters; the registered string is kept as is and
    /// the parameters are appended (RFC 6749 §3.1.2 keeps its query).
    pub fn redirect(&self, params: &[(&str, &str)]) -> Response {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(s) = self.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", self.issuer);
        let sep = if self.redirect_uri.contains('?') { '&' } else { '?' };
        let location = format!("{}{}{}", self.redirect_uri, sep, q.finish());
        crate::web::see_other(location)
    }

    pub fn error(&self, error: ErrorCode, description: &str) -> Response {
        self.redirect(&[("error", error.as_str()), ("error_description", description)])
    }
}

#[handler]
pub async fn authorize(req: &Request, body: Body, cookies: &CookieJar, Data(app): Data<&Arc<OidcState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    if app.limiter.check(super::client_ip(req)).is_err() {
        return error_page(StatusCode::TOO_MANY_REQUESTS, lang, Msg::error_rate_limited, None);
    }
    let raw = if req.method() == Method::POST {
        match body.into_bytes_limit(16 * 1024).await {
            Ok(b) => b.to_vec(),
            Err(_) => return error_page(StatusCode::PAYLOAD_TOO_LARGE, lang, Msg::error_bad_request, None),
        }
    } else {
        req.uri().query().unwrap_or("").as_bytes().to_vec()
    };
    let params = Params::parse(&raw);
    // RFC 9126 §4: a request_uri from /par stands for the pushed parameters,
    // and only those. Any other request_uri (JAR by reference) is refused by `validate`.
    let (params, pushed) = match params.get("request_uri").filter(|u| u.starts_with(crate::store::par::REQUEST_URI_PREFIX)) {
        Some(uri) => match super::par::pushed_params(app, &params, uri, lang).await {
            Ok(p) => (p, true),
            Err(page) => return page,
        },
        None => (params, false),
    };
    let lang = Lang::negotiate(params.get("ui_locales"), req.header("accept-language"));

    // Until client and redirect URI are known good, errors stay on our page (RFC 6749 §4.1.2.1).
    let client = match params.get("client_id").map(str::parse::<ClientId>) {
        Some(Ok(id)) => match app.store.client(&id).await {
            Ok(Some(c)) if !c.disabled => c,
            Ok(_) => return error_page(StatusCode::BAD_REQUEST, lang, Msg::error_unknown_client, None),
            Err(e) => return server_error_page(lang, e),
        },
        _ => return error_page(StatusCode::BAD_REQUEST, lang, Msg::error_unknown_client, Some("client_id".into())),
    };
    let Some(redirect_uri) = params.get("redirect_uri").and_then(|r| client.redirect_uri(r)).map(|r| r.as_str().to_string()) else {
        return error_page(StatusCode::BAD_REQUEST, lang, Msg::error_redirect_uri, Some("redirect_uri".into()));
    };
    let state = params.get("state").map(str::to_string);
    let back = Back { redirect_uri: &redirect_uri, state: state.as_deref(), issuer: &app.config.issuer };
    // RFC 9126 §6 per client (a `fapi2` client always: FAPI 2.0 SP §5.3.2.2) or provider-wide.
    if (client.requires_par() || app.config.require_pushed_authorization_requests) && !pushed {
        return back.error(ErrorCode::InvalidRequest, "this client must push its authorization requests to the pushed_authorization_request_endpoint");
    }

    match validate(&params, &client, redirect_uri.clone(), lang) {
        Ok(request) => proceed(app, cookies, request, None).await,
        Err((error, description)) => back.error(error, description),
    }
}

type Refusal = (ErrorCode, &'static str);

pub(super) fn validate(params: &Params, client: &Client, redirect_uri: String, lang: Lang) -> Result<AuthorizationRequest, Refusal> {
    if let Err(e) = params.check() {
        return Err((
            ErrorCode::InvalidRequest,
            match e {
                super::errors::ParamError::Repeated(_) => "a parameter is repeated",
                super::errors::ParamError::TooLong(_) => "a parameter is too long",
                super::errors::ParamError::TooMany => "too many parameters",
            },
        ));
    }
    if params.get("request").is_some() {
        return Err((ErrorCode::RequestNotSupported, "request objects are not supported"));
    }
    if params.get("request_uri").is_some() {
        return Err((ErrorCode::RequestUriNotSupported, "request_uri is not supported"));
    }
    match params.get("response_type") {
        None => return Err((ErrorCode::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => return Err((ErrorCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err((ErrorCode::InvalidRequest, "only response_mode=query is supported"));
    }
    let scopes = ScopeSet::parse_lenient(params.get("scope").unwrap_or(""));
    if !scopes.contains(Scope::Openid) {
        return Err((ErrorCode::InvalidScope, "scope must include openid"));
    }
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    if challenge.is_none() {
        return Err((ErrorCode::InvalidRequest, "PKCE is required: code_challenge with code_challenge_method=S256"));
    }
    let pkce = match PkceChallenge::parse(method, challenge.unwrap_or_default()) {
        Ok(c) => c.stored(),
        Err(PkceError::Method) => return Err((ErrorCode::InvalidRequest, "code_challenge_method must be S256")),
        // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is exactly 43 characters.
        Err(PkceError::Challenge) => return Err((ErrorCode::InvalidRequest, "code_challenge is not a S256 challenge")),
    };
    let prompt = Prompt::parse(params.get("prompt")).map_err(|d| (ErrorCode::InvalidRequest, d))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| (ErrorCode::InvalidRequest, "max_age must be a whole number of seconds"))? as i64),
    };
    let _ = client;
    let dpop_jkt = match params.get("dpop_jkt") {
        None => None,
        Some(j) => Some(super::dpop::Jkt::parse(j).ok_or((ErrorCode::InvalidRequest, "dpop_jkt is not a JWK SHA-256 thumbprint"))?.to_string()),
    };
    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri,
        scope: scopes.to_string(),
        state: params.get("state").map(str::to_string),
        nonce: params.get("nonce").map(str::to_string),
        pkce,
        prompt,
        max_age,
        acr_values: params.get("acr_values").map(|a| a.split(' ').map(str::to_string).collect()).unwrap_or_default(),
        lang,
        consent_given: false,
        dpop_jkt,
        environment: client.environment,
    })
}

fn server_error_page(lang: Lang, e: crate::store::StoreError) -> Response {
    crate::web::store_failure_page(lang, &e, "authorization endpoint")
}

/// After login or consent: the browser comes back here to finish the request.
#[handler]
pub async fn resume(Path(id): Path<String>, cookies: &CookieJar, req: &Request, Data(app): Data<&Arc<OidcState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    match interaction::pending(app, &id, cookies).await {
        Ok(i) => {
            let request = i.request.clone();
            proceed(app, cookies, request, Some(i)).await
        }
        Err(e) => e.page(lang),
    }
}

/// Decides what the request still needs (login, consent) and, when nothing,
/// issues the code.
pub async fn proceed(app: &OidcState, cookies: &CookieJar, request: AuthorizationRequest, pending: Option<Interaction>) -> Response {
    let back = Back { redirect_uri: &request.redirect_uri, state: request.state.as_deref(), issuer: &app.config.issuer };
    // Only a session of the request's environment counts: a production
    // session never answers a sandbox client, nor the reverse.
    let session = match interaction::current_session(app, cookies, request.environment).await {
        Ok(s) => s,
        Err(e) => return server_error_page(request.lang, e),
    };
    let fresh = matches!((&session, &pending), (Some(s), Some(i)) if i.authenticated_session_id.as_deref() == Some(s.id.as_str()));
    let now = Utc::now();
    let needs_login = match &session {
        None => true,
        Some(_) if fresh => false,
        Some(s) => request.prompt.login || request.max_age.is_some_and(|m| now - s.auth_time > Duration::seconds(m)),
    };
    if needs_login {
        if request.prompt.none {
            return back.error(ErrorCode::LoginRequired, "the citizen is not signed in");
        }
        return interaction::start_login(app, cookies, request, pending).await;
    }
    let Some(session) = session else { return interaction::start_login(app, cookies, request, pending).await };
    let client = match app.store.client(&request.client_id).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => return back.error(ErrorCode::UnauthorizedClient, "the client has been disabled"),
        Err(e) => return server_error_page(request.lang, e),
    };
    let wanted = request.scopes().needing_consent();
    let consented = match app.store.consented_scopes(&session.citizen_id, &client.id).await {
        Ok(c) => c,
        Err(e) => return server_error_page(request.lang, e),
    };
    let needs_consent = (!wanted.0.is_empty() && !wanted.is_subset(&consented)) || (request.prompt.consent && !request.consent_given);
    if needs_consent {
        if request.prompt.none {
            return back.error(ErrorCode::ConsentRequired, "the citizen has not consented to the requested scopes");
        }
        return interaction::start_consent(app, cookies, request, pending).await;
    }
    // A pending interaction yields one code: claimed atomically before the
    // code exists, so that parallel resumes cannot each issue one.
    if let Some(i) = pending {
        match interaction::claim(app, &i.id).await {
            Ok(true) => {}
            Ok(false) => return interaction::InteractionError::Gone.page(request.lang),
            Err(e) => return server_error_page(request.lang, e),
        }
    }
    match issue_code(app, &request, &session, client.profile.authorization_code_ttl(app.config.authorization_code_ttl)).await {
        Ok(code) => back.redirect(&[("code", &code)]),
        Err(e) => server_error_page(request.lang, e),
    }
}

async fn issue_code(
    app: &OidcState,
    request: &AuthorizationRequest,
    session: &crate::store::sessions::BrowserSession,
    ttl_secs: u64,
) -> Result<String, crate::store::StoreError> {
    let now = app.clock.now();
    let code = random_token(32);
    let grant = NewGrant {
        client_id: &request.client_id,
        citizen_id: &session.citizen_id,
        session_id: &session.id,
        scope: &request.scope,
        auth_time: session.auth_time,
        acr: &session.acr,
        amr_json: &session.amr_json,
    };
    let new_code = NewCode {
        code_hash: token_hash(&code),
        redirect_uri: &request.redirect_uri,
        pkce_challenge: &request.pkce,
        nonce: request.nonce.as_deref(),
        dpop_jkt: request.dpop_jkt.as_deref(),
        expires_at: now + Duration::seconds(ttl_secs as i64),
    };
    app.store.issue_grant_with_code(grant, new_code, now).await?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(Prompt::parse(Some("login consent")).unwrap(), Prompt { none: false, login: true, consent: true });
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("bogus")).is_err());
        assert_eq!(Prompt::parse(None).unwrap(), Prompt::default());
    }

    #[test]
    fn back_keeps_the_registered_query_and_adds_iss() {
        let b = Back { redirect_uri: "https://rp.kz/cb?x=1", state: Some("s t"), issuer: "https://id.kz" };
        let r = b.error(ErrorCode::AccessDenied, "no");
        let loc = r.headers().get("location").unwrap().to_str().unwrap();
        assert_eq!(loc, "https://rp.kz/cb?x=1&error=access_denied&error_description=no&state=s+t&iss=https%3A%2F%2Fid.kz");
    }
}
