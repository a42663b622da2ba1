//! Browser sessions at the provider and the pending sign-ins (login
//! requests) that lead to them, by intent. Ending a session revokes its
//! online grants in the same transaction: only `offline_access` grants
//! outlive the session.
use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::WriteRow;
use super::{
    entities::{browser_session, grant, login_request},
    uuid_like, Store, StoreError,
};
use tanu_core::domain::{ClientId, Environment, Scope, ScopeSet};

/// A live browser session (its cookie is the only way to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// The `sid` claim.
    pub id: String,
    pub citizen_id: String,
    /// Its citizen's environment: only clients of the same one reuse it.
    pub environment: Environment,
    pub auth_time: DateTime<Utc>,
    pub acr: String,
    /// JSON array of strings.
    pub amr_json: String,
}

impl TryFrom<browser_session::Model> for BrowserSession {
    type Error = StoreError;
    fn try_from(m: browser_session::Model) -> Result<Self, StoreError> {
        Ok(BrowserSession { id: m.id, citizen_id: m.citizen_id, environment: m.environment.parse()?, auth_time: m.auth_time, acr: m.acr, amr_json: m.amr })
    }
}

/// A sign-in that has authenticated its citizen.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub cookie_hash: String,
    pub citizen_id: &'a str,
    /// The citizen's environment (the interaction's).
    pub environment: Environment,
    pub acr: &'a str,
    pub amr: &'a [String],
    pub expires_at: DateTime<Utc>,
}

/// A pending sign-in as stored: the validated authorization request (JSON)
/// and the browser it belongs to.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub id: String,
    pub browser_binding_hash: String,
    pub request_json: String,
    pub expires_at: DateTime<Utc>,
    pub authenticated_session_id: Option<String>,
    pub completed: bool,
}

impl Store {
    /// The live session of `environment` whose cookie hashes to `cookie_hash`
    /// (a session of the other environment is none).
    pub async fn live_session(&self, cookie_hash: &str, environment: Environment, now: DateTime<Utc>) -> Result<Option<BrowserSession>, StoreError> {
        browser_session::Entity::find()
            .filter(browser_session::Column::CookieHash.eq(cookie_hash))
            .filter(browser_session::Column::Environment.eq(environment.as_str()))
            .filter(browser_session::Column::EndedAt.is_null())
            .filter(browser_session::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(BrowserSession::try_from)
            .transpose()
    }

    /// Starts a session for the sign-in `login_request`, in one transaction:
    /// the browser's previous session (`replacing`) ends (its grants stay), and
    /// the pending sign-in records the new session. Returns its id.
    pub async fn start_session(&self, s: NewSession<'_>, replacing: Option<&str>, login_request: &str, now: DateTime<Utc>) -> Result<String, StoreError> {
        let tx = self.db.begin().await?;
        if let Some(old) = replacing {
            mark_ended(&tx, &[old.to_string()], now).await?;
        }
        let sid = uuid_like();
        browser_session::ActiveModel {
            id: Set(sid.clone()),
            cookie_hash: Set(s.cookie_hash),
            citizen_id: Set(s.citizen_id.into()),
            auth_time: Set(now),
            acr: Set(s.acr.into()),
            amr: Set(serde_json::to_string(s.amr).map_err(|e| StoreError::Invalid(e.to_string()))?),
            created_at: Set(now),
            expires_at: Set(s.expires_at),
            ended_at: Set(None),
            environment: Set(s.environment.to_string()),
        }
        .insert(&tx)
        .await?;
        login_request::Entity::update_many()
            .col_expr(login_request::Column::AuthenticatedSessionId, Expr::value(sid.clone()))
            .filter(login_request::Column::Id.eq(login_request))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(sid)
    }

    /// Ends a browser session (logout) and revokes its online grants.
    pub async fn end_session(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        end_sessions(&tx, &[id.to_string()], now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pending sign-in `id`, whatever its state.
    pub async fn login_request(&self, id: &str) -> Result<Option<LoginRequest>, StoreError> {
        Ok(login_request::Entity::find_by_id(id).one(&self.db).await?.map(|m| LoginRequest {
            id: m.id,
            browser_binding_hash: m.browser_binding_hash,
            request_json: m.request,
            expires_at: m.expires_at,
            authenticated_session_id: m.authenticated_session_id,
            completed: m.completed_at.is_some(),
        }))
    }

    /// Stores a new pending sign-in of the browser whose binding hashes to
    /// `binding_hash`; returns its id.
    pub async fn open_login_request(
        &self,
        binding_hash: String,
        client: &ClientId,
        request_json: String,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let id = uuid_like();
        login_request::ActiveModel {
            id: Set(id.clone()),
            browser_binding_hash: Set(binding_hash),
            client_id: Set(client.to_string()),
            request: Set(request_json),
            created_at: Set(now),
            expires_at: Set(expires_at),
            authenticated_session_id: Set(None),
            completed_at: Set(None),
        }
        .insert_row(&self.db)
        .await?;
        Ok(id)
    }

    /// Replaces the authorization request of a pending sign-in.
    pub async fn update_login_request(&self, id: &str, request_json: String) -> Result<(), StoreError> {
        login_request::Entity::update_many()
            .col_expr(login_request::Column::Request, Expr::value(request_json))
            .filter(login_request::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Completes the pending sign-in if nobody has yet: one conditional
    /// `UPDATE`, so of two parallel callers exactly one gets `true`.
    pub async fn claim_login_request(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let r = login_request::Entity::update_many()
            .col_expr(login_request::Column::CompletedAt, Expr::value(now))
            .filter(login_request::Column::Id.eq(id))
            .filter(login_request::Column::CompletedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected == 1)
    }
}

/// Ends the sessions `ids` and revokes their online grants, in the caller's
/// transaction: logout, and the citizen's cabinet ending every session.
pub(super) async fn end_sessions(tx: &DatabaseTransaction, ids: &[String], now: DateTime<Utc>) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    mark_ended(tx, ids, now).await?;
    let online: Vec<String> = grant::Entity::find()
        .filter(grant::Column::SessionId.is_in(ids.to_vec()))
        .filter(grant::Column::RevokedAt.is_null())
        .all(tx)
        .await?
        .into_iter()
        .filter(|g| !ScopeSet::parse_lenient(&g.scope).contains(Scope::OfflineAccess))
        .map(|g| g.id)
        .collect();
    super::grants::revoke_grants(tx, &online, "browser session ended", now).await
}

async fn mark_ended(tx: &DatabaseTransaction, ids: &[String], now: DateTime<Utc>) -> Result<(), StoreError> {
    browser_session::Entity::update_many()
        .col_expr(browser_session::Column::EndedAt, Expr::value(now))
        .filter(browser_session::Column::Id.is_in(ids.to_vec()))
        .filter(browser_session::Column::EndedAt.is_null())
        .exec(tx)
        .await?;
    Ok(())
}
