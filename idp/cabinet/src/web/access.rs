//! The access history (`/me/history`, CSV and JSON) and the biometric data page with its withdrawal.
use super::*;

// ---------------------------------------------------------------- history

/// One entry of the access history, as downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// `release`, `attempt` or `document_view` (`step` names the document, `party` who looked).
    pub kind: &'static str,
    pub client_id: Option<String>,
    /// The relying party's organisation and system.
    pub party: Option<String>,
    pub grant_id: Option<String>,
    pub channel: Option<Channel>,
    pub claims: Vec<String>,
    pub step: Option<String>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

/// The newest `limit` entries of both kinds, newest first.
pub(crate) async fn entries(app: &CabinetState, citizen: &Citizen, limit: u64) -> Result<Vec<Entry>, StoreError> {
    let clients: std::collections::HashMap<String, String> = app
        .store
        .clients()
        .await?
        .into_iter()
        .map(|c| {
            let name = if c.organisation_name == c.system_name { c.system_name } else { format!("{} — {}", c.organisation_name, c.system_name) };
            (c.id.to_string(), name)
        })
        .collect();
    let party = |id: &str| clients.get(id).cloned();
    let mut out: Vec<Entry> = app
        .store
        .releases(&citizen.id, limit)
        .await?
        .into_iter()
        .map(|r| Entry {
            at: r.at,
            kind: "release",
            party: party(&r.client_id),
            client_id: Some(r.client_id),
            grant_id: Some(r.grant_id),
            channel: Some(r.channel),
            claims: r.claims,
            step: None,
            outcome: None,
            reason: None,
        })
        .collect();
    let subject = app.journal.subject(citizen);
    out.extend(app.store.journal_of_subject(&subject, limit).await?.into_iter().map(|j| Entry {
        at: j.at,
        kind: "attempt",
        party: j.client_id.as_deref().and_then(party),
        client_id: j.client_id,
        grant_id: None,
        channel: None,
        claims: vec![],
        step: Some(j.step),
        outcome: Some(j.outcome),
        reason: j.reason,
    }));
    // Who looked at the citizen's documents (the shares redeemed).
    out.extend(app.store.document_views(&citizen.id, limit).await?.into_iter().map(|s| Entry {
        at: s.redeemed_at.unwrap_or(s.created_at),
        kind: "document_view",
        party: s.redeemed_by_name,
        client_id: s.redeemed_by.as_deref().and_then(|b| b.strip_prefix("client:")).map(str::to_string),
        grant_id: None,
        channel: None,
        claims: vec![],
        step: Some(s.document),
        outcome: None,
        reason: None,
    }));
    out.sort_by_key(|e| std::cmp::Reverse(e.at));
    out.truncate(limit as usize);
    Ok(out)
}

fn row(e: &Entry) -> HistoryRow {
    let party = e.party.clone().or_else(|| e.client_id.clone()).unwrap_or_else(|| "Tanu".into());
    match e.kind {
        "release" => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_release,
            party,
            detail: e.claims.join(", "),
            note: e.channel.map(|c| match c {
                Channel::IdToken => Msg::me_channel_id_token,
                Channel::Userinfo => Msg::me_channel_userinfo,
                Channel::Refresh => Msg::me_channel_refresh,
            }),
        },
        "document_view" => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_document_view,
            party,
            detail: String::new(),
            note: e.step.as_deref().and_then(DocumentKind::parse).map(document_msg),
        },
        _ => HistoryRow {
            at: when(e.at),
            kind: Msg::me_h_attempt,
            party,
            detail: [e.step.clone(), e.reason.clone()].into_iter().flatten().collect::<Vec<_>>().join(": "),
            note: Some(if e.outcome.as_deref() == Some("success") { Msg::me_success } else { Msg::me_failure }),
        },
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

#[handler]
pub(crate) async fn history(req: &Request, who: Me, Query(q): Query<PageQuery>, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let page = q.page.unwrap_or(0).min(MAX_PAGE);
            let mut all = entries(app, &who.citizen, (page + 1) * PAGE_SIZE + 1).await?;
            let more = all.len() as u64 > (page + 1) * PAGE_SIZE;
            let rows = all.drain(..).skip((page * PAGE_SIZE) as usize).take(PAGE_SIZE as usize).map(|e| row(&e)).collect();
            Ok(html(StatusCode::OK, HistoryPage { lang, csrf: who.csrf(app), rows, page, more }))
        }
        .await,
    )
}

fn download(name: &str, content_type: &str, body: Vec<u8>) -> Response {
    body.with_content_type(content_type)
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "no-store")
        .into_response()
}

/// A cell a spreadsheet would not run as a formula.
fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[handler]
pub(crate) async fn history_csv(req: &Request, who: Me, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let mut w = csv::Writer::from_writer(vec![]);
            let header = ["at", "kind", "client_id", "party", "grant_id", "channel", "claims", "step", "outcome", "reason"];
            let csv_err = |e: csv::Error| PageError::Store(StoreError::Invalid(e.to_string()));
            w.write_record(header).map_err(csv_err)?;
            for e in entries(app, &who.citizen, DOWNLOAD_LIMIT).await? {
                let cells = [
                    e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    e.kind.to_string(),
                    e.client_id.unwrap_or_default(),
                    e.party.unwrap_or_default(),
                    e.grant_id.unwrap_or_default(),
                    e.channel.map(|c| c.as_str().to_string()).unwrap_or_default(),
                    e.claims.join(" "),
                    e.step.unwrap_or_default(),
                    e.outcome.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                ];
                w.write_record(cells.iter().map(|c| neutralise(c))).map_err(csv_err)?;
            }
            let body = w.into_inner().map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
            Ok(download("tanu-access-history.csv", "text/csv; charset=utf-8", body))
        }
        .await,
    )
}

#[handler]
pub(crate) async fn history_json(req: &Request, who: Me, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let body =
                serde_json::to_vec(&entries(app, &who.citizen, DOWNLOAD_LIMIT).await?).map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
            Ok(download("tanu-access-history.json", "application/json", body))
        }
        .await,
    )
}

// ---------------------------------------------------------------- biometrics

#[handler]
pub(crate) async fn biometrics(req: &Request, who: Me, Data(app): Data<&Arc<CabinetState>>) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            let h = app.store.biometric_holding(&who.citizen.id).await?;
            Ok(html(
                StatusCode::OK,
                BiometricsPage {
                    lang,
                    csrf: who.csrf(app),
                    consent_version: h.consent_version,
                    consent_at: h.consent_accepted_at.map(when),
                    template_at: h.template_formed_at.map(when),
                },
            ))
        }
        .await,
    )
}

#[handler]
pub(crate) async fn withdraw(
    req: &Request,
    cookies: &CookieJar,
    SignedInForm(who, _): SignedInForm<CsrfForm>,
    Data(app): Data<&Arc<CabinetState>>,
) -> Response {
    let lang = crate::i18n::lang_of(req);
    finish(
        lang,
        async {
            crate::withdraw_biometrics(&app.store, &app.journal, &who.citizen, "citizen (cabinet)").await?;
            // Every session of the citizen has ended, this one too.
            cookies.add(cookie(&app.oidc.config, SESSION_COOKIE, "", Some(0)));
            Ok(tanu_ui::web::see_other(format!("/me?notice=withdrawn&lang={}", lang.code())))
        }
        .await,
    )
}
