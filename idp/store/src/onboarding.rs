//! Storage of the connection procedure (Rules chapter 3): who may act
//! (initiators bound to a BIN, operator staff), the applications as filed
//! with the workflow's projection, credentials, signed documents, mails, and
//! the portal's sign-in sessions. The workflow is the source of truth for an
//! application's state; the projection is what it last recorded.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set, TryIntoModel};
use tanu_workflows::onboarding::{Application as Procedure, Side, Step};
use tanu_workflows::Bin;

use super::WriteRow;
use super::{corrupt, uuid_like, Store, StoreError};
use tanu_core::Lang;

/// The tables (hidden: for the tests alone, see `entities` at the crate root).
#[doc(hidden)]
pub mod entities {
    pub mod staff {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_staff")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub iin: String,
            pub name: String,
            pub email: String,
            pub lang: String,
            pub role: String,
            pub disabled: bool,
            pub created_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod initiator {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_initiators")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub iin: String,
            pub bin: String,
            pub name: String,
            pub email: String,
            pub lang: String,
            pub created_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod application {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_applications")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub bin: String,
            pub organisation_name: String,
            pub responsible_official: String,
            pub system_name: String,
            pub redirect_uri: String,
            pub sandbox_redirect_uri: Option<String>,
            pub tos_uri: String,
            pub policy_uri: String,
            pub logo: Option<String>,
            pub logo_type: Option<String>,
            pub contact_email: String,
            pub lang: String,
            pub authorised_person: String,
            pub filed_by_iin: String,
            pub filed_at: DateTimeUtc,
            pub previous_id: Option<String>,
            pub step: String,
            pub deadline_side: Option<String>,
            pub deadline_due: Option<DateTimeUtc>,
            pub overdue: bool,
            pub breaches: i32,
            pub snapshot: String,
            pub updated_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod credential {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_credentials")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub application_id: String,
            pub environment: String,
            pub client_id: String,
            pub sealed_secret: Option<String>,
            pub created_at: DateTimeUtc,
            pub revealed_at: Option<DateTimeUtc>,
        }
        no_relations!();
    }

    pub mod document {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_documents")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub application_id: String,
            pub kind: String,
            pub document: String,
            pub document_sha256: String,
            pub signature: String,
            pub signer_iin: String,
            pub signer_name: String,
            pub uploaded_by: String,
            pub created_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod mail {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_mails")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub application_id: String,
            pub recipient: String,
            pub lang: String,
            pub subject: String,
            pub body: String,
            pub event: String,
            pub created_at: DateTimeUtc,
            pub sent_at: Option<DateTimeUtc>,
            pub error: Option<String>,
        }
        no_relations!();
    }

    pub mod session {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_sessions")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id_hash: String,
            pub iin: String,
            pub name: String,
            pub created_at: DateTimeUtc,
            pub expires_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod login {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "onboarding_logins")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub state: String,
            pub verifier: String,
            pub nonce: String,
            pub next: String,
            pub binding_hash: String,
            pub created_at: DateTimeUtc,
        }
        no_relations!();
    }
}

use entities::*;

/// What operator staff may do: reviewers act on applications; supervisors
/// also receive breach notices and manage nothing more (Rules §13–§17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    Reviewer,
    Supervisor,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Reviewer => "reviewer",
            StaffRole::Supervisor => "supervisor",
        }
    }
}

impl std::str::FromStr for StaffRole {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "reviewer" => Ok(StaffRole::Reviewer),
            "supervisor" => Ok(StaffRole::Supervisor),
            other => Err(StoreError::Invalid(format!("unknown staff role {other:?} (expected reviewer or supervisor)"))),
        }
    }
}

/// A member of the operator's staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub iin: String,
    pub name: String,
    pub email: String,
    pub lang: Lang,
    pub role: StaffRole,
}

impl TryFrom<staff::Model> for Staff {
    type Error = StoreError;
    fn try_from(m: staff::Model) -> Result<Self, StoreError> {
        Ok(Staff { role: m.role.parse()?, lang: Lang::from_code(&m.lang), iin: m.iin, name: m.name, email: m.email })
    }
}

/// An application as filed (Appendix 1), with the workflow's projection.
#[derive(Debug, Clone)]
pub struct FiledApplication {
    pub row: ApplicationRow,
    pub procedure: Option<Procedure>,
}

impl FiledApplication {
    pub fn bin(&self) -> Result<Bin, StoreError> {
        self.row.bin.parse().map_err(|e| corrupt("application BIN", e))
    }
    pub fn lang(&self) -> Lang {
        Lang::from_code(&self.row.lang)
    }
    pub fn step(&self) -> Option<Step> {
        self.procedure.as_ref().map(|p| p.step)
    }
}

impl TryFrom<application::Model> for FiledApplication {
    type Error = StoreError;
    fn try_from(row: application::Model) -> Result<Self, StoreError> {
        let procedure = if row.snapshot.is_empty() { None } else { Some(serde_json::from_str(&row.snapshot).map_err(|e| corrupt("application snapshot", e))?) };
        Ok(FiledApplication { row: row.into(), procedure })
    }
}

/// A new application, its fields parsed at the edge (`onboarding::form`).
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub bin: Bin,
    pub organisation_name: String,
    pub responsible_official: String,
    pub system_name: String,
    pub redirect_uri: tanu_core::domain::RedirectUri,
    pub sandbox_redirect_uri: Option<tanu_core::domain::RedirectUri>,
    pub tos_uri: url::Url,
    pub policy_uri: url::Url,
    /// The sanitised logo, PNG (`onboarding::form::Logo` made it).
    pub logo: Option<Vec<u8>>,
    /// Parsed at the edge (`onboarding::form::Email`).
    pub contact_email: String,
    pub authorised_person: String,
}

/// Which applications a list shows.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub bin: Option<String>,
    pub step: Option<Step>,
    pub overdue_only: bool,
    pub open_only: bool,
}

fn side_str(s: Side) -> &'static str {
    match s {
        Side::Operator => "operator",
        Side::Initiator => "initiator",
    }
}

impl Store {
    // ------------------------------------------------------------ people

    pub async fn add_staff(&self, iin: &str, name: &str, email: &str, lang: Lang, role: StaffRole) -> Result<(), StoreError> {
        let existing = staff::Entity::find_by_id(iin).one(&self.db).await?;
        let model = staff::ActiveModel {
            iin: Set(iin.into()),
            name: Set(name.into()),
            email: Set(email.into()),
            lang: Set(lang.code().into()),
            role: Set(role.as_str().into()),
            disabled: Set(false),
            created_at: Set(existing.as_ref().map(|e| e.created_at).unwrap_or_else(Utc::now)),
        };
        if existing.is_some() {
            model.update_row(&self.db).await?;
        } else {
            model.insert_row(&self.db).await?;
        }
        Ok(())
    }

    pub async fn staff(&self, iin: &str) -> Result<Option<Staff>, StoreError> {
        staff::Entity::find_by_id(iin).filter(staff::Column::Disabled.eq(false)).one(&self.db).await?.map(Staff::try_from).transpose()
    }

    pub async fn staff_with_role(&self, role: StaffRole) -> Result<Vec<Staff>, StoreError> {
        staff::Entity::find()
            .filter(staff::Column::Role.eq(role.as_str()))
            .filter(staff::Column::Disabled.eq(false))
            .order_by_asc(staff::Column::Iin)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Staff::try_from)
            .collect()
    }

    /// The BINs a person represents.
    pub async fn initiator_bins(&self, iin: &str) -> Result<Vec<String>, StoreError> {
        Ok(initiator::Entity::find()
            .filter(initiator::Column::Iin.eq(iin))
            .order_by_asc(initiator::Column::Bin)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.bin)
            .collect())
    }

    /// Whether anyone represents the BIN yet.
    pub async fn bin_is_bound(&self, bin: &Bin) -> Result<bool, StoreError> {
        Ok(initiator::Entity::find().filter(initiator::Column::Bin.eq(bin.as_str())).one(&self.db).await?.is_some())
    }

    pub async fn bind_initiator(&self, iin: &str, bin: &Bin, name: &str, email: &str, lang: Lang) -> Result<(), StoreError> {
        let found = initiator::Entity::find().filter(initiator::Column::Iin.eq(iin)).filter(initiator::Column::Bin.eq(bin.as_str())).one(&self.db).await?;
        if found.is_none() {
            initiator::ActiveModel {
                id: Set(uuid_like()),
                iin: Set(iin.into()),
                bin: Set(bin.as_str().into()),
                name: Set(name.into()),
                email: Set(email.into()),
                lang: Set(lang.code().into()),
                created_at: Set(Utc::now()),
            }
            .insert_row(&self.db)
            .await?;
        }
        Ok(())
    }

    // ------------------------------------------------------ applications

    /// Saves a filed application before its workflow starts; `id` is the
    /// workflow id.
    pub async fn insert_application(
        &self,
        id: &str,
        new: &NewApplication,
        lang: Lang,
        filed_by_iin: &str,
        filed_at: DateTime<Utc>,
        previous_id: Option<String>,
    ) -> Result<FiledApplication, StoreError> {
        let row = application::ActiveModel {
            id: Set(id.into()),
            bin: Set(new.bin.as_str().into()),
            organisation_name: Set(new.organisation_name.clone()),
            responsible_official: Set(new.responsible_official.clone()),
            system_name: Set(new.system_name.clone()),
            redirect_uri: Set(new.redirect_uri.as_str().into()),
            sandbox_redirect_uri: Set(new.sandbox_redirect_uri.as_ref().map(|r| r.as_str().into())),
            tos_uri: Set(new.tos_uri.to_string()),
            policy_uri: Set(new.policy_uri.to_string()),
            logo: Set(new.logo.as_ref().map(|png| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png))),
            logo_type: Set(new.logo.as_ref().map(|_| "image/png".to_owned())),
            contact_email: Set(new.contact_email.clone()),
            lang: Set(lang.code().into()),
            authorised_person: Set(new.authorised_person.clone()),
            filed_by_iin: Set(filed_by_iin.into()),
            filed_at: Set(filed_at),
            previous_id: Set(previous_id),
            step: Set(Step::Review.as_str().into()),
            deadline_side: Set(None),
            deadline_due: Set(None),
            overdue: Set(false),
            breaches: Set(0),
            snapshot: Set(String::new()),
            updated_at: Set(filed_at),
        };
        row.clone().insert_row(&self.db).await?;
        row.try_into_model()?.try_into()
    }

    /// Removes an application whose workflow could not be started.
    pub async fn delete_unstarted_application(&self, id: &str) -> Result<(), StoreError> {
        application::Entity::delete_many().filter(application::Column::Id.eq(id)).filter(application::Column::Snapshot.eq("")).exec(&self.db).await?;
        Ok(())
    }

    pub async fn application(&self, id: &str) -> Result<Option<FiledApplication>, StoreError> {
        application::Entity::find_by_id(id).one(&self.db).await?.map(TryInto::try_into).transpose()
    }

    /// Applications, the nearest deadline first (those without one last).
    pub async fn applications(&self, filter: &ApplicationFilter) -> Result<Vec<FiledApplication>, StoreError> {
        let mut q = application::Entity::find();
        if let Some(bin) = &filter.bin {
            q = q.filter(application::Column::Bin.eq(bin.as_str()));
        }
        if let Some(step) = filter.step {
            q = q.filter(application::Column::Step.eq(step.as_str()));
        }
        if filter.overdue_only {
            q = q.filter(application::Column::Overdue.eq(true));
        }
        if filter.open_only {
            let closed = [Step::Connected, Step::Refused, Step::Lapsed].map(|s| s.as_str());
            q = q.filter(Condition::all().add(application::Column::Step.is_not_in(closed)));
        }
        let mut rows: Vec<FiledApplication> =
            q.order_by_asc(application::Column::FiledAt).all(&self.db).await?.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        rows.sort_by_key(|a| (a.row.deadline_due.is_none(), a.row.deadline_due));
        Ok(rows)
    }

    /// The workflow's `record` activity: the projection the UIs read.
    pub async fn project_application(&self, procedure: &Procedure) -> Result<(), StoreError> {
        let Some(row) = application::Entity::find_by_id(procedure.id.as_str()).one(&self.db).await? else {
            return Err(StoreError::Invalid(format!("no application {}", procedure.id)));
        };
        let mut a = row.into_active_model();
        a.step = Set(procedure.step.as_str().into());
        a.deadline_side = Set(procedure.deadline.as_ref().map(|d| side_str(d.side).into()));
        a.deadline_due = Set(procedure.deadline.as_ref().map(|d| d.due));
        a.overdue = Set(procedure.deadline.as_ref().is_some_and(|d| d.overdue));
        a.breaches = Set(procedure.breaches.len() as i32);
        a.snapshot = Set(serde_json::to_string(procedure).map_err(|e| StoreError::Invalid(e.to_string()))?);
        a.updated_at = Set(Utc::now());
        a.update_row(&self.db).await?;
        Ok(())
    }

    // ------------------------------------------------------- credentials

    pub async fn credential(&self, application_id: &str, environment: &str) -> Result<Option<Credential>, StoreError> {
        Ok(credential::Entity::find_by_id(format!("{application_id}:{environment}")).one(&self.db).await?.map(Into::into))
    }

    pub async fn credentials(&self, application_id: &str) -> Result<Vec<Credential>, StoreError> {
        Ok(credential::Entity::find()
            .filter(credential::Column::ApplicationId.eq(application_id))
            .order_by_asc(credential::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Registers the application's client in `environment` and keeps its
    /// credential (the secret sealed by `seal(client_id, secret)`) in one
    /// transaction, unless the credential exists: then its client id. A
    /// workflow activity killed after registering and retried never leaves a
    /// client without its credential nor creates a second one.
    pub async fn register_application_client(
        &self,
        application_id: &str,
        environment: &str,
        new: super::NewClient,
        secrets: &tanu_core::crypto::ClientSecrets,
        seal: impl FnOnce(&str, &str) -> String,
    ) -> Result<String, StoreError> {
        use sea_orm::TransactionTrait;
        let (model, secret) = super::prepare_client(new, secrets)?;
        let client_id = model.client_id.clone().take().ok_or_else(|| StoreError::Invalid("a new client without an id".into()))?;
        let tx = self.db.begin().await?;
        if let Some(c) = credential::Entity::find_by_id(format!("{application_id}:{environment}")).one(&tx).await? {
            return Ok(c.client_id);
        }
        model.insert_row(&tx).await?;
        credential::ActiveModel {
            id: Set(format!("{application_id}:{environment}")),
            application_id: Set(application_id.into()),
            environment: Set(environment.into()),
            client_id: Set(client_id.clone()),
            sealed_secret: Set(secret.map(|s| seal(&client_id, &s))),
            created_at: Set(Utc::now()),
            revealed_at: Set(None),
        }
        .insert_row(&tx)
        .await?;
        tx.commit().await?;
        Ok(client_id)
    }

    /// Takes the sealed secret out, once: the row keeps when it was shown.
    pub async fn take_sealed_secret(&self, application_id: &str, environment: &str) -> Result<Option<String>, StoreError> {
        let Some(row) = self.credential(application_id, environment).await? else { return Ok(None) };
        let Some(sealed) = row.sealed_secret.clone() else { return Ok(None) };
        let res = credential::Entity::update_many()
            .col_expr(credential::Column::SealedSecret, sea_orm::sea_query::Expr::value(Option::<String>::None))
            .col_expr(credential::Column::RevealedAt, sea_orm::sea_query::Expr::value(Utc::now()))
            .filter(credential::Column::Id.eq(row.id))
            .filter(credential::Column::SealedSecret.is_not_null())
            .exec(&self.db)
            .await?;
        // Two tabs racing: only the one that cleared it shows it.
        Ok((res.rows_affected == 1).then_some(sealed))
    }

    // --------------------------------------------------------- documents

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_document(
        &self,
        application_id: &str,
        kind: &str,
        document: &str,
        document_sha256: &str,
        signature_b64: String,
        signer_iin: &str,
        signer_name: &str,
        uploaded_by: &str,
    ) -> Result<(), StoreError> {
        document::ActiveModel {
            id: Set(uuid_like()),
            application_id: Set(application_id.into()),
            kind: Set(kind.into()),
            document: Set(document.into()),
            document_sha256: Set(document_sha256.into()),
            signature: Set(signature_b64),
            signer_iin: Set(signer_iin.into()),
            signer_name: Set(signer_name.into()),
            uploaded_by: Set(uploaded_by.into()),
            created_at: Set(Utc::now()),
        }
        .insert_row(&self.db)
        .await?;
        Ok(())
    }

    pub async fn documents(&self, application_id: &str) -> Result<Vec<SignedDocument>, StoreError> {
        Ok(document::Entity::find()
            .filter(document::Column::ApplicationId.eq(application_id))
            .order_by_asc(document::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    // ------------------------------------------------------------- mails

    pub async fn insert_mail(&self, m: Mail) -> Result<(), StoreError> {
        mail::ActiveModel::from(m).insert_row(&self.db).await?;
        Ok(())
    }

    pub async fn mail_sent(&self, id: &str, result: Result<(), String>) -> Result<(), StoreError> {
        let Some(row) = mail::Entity::find_by_id(id).one(&self.db).await? else { return Ok(()) };
        let mut a = row.into_active_model();
        match result {
            Ok(()) => {
                a.sent_at = Set(Some(Utc::now()));
                a.error = Set(None);
            }
            Err(e) => a.error = Set(Some(e)),
        }
        a.update_row(&self.db).await?;
        Ok(())
    }

    /// The mail `id`, sent or not.
    pub async fn mail(&self, id: &str) -> Result<Option<Mail>, StoreError> {
        Ok(mail::Entity::find_by_id(id).one(&self.db).await?.map(Into::into))
    }

    /// Mail not yet sent, created after `since`.
    pub async fn unsent_mails(&self, since: DateTime<Utc>) -> Result<Vec<Mail>, StoreError> {
        Ok(mail::Entity::find()
            .filter(mail::Column::SentAt.is_null())
            .filter(mail::Column::CreatedAt.gt(since))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub async fn mails(&self, application_id: &str) -> Result<Vec<Mail>, StoreError> {
        Ok(mail::Entity::find()
            .filter(mail::Column::ApplicationId.eq(application_id))
            .order_by_asc(mail::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    // ---------------------------------------------------------- sessions

    pub async fn insert_portal_login(&self, m: PortalLogin) -> Result<(), StoreError> {
        login::ActiveModel::from(m).insert_row(&self.db).await?;
        Ok(())
    }

    /// Takes a pending sign-in by its `state`, once.
    pub async fn take_portal_login(&self, state: &str) -> Result<Option<PortalLogin>, StoreError> {
        let Some(row) = login::Entity::find_by_id(state).one(&self.db).await? else { return Ok(None) };
        let res = login::Entity::delete_by_id(state).exec(&self.db).await?;
        Ok((res.rows_affected == 1).then(|| row.into()))
    }

    pub async fn insert_portal_session(&self, id_hash: &str, iin: &str, name: &str, ttl: chrono::Duration) -> Result<(), StoreError> {
        let now = Utc::now();
        session::ActiveModel { id_hash: Set(id_hash.into()), iin: Set(iin.into()), name: Set(name.into()), created_at: Set(now), expires_at: Set(now + ttl) }
            .insert_row(&self.db)
            .await?;
        Ok(())
    }

    pub async fn portal_session(&self, id_hash: &str) -> Result<Option<PortalSession>, StoreError> {
        Ok(session::Entity::find_by_id(id_hash).filter(session::Column::ExpiresAt.gt(Utc::now())).one(&self.db).await?.map(Into::into))
    }

    pub async fn end_portal_session(&self, id_hash: &str) -> Result<(), StoreError> {
        session::Entity::delete_by_id(id_hash).exec(&self.db).await?;
        Ok(())
    }
}

crate::record! {
    /// An application as filed (Appendix 1) with the workflow's last projection.
    ApplicationRow from application {
    id: String,
    bin: String,
    organisation_name: String,
    responsible_official: String,
    system_name: String,
    redirect_uri: String,
    sandbox_redirect_uri: Option<String>,
    tos_uri: String,
    policy_uri: String,
    logo: Option<String>,
    logo_type: Option<String>,
    contact_email: String,
    lang: String,
    authorised_person: String,
    filed_by_iin: String,
    filed_at: DateTime<Utc>,
    previous_id: Option<String>,
    step: String,
    deadline_side: Option<String>,
    deadline_due: Option<DateTime<Utc>>,
    overdue: bool,
    breaches: i32,
    snapshot: String,
    updated_at: DateTime<Utc>,
    }
}

crate::record! {
    /// A client granted to an application in one environment.
    Credential from credential {
    id: String,
    application_id: String,
    environment: String,
    client_id: String,
    sealed_secret: Option<String>,
    created_at: DateTime<Utc>,
    revealed_at: Option<DateTime<Utc>>,
    }
}

crate::record! {
    /// A document signed with EDS and uploaded to an application.
    SignedDocument from document {
    id: String,
    application_id: String,
    kind: String,
    document: String,
    document_sha256: String,
    signature: String,
    signer_iin: String,
    signer_name: String,
    uploaded_by: String,
    created_at: DateTime<Utc>,
    }
}

crate::record! {
    /// A mail of the procedure, sent or waiting.
    Mail from mail {
    id: String,
    application_id: String,
    recipient: String,
    lang: String,
    subject: String,
    body: String,
    event: String,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    error: Option<String>,
    }
}

crate::record! {
    /// A portal or console sign-in waiting for its code.
    PortalLogin from login {
    state: String,
    verifier: String,
    nonce: String,
    next: String,
    binding_hash: String,
    created_at: DateTime<Utc>,
    }
}

crate::record! {
    /// A signed-in portal or console session.
    PortalSession from session {
    id_hash: String,
    iin: String,
    name: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::PaginatorTrait;
    use tanu_core::crypto::{ClientSecrets, MasterKey};

    /// An activity retried (or run twice at once) after its worker was killed
    /// registers the application's client once, with its credential.
    #[tokio::test]
    async fn an_application_client_is_registered_once_with_its_credential() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let secrets = ClientSecrets::new(&MasterKey::from_base64(&MasterKey::generate_base64()).unwrap());
        let new = || super::super::NewClient::new("Bank (sandbox)", vec!["https://bank.kz/cb".parse().unwrap()]);
        let run = || store.register_application_client("app-1", "sandbox", new(), &secrets, |id, s| format!("sealed {s} for {id}"));
        let (a, b, c) = tokio::join!(run(), run(), run());
        let again = run().await;
        let ids: Vec<String> = [a, b, c, again].into_iter().map(Result::unwrap).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(crate::entities::client::Entity::find().count(&store.db).await.unwrap(), 1, "one client, not one per run");
        let c = store.credential("app-1", "sandbox").await.unwrap().unwrap();
        assert_eq!(c.client_id, ids[0]);
        assert!(c.sealed_secret.is_some_and(|s| s.starts_with("sealed ") && s.ends_with(&ids[0])));
        // Another environment is another client.
        let prod = store.register_application_client("app-1", "production", new(), &secrets, |_, s| s.to_owned()).await.unwrap();
        assert_ne!(prod, ids[0]);
    }
}
