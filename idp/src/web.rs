//! Face sign-in's pages; what every page shares is `tanu-ui`'s, re-exported.
pub use tanu_ui::web::*;

use crate::i18n::Msg;
pub use tanu_ui::page;

page!(FaceIinPage, "face_iin.html" { rp: RelyingPartyView, interaction: String, csrf: String, iin: String, error: Option<Msg> });
page!(FaceConsentPage, "face_consent.html" { interaction: String, csrf: String, version: &'static str });
page!(FaceCameraPage, "face_camera.html" { interaction: String, csrf: String });
page!(FaceResultPage, "face_result.html" { interaction: String, csrf: String, code: &'static str, reason: Msg, tries_left: u32 });
