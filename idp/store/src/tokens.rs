//! Tokens as revocation (RFC 7009) and introspection (RFC 7662) see them:
//! found by their hash, described with their grant, revoked by intent; and
//! the clients of a browser session, for back-channel logout.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use super::{
    entities::{access_token, grant, refresh_token},
    grants::GrantParties,
    Store, StoreError,
};

/// The two kinds of token a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1): a hint only; an
    /// unknown value is no hint.
    pub fn from_hint(hint: Option<&str>) -> Option<Self> {
        match hint {
            Some("access_token") => Some(TokenKind::Access),
            Some("refresh_token") => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// A stored token and the grant it came from.
#[derive(Debug, Clone)]
pub struct FoundToken {
    pub kind: TokenKind,
    pub token_hash: String,
    pub grant_id: String,
    /// The client the grant was issued to.
    pub client_id: String,
    pub citizen_id: String,
    pub session_id: String,
    /// The token's own scope (narrowed by a refresh), else the grant's.
    pub scope: String,
    pub expires_at: DateTime<Utc>,
    /// Whether the grant has been revoked.
    pub grant_revoked: bool,
    /// A refresh token that has been rotated away.
    pub used: bool,
    /// The DPoP key thumbprint the token is bound to (RFC 9449 `cnf.jkt`).
    pub dpop_jkt: Option<String>,
}

impl FoundToken {
    /// Whose grant it is (for the data release record).
    pub fn parties(&self) -> GrantParties<'_> {
        GrantParties { grant_id: &self.grant_id, client_id: &self.client_id, citizen_id: &self.citizen_id }
    }

    /// Whether the token still works at `now`: not expired, not rotated, its
    /// grant not revoked. (The caller checks the client.)
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.grant_revoked && !self.used && self.expires_at > now
    }
}

impl Store {
    /// The token whose SHA-256 is `hash`, searched first among the kind the
    /// hint names, then among the other (RFC 7009 §2.1: a wrong hint must not
    /// hide a token).
    pub async fn find_token(&self, hash: &str, hint: Option<TokenKind>) -> Result<Option<FoundToken>, StoreError> {
        let order = match hint {
            Some(TokenKind::Refresh) => [TokenKind::Refresh, TokenKind::Access],
            _ => [TokenKind::Access, TokenKind::Refresh],
        };
        for kind in order {
            if let Some(found) = self.find_token_of(hash, kind).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The token of `kind` whose SHA-256 is `hash`, with its grant.
    pub async fn find_token_of(&self, hash: &str, kind: TokenKind) -> Result<Option<FoundToken>, StoreError> {
        let found = match kind {
            TokenKind::Access => access_token::Entity::find_by_id(hash).one(&self.db).await?.map(|t| (t.grant_id, t.expires_at, t.scope, false, t.dpop_jkt)),
            TokenKind::Refresh => {
                refresh_token::Entity::find_by_id(hash).one(&self.db).await?.map(|t| (t.grant_id, t.expires_at, None, t.used_at.is_some(), t.dpop_jkt))
            }
        };
        let Some((grant_id, expires_at, scope, used, dpop_jkt)) = found else { return Ok(None) };
        let Some(g) = grant::Entity::find_by_id(grant_id.clone()).one(&self.db).await? else { return Ok(None) };
        Ok(Some(FoundToken {
            kind,
            token_hash: hash.to_string(),
            grant_id,
            client_id: g.client_id,
            citizen_id: g.citizen_id,
            session_id: g.session_id,
            scope: scope.unwrap_or(g.scope),
            expires_at,
            grant_revoked: g.revoked_at.is_some(),
            used,
            dpop_jkt,
        }))
    }

    /// The clients a browser session signed in to (its grants', revoked or
    /// not): whom a logout of the session concerns.
    pub async fn session_clients(&self, session_id: &str) -> Result<Vec<tanu_core::domain::ClientId>, StoreError> {
        let ids: Vec<String> = grant::Entity::find()
            .select_only()
            .column(grant::Column::ClientId)
            .distinct()
            .filter(grant::Column::SessionId.eq(session_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        ids.into_iter().map(|id| id.parse().map_err(StoreError::from)).collect()
    }

    /// Ends one access token (RFC 7009: revoking an access token need not
    /// touch the grant's refresh token).
    pub async fn revoke_access_token(&self, hash: &str) -> Result<(), StoreError> {
        access_token::Entity::delete_many().filter(access_token::Column::TokenHash.eq(hash)).exec(&self.db).await?;
        Ok(())
    }

    /// Ends a grant and, in one transaction, every access token and live
    /// refresh token issued from it. Revoking an already revoked grant
    /// changes nothing (its first reason stays).
    pub async fn revoke_grant(&self, grant_id: &str, reason: &str) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        super::grants::revoke_grants(&tx, &[grant_id.to_string()], reason, Utc::now()).await?;
        tx.commit().await?;
        tracing::warn!(grant = grant_id, reason, "grant revoked");
        Ok(())
    }
}
