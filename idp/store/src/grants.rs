//! Grants and the codes and tokens issued from them, by intent (issue 11):
//! a grant is issued with its code in one transaction; the token endpoint
//! runs each exchange in one [`GrantTx`], where a code or refresh token is
//! read with its grant, consumed by a conditional update only one request
//! can win, and its successors are stored with the commit. Nothing above
//! this module sees a row or writes SQL; the clock is the caller's.
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Alias, CommonTableExpression, Expr, InsertStatement, WithClause},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, JoinType, QueryFilter, QuerySelect, QueryTrait, Set,
    TransactionTrait,
};

use super::{
    entities::{access_token, authorization_code, grant, refresh_token},
    uuid_like, Store, StoreError,
};
use tanu_core::domain::ClientId;

/// A citizen's authorisation of one client, as the protocol reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub citizen_id: String,
    /// The browser session it was issued in (the `sid` claim).
    pub session_id: String,
    pub scope: String,
    pub auth_time: DateTime<Utc>,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

impl From<grant::Model> for Grant {
    fn from(g: grant::Model) -> Self {
        Grant {
            amr: serde_json::from_str(&g.amr).unwrap_or_default(),
            id: g.id,
            client_id: g.client_id,
            citizen_id: g.citizen_id,
            session_id: g.session_id,
            scope: g.scope,
            auth_time: g.auth_time,
            acr: g.acr,
            created_at: g.created_at,
            revoked: g.revoked_at.is_some(),
        }
    }
}

/// Whose a grant is: what a data release records.
#[derive(Debug, Clone, Copy)]
pub struct GrantParties<'a> {
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub citizen_id: &'a str,
}

impl Grant {
    pub fn parties(&self) -> GrantParties<'_> {
        GrantParties { grant_id: &self.id, client_id: &self.client_id, citizen_id: &self.citizen_id }
    }
}

/// The sign-in a new grant records (from the browser session).
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub client_id: &'a ClientId,
    pub citizen_id: &'a str,
    pub session_id: &'a str,
    pub scope: &'a str,
    pub auth_time: DateTime<Utc>,
    pub acr: &'a str,
    /// JSON array of strings, as the session keeps it.
    pub amr_json: &'a str,
}

/// The authorization request a code answers.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub code_hash: String,
    pub redirect_uri: &'a str,
    pub pkce_challenge: &'a str,
    pub nonce: Option<&'a str>,
    pub dpop_jkt: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// An authorization code as the token endpoint reads it.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub pkce_challenge: String,
    pub nonce: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub dpop_jkt: Option<String>,
}

/// A refresh token as the token endpoint reads it.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    /// Rotated away already.
    pub used: bool,
    pub dpop_jkt: Option<String>,
}

/// What consuming a single-use code or refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// This request consumed it.
    Fresh,
    /// Another request had: a replay.
    Replayed,
}

/// A token to store in the exchange's transaction.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub hash: String,
    pub grant_id: &'a str,
    pub expires_at: DateTime<Utc>,
    /// The DPoP key thumbprint it is bound to (RFC 9449 `cnf.jkt`).
    pub dpop_jkt: Option<&'a str>,
}

impl Store {
    /// Issues a grant and its authorization code in one transaction; returns the grant's id.
    pub async fn issue_grant_with_code(&self, g: NewGrant<'_>, code: NewCode<'_>, now: DateTime<Utc>) -> Result<String, StoreError> {
        let grant_id = uuid_like();
        let tx = self.db.begin().await?;
        grant::ActiveModel {
            id: Set(grant_id.clone()),
            client_id: Set(g.client_id.to_string()),
            citizen_id: Set(g.citizen_id.into()),
            session_id: Set(g.session_id.into()),
            scope: Set(g.scope.into()),
            auth_time: Set(g.auth_time),
            acr: Set(g.acr.into()),
            amr: Set(g.amr_json.into()),
            created_at: Set(now),
            revoked_at: Set(None),
            revoked_reason: Set(None),
        }
        .insert(&tx)
        .await?;
        authorization_code::ActiveModel {
            code_hash: Set(code.code_hash),
            grant_id: Set(grant_id.clone()),
            client_id: Set(g.client_id.to_string()),
            redirect_uri: Set(code.redirect_uri.into()),
            pkce_challenge: Set(code.pkce_challenge.into()),
            nonce: Set(code.nonce.map(str::to_string)),
            dpop_jkt: Set(code.dpop_jkt.map(str::to_string)),
            created_at: Set(now),
            expires_at: Set(code.expires_at),
            used_at: Set(None),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(grant_id)
    }

    /// The grant `id`, revoked or not.
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        Ok(grant::Entity::find_by_id(id).one(&self.db).await?.map(Grant::from))
    }

    /// Starts one token exchange.
    pub async fn begin_exchange(&self) -> Result<GrantTx, StoreError> {
        Ok(GrantTx { txn: self.db.begin().await?, writes: Vec::new() })
    }
}

/// One token exchange's transaction. Dropped without [`GrantTx::commit`], it
/// changes nothing.
///
/// Its reads and its consumption go to the database at once (what follows
/// depends on them); the rows it adds (the new tokens, the data release) are
/// kept until the commit and sent with it: on PostgreSQL as one statement
/// (each insert but the last a data-modifying `WITH` clause of the last), so
/// an exchange costs five round trips to the database instead of seven.
pub struct GrantTx {
    txn: DatabaseTransaction,
    writes: Vec<InsertStatement>,
}

/// The join from a row's `grant_id` to its grant.
fn to_grant<E: EntityTrait>(from: E::Column) -> sea_orm::RelationDef {
    E::belongs_to(grant::Entity).from(from).to(grant::Column::Id).into()
}

impl GrantTx {
    /// The code whose SHA-256 is `hash`, with its grant (None when the grant is gone).
    pub async fn code(&self, hash: &str) -> Result<Option<(IssuedCode, Option<Grant>)>, StoreError> {
        let found = authorization_code::Entity::find_by_id(hash)
            .join(JoinType::LeftJoin, to_grant::<authorization_code::Entity>(authorization_code::Column::GrantId))
            .select_also(grant::Entity)
            .one(&self.txn)
            .await?;
        Ok(found.map(|(c, g)| {
            let code = IssuedCode {
                code_hash: c.code_hash,
                grant_id: c.grant_id,
                client_id: c.client_id,
                redirect_uri: c.redirect_uri,
                pkce_challenge: c.pkce_challenge,
                nonce: c.nonce,
                expires_at: c.expires_at,
                dpop_jkt: c.dpop_jkt,
            };
            (code, g.map(Grant::from))
        }))
    }

    /// Marks the code used at `now`, atomically: only one request gets [`TokenUse::Fresh`].
    pub async fn consume_code(&self, hash: &str, now: DateTime<Utc>) -> Result<TokenUse, StoreError> {
        let done = authorization_code::Entity::update_many()
            .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
            .filter(authorization_code::Column::CodeHash.eq(hash))
            .filter(authorization_code::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await?;
        Ok(if done.rows_affected == 1 { TokenUse::Fresh } else { TokenUse::Replayed })
    }

    /// The refresh token whose SHA-256 is `hash`, with its grant.
    pub async fn refresh_token(&self, hash: &str) -> Result<Option<(IssuedRefresh, Grant)>, StoreError> {
        let found = refresh_token::Entity::find_by_id(hash)
            .join(JoinType::InnerJoin, to_grant::<refresh_token::Entity>(refresh_token::Column::GrantId))
            .select_also(grant::Entity)
            .one(&self.txn)
            .await?;
        Ok(found.and_then(|(r, g)| {
            let token = IssuedRefresh { token_hash: r.token_hash, expires_at: r.expires_at, used: r.used_at.is_some(), dpop_jkt: r.dpop_jkt };
            g.map(|g| (token, Grant::from(g)))
        }))
    }

    /// Rotates the refresh token away at `now`, atomically: only one request gets [`TokenUse::Fresh`].
    pub async fn consume_refresh(&self, hash: &str, now: DateTime<Utc>) -> Result<TokenUse, StoreError> {
        let done = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&self.txn)
            .await?;
        Ok(if done.rows_affected == 1 { TokenUse::Fresh } else { TokenUse::Replayed })
    }

    /// Stores an access token of `scope` (at the commit).
    pub fn add_access_token(&mut self, t: NewToken<'_>, scope: &str) {
        let row = access_token::ActiveModel {
            token_hash: Set(t.hash),
            grant_id: Set(t.grant_id.into()),
            expires_at: Set(t.expires_at),
            scope: Set(Some(scope.into())),
            dpop_jkt: Set(t.dpop_jkt.map(str::to_string)),
        };
        self.writes.push(access_token::Entity::insert(row).into_query());
    }

    /// Stores a refresh token (at the commit).
    pub fn add_refresh_token(&mut self, t: NewToken<'_>) {
        let row = refresh_token::ActiveModel {
            token_hash: Set(t.hash),
            grant_id: Set(t.grant_id.into()),
            expires_at: Set(t.expires_at),
            used_at: Set(None),
            dpop_jkt: Set(t.dpop_jkt.map(str::to_string)),
        };
        self.writes.push(refresh_token::Entity::insert(row).into_query());
    }

    /// Records, with the tokens, that the grant's relying party receives
    /// `claims` through `channel` at `at` (the cabinet's history, issue 14).
    pub fn record_release<S: AsRef<str>>(
        &mut self,
        grant: GrantParties<'_>,
        channel: super::cabinet::Channel,
        claims: impl IntoIterator<Item = S>,
        at: DateTime<Utc>,
    ) {
        self.writes.push(super::cabinet::release_insert(grant, channel, claims, at));
    }

    /// Keeps what the exchange did, including a consumption before a
    /// refusal: its added rows are sent, then the transaction commits.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let mut writes = std::mem::take(&mut self.writes);
        if let Some(last) = writes.pop() {
            if self.txn.get_database_backend() == DbBackend::Postgres {
                let mut with = WithClause::new();
                for (i, w) in writes.into_iter().enumerate() {
                    with.cte(CommonTableExpression::new().query(w).table_name(Alias::new(format!("w{i}"))).to_owned());
                }
                self.txn.execute(&last.with(with)).await?;
            } else {
                // SQLite has no data-modifying WITH; its statements do not leave the process.
                for w in writes.iter().chain([&last]) {
                    self.txn.execute(w).await?;
                }
            }
        }
        Ok(self.txn.commit().await?)
    }

    /// Undoes what the exchange did.
    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.txn.rollback().await?)
    }
}

/// Revokes grants and deletes their access tokens and unused refresh tokens,
/// in the caller's transaction: the one way grants end (logout, the
/// citizen's withdrawal, a replayed code or reused refresh token).
pub(super) async fn revoke_grants(tx: &DatabaseTransaction, ids: &[String], reason: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    grant::Entity::update_many()
        .col_expr(grant::Column::RevokedAt, Expr::value(now))
        .col_expr(grant::Column::RevokedReason, Expr::value(reason))
        .filter(grant::Column::Id.is_in(ids.to_vec()))
        .filter(grant::Column::RevokedAt.is_null())
        .exec(tx)
        .await?;
    access_token::Entity::delete_many().filter(access_token::Column::GrantId.is_in(ids.to_vec())).exec(tx).await?;
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::GrantId.is_in(ids.to_vec()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Duration;
    use tanu_core::crypto::{ClientSecrets, MasterKey};

    use super::*;
    use crate::NewClient;

    /// A store in memory with a client and a code issued at `now`; returns the code's hash.
    async fn store_with_code(now: DateTime<Utc>) -> (Store, String, String) {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let client = NewClient::new("rp", vec!["https://rp.example.kz/cb".parse().unwrap()]);
        let client = store.register_client(client, &ClientSecrets::new(&master)).await.unwrap().client;
        let g = NewGrant {
            client_id: &client.id,
            citizen_id: "citizen-1",
            session_id: "session-1",
            scope: "openid offline_access",
            auth_time: now,
            acr: "urn:test",
            amr_json: r#"["face"]"#,
        };
        let code = NewCode {
            code_hash: "code-hash".into(),
            redirect_uri: "https://rp.example.kz/cb",
            pkce_challenge: "challenge",
            nonce: Some("n"),
            dpop_jkt: None,
            expires_at: now + Duration::seconds(60),
        };
        let grant_id = store.issue_grant_with_code(g, code, now).await.unwrap();
        (store, grant_id, "code-hash".into())
    }

    #[tokio::test]
    async fn a_code_is_read_with_its_grant_and_consumed_once() {
        let now = Utc::now();
        let (store, grant_id, hash) = store_with_code(now).await;
        let tx = store.begin_exchange().await.unwrap();
        let (code, grant) = tx.code(&hash).await.unwrap().unwrap();
        let grant = grant.unwrap();
        assert_eq!((code.grant_id.as_str(), code.nonce.as_deref()), (grant_id.as_str(), Some("n")));
        assert_eq!((grant.amr, grant.revoked), (vec!["face".to_string()], false));
        assert_eq!(tx.consume_code(&hash, now).await.unwrap(), TokenUse::Fresh);
        assert_eq!(tx.consume_code(&hash, now).await.unwrap(), TokenUse::Replayed, "within the same exchange too");
        tx.commit().await.unwrap();
        let tx = store.begin_exchange().await.unwrap();
        assert_eq!(tx.consume_code(&hash, now).await.unwrap(), TokenUse::Replayed);
        assert!(tx.code("no-such-code").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_exchange_dropped_without_commit_changes_nothing() {
        let now = Utc::now();
        let (store, grant_id, hash) = store_with_code(now).await;
        {
            let mut tx = store.begin_exchange().await.unwrap();
            assert_eq!(tx.consume_code(&hash, now).await.unwrap(), TokenUse::Fresh);
            let t = NewToken { hash: "at".into(), grant_id: &grant_id, expires_at: now, dpop_jkt: None };
            tx.add_access_token(t, "openid");
            tx.rollback().await.unwrap();
        }
        let tx = store.begin_exchange().await.unwrap();
        assert_eq!(tx.consume_code(&hash, now).await.unwrap(), TokenUse::Fresh, "the rollback kept the code");
        drop(tx);
        assert!(store.find_token("at", None).await.unwrap().is_none(), "and stored no token");
    }

    #[tokio::test]
    async fn a_refresh_token_rotates_once_and_revoking_the_grant_ends_what_it_gave() {
        let now = Utc::now();
        let (store, grant_id, _) = store_with_code(now).await;
        let g = store.grant(&grant_id).await.unwrap().unwrap();
        let mut tx = store.begin_exchange().await.unwrap();
        let t = |hash: &str| NewToken { hash: hash.into(), grant_id: &grant_id, expires_at: now + Duration::seconds(60), dpop_jkt: Some("jkt") };
        tx.add_refresh_token(t("rt"));
        tx.add_access_token(t("at"), "openid");
        tx.record_release(g.parties(), crate::cabinet::Channel::IdToken, ["sub"], now);
        tx.commit().await.unwrap();
        assert!(store.find_token("at", None).await.unwrap().is_some(), "the rows added are stored with the commit");
        assert_eq!(store.releases("citizen-1", 10).await.unwrap().len(), 1, "the release too");

        let tx = store.begin_exchange().await.unwrap();
        let (refresh, grant) = tx.refresh_token("rt").await.unwrap().unwrap();
        assert_eq!((refresh.used, refresh.dpop_jkt.as_deref(), grant.id.as_str()), (false, Some("jkt"), grant_id.as_str()));
        assert_eq!(tx.consume_refresh("rt", now).await.unwrap(), TokenUse::Fresh);
        assert_eq!(tx.consume_refresh("rt", now).await.unwrap(), TokenUse::Replayed);
        tx.commit().await.unwrap();

        store.revoke_grant(&grant_id, "test").await.unwrap();
        assert!(store.grant(&grant_id).await.unwrap().unwrap().revoked);
        assert!(store.find_token("at", None).await.unwrap().is_none(), "access tokens deleted");
        let tx = store.begin_exchange().await.unwrap();
        let (used, _) = tx.refresh_token("rt").await.unwrap().unwrap();
        assert!(used.used, "the used refresh token stays, as evidence of the rotation");
    }
}
