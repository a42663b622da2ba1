//! What every page shares (askama templates in `templates/`): the
//! `page!` declaration, the one redirect, the error page, the content
//! security policy. Each area declares its own pages with `page!`.
use askama::Template;
use poem::{http::StatusCode, IntoResponse, Response};

use tanu_store::Client;

use crate::i18n::{Lang, Msg};

/// The one redirect after a form or a step: 303 See Other, never cached.
pub fn see_other(location: impl AsRef<str>) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header("Location", location.as_ref()).header("Cache-Control", "no-store").finish()
}

/// What a page shows of a relying party (Rules, Appendix 1).
pub struct RelyingPartyView {
    pub organisation_name: String,
    pub system_name: String,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

impl From<&Client> for RelyingPartyView {
    fn from(c: &Client) -> Self {
        Self {
            organisation_name: c.organisation_name.clone(),
            system_name: c.system_name.clone(),
            logo_uri: c.logo_uri.clone(),
            policy_uri: c.policy_uri.clone(),
            tos_uri: c.tos_uri.clone(),
        }
    }
}

/// Declares a page: its template under `templates/` (the declaring crate's
/// `askama.toml`), its language and fields, and `t` for its texts.
#[macro_export]
macro_rules! page {
    ($name:ident, $file:literal { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(::askama::Template)]
        #[template(path = $file)]
        pub struct $name { pub lang: $crate::i18n::Lang, $(pub $field: $ty),* }
        impl $name {
            fn t<M: $crate::web::AsMsg>(&self, m: M) -> &'static str { m.as_msg().text(self.lang) }
        }
    };
}

pub use crate::page;

/// A message, however many references deep a template holds it.
pub trait AsMsg {
    fn as_msg(&self) -> Msg;
}
impl AsMsg for Msg {
    fn as_msg(&self) -> Msg {
        *self
    }
}
impl<T: AsMsg + ?Sized> AsMsg for &T {
    fn as_msg(&self) -> Msg {
        (**self).as_msg()
    }
}

page!(ErrorPage, "error.html" { message: Msg, detail: Option<String> });

/// The pages' policy: forms post only to us (`form-action`, widened by
/// [`allow_form_target`] to the relying party a page's form leads back to),
/// no `<base>` may redirect relative URLs, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Lets the page's forms end at `uri`'s origin: a form submission that is
/// redirected (consent → the relying party's redirect URI) is checked
/// against `form-action` at every hop by browsers.
pub fn allow_form_target(resp: &mut Response, uri: &str) {
    let Ok(url) = url::Url::parse(uri) else { return };
    let source = match url.origin() {
        o @ url::Origin::Tuple(..) => o.ascii_serialization(),
        url::Origin::Opaque(_) => format!("{}:", url.scheme()),
    };
    let Some(csp) = resp.headers().get("content-security-policy").and_then(|v| v.to_str().ok()) else { return };
    if !source.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'\'') {
        return;
    }
    let widened = csp.replacen("form-action 'self'", &format!("form-action 'self' {source}"), 1);
    if let Ok(v) = widened.parse() {
        resp.headers_mut().insert("content-security-policy", v);
    }
}

/// Renders a page with a status. Pages never cache: they carry per-session data.
pub fn html(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            poem::web::Html(body).with_status(status).with_header("Cache-Control", "no-store").with_header("Content-Security-Policy", CSP).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub fn error_page(status: StatusCode, lang: Lang, message: Msg, detail: Option<String>) -> Response {
    html(status, ErrorPage { lang, message, detail })
}

/// The page for a storage failure, logged: 503 "try again in a minute" when
/// the database cannot serve for now (unreachable, restarting, disk full:
/// `StoreError::is_unavailable`), else 500.
pub fn store_failure_page(lang: Lang, e: &tanu_store::StoreError, what: &str) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, what, "database unavailable");
        return error_page(StatusCode::SERVICE_UNAVAILABLE, lang, Msg::error_unavailable, None);
    }
    tracing::error!(error = %e, what, "storage");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, lang, Msg::error_title, None)
}

/// How this deployment's cookies are set: `HttpOnly`, `SameSite=Lax`, for
/// the whole host; under an https issuer `Secure` with the `__Host-` prefix,
/// so that the browser accepts them only from this host (no subdomain can
/// set or shadow them).
#[derive(Debug, Clone, Copy)]
pub struct Cookies {
    pub secure: bool,
}

impl Cookies {
    /// A cookie's name as set.
    pub fn name(&self, name: &str) -> String {
        if self.secure {
            format!("__Host-{name}")
        } else {
            name.to_string()
        }
    }

    /// The value of one of our cookies, by its unprefixed name.
    pub fn value(&self, jar: &poem::web::cookie::CookieJar, name: &str) -> Option<String> {
        jar.get(&self.name(name)).map(|c| c.value_str().to_string())
    }

    /// One of our cookies; `max_age` in seconds (0 removes it), none: for the session.
    pub fn make(&self, name: &str, value: &str, max_age: Option<i64>) -> poem::web::cookie::Cookie {
        let mut c = poem::web::cookie::Cookie::new_with_str(self.name(name), value);
        c.set_http_only(true);
        c.set_same_site(poem::web::cookie::SameSite::Lax);
        c.set_path("/");
        c.set_secure(self.secure);
        if let Some(s) = max_age {
            c.set_max_age(std::time::Duration::from_secs(s.max(0) as u64));
        }
        c
    }
}

/// The client's address, for rate limits: as resolved once for the request
/// by `edge::guard` (trusted proxies honoured); the socket's peer otherwise.
pub fn client_ip(req: &poem::Request) -> Option<std::net::IpAddr> {
    match req.extensions().get::<ClientAddress>() {
        Some(ClientAddress(a)) => *a,
        None => req.remote_addr().as_socket_addr().map(|a| a.ip()),
    }
}

/// The client's address as resolved once for the request (by the edge
/// guard of the composition root, trusted proxies honoured), in its extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);
