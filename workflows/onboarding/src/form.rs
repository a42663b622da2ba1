//! The application form (Rules Appendix 1), parsed once at the edge into a
//! [`NewApplication`]: every field checked on the server, each failure named
//! by field with a message in the initiator's language. Pure: no I/O.
use std::collections::BTreeMap;
use std::io::Cursor;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use tanu_workflows::Bin;

use crate::domain::RedirectUri;
use crate::i18n::Msg;
use crate::store::onboarding::NewApplication;

/// Largest logo accepted, before decoding.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// Logos are scaled to fit this square.
pub const LOGO_SIDE: u32 = 256;
const MAX_TEXT: usize = 300;

/// A mail address, parsed by lettre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(lettre::Address);

impl Email {
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
    pub fn address(&self) -> &lettre::Address {
        &self.0
    }
}

impl std::str::FromStr for Email {
    type Err = lettre::address::AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Email)
    }
}

/// A logo, sanitised: whatever was uploaded (PNG, JPEG or SVG) is decoded
/// (SVG rendered by resvg) and re-encoded as a PNG of at most
/// [`LOGO_SIDE`]², so nothing of the upload but its pixels is kept: no
/// script, no external reference, no metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo(Vec<u8>);

impl Logo {
    pub fn png(&self) -> &[u8] {
        &self.0
    }
    pub fn into_png(self) -> Vec<u8> {
        self.0
    }
    pub fn media_type(&self) -> &'static str {
        "image/png"
    }
    pub fn base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    pub fn sanitise(bytes: &[u8]) -> Result<Logo, Msg> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Msg::onb_err_logo_size);
        }
        let image = if looks_like_svg(bytes) { render_svg(bytes)? } else { decode_raster(bytes)? };
        let image = if image.width() > LOGO_SIDE || image.height() > LOGO_SIDE {
            image.resize(LOGO_SIDE, LOGO_SIDE, image::imageops::FilterType::Triangle)
        } else {
            image
        };
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).map_err(|_| Msg::onb_err_logo_format)?;
        Ok(Logo(out.into_inner()))
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    head.contains("<svg") || (head.trim_start().starts_with("<?xml") && head.contains("svg"))
}

fn decode_raster(bytes: &[u8]) -> Result<image::DynamicImage, Msg> {
    let format = image::guess_format(bytes).map_err(|_| Msg::onb_err_logo_format)?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(Msg::onb_err_logo_format);
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(4096);
    limits.max_image_height = Some(4096);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| Msg::onb_err_logo_format)
}

fn render_svg(bytes: &[u8]) -> Result<image::DynamicImage, Msg> {
    // usvg's default `Options` resolve an `<image href>` that is not a URL
    // as a local path (`/dev/zero`, another SVG on disk...). Ours resolve
    // nothing: neither paths nor data URLs; no fonts are loaded (usvg is built
    // without its `text` feature) and usvg never fetches from the network.
    let options = resvg::usvg::Options {
        image_href_resolver: resvg::usvg::ImageHrefResolver { resolve_data: Box::new(|_, _, _| None), resolve_string: Box::new(|_, _| None) },
        resources_dir: None,
        ..resvg::usvg::Options::default()
    };
    let tree = resvg::usvg::Tree::from_data(bytes, &options).map_err(|_| Msg::onb_err_logo_format)?;
    let size = tree.size();
    let scale = (LOGO_SIDE as f32 / size.width().max(size.height())).min(8.0);
    let (w, h) = ((size.width() * scale).ceil().max(1.0) as u32, (size.height() * scale).ceil().max(1.0) as u32);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).ok_or(Msg::onb_err_logo_format)?;
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    // tiny-skia keeps premultiplied RGBA; demultiply for a plain RGBA image.
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    image::RgbaImage::from_raw(w, h, rgba).map(image::DynamicImage::ImageRgba8).ok_or(Msg::onb_err_logo_format)
}

/// The form as submitted (strings, and the logo's bytes when one was sent).
#[derive(Debug, Clone, Default)]
pub struct RawApplication {
    pub fields: BTreeMap<String, String>,
    pub logo: Option<Vec<u8>>,
}

impl RawApplication {
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Field name → what is wrong with it.
pub type FieldErrors = BTreeMap<&'static str, Msg>;

/// The field names of the form, in the order Appendix 1 lists them.
pub const FIELDS: [&str; 10] = [
    "organisation_name",
    "bin",
    "responsible_official",
    "contact_email",
    "system_name",
    "redirect_uri",
    "sandbox_redirect_uri",
    "tos_uri",
    "policy_uri",
    "authorised_person",
];

fn text(raw: &RawApplication, name: &'static str, errors: &mut FieldErrors) -> String {
    let v = raw.get(name).trim();
    if v.is_empty() {
        errors.insert(name, Msg::onb_err_required);
    } else if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
        errors.insert(name, Msg::onb_err_text);
    }
    v.to_owned()
}

/// A link for citizens to follow: absolute https, no credentials.
fn link(raw: &RawApplication, name: &'static str, errors: &mut FieldErrors) -> Option<url::Url> {
    let v = raw.get(name).trim();
    if v.is_empty() {
        errors.insert(name, Msg::onb_err_required);
        return None;
    }
    match url::Url::parse(v) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() && u.username().is_empty() && u.password().is_none() && v.len() <= 2000 => Some(u),
        _ => {
            errors.insert(name, Msg::onb_err_link);
            None
        }
    }
}

/// Parses and checks the whole form; every field's error at once.
pub fn parse(raw: &RawApplication) -> Result<NewApplication, FieldErrors> {
    let mut errors = FieldErrors::new();
    let organisation_name = text(raw, "organisation_name", &mut errors);
    let bin = match raw.get("bin").trim() {
        "" => {
            errors.insert("bin", Msg::onb_err_required);
            None
        }
        v => v.parse::<Bin>().map_err(|_| errors.insert("bin", Msg::onb_err_bin)).ok(),
    };
    let responsible_official = text(raw, "responsible_official", &mut errors);
    let contact_email = match raw.get("contact_email").trim() {
        "" => {
            errors.insert("contact_email", Msg::onb_err_required);
            None
        }
        v => v.parse::<Email>().map_err(|_| errors.insert("contact_email", Msg::onb_err_email)).ok(),
    };
    let system_name = text(raw, "system_name", &mut errors);
    // Production redirects are https only (Rules §17: real citizens' data).
    let redirect_uri = match raw.get("redirect_uri").trim() {
        "" => {
            errors.insert("redirect_uri", Msg::onb_err_required);
            None
        }
        v => match v.parse::<RedirectUri>() {
            Ok(r) if r.as_str().starts_with("https://") => Some(r),
            _ => {
                errors.insert("redirect_uri", Msg::onb_err_redirect);
                None
            }
        },
    };
    // The sandbox may also redirect to a loopback address over plain http.
    let sandbox_redirect_uri = match raw.get("sandbox_redirect_uri").trim() {
        "" => None,
        v => match v.parse::<RedirectUri>() {
            Ok(r) if r.is_secure_or_loopback() => Some(r),
            _ => {
                errors.insert("sandbox_redirect_uri", Msg::onb_err_sandbox_redirect);
                None
            }
        },
    };
    let tos_uri = link(raw, "tos_uri", &mut errors);
    let policy_uri = link(raw, "policy_uri", &mut errors);
    let authorised_person = text(raw, "authorised_person", &mut errors);
    let logo = match raw.logo.as_deref() {
        None | Some([]) => None,
        Some(bytes) => Logo::sanitise(bytes).map_err(|m| errors.insert("logo", m)).ok(),
    };
    match (bin, contact_email, redirect_uri, tos_uri, policy_uri) {
        (Some(bin), Some(contact_email), Some(redirect_uri), Some(tos_uri), Some(policy_uri)) if errors.is_empty() => Ok(NewApplication {
            bin,
            organisation_name,
            responsible_official,
            system_name,
            redirect_uri,
            sandbox_redirect_uri,
            tos_uri,
            policy_uri,
            logo: logo.map(Logo::into_png),
            contact_email: contact_email.as_str().to_owned(),
            authorised_person,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> RawApplication {
        let mut raw = RawApplication::default();
        for (k, v) in [
            ("organisation_name", "АО «Пример Банк»"),
            ("bin", "010140000143"),
            ("responsible_official", "Aigerim Sadykova, CTO"),
            ("contact_email", "cto@bank.example.kz"),
            ("system_name", "Internet banking"),
            ("redirect_uri", "https://bank.example.kz/oidc/callback"),
            ("sandbox_redirect_uri", "http://127.0.0.1:8400/callback"),
            ("tos_uri", "https://bank.example.kz/terms"),
            ("policy_uri", "https://bank.example.kz/privacy"),
            ("authorised_person", "Sadykova Aigerim"),
        ] {
            raw.fields.insert(k.into(), v.into());
        }
        raw
    }

    fn errors_for(field: &str, value: &str) -> FieldErrors {
        let mut raw = valid();
        raw.fields.insert(field.into(), value.into());
        parse(&raw).err().unwrap_or_default()
    }

    #[test]
    fn a_complete_form_parses() {
        let a = parse(&valid()).unwrap();
        assert_eq!(a.bin.as_str(), "010140000143");
        assert_eq!(a.redirect_uri.as_str(), "https://bank.example.kz/oidc/callback");
        assert_eq!(a.sandbox_redirect_uri.unwrap().as_str(), "http://127.0.0.1:8400/callback");
        assert_eq!(a.contact_email, "cto@bank.example.kz");
    }

    #[test]
    fn every_required_field_is_named_when_missing() {
        let errors = parse(&RawApplication::default()).unwrap_err();
        for f in FIELDS.iter().filter(|f| **f != "sandbox_redirect_uri") {
            assert_eq!(errors.get(f), Some(&Msg::onb_err_required), "{f}");
        }
        assert!(!errors.contains_key("sandbox_redirect_uri"), "optional");
    }

    #[test]
    fn each_bad_value_is_refused_with_its_own_reason() {
        let cases: &[(&str, &str, Msg)] = &[
            ("bin", "010140000144", Msg::onb_err_bin),
            ("bin", "01014000014", Msg::onb_err_bin),
            ("bin", "abcdefghijkl", Msg::onb_err_bin),
            ("contact_email", "not-an-address", Msg::onb_err_email),
            ("redirect_uri", "http://bank.example.kz/cb", Msg::onb_err_redirect),
            ("redirect_uri", "http://127.0.0.1/cb", Msg::onb_err_redirect),
            ("redirect_uri", "https://bank.example.kz/cb#frag", Msg::onb_err_redirect),
            ("redirect_uri", "https://user:pw@bank.example.kz/cb", Msg::onb_err_redirect),
            ("redirect_uri", "javascript:alert(1)", Msg::onb_err_redirect),
            ("sandbox_redirect_uri", "http://bank.example.kz/cb", Msg::onb_err_sandbox_redirect),
            ("tos_uri", "ftp://bank.example.kz/terms", Msg::onb_err_link),
            ("tos_uri", "bank.example.kz/terms", Msg::onb_err_link),
            ("policy_uri", "http://bank.example.kz/privacy", Msg::onb_err_link),
            ("policy_uri", "javascript:alert(1)", Msg::onb_err_link),
            ("organisation_name", "line\u{0}break", Msg::onb_err_text),
            ("system_name", &"x".repeat(301), Msg::onb_err_text),
            ("authorised_person", "   ", Msg::onb_err_required),
        ];
        for (field, value, want) in cases {
            let errors = errors_for(field, value);
            assert_eq!(errors.get(field), Some(want), "{field}={value:?}: {errors:?}");
            assert_eq!(errors.len(), 1, "only {field} is wrong: {errors:?}");
        }
    }

    #[test]
    fn sandbox_loopback_forms_are_accepted() {
        for ok in ["http://127.0.0.1:8400/cb", "http://localhost/cb", "http://[::1]:9/cb", "https://test.bank.kz/cb"] {
            assert!(errors_for("sandbox_redirect_uri", ok).is_empty(), "{ok}");
        }
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]))).write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn decoded(logo: &Logo) -> image::DynamicImage {
        image::load_from_memory_with_format(logo.png(), image::ImageFormat::Png).unwrap()
    }

    #[test]
    fn logos_are_re_encoded_as_bounded_png() {
        let logo = Logo::sanitise(&png(600, 300)).unwrap();
        let img = decoded(&logo);
        assert_eq!((img.width(), img.height()), (256, 128));
        let mut jpeg = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image::RgbImage::new(40, 40)).write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let logo = Logo::sanitise(jpeg.get_ref()).unwrap();
        assert!(logo.png().starts_with(b"\x89PNG"));
    }

    #[test]
    fn an_svg_logo_keeps_its_pixels_and_loses_its_script() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32" onload="alert(1)">
            <script>alert(document.cookie)</script>
            <rect width="64" height="32" fill="#0000ff"/>
            <image href="https://evil.example/track.png" width="10" height="10"/>
        </svg>"##;
        let logo = Logo::sanitise(svg).unwrap();
        assert!(logo.png().starts_with(b"\x89PNG"));
        assert!(!logo.png().windows(6).any(|w| w == b"script"));
        let img = decoded(&logo).to_rgba8();
        assert_eq!((img.width(), img.height()), (256, 128));
        assert_eq!(img.get_pixel(128, 64).0, [0, 0, 255, 255], "the rectangle is drawn");
    }

    /// An SVG may name local files in `<image href>`: none is read (a
    /// `/dev/zero` would exhaust memory; a file on disk would be drawn).
    #[test]
    fn an_svg_logo_reads_no_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret.svg");
        std::fs::write(&secret, br##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#ff0000"/></svg>"##)
            .unwrap();
        let png_path = dir.path().join("secret.png");
        std::fs::write(&png_path, png(10, 10)).unwrap();
        for href in [
            secret.display().to_string(),
            "secret.svg".into(),
            png_path.display().to_string(),
            "/dev/zero".into(),
            "/etc/passwd".into(),
            "file:///etc/passwd".into(),
        ] {
            let svg = format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="32">
                <rect width="64" height="32" fill="#0000ff"/>
                <image href="{href}" x="0" y="0" width="64" height="32"/>
                <image xlink:href="{href}" x="0" y="0" width="64" height="32"/>
            </svg>"##
            );
            let started = std::time::Instant::now();
            let logo = Logo::sanitise(svg.as_bytes()).unwrap();
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{href}: rendered fast");
            let img = decoded(&logo).to_rgba8();
            assert_eq!(img.get_pixel(128, 64).0, [0, 0, 255, 255], "{href}: nothing drawn over the rectangle");
        }
        // A data URL embeds nothing either.
        let embedded = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32"><rect width="64" height="32" fill="#0000ff"/><image href="data:image/png;base64,{}" width="64" height="32"/></svg>"##,
            STANDARD.encode(png(10, 10))
        );
        let img = decoded(&Logo::sanitise(embedded.as_bytes()).unwrap()).to_rgba8();
        assert_eq!(img.get_pixel(128, 64).0, [0, 0, 255, 255]);
    }

    #[test]
    fn other_files_and_oversized_logos_are_refused() {
        assert_eq!(Logo::sanitise(b"GIF89a\x01\x00\x01\x00"), Err(Msg::onb_err_logo_format));
        assert_eq!(Logo::sanitise(b"%PDF-1.7"), Err(Msg::onb_err_logo_format));
        assert_eq!(Logo::sanitise(&png(8, 8)[..40]), Err(Msg::onb_err_logo_format));
        assert_eq!(Logo::sanitise(&vec![0u8; MAX_LOGO_BYTES + 1]), Err(Msg::onb_err_logo_size));
        assert_eq!(Logo::sanitise(b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed"), Err(Msg::onb_err_logo_format));
    }
}
