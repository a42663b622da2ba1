//! The browser forms the provider reads with poem's `Form` extractor, which
//! deserialises an `application/x-www-form-urlencoded` body with
//! `serde_urlencoded`: their types live here so that a fuzz target
//! deserialises exactly them ([`urlencoded`] is the same call).
use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Deserialize};

/// A form that carries only its CSRF token (sign-out, cancel, withdraw, revoke…).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// The IIN a citizen types before the camera (`/login/{id}`).
#[derive(Debug, Deserialize)]
pub struct IinForm {
    pub csrf: String,
    pub iin: String,
}

/// A consent decision (`allow` or `deny`): OIDC consent and biometric consent.
#[derive(Debug, Deserialize)]
pub struct ConsentForm {
    pub csrf: String,
    pub decision: String,
}

/// The cabinet's opening of a shared document.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    pub csrf: String,
    pub document: String,
}

/// The cabinet's document verifier: a share code.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    pub csrf: String,
    pub code: String,
}

/// An operator's command on an application in the console.
#[derive(Debug, Deserialize)]
pub struct ConsoleActForm {
    pub csrf: String,
    pub command: String,
    pub reason: Option<String>,
    pub result: Option<String>,
    pub note: Option<String>,
}

/// An initiator's report of a test sign-in (`positive` or `negative`, with a note).
#[derive(Debug, Deserialize)]
pub struct TestForm {
    pub csrf: String,
    pub result: String,
    pub note: String,
}

/// The forms read as a map (the act's and the approval's fields).
pub type FieldMap = BTreeMap<String, String>;

/// What poem's `Form<T>` does with a body.
pub fn urlencoded<T: DeserializeOwned>(raw: &[u8]) -> Result<T, serde_urlencoded::de::Error> {
    serde_urlencoded::from_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_deserialise_and_refuse_what_is_missing() {
        let f: IinForm = urlencoded(b"csrf=t&iin=900101300123").unwrap();
        assert_eq!((f.csrf.as_str(), f.iin.as_str()), ("t", "900101300123"));
        assert!(urlencoded::<IinForm>(b"csrf=t").is_err(), "iin is required");
        let f: ConsoleActForm = urlencoded(b"csrf=t&command=approve").unwrap();
        assert!(f.reason.is_none() && f.note.is_none());
        assert!(urlencoded::<CsrfForm>(b"csrf=a&csrf=b").is_err(), "a field of a struct given twice is refused");
        let m: FieldMap = urlencoded(b"a=1&b=%FF").unwrap();
        assert_eq!(m["b"], "\u{FFFD}");
    }
}

/// A browser form that carries its page's CSRF token (checked by the handler's extractor).
pub trait CsrfBound {
    fn csrf(&self) -> &str;
}

macro_rules! csrf_bound {
    ($($t:ty),*) => { $(impl CsrfBound for $t { fn csrf(&self) -> &str { &self.csrf } })* };
}
csrf_bound!(CsrfForm, IinForm, ConsentForm, OpenForm, CodeForm, ConsoleActForm, TestForm);

/// A form of free fields (the act's and the approval's) carries its token as `csrf`.
impl CsrfBound for std::collections::BTreeMap<String, String> {
    fn csrf(&self) -> &str {
        self.get("csrf").map_or("", String::as_str)
    }
}
