//! The composition root's part of the pages: the `App` extractor helper and
//! face sign-in's pages; what every page shares is `tanu-ui`'s, re-exported.
use poem::http::StatusCode;

pub use tanu_ui::web::*;

use crate::i18n::Msg;
pub use tanu_ui::page;

/// The provider's state, for a request extractor (handlers take it as
/// `Data<&Arc<App>>`); registered by `App::serve` on every route.
pub fn app_of(req: &poem::Request) -> poem::Result<&std::sync::Arc<crate::app::App>> {
    req.data::<std::sync::Arc<crate::app::App>>().ok_or_else(|| poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR))
}

page!(FaceIinPage, "face_iin.html" { rp: RelyingPartyView, interaction: String, csrf: String, iin: String, error: Option<Msg> });
page!(FaceConsentPage, "face_consent.html" { interaction: String, csrf: String, version: &'static str });
page!(FaceCameraPage, "face_camera.html" { interaction: String, csrf: String });
page!(FaceResultPage, "face_result.html" { interaction: String, csrf: String, code: &'static str, reason: Msg, tries_left: u32 });
