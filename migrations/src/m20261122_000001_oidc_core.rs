//! The OpenID Connect provider core: clients, signing keys, citizens,
//! browser sessions, pending authorization requests, grants and the
//! tokens issued under them, and the citizen's consents.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    ClientId,
    SecretHash,
    Name,
    OrganisationName,
    SystemName,
    LogoUri,
    PolicyUri,
    TosUri,
    RedirectUris,
    PostLogoutRedirectUris,
    Jwks,
    TokenEndpointAuthMethod,
    SubjectType,
    SectorIdentifier,
    IdTokenSignedResponseAlg,
    Environment,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PublicJwk,
    SealedPrivateKey,
    CreatedAt,
    ActivatesAt,
}

#[derive(DeriveIden)]
enum Citizens {
    Table,
    Id,
    Iin,
    GivenName,
    FamilyName,
    Birthdate,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BrowserSessions {
    Table,
    Id,
    CookieHash,
    CitizenId,
    AuthTime,
    Acr,
    Amr,
    CreatedAt,
    ExpiresAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum LoginRequests {
    Table,
    Id,
    BrowserBindingHash,
    ClientId,
    Request,
    CreatedAt,
    ExpiresAt,
    AuthenticatedSessionId,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    ClientId,
    CitizenId,
    SessionId,
    Scope,
    AuthTime,
    Acr,
    Amr,
    CreatedAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    RedirectUri,
    PkceChallenge,
    Nonce,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    TokenHash,
    GrantId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    GrantId,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum ClientAssertions {
    Table,
    Jti,
    ClientId,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    CitizenId,
    ClientId,
    Scopes,
    GrantedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        clients_keys_and_citizens(m).await?;
        sessions_and_sign_ins(m).await?;
        grants_and_tokens(m).await?;
        consents_and_indexes(m).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Consents::Table.into_iden(),
            ClientAssertions::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            AccessTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            Grants::Table.into_iden(),
            LoginRequests::Table.into_iden(),
            BrowserSessions::Table.into_iden(),
            Citizens::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Clients::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Clients, signing keys and citizens.
async fn clients_keys_and_citizens(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Clients::Table)
            .col(string(Clients::ClientId).primary_key())
            .col(string_null(Clients::SecretHash))
            .col(string(Clients::Name))
            .col(string(Clients::OrganisationName))
            .col(string(Clients::SystemName))
            .col(string_null(Clients::LogoUri))
            .col(string_null(Clients::PolicyUri))
            .col(string_null(Clients::TosUri))
            .col(text(Clients::RedirectUris))
            .col(text(Clients::PostLogoutRedirectUris))
            .col(text_null(Clients::Jwks))
            .col(string(Clients::TokenEndpointAuthMethod))
            .col(string(Clients::SubjectType))
            .col(string(Clients::SectorIdentifier))
            .col(string(Clients::IdTokenSignedResponseAlg))
            .col(string(Clients::Environment))
            .col(boolean(Clients::Disabled))
            .col(timestamp_with_time_zone(Clients::CreatedAt))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(SigningKeys::Table)
            .col(string(SigningKeys::Kid).primary_key())
            .col(string(SigningKeys::Alg))
            .col(text(SigningKeys::PublicJwk))
            .col(text(SigningKeys::SealedPrivateKey))
            .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
            .col(timestamp_with_time_zone(SigningKeys::ActivatesAt))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(Citizens::Table)
            .col(string(Citizens::Id).primary_key())
            .col(string_uniq(Citizens::Iin))
            .col(string(Citizens::GivenName))
            .col(string(Citizens::FamilyName))
            .col(string_null(Citizens::Birthdate))
            .col(timestamp_with_time_zone(Citizens::CreatedAt))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Browser sessions and pending sign-ins.
async fn sessions_and_sign_ins(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(BrowserSessions::Table)
            .col(string(BrowserSessions::Id).primary_key())
            .col(string_uniq(BrowserSessions::CookieHash))
            .col(string(BrowserSessions::CitizenId))
            .col(timestamp_with_time_zone(BrowserSessions::AuthTime))
            .col(string(BrowserSessions::Acr))
            .col(text(BrowserSessions::Amr))
            .col(timestamp_with_time_zone(BrowserSessions::CreatedAt))
            .col(timestamp_with_time_zone(BrowserSessions::ExpiresAt))
            .col(timestamp_with_time_zone_null(BrowserSessions::EndedAt))
            .foreign_key(ForeignKey::create().from(BrowserSessions::Table, BrowserSessions::CitizenId).to(Citizens::Table, Citizens::Id))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(LoginRequests::Table)
            .col(string(LoginRequests::Id).primary_key())
            .col(string(LoginRequests::BrowserBindingHash))
            .col(string(LoginRequests::ClientId))
            .col(text(LoginRequests::Request))
            .col(timestamp_with_time_zone(LoginRequests::CreatedAt))
            .col(timestamp_with_time_zone(LoginRequests::ExpiresAt))
            .col(string_null(LoginRequests::AuthenticatedSessionId))
            .col(timestamp_with_time_zone_null(LoginRequests::CompletedAt))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Grants, codes, access and refresh tokens, client assertions.
async fn grants_and_tokens(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Grants::Table)
            .col(string(Grants::Id).primary_key())
            .col(string(Grants::ClientId))
            .col(string(Grants::CitizenId))
            .col(string(Grants::SessionId))
            .col(string(Grants::Scope))
            .col(timestamp_with_time_zone(Grants::AuthTime))
            .col(string(Grants::Acr))
            .col(text(Grants::Amr))
            .col(timestamp_with_time_zone(Grants::CreatedAt))
            .col(timestamp_with_time_zone_null(Grants::RevokedAt))
            .col(string_null(Grants::RevokedReason))
            .foreign_key(ForeignKey::create().from(Grants::Table, Grants::ClientId).to(Clients::Table, Clients::ClientId))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(AuthorizationCodes::Table)
            .col(string(AuthorizationCodes::CodeHash).primary_key())
            .col(string(AuthorizationCodes::GrantId))
            .col(string(AuthorizationCodes::ClientId))
            .col(text(AuthorizationCodes::RedirectUri))
            .col(string(AuthorizationCodes::PkceChallenge))
            .col(text_null(AuthorizationCodes::Nonce))
            .col(timestamp_with_time_zone(AuthorizationCodes::CreatedAt))
            .col(timestamp_with_time_zone(AuthorizationCodes::ExpiresAt))
            .col(timestamp_with_time_zone_null(AuthorizationCodes::UsedAt))
            .foreign_key(ForeignKey::create().from(AuthorizationCodes::Table, AuthorizationCodes::GrantId).to(Grants::Table, Grants::Id))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(AccessTokens::Table)
            .col(string(AccessTokens::TokenHash).primary_key())
            .col(string(AccessTokens::GrantId))
            .col(timestamp_with_time_zone(AccessTokens::ExpiresAt))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(RefreshTokens::Table)
            .col(string(RefreshTokens::TokenHash).primary_key())
            .col(string(RefreshTokens::GrantId))
            .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
            .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
            .to_owned(),
    )
    .await?;

    m.create_table(
        Table::create()
            .table(ClientAssertions::Table)
            .col(string(ClientAssertions::Jti).primary_key())
            .col(string(ClientAssertions::ClientId))
            .col(timestamp_with_time_zone(ClientAssertions::ExpiresAt))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Consents and the indexes.
async fn consents_and_indexes(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table(Consents::Table)
            .col(string(Consents::Id).primary_key())
            .col(string(Consents::CitizenId))
            .col(string(Consents::ClientId))
            .col(string(Consents::Scopes))
            .col(timestamp_with_time_zone(Consents::GrantedAt))
            .col(timestamp_with_time_zone_null(Consents::RevokedAt))
            .to_owned(),
    )
    .await?;

    for (table, name, cols) in [
        (Grants::Table.into_iden(), "idx_grants_client_citizen", vec![Grants::ClientId.into_iden(), Grants::CitizenId.into_iden()]),
        (AccessTokens::Table.into_iden(), "idx_access_tokens_grant", vec![AccessTokens::GrantId.into_iden()]),
        (RefreshTokens::Table.into_iden(), "idx_refresh_tokens_grant", vec![RefreshTokens::GrantId.into_iden()]),
        (Consents::Table.into_iden(), "idx_consents_citizen_client", vec![Consents::CitizenId.into_iden(), Consents::ClientId.into_iden()]),
    ] {
        let mut idx = Index::create();
        idx.name(name).table(table);
        for c in cols {
            idx.col(c);
        }
        m.create_index(idx.to_owned()).await?;
    }
    Ok(())
}
