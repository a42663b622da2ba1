//! The first-party clients (the onboarding portal, the citizen's cabinet):
//! relying parties of this very provider, created and kept in line with the
//! configuration at start.
use sea_orm::{EntityTrait, IntoActiveModel, Set};

use super::{corrupt, Store, StoreError, WriteRow};

impl Store {
    /// The portal's own OIDC client (the portal and console sign people in
    /// through Tanu like any relying party): created on first start, its
    /// redirect URI and secret brought in line with the configuration after.
    /// The secret is derived from the master key (256 bits); one shorter than
    /// `crypto::CLIENT_SECRET_MIN_CHARS` is refused. A hash in the legacy
    /// Argon2 form counts as stale and is replaced by the HMAC form.
    ///
    /// First-party clients (the portal, the cabinet) are always production:
    /// they sign in real citizens (Rules §14). Their one redirect URI is the
    /// issuer's own callback, which the configuration holds to https (http
    /// only on a loopback host), so it is registered under the sandbox's
    /// transport rule and then made production.
    pub async fn ensure_first_party_client(
        &self,
        id: &tanu_core::domain::ClientId,
        name: &str,
        secret: &str,
        redirect_uri: &tanu_core::domain::RedirectUri,
        secrets: &tanu_core::crypto::ClientSecrets,
    ) -> Result<(), StoreError> {
        let production = tanu_core::domain::Environment::Production.as_str();
        use super::entities::client;
        let redirects = serde_json::to_string(&vec![redirect_uri.as_str()]).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let hash = || secrets.hash(secret).map_err(|e| StoreError::Invalid(e.to_string()));
        // Several instances start at once: each may find no row; one insert
        // wins and the others, refused by the key, bring the winner's row
        // in line instead (the second pass finds it).
        for _ in 0..2 {
            match client::Entity::find_by_id(id.as_str()).one(&self.db).await? {
                Some(row) => {
                    let secret_ok = row.secret_hash.as_deref().is_some_and(|h| secrets.verify_fast(secret, h) == Some(true));
                    if !secret_ok || row.redirect_uris != redirects || row.disabled || row.environment != production {
                        let mut a = row.into_active_model();
                        a.environment = Set(production.into());
                        a.secret_hash = Set(Some(hash()?));
                        a.redirect_uris = Set(redirects);
                        a.sector_identifier = Set(redirect_uri.sector().unwrap_or_default());
                        a.disabled = Set(false);
                        a.update_row(&self.db).await?;
                    }
                    return Ok(());
                }
                None => {
                    let mut new = super::NewClient::new(name, vec![redirect_uri.clone()]);
                    new.subject_type = tanu_core::domain::SubjectType::Public;
                    new.environment = tanu_core::domain::Environment::Sandbox;
                    new.organisation_name = Some(name.into());
                    // Checked under the sandbox's transport rule, then the fixed id,
                    // production and the derived secret, in one insert.
                    let (mut row, _) = super::prepare_client(new, secrets)?;
                    row.client_id = Set(id.as_str().into());
                    row.environment = Set(production.into());
                    row.secret_hash = Set(Some(hash()?));
                    match row.insert_row(&self.db).await {
                        Ok(()) => return Ok(()),
                        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(corrupt("first-party client", "neither inserted nor found"))
    }
}
