//! The initiator portal (`/portal`): filing, tests, the act, the contract, secrets.
use super::*;

// ----------------------------------------------------------------- portal

pub fn portal_routes() -> impl poem::Endpoint {
    render_errors(
        Route::new()
            .at("/", poem::get(portal_home))
            .at("/new", poem::get(new_form).post(file_application))
            .at("/applications/:id", poem::get(portal_application))
            .at("/applications/:id/test", poem::post(portal_test))
            .at("/applications/:id/contract", poem::post(portal_contract))
            .at("/applications/:id/contract.txt", poem::get(portal_contract_document))
            .at("/applications/:id/act", poem::post(act_prepare))
            .at("/applications/:id/act/document", poem::post(act_document))
            .at("/applications/:id/act/sign", poem::post(act_sign))
            .at("/applications/:id/secret/:env", poem::post(reveal_secret)),
    )
}

#[handler]
async fn portal_home(req: &Request, Signed(who): Signed, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    let mut rows = Vec::new();
    for bin in &who.bins {
        let filter = ApplicationFilter { bin: Some(bin.clone()), ..Default::default() };
        rows.extend(app.store.applications(&filter).await?.iter().map(|a| row_view(app, a)));
    }
    Ok(html(StatusCode::OK, PortalPage { lang, nav: Nav::of(app, &who), rows }))
}

#[derive(Deserialize)]
struct NewQuery {
    from: Option<String>,
}

#[handler]
async fn new_form(req: &Request, Query(q): Query<NewQuery>, Signed(who): Signed, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let lang = lang_of(req);
    let mut values = BTreeMap::new();
    let mut previous = None;
    // Applying again after a refusal or lapse starts from the old form.
    if let Some(from) = q.from.as_deref() {
        let old = visible(app, &who, from, false).await?;
        if old.step().is_some_and(|s| matches!(s, Step::Refused | Step::Lapsed)) {
            let r = &old.row;
            for (k, v) in [
                ("organisation_name", &r.organisation_name),
                ("bin", &r.bin),
                ("responsible_official", &r.responsible_official),
                ("contact_email", &r.contact_email),
                ("system_name", &r.system_name),
                ("redirect_uri", &r.redirect_uri),
                ("tos_uri", &r.tos_uri),
                ("policy_uri", &r.policy_uri),
                ("authorised_person", &r.authorised_person),
            ] {
                values.insert(k.to_owned(), v.clone());
            }
            if let Some(s) = &r.sandbox_redirect_uri {
                values.insert("sandbox_redirect_uri".into(), s.clone());
            }
            previous = Some(r.id.clone());
        }
    }
    Ok(html(StatusCode::OK, FormPage { lang, nav: Nav::of(app, &who), values, errors: FieldErrors::new(), previous, problem: None }))
}

#[handler]
async fn file_application(
    req: &Request,
    SignedMultipart(who, upload): SignedMultipart<multipart::ApplicationUpload>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let lang = lang_of(req);
    let (raw, previous) = (RawApplication { fields: upload.fields, logo: upload.logo }, upload.previous);
    let again = |errors: FieldErrors, problem: Option<Msg>| {
        // The form comes back with what was typed: nothing is lost.
        let page = FormPage { lang, nav: Nav::of(app, &who), values: raw.fields.clone(), errors, previous: previous.clone(), problem };
        Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
    };
    let new = match form::parse(&raw) {
        Ok(n) => n,
        Err(errors) => return again(errors, None),
    };
    // The first person to file for a BIN acts for it; others are added by the operator.
    if app.store.bin_is_bound(&new.bin).await? && !who.represents(new.bin.as_str()) {
        let mut errors = FieldErrors::new();
        errors.insert("bin", Msg::onb_err_bin_taken);
        return again(errors, None);
    }
    if let Some(p) = &previous {
        visible(app, &who, p, false).await?;
    }
    let filed_at = Utc::now();
    let id = crate::new_application_id(filed_at);
    app.store.insert_application(&id, &new, lang, &who.iin, filed_at, previous.clone()).await?;
    if let Err(e) = app.onboarding.start(&id, filed_at, who.actor(Side::Initiator)).await {
        app.store.delete_unstarted_application(&id).await?;
        tracing::warn!(error = %e, "filing: workflow not started");
        return again(FieldErrors::new(), Some(Msg::onb_err_unavailable));
    }
    app.store.bind_initiator(&who.iin, &new.bin, &who.name, &new.contact_email, lang).await?;
    audit(app, &who, "onboarding.filed", Outcome::Success, &format!("application {id}")).await;
    app.onboarding.settled(&id, 0).await;
    Ok(tanu_ui::web::see_other(format!("/portal/applications/{id}")))
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    pub(super) notice: Option<String>,
}

/// The application's page, for the initiator or the operator.
pub(super) async fn application_page(req: &Request, who: Principal, id: &str, notice: Option<String>, app: &OnboardingState, area: Area) -> PageResult {
    let lang = lang_of(req);
    let a = visible(app, &who, id, area.operator()).await?;
    let view = application_view(app, a, area.operator()).await?;
    Ok(html(StatusCode::OK, ApplicationPage { lang, nav: Nav::of(app, &who), a: view, operator: area.operator(), notice }))
}

#[handler]
async fn portal_application(
    req: &Request,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
    Signed(who): Signed,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    application_page(req, who, &id, q.notice, app, Area::Portal).await
}

pub(super) use tanu_parse::forms::TestForm;

pub(super) fn test_command(f: &TestForm) -> Result<Command, PageError> {
    let positive = match f.result.as_str() {
        "positive" => true,
        "negative" => false,
        _ => return Err(PageError::BadRequest(Msg::error_bad_request)),
    };
    let note = f.note.trim();
    if note.is_empty() || note.chars().count() > 4000 {
        return Err(PageError::BadRequest(Msg::onb_err_required));
    }
    Ok(Command::Act { action: Action::RecordTest { positive, note: note.to_owned() } })
}

#[handler]
async fn portal_test(Path(id): Path<String>, SignedForm(who, f): SignedForm<TestForm>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let back = Area::Portal.page(&id);
    let a = visible(app, &who, &id, false).await?;
    take(app, &who, &a, Side::Initiator, test_command(&f)?, &back).await
}

#[handler]
async fn portal_contract(Path(id): Path<String>, SignedForm(who, _): SignedForm<CsrfForm>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let back = Area::Portal.page(&id);
    let a = visible(app, &who, &id, false).await?;
    take(app, &who, &a, Side::Initiator, Command::Act { action: Action::ConcludeContract }, &back).await
}

/// The act's fields as posted (plus the CSRF token).
fn act_fields(form: &BTreeMap<String, String>) -> Result<ActFields, PageError> {
    ActFields::parse(|k| form.get(k).cloned().unwrap_or_default()).map_err(|_| PageError::BadRequest(Msg::onb_err_required))
}

fn act_text(app: &OnboardingState, a: &FiledApplication, f: &ActFields) -> String {
    let parties = ActParties {
        application_id: &a.row.id,
        operator: &app.onboarding.config.operator_name,
        initiator: &a.row.organisation_name,
        bin: &a.row.bin,
        initiator_system: &a.row.system_name,
    };
    render_act(a.lang(), &parties, f)
}

#[handler]
async fn act_prepare(
    req: &Request,
    Path(id): Path<String>,
    SignedForm(who, f): SignedForm<BTreeMap<String, String>>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let lang = lang_of(req);
    let a = visible(app, &who, &id, false).await?;
    let fields = act_fields(&f)?;
    let document = act_text(app, &a, &fields);
    Ok(html(
        StatusCode::OK,
        SignPage { lang, nav: Nav::of(app, &who), id, document, fields: fields.pairs(), action: "act".into(), operator: false, error: None },
    ))
}

/// The draft contract, once the operator has sent it.
async fn contract_text(app: &OnboardingState, a: &FiledApplication) -> Result<String, PageError> {
    let live = app.onboarding.live(&a.row.id).await.or_else(|| a.procedure.clone()).ok_or(PageError::NotFound)?;
    if !matches!(live.step, Step::Contract | Step::Production | Step::Connected) {
        return Err(PageError::NotFound);
    }
    let parties = ActParties {
        application_id: &a.row.id,
        operator: &app.onboarding.config.operator_name,
        initiator: &a.row.organisation_name,
        bin: &a.row.bin,
        initiator_system: &a.row.system_name,
    };
    let act = live.acts.last().cloned().unwrap_or_default();
    Ok(render_contract(a.lang(), &parties, &app.onboarding.config.operator_bin, &a.row.redirect_uri, &act))
}

async fn contract_download(who: &Principal, id: &str, app: &OnboardingState, area: Area) -> PageResult {
    let a = visible(app, who, id, area.operator()).await?;
    Ok(download(&format!("contract-{id}.txt"), contract_text(app, &a).await?))
}

#[handler]
async fn portal_contract_document(Path(id): Path<String>, Signed(who): Signed, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    contract_download(&who, &id, app, Area::Portal).await
}

#[handler]
pub(super) async fn console_contract_document(Path(id): Path<String>, StaffMember(who): StaffMember, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    contract_download(&who, &id, app, Area::Console).await
}

pub(super) fn download(name: &str, document: String) -> Response {
    document
        .with_content_type("text/plain; charset=utf-8")
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "no-store")
        .into_response()
}

#[handler]
async fn act_document(Path(id): Path<String>, SignedForm(who, f): SignedForm<BTreeMap<String, String>>, Data(app): Data<&Arc<OnboardingState>>) -> PageResult {
    let a = visible(app, &who, &id, false).await?;
    Ok(download(&format!("act-{id}.txt"), act_text(app, &a, &act_fields(&f)?)))
}

#[handler]
async fn act_sign(
    req: &Request,
    Path(id): Path<String>,
    SignedMultipart(who, upload): SignedMultipart<multipart::SignedUpload>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let a = visible(app, &who, &id, false).await?;
    let fields = act_fields(&upload.fields)?;
    let bin: Bin = a.bin()?;
    let document = ToSign { id: &id, text: act_text(app, &a, &fields), fields: fields.pairs(), action: "act", operator: false };
    let signer = match document.signer(app, req, &who, &upload.signature, Some(&bin)).await {
        Ok(signer) => signer,
        Err(page) => return Ok(page),
    };
    let sha = sha256_hex(document.text.as_bytes());
    let signer_name = signer.common_name.clone().unwrap_or_else(|| fields.authorised_person.clone());
    let resubmit = a.step() == Some(Step::Rework) || app.onboarding.live(&id).await.is_some_and(|p| p.step == Step::Rework);
    let action = if resubmit {
        Action::ResubmitAct { document_sha256: sha.clone(), signer: signer_name.clone() }
    } else {
        Action::SubmitAct { document_sha256: sha.clone(), signer: signer_name.clone() }
    };
    let response = take(app, &who, &a, Side::Initiator, Command::Act { action }, &Area::Portal.page(&id)).await?;
    app.store.insert_document(&id, "act", &document.text, &sha, STANDARD.encode(&upload.signature), &signer.iin, &signer_name, &who.name).await?;
    Ok(response)
}

#[handler]
async fn reveal_secret(
    req: &Request,
    Path((id, env)): Path<(String, String)>,
    SignedForm(who, _): SignedForm<CsrfForm>,
    Data(app): Data<&Arc<OnboardingState>>,
) -> PageResult {
    let lang = lang_of(req);
    visible(app, &who, &id, false).await?;
    let credential = app.store.credential(&id, &env).await?.ok_or(PageError::NotFound)?;
    let secret = match app.store.take_sealed_secret(&id, &env).await? {
        Some(sealed) => {
            let bytes = app.open_secret(&sealed, &credential.client_id).map_err(|e| PageError::Store(StoreError::Invalid(e.to_string())))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        None => None,
    };
    audit(app, &who, "onboarding.secret_shown", if secret.is_some() { Outcome::Success } else { Outcome::Failure }, &format!("application {id} {env}")).await;
    Ok(html(StatusCode::OK, SecretPage { lang, nav: Nav::of(app, &who), id, client_id: credential.client_id, secret }))
}
