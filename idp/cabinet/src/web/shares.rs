//! The documents page: opening access to a document by QR and short code, revoking a share.
use super::*;

// ---------------------------------------------------------------- documents

pub struct ShareRow {
    pub id: String,
    pub document: Msg,
    pub created: String,
    pub expires: String,
    /// `active`, `redeemed`, `revoked` or `expired`.
    pub state_code: &'static str,
    pub state_msg: Msg,
    pub viewed_by: Option<String>,
    pub viewed_at: Option<String>,
}

/// A share just opened: its code and QR code, shown once.
pub struct Opened {
    pub code: String,
    pub qr_svg: String,
    pub expires: String,
}

page!(DocumentsPage, "me_documents.html" {
    csrf: String,
    available: Vec<(&'static str, Msg)>,
    registry_down: bool,
    rows: Vec<ShareRow>,
    opened: Option<Opened>,
    notice: Option<Msg>,
});

pub fn document_msg(k: DocumentKind) -> Msg {
    match k {
        DocumentKind::IdentityCard => Msg::me_doc_identity_card,
    }
}

fn share_row(s: &crate::store::documents::DocumentShare, now: DateTime<Utc>) -> ShareRow {
    use crate::store::documents::ShareState;
    let state = s.state(now);
    ShareRow {
        id: s.id.clone(),
        document: DocumentKind::parse(&s.document).map(document_msg).unwrap_or(Msg::me_doc_identity_card),
        created: when(s.created_at),
        expires: when(s.expires_at),
        state_code: state.as_str(),
        state_msg: match state {
            ShareState::Active => Msg::me_doc_active,
            ShareState::Redeemed => Msg::me_doc_viewed,
            ShareState::Revoked => Msg::me_doc_state_revoked,
            ShareState::Expired => Msg::me_doc_expired,
        },
        viewed_by: s.redeemed_by_name.clone(),
        viewed_at: s.redeemed_at.map(when),
    }
}

async fn documents_page(app: &CabinetState, docs: &Documents, who: &Me, lang: Lang, opened: Option<Opened>, notice: Option<Msg>) -> PageResult {
    let (available, registry_down) = match docs.available(&who.citizen).await {
        Ok(a) => (a, false),
        Err(e) => {
            tracing::warn!(error = %e, "documents: registry");
            (vec![], true)
        }
    };
    let now = Utc::now();
    let rows = app.store.document_shares(&who.citizen.id, 50).await?.iter().map(|s| share_row(s, now)).collect();
    Ok(html(
        StatusCode::OK,
        DocumentsPage {
            lang,
            csrf: who.csrf(app),
            available: available.into_iter().map(|k| (k.as_str(), document_msg(k))).collect(),
            registry_down,
            rows,
            opened,
            notice,
        },
    ))
}

#[handler]
pub(crate) async fn documents(
    req: &Request,
    who: Me,
    Query(q): Query<NoticeQuery>,
    Data(app): Data<&Arc<CabinetState>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(lang, async { documents_page(app, docs, &who, lang, None, notice(&q)).await }.await)
}

use tanu_parse::forms::OpenForm;

#[handler]
pub(crate) async fn open_document(
    req: &Request,
    SignedInForm(who, f): SignedInForm<OpenForm>,
    Data(app): Data<&Arc<CabinetState>>,
    Data(docs): Data<&Arc<Documents>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let kind = DocumentKind::parse(&f.document).ok_or(PageError::NotFound)?;
            let (share, code) = match docs.open(app, &who.citizen, kind).await {
                Ok(x) => x,
                Err(DocumentError::NoDocument) => return Err(PageError::NotFound),
                Err(DocumentError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "documents: open");
                    return documents_page(app, docs, &who, lang, None, Some(Msg::me_doc_registry_down)).await;
                }
            };
            let url = crate::documents::verify_url(app, &code);
            let opened = Opened { qr_svg: crate::documents::qr_svg(&url), code: code.as_str().to_string(), expires: when(share.expires_at) };
            documents_page(app, docs, &who, lang, Some(opened), None).await
        }
        .await,
    )
}

#[handler]
pub(crate) async fn revoke_share(
    req: &Request,
    Path(id): Path<String>,
    SignedInForm(who, _): SignedInForm<CsrfForm>,
    Data(app): Data<&Arc<CabinetState>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            // Only the citizen's own usable share: another's, a used or an expired one is not found.
            if !app.store.revoke_document_share(&who.citizen.id, &id, Utc::now()).await? {
                return Err(PageError::NotFound);
            }
            Ok(tanu_ui::web::see_other(format!("/me/documents?notice=share_revoked&lang={}", lang.code())))
        }
        .await,
    )
}
