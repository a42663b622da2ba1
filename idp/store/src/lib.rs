//! Persistence: one `Store` over a sea-orm connection (SQLite or PostgreSQL).
//! Rows are turned into domain types here, so nothing above this module
//! handles raw column strings.
pub mod audit;
pub mod biometric;
pub mod cabinet;
pub mod client_keys;
pub mod documents;
pub mod dpop;
/// The sea-orm entities. Hidden: nothing above the store uses them (the
/// operations return records); the tests alone read and tamper with rows
/// through them, as an attacker with database access would.
#[doc(hidden)]
pub mod entities;
pub mod face;
pub mod first_party;
pub mod grants;
pub mod journal;
pub mod keys;
pub mod onboarding;
pub mod ops;
pub mod outbox;
pub mod par;
pub mod sessions;
pub mod tokens;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TryIntoModel};
use tanu_migrations::{Migrator, MigratorTrait};

pub use client_keys::ClientJwks;
use entities::*;
pub use journal::stored_time;
use tanu_core::domain::{
    ClientId, ClientProfile, ContentEncryption, Encryption, Environment, KeyEncryptionAlg, ParseError, RedirectUri, SigningAlg, SubjectType, TokenAuthMethod,
};

/// A plain record of a table's row, for the crates above the store: the
/// entity stays here, the record has the same fields and no database trait.
/// Both conversions are generated, and building the `ActiveModel` names every
/// field, so a record missing a column does not compile.
#[macro_export]
#[doc(hidden)]
macro_rules! record {
    ($(#[$meta:meta])* $name:ident from $($entity:ident)::+ { $($field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(pub $field: $ty,)*
        }
        impl From<$name> for $($entity)::+::ActiveModel {
            fn from(r: $name) -> Self {
                $($entity)::+::ActiveModel { $($field: sea_orm::Set(r.$field),)* }
            }
        }
        impl From<$($entity)::+::Model> for $name {
            fn from(m: $($entity)::+::Model) -> Self {
                $name { $($field: m.$field,)* }
            }
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// The database cannot serve now — unreachable, restarting, refusing
    /// connections, out of disk space — so the request may succeed later:
    /// neither the client's mistake nor a bug. Protocols answer it as
    /// "temporarily unavailable" (503), not as an internal error.
    pub fn is_unavailable(&self) -> bool {
        use sea_orm::{sqlx::Error as Sqlx, DbErr, RuntimeErr};
        let runtime = match self {
            // No connection could be had or made (PostgreSQL refusing, say, with 55000 or 57P03).
            StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) => return true,
            StoreError::Db(DbErr::Exec(r) | DbErr::Query(r)) => r,
            _ => return false,
        };
        let RuntimeErr::SqlxError(e) = runtime else { return false };
        match e.as_ref() {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Tls(_) => true,
            Sqlx::Database(d) => d.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        }
    }
}

/// SQLite's primary result codes (the low byte of an extended one) for a
/// busy, locked, full or failing disk; PostgreSQL's SQLSTATE classes 08
/// (connection), 53 (insufficient resources: disk full, too many
/// connections) and 57P (the server shutting down or starting).
/// (SQLSTATEs have five characters; SQLite's extended codes at most four digits.)
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("08") || code.starts_with("53") || code.starts_with("57P");
    }
    code.parse::<i32>().is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6 | 10 | 13 | 14))
}

impl From<ParseError> for StoreError {
    fn from(e: ParseError) -> Self {
        StoreError::Invalid(e.to_string())
    }
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
}

/// Creates the SQLite file (mode 0600) and its missing directories (0700)
/// before SQLite does, so that neither is ever readable by others; the
/// journal files SQLite adds take the database file's mode.
fn create_private_file(file: &std::path::Path) -> Result<(), StoreError> {
    let err = |p: &std::path::Path, e: std::io::Error| StoreError::Invalid(format!("cannot create {}: {e}", p.display()));
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| err(dir, e))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(file, e)),
    }
}

impl Store {
    /// The connection itself, for the tests alone: they tamper with rows as
    /// an attacker with database access would, and look at what was stored.
    /// Nothing in the service writes SQL outside this module.
    #[doc(hidden)]
    pub fn raw_connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Connects and runs pending migrations. For SQLite the parent directory
    /// of the file is created.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let file = path.split('?').next().unwrap_or_default();
            if !file.is_empty() && !file.starts_with(':') {
                create_private_file(std::path::Path::new(file))?;
            }
        }
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false);
        if url.starts_with("sqlite:") {
            // One writer at a time is what SQLite offers; a single connection
            // avoids "database is locked" under concurrent requests.
            opts.max_connections(1);
            // Write-ahead log: a commit is one append and one fsync, where the
            // rollback journal took a file created, synced and deleted per
            // commit (issue 13: the grants on SQLite queued behind those).
            // `synchronous = FULL` stays: every acknowledged write survives a
            // power cut, not only a crash of the process.
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Full));
        }
        let db = Database::connect(opts).await?;
        Ok(Self { db })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "postgres",
            sea_orm::DatabaseBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }
}

/// Writes of one row with plain `INSERT` and `UPDATE` statements. Not
/// `ActiveModel::insert`/`update`: on SQLite they are `INSERT … RETURNING`
/// and `UPDATE … RETURNING`, whose automatic commit happens when the driver
/// resets the statement after reading the returned row, and an error of that
/// commit is never reported — on a full disk the row was lost while the
/// caller was told it was written (found by the CLI test
/// `a_full_disk_refuses_writes_cleanly_and_corrupts_nothing`). A plain
/// statement reports its commit's failure.
pub(crate) trait WriteRow: ActiveModelTrait + Send + Sized {
    fn insert_row<C: sea_orm::ConnectionTrait>(self, db: &C) -> impl std::future::Future<Output = Result<(), sea_orm::DbErr>> + Send {
        async move { <Self::Entity as EntityTrait>::insert(self).exec_without_returning(db).await.map(|_| ()) }
    }
    fn update_row<C: sea_orm::ConnectionTrait>(self, db: &C) -> impl std::future::Future<Output = Result<(), sea_orm::DbErr>> + Send {
        async move { <Self::Entity as EntityTrait>::update(self).exec_without_returning(db).await.map(|_| ()) }
    }
}

impl<A: ActiveModelTrait + Send> WriteRow for A {}

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt { what, detail: detail.to_string() }
}

// ---------------------------------------------------------------- clients

/// A registered relying party.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub secret_hash: Option<String>,
    pub name: String,
    pub organisation_name: String,
    pub system_name: String,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub jwks: Option<ClientJwks>,
    pub auth_method: TokenAuthMethod,
    pub subject_type: SubjectType,
    pub sector_identifier: String,
    pub id_token_alg: SigningAlg,
    /// Its ID tokens are encrypted to its key (a nested JWT).
    pub id_token_encryption: Option<Encryption>,
    /// Userinfo answers as a JWT signed with this algorithm (`application/jwt`).
    pub userinfo_alg: Option<SigningAlg>,
    /// …and encrypted to its key (only with `userinfo_alg`).
    pub userinfo_encryption: Option<Encryption>,
    pub environment: Environment,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub notification_endpoint: Option<String>,
    /// Where logout tokens are posted (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
    /// Its authorization requests must be pushed (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// The security profile it is held to (`fapi2`: FAPI 2.0).
    pub profile: ClientProfile,
    /// Its token requests must carry a DPoP proof (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
}

impl Client {
    /// Whether `/authorize` accepts only pushed requests from this client:
    /// registered so, or implied by its profile.
    pub fn requires_par(&self) -> bool {
        self.require_pushed_authorization_requests || self.profile.requires_par()
    }
    pub fn redirect_uri(&self, presented: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.matches(presented))
    }
    pub fn post_logout_uri(&self, presented: &str) -> Option<&RedirectUri> {
        self.post_logout_redirect_uris.iter().find(|r| r.matches(presented))
    }
}

impl TryFrom<client::Model> for Client {
    type Error = StoreError;
    fn try_from(m: client::Model) -> Result<Self, StoreError> {
        let uris = |s: &str| -> Result<Vec<RedirectUri>, StoreError> { serde_json::from_str(s).map_err(|e| corrupt("client redirect URIs", e)) };
        Ok(Client {
            id: m.client_id.parse()?,
            secret_hash: m.secret_hash,
            name: m.name,
            organisation_name: m.organisation_name,
            system_name: m.system_name,
            logo_uri: m.logo_uri,
            policy_uri: m.policy_uri,
            tos_uri: m.tos_uri,
            redirect_uris: uris(&m.redirect_uris)?,
            post_logout_redirect_uris: uris(&m.post_logout_redirect_uris)?,
            jwks: m
                .jwks
                .map(|j| {
                    serde_json::from_str(&j).map_err(|e| corrupt("client JWKS", e)).and_then(|v| ClientJwks::parse(v).map_err(|e| corrupt("client JWKS", e)))
                })
                .transpose()?,
            auth_method: m.token_endpoint_auth_method.parse()?,
            subject_type: m.subject_type.parse()?,
            sector_identifier: m.sector_identifier,
            id_token_alg: m.id_token_signed_response_alg.parse()?,
            id_token_encryption: encryption(m.id_token_encrypted_response_alg.as_deref(), m.id_token_encrypted_response_enc.as_deref())?,
            userinfo_alg: m.userinfo_signed_response_alg.as_deref().map(str::parse).transpose()?,
            userinfo_encryption: encryption(m.userinfo_encrypted_response_alg.as_deref(), m.userinfo_encrypted_response_enc.as_deref())?,
            environment: m.environment.parse()?,
            disabled: m.disabled,
            created_at: m.created_at,
            notification_endpoint: m.notification_endpoint,
            backchannel_logout_uri: m.backchannel_logout_uri,
            backchannel_logout_session_required: m.backchannel_logout_session_required,
            require_pushed_authorization_requests: m.require_pushed_authorization_requests,
            profile: m.profile.parse()?,
            dpop_bound_access_tokens: m.dpop_bound_access_tokens,
        })
    }
}

/// The stored pair of an encryption's parameters.
fn encryption(alg: Option<&str>, enc: Option<&str>) -> Result<Option<Encryption>, StoreError> {
    let alg = alg.map(str::parse::<KeyEncryptionAlg>).transpose()?;
    let enc = enc.map(str::parse::<ContentEncryption>).transpose()?;
    Ok(Encryption::from_registration(alg, enc)?)
}

/// What the operator registers. Validated by `Store::register_client`.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub organisation_name: Option<String>,
    pub system_name: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub jwks: Option<ClientJwks>,
    pub auth_method: TokenAuthMethod,
    pub subject_type: SubjectType,
    pub id_token_alg: SigningAlg,
    /// ID tokens encrypted to a key of `jwks` (checked at registration).
    pub id_token_encryption: Option<Encryption>,
    /// Userinfo as a signed JWT.
    pub userinfo_alg: Option<SigningAlg>,
    /// Userinfo as a signed, then encrypted JWT (needs `userinfo_alg`).
    pub userinfo_encryption: Option<Encryption>,
    pub environment: Environment,
    pub notification_endpoint: Option<RedirectUri>,
    /// Back-Channel Logout 1.0: where logout tokens go (no fragment, like
    /// every `RedirectUri`; https under the redirect URIs' rule).
    pub backchannel_logout_uri: Option<RedirectUri>,
    pub backchannel_logout_session_required: bool,
    /// RFC 9126 §6: `/authorize` accepts only pushed requests from this client.
    pub require_pushed_authorization_requests: bool,
    /// `fapi2`: the FAPI 2.0 Security Profile, checked by `register_client`.
    pub profile: ClientProfile,
    /// RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// The pairwise sector from a verified `sector_identifier_uri`
    /// (`crate::sector::fetch`); `None`: the redirect URIs' one sector.
    pub sector_identifier: Option<String>,
}

impl NewClient {
    pub fn new(name: impl Into<String>, redirect_uris: Vec<RedirectUri>) -> Self {
        Self {
            name: name.into(),
            organisation_name: None,
            system_name: None,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            redirect_uris,
            post_logout_redirect_uris: vec![],
            jwks: None,
            auth_method: TokenAuthMethod::ClientSecretBasic,
            subject_type: SubjectType::Pairwise,
            id_token_alg: SigningAlg::Rs256,
            id_token_encryption: None,
            userinfo_alg: None,
            userinfo_encryption: None,
            environment: Environment::Sandbox,
            notification_endpoint: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            require_pushed_authorization_requests: false,
            profile: ClientProfile::Standard,
            dpop_bound_access_tokens: false,
            sector_identifier: None,
        }
    }
}

/// What the FAPI 2.0 Security Profile demands of a registration: the
/// redirect URIs' transport rule above (https; http only on a loopback host
/// in the sandbox, which is RFC 8252 §7.3's exception FAPI 2.0 SP §5.3.2.2
/// keeps) applies to every client already.
fn check_fapi2(new: &NewClient) -> Result<(), StoreError> {
    let refuse = |why: &str| Err(StoreError::Invalid(format!("a fapi2 client {why}")));
    if !new.profile.allows_auth_method(new.auth_method) {
        return refuse("authenticates with private_key_jwt only (FAPI 2.0 SP §5.3.2.1-6); no client secret");
    }
    if !new.profile.allows_id_token_alg(new.id_token_alg) {
        return refuse("needs ES256 ID tokens (FAPI 2.0 SP §5.4.1 allows PS256, ES256, EdDSA; Tanu's keys sign ES256, not PS256)");
    }
    // FAPI 2.0 SP §5.4.1: assertions in PS256 or ES256; RSA keys of at
    // least 2048 bits. A key restricted to another algorithm (RS256) could
    // only sign assertions this profile refuses.
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    // Encryption keys (`"use": "enc"`) are the client's to choose.
    for k in new.jwks.iter().flat_map(|j| j.signature_keys()) {
        let kid = k.common.key_id.as_deref().unwrap_or("(no kid)");
        if let Some(alg) = k.common.key_algorithm {
            if !new.profile.assertion_algs().contains(&alg.to_string().as_str()) {
                return refuse(&format!("signs its assertions with PS256 or ES256; key {kid} is for {alg}"));
            }
        }
        let usable = match &k.algorithm {
            AlgorithmParameters::EllipticCurve(ec) => ec.curve == EllipticCurve::P256,
            AlgorithmParameters::RSA(rsa) => {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(rsa.n.trim_end_matches('=')).map(|n| n.len() * 8 >= 2048).unwrap_or(false)
            }
            _ => false,
        };
        if !usable {
            return refuse(&format!("needs P-256 or RSA (2048 bits or more) keys; key {kid} is neither"));
        }
    }
    Ok(())
}

/// A registered client and, for secret-based methods, its secret, shown once.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

impl Store {
    /// The secret (when the method has one) is generated here, 256 random
    /// bits, and stored only in the form `secrets` gives it.
    pub async fn register_client(&self, new: NewClient, secrets: &tanu_core::crypto::ClientSecrets) -> Result<Registered, StoreError> {
        let (model, secret) = prepare_client(new, secrets)?;
        model.clone().insert_row(&self.db).await?;
        Ok(Registered { client: model.try_into_model()?.try_into()?, secret })
    }
}

/// A new client's name and its URIs' transport: production clients redirect
/// (and receive logout tokens) over https only.
fn check_transport(new: &NewClient) -> Result<(), StoreError> {
    if new.name.trim().is_empty() || new.name.len() > 200 {
        return Err(StoreError::Invalid("name must be 1 to 200 characters".into()));
    }
    if new.redirect_uris.is_empty() {
        return Err(StoreError::Invalid("at least one redirect URI is required".into()));
    }
    for r in &new.redirect_uris {
        // A production client may only redirect over https (Rules §17: real citizens' data).
        let ok = match new.environment {
            Environment::Production => r.as_str().starts_with("https://"),
            Environment::Sandbox => r.is_secure_or_loopback(),
        };
        if !ok {
            return Err(StoreError::Invalid(format!("redirect URI {} must use https (plain http only for a loopback host in the sandbox)", r.as_str())));
        }
    }
    if let Some(n) = &new.notification_endpoint {
        if !n.is_secure_or_loopback() {
            return Err(StoreError::Invalid("the notification endpoint must use https".into()));
        }
    }
    if let Some(b) = &new.backchannel_logout_uri {
        // Logout tokens name the citizen: the same transport rule as the redirect URIs.
        let ok = match new.environment {
            Environment::Production => b.as_str().starts_with("https://"),
            Environment::Sandbox => b.is_secure_or_loopback(),
        };
        if !ok {
            return Err(StoreError::Invalid("the backchannel logout URI must use https (plain http only for a loopback host in the sandbox)".into()));
        }
    }
    if new.backchannel_logout_session_required && new.backchannel_logout_uri.is_none() {
        return Err(StoreError::Invalid("backchannel_logout_session_required needs a backchannel logout URI".into()));
    }
    Ok(())
}

/// A new client's keys: `private_key_jwt` needs a signature key, each
/// encrypted response an encryption key for its algorithm.
fn check_keys(new: &NewClient) -> Result<(), StoreError> {
    if new.auth_method == TokenAuthMethod::PrivateKeyJwt && new.jwks.as_ref().is_none_or(|j| j.signature_keys().next().is_none()) {
        return Err(StoreError::Invalid("private_key_jwt needs a JWKS with at least one signature key".into()));
    }
    // Encryption only to a key the client registered for it (OIDC Registration §2).
    for (what, e) in [("ID tokens", new.id_token_encryption), ("userinfo responses", new.userinfo_encryption)] {
        if let Some(e) = e {
            if new.jwks.as_ref().and_then(|j| j.encryption_key(e.alg)).is_none() {
                return Err(StoreError::Invalid(format!(
                    "{what} encrypted with {} need an encryption key for it in the client's JWKS (kty {}, \"use\": \"enc\" or none)",
                    e.alg,
                    match e.alg {
                        KeyEncryptionAlg::RsaOaep256 => "RSA",
                        KeyEncryptionAlg::EcdhEs => "EC P-256/P-384/P-521 or OKP X25519",
                    }
                )));
            }
        }
    }
    if new.userinfo_encryption.is_some() && new.userinfo_alg.is_none() {
        return Err(StoreError::Invalid("encrypted userinfo responses are nested JWTs: give the userinfo signing algorithm too".into()));
    }
    Ok(())
}

/// A new client's row, checked, and its secret (shown once).
pub(crate) fn prepare_client(mut new: NewClient, secrets: &tanu_core::crypto::ClientSecrets) -> Result<(client::ActiveModel, Option<String>), StoreError> {
    check_transport(&new)?;
    // OIDC Core §8.1: the sector of a sector_identifier_uri (checked by
    // whoever fetched it), else the one sector all redirect URIs share.
    let sector = match new.sector_identifier.take() {
        Some(s) => s,
        None => {
            let sectors: std::collections::BTreeSet<String> = new.redirect_uris.iter().filter_map(|r| r.sector()).collect();
            if sectors.len() != 1 {
                return Err(StoreError::Invalid(
                    "all redirect URIs must share one host (and port, on loopback): the pairwise sector; or give a sector_identifier_uri".into(),
                ));
            }
            sectors.into_iter().next().unwrap_or_default()
        }
    };
    check_keys(&new)?;
    if new.profile == ClientProfile::Fapi2 {
        check_fapi2(&new)?;
        // The profile implies PAR; stored so that `clients show` says so.
        new.require_pushed_authorization_requests = true;
    }
    let id = ClientId::generate();
    let secret = match new.auth_method {
        TokenAuthMethod::PrivateKeyJwt => None,
        _ => Some(tanu_core::crypto::random_token(32)),
    };
    let secret_hash = secret.as_deref().map(|s| secrets.hash(s)).transpose().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let to_json = |v: &Vec<RedirectUri>| serde_json::to_string(v).map_err(|e| StoreError::Invalid(e.to_string()));
    let model = client::ActiveModel {
        client_id: Set(id.to_string()),
        secret_hash: Set(secret_hash),
        organisation_name: Set(new.organisation_name.unwrap_or_else(|| new.name.clone())),
        system_name: Set(new.system_name.unwrap_or_else(|| new.name.clone())),
        name: Set(new.name),
        logo_uri: Set(new.logo_uri),
        policy_uri: Set(new.policy_uri),
        tos_uri: Set(new.tos_uri),
        redirect_uris: Set(to_json(&new.redirect_uris)?),
        post_logout_redirect_uris: Set(to_json(&new.post_logout_redirect_uris)?),
        jwks: Set(new.jwks.as_ref().map(|j| j.raw().to_string())),
        token_endpoint_auth_method: Set(new.auth_method.to_string()),
        subject_type: Set(new.subject_type.to_string()),
        sector_identifier: Set(sector),
        id_token_signed_response_alg: Set(new.id_token_alg.to_string()),
        id_token_encrypted_response_alg: Set(new.id_token_encryption.map(|e| e.alg.to_string())),
        id_token_encrypted_response_enc: Set(new.id_token_encryption.map(|e| e.enc.to_string())),
        userinfo_signed_response_alg: Set(new.userinfo_alg.map(|a| a.to_string())),
        userinfo_encrypted_response_alg: Set(new.userinfo_encryption.map(|e| e.alg.to_string())),
        userinfo_encrypted_response_enc: Set(new.userinfo_encryption.map(|e| e.enc.to_string())),
        environment: Set(new.environment.to_string()),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        notification_endpoint: Set(new.notification_endpoint.map(String::from)),
        backchannel_logout_uri: Set(new.backchannel_logout_uri.map(String::from)),
        backchannel_logout_session_required: Set(new.backchannel_logout_session_required),
        require_pushed_authorization_requests: Set(new.require_pushed_authorization_requests),
        profile: Set(new.profile.to_string()),
        dpop_bound_access_tokens: Set(new.dpop_bound_access_tokens),
    };
    Ok((model, secret))
}

impl Store {
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        client::Entity::find_by_id(id.as_str()).one(&self.db).await?.map(Client::try_from).transpose()
    }

    /// Replaces a client's stored secret hash, only if it is still `old`
    /// (the migration from Argon2 to HMAC; a concurrent change wins).
    pub async fn replace_client_secret_hash(&self, id: &ClientId, old: &str, new: &str) -> Result<bool, StoreError> {
        let r = client::Entity::update_many()
            .col_expr(client::Column::SecretHash, sea_orm::sea_query::Expr::value(new))
            .filter(client::Column::ClientId.eq(id.as_str()))
            .filter(client::Column::SecretHash.eq(old))
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }

    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        client::Entity::find().order_by_asc(client::Column::CreatedAt).all(&self.db).await?.into_iter().map(Client::try_from).collect()
    }

    /// Disabling a client also revokes every grant it holds.
    pub async fn disable_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let Some(m) = client::Entity::find_by_id(id.as_str()).one(&self.db).await? else { return Ok(false) };
        let mut a: client::ActiveModel = m.into();
        a.disabled = Set(true);
        a.update_row(&self.db).await?;
        grant::Entity::update_many()
            .col_expr(grant::Column::RevokedAt, sea_orm::sea_query::Expr::value(Utc::now()))
            .col_expr(grant::Column::RevokedReason, sea_orm::sea_query::Expr::value("client disabled"))
            .filter(grant::Column::ClientId.eq(id.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(true)
    }
}

// ---------------------------------------------------------------- citizens

/// A person's account: a citizen (production) or a test person (sandbox).
/// The same IIN in the two environments is two accounts.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub id: String,
    pub environment: Environment,
    pub iin: String,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: Option<String>,
}

impl TryFrom<citizen::Model> for Citizen {
    type Error = StoreError;
    fn try_from(m: citizen::Model) -> Result<Self, StoreError> {
        Ok(Citizen { id: m.id, environment: m.environment.parse()?, iin: m.iin, given_name: m.given_name, family_name: m.family_name, birthdate: m.birthdate })
    }
}

impl Store {
    /// The person's account in `environment`, created on first sign-in.
    /// `iin` has been parsed and checked by the caller (the authenticator).
    pub async fn upsert_citizen(
        &self,
        environment: Environment,
        iin: &str,
        given_name: &str,
        family_name: &str,
        birthdate: Option<&str>,
    ) -> Result<Citizen, StoreError> {
        let existing =
            citizen::Entity::find().filter(citizen::Column::Environment.eq(environment.as_str())).filter(citizen::Column::Iin.eq(iin)).one(&self.db).await?;
        if let Some(m) = existing {
            let mut a: citizen::ActiveModel = m.into();
            a.given_name = Set(given_name.into());
            a.family_name = Set(family_name.into());
            a.birthdate = Set(birthdate.map(Into::into));
            a.clone().update_row(&self.db).await?;
            return a.try_into_model()?.try_into();
        }
        let row = citizen::ActiveModel {
            id: Set(uuid_like()),
            environment: Set(environment.to_string()),
            iin: Set(iin.into()),
            given_name: Set(given_name.into()),
            family_name: Set(family_name.into()),
            birthdate: Set(birthdate.map(Into::into)),
            created_at: Set(Utc::now()),
        };
        row.clone().insert_row(&self.db).await?;
        row.try_into_model()?.try_into()
    }

    pub async fn citizen(&self, id: &str) -> Result<Option<Citizen>, StoreError> {
        citizen::Entity::find_by_id(id).one(&self.db).await?.map(Citizen::try_from).transpose()
    }

    /// Whether the citizen has granted `client` every scope in `scopes`.
    pub async fn consented_scopes(&self, citizen_id: &str, client: &ClientId) -> Result<tanu_core::domain::ScopeSet, StoreError> {
        let rows = consent::Entity::find()
            .filter(consent::Column::CitizenId.eq(citizen_id))
            .filter(consent::Column::ClientId.eq(client.as_str()))
            .filter(consent::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?;
        let mut set = tanu_core::domain::ScopeSet::default();
        for r in rows {
            set.0.extend(tanu_core::domain::ScopeSet::parse_lenient(&r.scopes).0);
        }
        Ok(set)
    }

    pub async fn record_consent(&self, citizen_id: &str, client: &ClientId, scopes: &tanu_core::domain::ScopeSet) -> Result<(), StoreError> {
        consent::ActiveModel {
            id: Set(uuid_like()),
            citizen_id: Set(citizen_id.into()),
            client_id: Set(client.to_string()),
            scopes: Set(scopes.to_string()),
            granted_at: Set(Utc::now()),
            revoked_at: Set(None),
        }
        .insert_row(&self.db)
        .await?;
        Ok(())
    }
}

/// A random 128-bit identifier, hex. Identifiers are not secrets but must not
/// be guessable either (they appear in URLs).
pub fn uuid_like() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    hex::encode(b)
}

#[cfg(test)]
mod unavailable_tests {
    #[test]
    fn unavailable_codes_of_both_databases() {
        // SQLite: busy, locked, I/O error on write (778), full, cannot open.
        for code in ["5", "6", "778", "13", "14"] {
            assert!(super::unavailable_code(code), "{code}");
        }
        // SQLite: a unique constraint (2067), a syntax error (1).
        for code in ["2067", "1", "19"] {
            assert!(!super::unavailable_code(code), "{code}");
        }
        // PostgreSQL: connection failure, disk full, too many connections, admin shutdown, starting up.
        for code in ["08006", "53100", "53300", "57P01", "57P03"] {
            assert!(super::unavailable_code(code), "{code}");
        }
        // PostgreSQL: unique violation, serialization failure, undefined table.
        for code in ["23505", "40001", "42P01"] {
            assert!(!super::unavailable_code(code), "{code}");
        }
    }
}

#[cfg(test)]
mod sqlite_tests {
    use sea_orm::ConnectionTrait;

    /// The SQLite file is written ahead-logged and synced on every commit.
    #[tokio::test]
    async fn sqlite_files_are_write_ahead_logged_and_synced_per_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::connect(&format!("sqlite://{}/t.db?mode=rwc", dir.path().display())).await.unwrap();
        store.migrate().await.unwrap();
        let db = store.raw_connection();
        let pragma = |sql: &'static str| async move {
            let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<String>(0).or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string())).unwrap()
        };
        assert_eq!(pragma("PRAGMA journal_mode").await, "wal");
        assert_eq!(pragma("PRAGMA synchronous").await, "2", "FULL");
        assert!(dir.path().join("t.db-wal").exists());
    }
}
