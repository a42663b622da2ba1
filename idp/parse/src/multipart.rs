//! `multipart/form-data` uploads of the onboarding portal and console (the
//! application with its logo, the signed act, the signed approval), read
//! with `multer` (what poem's `Multipart` wraps) over any byte stream: the
//! request body in the server, a slice in a fuzz target. Every part is
//! bounded while it is read: the parts together never hold more than
//! [`Limits::parts`] bytes, the raw stream is cut at [`Limits::stream`]
//! bytes, and there are at most [`Limits::count`] parts.
use std::collections::BTreeMap;

use bytes::Bytes;
use futures_util::stream::Stream;

/// The bounds of one upload.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The raw body, headers and boundaries included.
    pub stream: u64,
    /// The bodies of all parts together.
    pub parts: usize,
    /// How many parts.
    pub count: usize,
}

impl Limits {
    /// The portal's bounds for an upload budget of `bytes`: the edge already
    /// cuts the raw body at that budget; the parts share it.
    pub fn upload(bytes: usize) -> Self {
        Limits { stream: bytes as u64, parts: bytes, count: MAX_PARTS }
    }
}

/// More parts than any of the portal's forms has (the application has 13).
pub const MAX_PARTS: usize = 32;

/// One part: its name (empty when it has none) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultipartError {
    #[error("the body is not multipart/form-data with a boundary")]
    NotMultipart,
    #[error("the upload is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the upload has more than {0} parts")]
    TooMany(usize),
    #[error("the multipart body is malformed")]
    Malformed,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: Option<&str>) -> Result<String, MultipartError> {
    multer::parse_boundary(content_type.ok_or(MultipartError::NotMultipart)?).map_err(|_| MultipartError::NotMultipart)
}

/// Every part of the body, in order, bounded by `limits` while it is read:
/// a part is refused before a chunk that would take the parts past
/// [`Limits::parts`] is kept. A body that does not end with its closing
/// boundary is malformed.
pub async fn read_parts<S, O, E>(stream: S, boundary: String, limits: Limits) -> Result<Vec<Part>, MultipartError>
where
    S: Stream<Item = Result<O, E>> + Send + 'static,
    O: Into<Bytes> + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limits.stream).per_field(limits.parts as u64));
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let too_large = |e: &multer::Error| matches!(e, multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. });
    let mut parts = Vec::new();
    let mut total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Err(MultipartError::TooLarge(limits.parts)),
            Err(_) => return Err(MultipartError::Malformed),
        };
        if parts.len() == limits.count {
            return Err(MultipartError::TooMany(limits.count));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if total + bytes.len() + chunk.len() > limits.parts {
                        return Err(MultipartError::TooLarge(limits.parts));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if too_large(&e) => return Err(MultipartError::TooLarge(limits.parts)),
                Err(_) => return Err(MultipartError::Malformed),
            }
        }
        total += bytes.len();
        parts.push(Part { name, bytes });
    }
    Ok(parts)
}

/// The portal's application form: its text fields among `known` (others
/// are dropped), the logo, the CSRF token and the application it follows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplicationUpload {
    pub fields: BTreeMap<String, String>,
    pub logo: Option<Vec<u8>>,
    pub csrf: String,
    pub previous: Option<String>,
}

/// The parts of an application form, read as the portal reads them (the
/// last of a repeated part wins; text is read as UTF-8, lossily).
pub fn application(parts: Vec<Part>, known: &[&str]) -> ApplicationUpload {
    let mut form = ApplicationUpload::default();
    for Part { name, bytes } in parts {
        match name.as_str() {
            "logo" => form.logo = Some(bytes),
            "csrf" => form.csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "previous" => form.previous = Some(String::from_utf8_lossy(&bytes).into_owned()).filter(|s| !s.is_empty()),
            n if known.contains(&n) => {
                form.fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    form
}

/// A signed document's form (the act, the approval): its fields and the
/// detached signature.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SignedUpload {
    pub fields: BTreeMap<String, String>,
    pub signature: Vec<u8>,
}

/// The parts of a signed document's form: `signature` is the signature,
/// every other part a field.
pub fn signed(parts: Vec<Part>) -> SignedUpload {
    let mut form = SignedUpload::default();
    for Part { name, bytes } in parts {
        if name == "signature" {
            form.signature = bytes;
        } else {
            form.fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, bytes) in parts {
            b.extend_from_slice(format!("--XB\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
            b.extend_from_slice(bytes);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XB--\r\n");
        b
    }

    fn read(body: Vec<u8>, chunk: usize, limits: Limits) -> Result<Vec<Part>, MultipartError> {
        let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> = body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        block_on(read_parts(futures_util::stream::iter(chunks), "XB".into(), limits))
    }

    #[test]
    fn parts_are_read_whatever_the_chunking() {
        let b = body(&[("csrf", b"t"), ("signature", b"\x00\x01--XB\r"), ("act_number", "№ 1".as_bytes())]);
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let parts = read(b.clone(), chunk, Limits::upload(1024)).unwrap();
            let s = signed(parts);
            assert_eq!(s.signature, b"\x00\x01--XB\r", "chunks of {chunk}");
            assert_eq!(s.fields["csrf"], "t");
            assert_eq!(s.fields["act_number"], "№ 1");
        }
    }

    /// The attack: one part far larger than the budget. It is refused once
    /// the budget is passed, and never held whole.
    #[test]
    fn a_part_over_the_budget_is_refused_while_read() {
        let b = body(&[("csrf", b"t"), ("logo", &vec![b'x'; 10_000])]);
        assert_eq!(read(b.clone(), 100, Limits { stream: 1 << 20, parts: 5_000, count: 8 }), Err(MultipartError::TooLarge(5_000)));
        // The raw stream's own bound, whatever the parts.
        assert_eq!(read(b, 100, Limits { stream: 2_000, parts: 1 << 20, count: 8 }), Err(MultipartError::TooLarge(1 << 20)));
    }

    #[test]
    fn many_parts_truncation_and_foreign_types_are_refused() {
        let many: Vec<(&str, &[u8])> = (0..MAX_PARTS + 1).map(|_| ("x", &b""[..])).collect();
        assert_eq!(read(body(&many), 4096, Limits::upload(1 << 20)), Err(MultipartError::TooMany(MAX_PARTS)));
        for (cut_by, what) in [(8, "no closing boundary"), (4, "a boundary without its closing --")] {
            let mut cut = body(&[("csrf", b"t")]);
            cut.truncate(cut.len() - cut_by);
            assert_eq!(read(cut, 4096, Limits::upload(1024)), Err(MultipartError::Malformed), "{what}");
        }
        let mut no_crlf = body(&[("csrf", b"t")]);
        no_crlf.truncate(no_crlf.len() - 2);
        assert!(read(no_crlf, 4096, Limits::upload(1024)).is_ok(), "the CRLF after the close delimiter is optional (RFC 2046 §5.1.1)");
        assert_eq!(boundary(Some("multipart/form-data; boundary=XB")).as_deref(), Ok("XB"));
        for ct in [None, Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), Some("multipart/mixed; boundary=x")] {
            assert_eq!(boundary(ct), Err(MultipartError::NotMultipart), "{ct:?}");
        }
    }

    #[test]
    fn the_application_keeps_known_fields_only() {
        let parts = vec![
            Part { name: "bin".into(), bytes: b"123".to_vec() },
            Part { name: "evil".into(), bytes: b"x".to_vec() },
            Part { name: "previous".into(), bytes: vec![] },
            Part { name: "logo".into(), bytes: b"png".to_vec() },
            Part { name: "csrf".into(), bytes: b"t".to_vec() },
        ];
        let a = application(parts, &["bin"]);
        assert_eq!(a.fields.len(), 1);
        assert_eq!((a.csrf.as_str(), a.previous, a.logo.as_deref()), ("t", None, Some(&b"png"[..])));
    }
}
