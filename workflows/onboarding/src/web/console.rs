//! The operator console (`/console`): the queue, the register export, acting on applications, approval.
use super::*;

// ---------------------------------------------------------------- console

pub fn console_routes() -> impl poem::Endpoint {
    render_errors(
        Route::new()
            .at("/", poem::get(queue))
            .at("/export.csv", poem::get(export_csv))
            .at("/applications/:id", poem::get(console_application))
            .at("/applications/:id/act", poem::post(console_act))
            .at("/applications/:id/contract.txt", poem::get(console_contract_document))
            .at("/applications/:id/approval", poem::post(approval_prepare))
            .at("/applications/:id/approval/document", poem::post(approval_document_download))
            .at("/applications/:id/approval/sign", poem::post(approval_sign)),
    )
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    step: Option<String>,
    overdue: Option<String>,
    closed: Option<String>,
}

fn filter_of(q: &QueueQuery) -> ApplicationFilter {
    ApplicationFilter {
        bin: None,
        step: q.step.as_deref().and_then(|s| Step::ALL.into_iter().find(|x| x.as_str() == s)),
        overdue_only: q.overdue.is_some(),
        open_only: q.closed.is_none(),
    }
}

#[handler]
async fn queue(req: &Request, Query(q): Query<QueueQuery>, StaffMember(who): StaffMember, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    let rows = app.store.applications(&filter_of(&q)).await?.iter().map(|a| row_view(app, a)).collect();
    let steps = Step::ALL.into_iter().map(|s| (s.as_str(), step_text(s))).collect();
    Ok(html(
        StatusCode::OK,
        QueuePage {
            lang,
            nav: Nav::of(app, &who),
            rows,
            steps,
            step: q.step.clone().unwrap_or_default(),
            overdue: q.overdue.is_some(),
            closed: q.closed.is_some(),
        },
    ))
}

/// The register: every application with its step, deadline and breaches.
#[handler]
async fn export_csv(Query(q): Query<QueueQuery>, StaffMember(who): StaffMember, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "application",
        "filed_at",
        "bin",
        "organisation",
        "system",
        "step",
        "awaiting",
        "deadline",
        "working_days_left",
        "overdue",
        "breaches",
        "sandbox_client",
        "production_client",
    ];
    let csv_err = |e: csv::Error| PageError::Store(StoreError::Invalid(e.to_string()));
    w.write_record(header).map_err(csv_err)?;
    for a in app.store.applications(&filter_of(&q)).await? {
        let r = row_view(app, &a);
        let p = a.procedure.as_ref();
        let side = p.and_then(|p| p.deadline.as_ref()).map(|d| if d.side == Side::Operator { "operator" } else { "initiator" }).unwrap_or("");
        w.write_record([
            r.id.as_str(),
            &a.row.filed_at.to_rfc3339(),
            &r.bin,
            // A cell starting with = + - @ would be a formula in a spreadsheet.
            &neutralise(&r.organisation),
            &neutralise(&r.system),
            r.step_code,
            side,
            &p.and_then(|p| p.deadline.as_ref()).map(|d| d.due.to_rfc3339()).unwrap_or_default(),
            &r.days_left.map(|d| d.to_string()).unwrap_or_default(),
            if r.overdue { "true" } else { "false" },
            &r.breaches.to_string(),
            p.and_then(|p| p.sandbox_client_id.as_deref()).unwrap_or(""),
            p.and_then(|p| p.production_client_id.as_deref()).unwrap_or(""),
        ])
        .map_err(csv_err)?;
    }
    let body = w.into_inner().map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
    audit(app, &who, "onboarding.export", Outcome::Success, "register CSV").await;
    Ok(body
        .with_content_type("text/csv; charset=utf-8")
        .with_header("Content-Disposition", "attachment; filename=\"tanu-register.csv\"")
        .with_header("Cache-Control", "no-store")
        .into_response())
}

fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

#[handler]
async fn console_application(
    req: &Request,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
    StaffMember(who): StaffMember,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    application_page(req, who, &id, q.notice, app, Area::Console).await
}

use tanu_parse::forms::ConsoleActForm;

fn reason(f: &ConsoleActForm) -> Result<Reason, PageError> {
    Reason::try_from(f.reason.clone().unwrap_or_default()).map_err(|_| PageError::BadRequest(Msg::onb_err_reason))
}

#[handler]
async fn console_act(Path(id): Path<String>, StaffForm(who, f): StaffForm<ConsoleActForm>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let back = Area::Console.page(&id);
    let a = visible(app, &who, &id, true).await?;
    let command = match f.command.as_str() {
        "approve" => Command::Act { action: Action::Approve },
        "refuse" => Command::Act { action: Action::Refuse { reason: reason(&f)? } },
        "grant_sandbox" => Command::GrantSandbox,
        "record_test" => {
            test_command(&TestForm { csrf: String::new(), result: f.result.clone().unwrap_or_default(), note: f.note.clone().unwrap_or_default() })?
        }
        "return_act" => Command::Act { action: Action::ReturnAct { reason: reason(&f)? } },
        "send_draft_contract" => Command::Act { action: Action::SendDraftContract },
        "conclude_contract" => Command::Act { action: Action::ConcludeContract },
        "grant_production" => Command::GrantProduction,
        _ => return Err(PageError::BadRequest(Msg::error_bad_request)),
    };
    take(app, &who, &a, Side::Operator, command, &back).await
}

fn approval_document(app: &OnboardingState, a: &FiledApplication, act_sha: &str, approver: &str, date: chrono::NaiveDate) -> String {
    render_approval(a.lang(), &a.row.id, &app.onboarding.config.operator_name, act_sha, approver, date)
}

/// The approval's fields: the act it approves, the approver, the date.
fn approval_fields(f: &BTreeMap<String, String>) -> Result<(String, String, chrono::NaiveDate), PageError> {
    let act = f.get("act_sha256").cloned().unwrap_or_default();
    let approver = f.get("approver").map(|s| s.trim().to_owned()).unwrap_or_default();
    let date = chrono::NaiveDate::parse_from_str(f.get("date").map(String::as_str).unwrap_or(""), "%Y-%m-%d");
    match date {
        Ok(date) if act.len() == 64 && act.bytes().all(|b| b.is_ascii_hexdigit()) && !approver.is_empty() && approver.len() < 300 => Ok((act, approver, date)),
        _ => Err(PageError::BadRequest(Msg::onb_err_required)),
    }
}

fn approval_pairs(act: &str, approver: &str, date: chrono::NaiveDate) -> Vec<(&'static str, String)> {
    vec![("act_sha256", act.to_owned()), ("approver", approver.to_owned()), ("date", date.to_string())]
}

#[handler]
async fn approval_prepare(
    req: &Request,
    Path(id): Path<String>,
    StaffForm(who, f): StaffForm<BTreeMap<String, String>>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let lang = lang_of(req);
    let a = visible(app, &who, &id, true).await?;
    let (act, approver, date) = approval_fields(&f)?;
    let document = approval_document(app, &a, &act, &approver, date);
    Ok(html(
        StatusCode::OK,
        SignPage {
            lang,
            nav: Nav::of(app, &who),
            id,
            document,
            fields: approval_pairs(&act, &approver, date),
            action: "approval".into(),
            operator: true,
            error: None,
        },
    ))
}

#[handler]
async fn approval_document_download(
    Path(id): Path<String>,
    StaffForm(who, f): StaffForm<BTreeMap<String, String>>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let a = visible(app, &who, &id, true).await?;
    let (act, approver, date) = approval_fields(&f)?;
    Ok(download(&format!("approval-{id}.txt"), approval_document(app, &a, &act, &approver, date)))
}

#[handler]
async fn approval_sign(
    req: &Request,
    Path(id): Path<String>,
    StaffMultipart(who, upload): StaffMultipart<tanu_parse::multipart::SignedUpload>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let a = visible(app, &who, &id, true).await?;
    let (act, approver, date) = approval_fields(&upload.fields)?;
    let document = ToSign {
        id: &id,
        text: approval_document(app, &a, &act, &approver, date),
        fields: approval_pairs(&act, &approver, date),
        action: "approval",
        operator: true,
    };
    let operator_bin = app.onboarding.config.operator_bin.parse::<Bin>().ok();
    let signer = match document.signer(app, req, &who, &upload.signature, operator_bin.as_ref()).await {
        Ok(signer) => signer,
        Err(page) => return Ok(page),
    };
    let sha = sha256_hex(document.text.as_bytes());
    let signer_name = signer.common_name.clone().unwrap_or_else(|| approver.clone());
    let action = Action::ApproveAct { document_sha256: sha.clone(), signer: signer_name.clone() };
    let response = take(app, &who, &a, Side::Operator, Command::Act { action }, &Area::Console.page(&id)).await?;
    app.store.insert_document(&id, "approval", &document.text, &sha, STANDARD.encode(&upload.signature), &signer.iin, &signer_name, &who.name).await?;
    Ok(response)
}
