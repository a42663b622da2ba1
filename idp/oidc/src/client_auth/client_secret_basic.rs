//! `client_secret_basic` (RFC 6749 §2.3.1): the client's id and secret in
//! the `Authorization: Basic` header, each form-urlencoded. The secret is
//! then checked as `client_secret_post`'s is ([`super::client_secret`]).
use base64::{engine::general_purpose::STANDARD, Engine};
use poem::Request;

/// RFC 6749 §2.3.1: id and secret are form-urlencoded inside the Basic credentials.
pub(super) fn credentials(req: &Request) -> Option<Result<(String, String), ()>> {
    let h = req.header("authorization")?;
    let b64 = h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic "))?;
    Some((|| {
        let decoded = String::from_utf8(STANDARD.decode(b64.trim()).map_err(|_| ())?).map_err(|_| ())?;
        let (id, secret) = decoded.split_once(':').ok_or(())?;
        let dec = |s: &str| -> Result<String, ()> { Ok(url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().ok_or(())?.1.into_owned()) };
        Ok((dec(id)?, dec(secret)?))
    })())
}
