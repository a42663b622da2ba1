//! What the citizen's cabinet (`/me`, issue 14) reads and changes: releases
//! of the citizen's data (recorded at the moment they happen), the consents
//! and grants the citizen holds, the cabinet's own sign-ins and sessions.
use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait};

use super::entities::{browser_session, consent, grant, reference_template};
use super::WriteRow;
use super::{grants::GrantParties, uuid_like, Client, Store, StoreError};
use tanu_core::domain::{ClientId, ScopeSet};

/// The tables (hidden: for the tests alone, see `entities` at the crate root).
#[doc(hidden)]
pub mod entities {
    pub mod data_release {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "data_releases")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub citizen_id: String,
            pub client_id: String,
            pub grant_id: String,
            /// Space-separated claim names; never their values.
            pub claims: String,
            pub channel: String,
            pub at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod cabinet_login {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "cabinet_logins")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub state: String,
            pub verifier: String,
            pub nonce: String,
            pub binding_hash: String,
            pub lang: String,
            pub created_at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod cabinet_session {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "cabinet_sessions")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id_hash: String,
            pub citizen_id: String,
            pub created_at: DateTimeUtc,
            pub expires_at: DateTimeUtc,
        }
        no_relations!();
    }
}

use entities::{cabinet_login, cabinet_session, data_release};

/// How a citizen's data left the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An ID token from an authorization code.
    IdToken,
    /// The userinfo endpoint.
    Userinfo,
    /// A new ID token from a refresh token.
    Refresh,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::IdToken => "id_token",
            Channel::Userinfo => "userinfo",
            Channel::Refresh => "refresh",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "id_token" => Ok(Channel::IdToken),
            "userinfo" => Ok(Channel::Userinfo),
            "refresh" => Ok(Channel::Refresh),
            other => Err(super::corrupt("data release channel", other)),
        }
    }
}

/// The citizen's claims an ID token carries (its other claims are the
/// provider's: iss, aud, exp, iat, nonce, sid).
pub const ID_TOKEN_CLAIMS: &[&str] = &["sub", "auth_time", "acr", "amr"];

/// One recorded release.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Release {
    pub at: DateTime<Utc>,
    pub client_id: String,
    pub grant_id: String,
    pub claims: Vec<String>,
    pub channel: Channel,
}

impl TryFrom<data_release::Model> for Release {
    type Error = StoreError;
    fn try_from(m: data_release::Model) -> Result<Self, StoreError> {
        Ok(Release {
            at: m.at,
            channel: Channel::parse(&m.channel)?,
            client_id: m.client_id,
            grant_id: m.grant_id,
            claims: m.claims.split(' ').filter(|c| !c.is_empty()).map(str::to_string).collect(),
        })
    }
}

/// A relying party the citizen has granted something to.
#[derive(Debug, Clone)]
pub struct HeldConsent {
    pub client: Client,
    /// The consented scopes and those of the live grants.
    pub scopes: ScopeSet,
    pub granted_at: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
}

/// The biometric data held for a citizen.
#[derive(Debug, Clone)]
pub struct BiometricHolding {
    pub consent_version: Option<String>,
    pub consent_accepted_at: Option<DateTime<Utc>>,
    pub template_formed_at: Option<DateTime<Utc>>,
}

/// The insertion of a release row at `at`: run on a connection by
/// [`Store::record_release`], or with a token exchange's other writes at its
/// commit ([`super::grants::GrantTx::record_release`]).
pub(super) fn release_insert<S: AsRef<str>>(
    grant: GrantParties<'_>,
    channel: Channel,
    claims: impl IntoIterator<Item = S>,
    at: DateTime<Utc>,
) -> sea_orm::sea_query::InsertStatement {
    data_release::Entity::insert(data_release::ActiveModel {
        id: Set(uuid_like()),
        citizen_id: Set(grant.citizen_id.into()),
        client_id: Set(grant.client_id.into()),
        grant_id: Set(grant.grant_id.into()),
        claims: Set(claim_names(claims)),
        channel: Set(channel.as_str().into()),
        at: Set(super::stored_time(at)),
    })
    .into_query()
}

fn claim_names<S: AsRef<str>>(claims: impl IntoIterator<Item = S>) -> String {
    let names: Vec<String> = claims.into_iter().map(|c| c.as_ref().to_string()).filter(|c| !c.is_empty() && !c.contains(' ')).collect();
    names.join(" ")
}

impl Store {
    /// Records that `grant`'s relying party has just received `claims` of
    /// its citizen through `channel`. With [`super::grants::GrantTx::record_release`],
    /// the one way releases are recorded.
    pub async fn record_release<S: AsRef<str>>(
        &self,
        grant: GrantParties<'_>,
        channel: Channel,
        claims: impl IntoIterator<Item = S>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db.execute(&release_insert(grant, channel, claims, at)).await?;
        Ok(())
    }

    /// The citizen's releases, newest first, at most `limit`.
    pub async fn releases(&self, citizen_id: &str, limit: u64) -> Result<Vec<Release>, StoreError> {
        data_release::Entity::find()
            .filter(data_release::Column::CitizenId.eq(citizen_id))
            .order_by_desc(data_release::Column::At)
            .order_by_desc(data_release::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Release::try_from)
            .collect()
    }

    /// Every relying party holding the citizen's consent or a live grant,
    /// except `hidden` (the cabinet itself).
    pub async fn held_consents(&self, citizen_id: &str, hidden: &ClientId) -> Result<Vec<HeldConsent>, StoreError> {
        use std::collections::BTreeMap;
        let mut by_client: BTreeMap<String, (ScopeSet, DateTime<Utc>)> = BTreeMap::new();
        let consents =
            consent::Entity::find().filter(consent::Column::CitizenId.eq(citizen_id)).filter(consent::Column::RevokedAt.is_null()).all(&self.db).await?;
        for c in consents {
            let e = by_client.entry(c.client_id).or_insert((ScopeSet::default(), c.granted_at));
            e.0 .0.extend(ScopeSet::parse_lenient(&c.scopes).0);
            e.1 = e.1.min(c.granted_at);
        }
        let grants = grant::Entity::find().filter(grant::Column::CitizenId.eq(citizen_id)).filter(grant::Column::RevokedAt.is_null()).all(&self.db).await?;
        for g in grants {
            let e = by_client.entry(g.client_id).or_insert((ScopeSet::default(), g.created_at));
            e.0 .0.extend(ScopeSet::parse_lenient(&g.scope).0);
            e.1 = e.1.min(g.created_at);
        }
        let mut out = vec![];
        for (client_id, (scopes, granted_at)) in by_client {
            if client_id == hidden.as_str() {
                continue;
            }
            let Ok(id) = client_id.parse::<ClientId>() else { continue };
            let Some(client) = self.client(&id).await? else { continue };
            let last_used = data_release::Entity::find()
                .filter(data_release::Column::CitizenId.eq(citizen_id))
                .filter(data_release::Column::ClientId.eq(client_id.as_str()))
                .order_by_desc(data_release::Column::At)
                .one(&self.db)
                .await?
                .map(|r| r.at);
            out.push(HeldConsent { client, scopes, granted_at, last_used });
        }
        out.sort_by_key(|h| std::cmp::Reverse(h.granted_at));
        Ok(out)
    }

    /// The citizen takes back everything given to `client`, at once: its
    /// live grants are revoked, their access tokens and unused refresh
    /// tokens deleted, its consents withdrawn (the next sign-in asks again).
    /// Only this citizen's rows are touched. Returns the revoked grants'
    /// ids, or `None` when the citizen held nothing with `client`.
    pub async fn revoke_client_for_citizen(&self, citizen_id: &str, client: &ClientId) -> Result<Option<Vec<String>>, StoreError> {
        let tx = self.db.begin().await?;
        let now = Utc::now();
        let grants: Vec<String> = grant::Entity::find()
            .filter(grant::Column::CitizenId.eq(citizen_id))
            .filter(grant::Column::ClientId.eq(client.as_str()))
            .filter(grant::Column::RevokedAt.is_null())
            .all(&tx)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        let consents = consent::Entity::update_many()
            .col_expr(consent::Column::RevokedAt, Expr::value(now))
            .filter(consent::Column::CitizenId.eq(citizen_id))
            .filter(consent::Column::ClientId.eq(client.as_str()))
            .filter(consent::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?
            .rows_affected;
        if grants.is_empty() && consents == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        super::grants::revoke_grants(&tx, &grants, "revoked by the citizen", now).await?;
        tx.commit().await?;
        Ok(Some(grants))
    }

    /// Ends every open session of the citizen: browser sessions at the
    /// provider (their online grants revoked, as at logout) and cabinet sessions.
    pub async fn end_citizen_sessions(&self, citizen_id: &str) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let now = Utc::now();
        let sessions: Vec<String> = browser_session::Entity::find()
            .filter(browser_session::Column::CitizenId.eq(citizen_id))
            .filter(browser_session::Column::EndedAt.is_null())
            .all(&tx)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        super::sessions::end_sessions(&tx, &sessions, now).await?;
        cabinet_session::Entity::delete_many().filter(cabinet_session::Column::CitizenId.eq(citizen_id)).exec(&tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What biometric data is held for the citizen.
    pub async fn biometric_holding(&self, citizen_id: &str) -> Result<BiometricHolding, StoreError> {
        let consent = self.biometric_consent(citizen_id).await?;
        let template = reference_template::Entity::find_by_id(citizen_id).one(&self.db).await?;
        Ok(BiometricHolding {
            consent_version: consent.as_ref().map(|c| c.text_version.clone()),
            consent_accepted_at: consent.map(|c| c.accepted_at),
            template_formed_at: template.map(|t| t.created_at),
        })
    }

    // ---------------------------------------------------------- cabinet sign-in

    pub async fn insert_cabinet_login(&self, m: CabinetLogin) -> Result<(), StoreError> {
        cabinet_login::ActiveModel::from(m).insert_row(&self.db).await?;
        Ok(())
    }

    /// Takes a pending cabinet sign-in by its `state`, once.
    pub async fn take_cabinet_login(&self, state: &str) -> Result<Option<CabinetLogin>, StoreError> {
        let Some(row) = cabinet_login::Entity::find_by_id(state).one(&self.db).await? else { return Ok(None) };
        let res = cabinet_login::Entity::delete_by_id(state).exec(&self.db).await?;
        Ok((res.rows_affected == 1).then(|| row.into()))
    }

    pub async fn insert_cabinet_session(&self, id_hash: &str, citizen_id: &str, ttl: chrono::Duration) -> Result<(), StoreError> {
        let now = Utc::now();
        cabinet_session::ActiveModel { id_hash: Set(id_hash.into()), citizen_id: Set(citizen_id.into()), created_at: Set(now), expires_at: Set(now + ttl) }
            .insert_row(&self.db)
            .await?;
        Ok(())
    }

    pub async fn cabinet_session(&self, id_hash: &str) -> Result<Option<CabinetSession>, StoreError> {
        Ok(cabinet_session::Entity::find_by_id(id_hash).filter(cabinet_session::Column::ExpiresAt.gt(Utc::now())).one(&self.db).await?.map(Into::into))
    }

    pub async fn end_cabinet_session(&self, id_hash: &str) -> Result<(), StoreError> {
        cabinet_session::Entity::delete_by_id(id_hash).exec(&self.db).await?;
        Ok(())
    }
}

crate::record! {
    /// A sign-in to the cabinet waiting for its code (the cabinet is a relying party of the provider).
    CabinetLogin from cabinet_login {
    state: String,
    verifier: String,
    nonce: String,
    binding_hash: String,
    lang: String,
    created_at: DateTime<Utc>,
    }
}

crate::record! {
    /// A signed-in cabinet session.
    CabinetSession from cabinet_session {
    id_hash: String,
    citizen_id: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    }
}
