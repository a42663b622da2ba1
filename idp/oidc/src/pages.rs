//! The provider's own pages: consent, a sign-in with no method enabled,
//! logout's confirmation and its result.
use tanu_ui::{i18n::Msg, page, web::RelyingPartyView};

page!(ConsentPage, "consent.html" { rp: RelyingPartyView, scopes: Vec<Msg>, interaction: String, csrf: String });
page!(LoginUnavailablePage, "login_unavailable.html" { rp: RelyingPartyView, interaction: String, csrf: String });
page!(SignedOutPage, "signed_out.html" { message: Msg });
page!(LogoutConfirmPage, "logout_confirm.html" { rp: Option<RelyingPartyView>, csrf: String, carried: Vec<(String, String)> });
