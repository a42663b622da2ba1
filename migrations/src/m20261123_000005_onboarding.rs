//! Rules chapter 3 (§12–§17): the connection of initiators. The Temporal
//! workflow holds each application's state; these tables hold what the
//! portal and console need without asking it: the Appendix 1 form as filed,
//! the workflow's projection (step, deadline, overdue), the credentials of the
//! clients it created (secret sealed until shown once), the signed documents,
//! every mail sent, and who may act (initiators bound to a BIN, operator staff).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OnboardingStaff {
    Table,
    Iin,
    Name,
    Email,
    Lang,
    /// `reviewer` | `supervisor`.
    Role,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OnboardingInitiators {
    Table,
    Id,
    Iin,
    Bin,
    Name,
    Email,
    Lang,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OnboardingApplications {
    Table,
    Id,
    Bin,
    OrganisationName,
    ResponsibleOfficial,
    SystemName,
    RedirectUri,
    /// Optional: a loopback (http) or https redirect for the sandbox client only.
    SandboxRedirectUri,
    TosUri,
    PolicyUri,
    /// Base64 of the sanitised logo, and its media type.
    Logo,
    LogoType,
    ContactEmail,
    Lang,
    AuthorisedPerson,
    FiledByIin,
    FiledAt,
    /// The application this one files again after a refusal or lapse.
    PreviousId,
    // The workflow's projection.
    Step,
    DeadlineSide,
    DeadlineDue,
    Overdue,
    Breaches,
    /// JSON: the workflow's whole `Application` (timeline included).
    Snapshot,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OnboardingCredentials {
    Table,
    Id,
    ApplicationId,
    Environment,
    ClientId,
    /// The client secret sealed under the master key, until the initiator has seen it.
    SealedSecret,
    CreatedAt,
    RevealedAt,
}

#[derive(DeriveIden)]
enum OnboardingDocuments {
    Table,
    Id,
    ApplicationId,
    /// `act` (the initiator's) | `approval` (the operator's).
    Kind,
    Document,
    DocumentSha256,
    /// Base64 of the CMS detached signature (DER).
    Signature,
    SignerIin,
    SignerName,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OnboardingMails {
    Table,
    Id,
    ApplicationId,
    Recipient,
    Lang,
    Subject,
    Body,
    Event,
    CreatedAt,
    SentAt,
    Error,
}

#[derive(DeriveIden)]
enum OnboardingSessions {
    Table,
    IdHash,
    Iin,
    Name,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum OnboardingLogins {
    Table,
    State,
    Verifier,
    Nonce,
    Next,
    BindingHash,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        people_and_applications(m).await?;
        credentials_documents_and_mail(m).await?;
        portal_sessions(m).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            OnboardingLogins::Table.into_iden(),
            OnboardingSessions::Table.into_iden(),
            OnboardingMails::Table.into_iden(),
            OnboardingDocuments::Table.into_iden(),
            OnboardingCredentials::Table.into_iden(),
            OnboardingApplications::Table.into_iden(),
            OnboardingInitiators::Table.into_iden(),
            OnboardingStaff::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Staff, initiators and applications.
async fn people_and_applications(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(OnboardingStaff::Table)
            .col(string(OnboardingStaff::Iin).primary_key())
            .col(string(OnboardingStaff::Name))
            .col(string(OnboardingStaff::Email))
            .col(string(OnboardingStaff::Lang))
            .col(string(OnboardingStaff::Role))
            .col(boolean(OnboardingStaff::Disabled))
            .col(timestamp_with_time_zone(OnboardingStaff::CreatedAt))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(OnboardingInitiators::Table)
            .col(string(OnboardingInitiators::Id).primary_key())
            .col(string(OnboardingInitiators::Iin))
            .col(string(OnboardingInitiators::Bin))
            .col(string(OnboardingInitiators::Name))
            .col(string(OnboardingInitiators::Email))
            .col(string(OnboardingInitiators::Lang))
            .col(timestamp_with_time_zone(OnboardingInitiators::CreatedAt))
            .to_owned(),
    )
    .await?;
    m.create_index(
        Index::create()
            .name("idx_onboarding_initiators_iin_bin")
            .table(OnboardingInitiators::Table)
            .col(OnboardingInitiators::Iin)
            .col(OnboardingInitiators::Bin)
            .unique()
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(OnboardingApplications::Table)
            .col(string(OnboardingApplications::Id).primary_key())
            .col(string(OnboardingApplications::Bin))
            .col(string(OnboardingApplications::OrganisationName))
            .col(string(OnboardingApplications::ResponsibleOfficial))
            .col(string(OnboardingApplications::SystemName))
            .col(text(OnboardingApplications::RedirectUri))
            .col(text_null(OnboardingApplications::SandboxRedirectUri))
            .col(text(OnboardingApplications::TosUri))
            .col(text(OnboardingApplications::PolicyUri))
            .col(text_null(OnboardingApplications::Logo))
            .col(string_null(OnboardingApplications::LogoType))
            .col(string(OnboardingApplications::ContactEmail))
            .col(string(OnboardingApplications::Lang))
            .col(string(OnboardingApplications::AuthorisedPerson))
            .col(string(OnboardingApplications::FiledByIin))
            .col(timestamp_with_time_zone(OnboardingApplications::FiledAt))
            .col(string_null(OnboardingApplications::PreviousId))
            .col(string(OnboardingApplications::Step))
            .col(string_null(OnboardingApplications::DeadlineSide))
            .col(timestamp_with_time_zone_null(OnboardingApplications::DeadlineDue))
            .col(boolean(OnboardingApplications::Overdue))
            .col(integer(OnboardingApplications::Breaches))
            .col(text(OnboardingApplications::Snapshot))
            .col(timestamp_with_time_zone(OnboardingApplications::UpdatedAt))
            .to_owned(),
    )
    .await?;
    m.create_index(Index::create().name("idx_onboarding_applications_bin").table(OnboardingApplications::Table).col(OnboardingApplications::Bin).to_owned())
        .await?;
    Ok(())
}

/// Credentials, signed documents and mails.
async fn credentials_documents_and_mail(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(OnboardingCredentials::Table)
            .col(string(OnboardingCredentials::Id).primary_key())
            .col(string(OnboardingCredentials::ApplicationId))
            .col(string(OnboardingCredentials::Environment))
            .col(string(OnboardingCredentials::ClientId))
            .col(text_null(OnboardingCredentials::SealedSecret))
            .col(timestamp_with_time_zone(OnboardingCredentials::CreatedAt))
            .col(timestamp_with_time_zone_null(OnboardingCredentials::RevealedAt))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(OnboardingDocuments::Table)
            .col(string(OnboardingDocuments::Id).primary_key())
            .col(string(OnboardingDocuments::ApplicationId))
            .col(string(OnboardingDocuments::Kind))
            .col(text(OnboardingDocuments::Document))
            .col(string(OnboardingDocuments::DocumentSha256))
            .col(text(OnboardingDocuments::Signature))
            .col(string(OnboardingDocuments::SignerIin))
            .col(string(OnboardingDocuments::SignerName))
            .col(string(OnboardingDocuments::UploadedBy))
            .col(timestamp_with_time_zone(OnboardingDocuments::CreatedAt))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(OnboardingMails::Table)
            .col(string(OnboardingMails::Id).primary_key())
            .col(string(OnboardingMails::ApplicationId))
            .col(string(OnboardingMails::Recipient))
            .col(string(OnboardingMails::Lang))
            .col(text(OnboardingMails::Subject))
            .col(text(OnboardingMails::Body))
            .col(string(OnboardingMails::Event))
            .col(timestamp_with_time_zone(OnboardingMails::CreatedAt))
            .col(timestamp_with_time_zone_null(OnboardingMails::SentAt))
            .col(text_null(OnboardingMails::Error))
            .to_owned(),
    )
    .await?;
    m.create_index(Index::create().name("idx_onboarding_mails_application").table(OnboardingMails::Table).col(OnboardingMails::ApplicationId).to_owned())
        .await?;
    Ok(())
}

/// The portal's sessions and sign-ins.
async fn portal_sessions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(OnboardingSessions::Table)
            .col(string(OnboardingSessions::IdHash).primary_key())
            .col(string(OnboardingSessions::Iin))
            .col(string(OnboardingSessions::Name))
            .col(timestamp_with_time_zone(OnboardingSessions::CreatedAt))
            .col(timestamp_with_time_zone(OnboardingSessions::ExpiresAt))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table(OnboardingLogins::Table)
            .col(string(OnboardingLogins::State).primary_key())
            .col(string(OnboardingLogins::Verifier))
            .col(string(OnboardingLogins::Nonce))
            .col(text(OnboardingLogins::Next))
            .col(string(OnboardingLogins::BindingHash))
            .col(timestamp_with_time_zone(OnboardingLogins::CreatedAt))
            .to_owned(),
    )
    .await?;
    Ok(())
}
