//! Documents shared by code (issue 14): the shares a citizen opened (each a
//! keyed hash of its short code, single-use, short-lived, revocable), the
//! verifiers an operator registered, the wrong codes each verifier typed,
//! and the redemption attempts the per-minute budgets count (in the
//! database, so that they hold across instances).
use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TryIntoModel};

use super::WriteRow;
use super::{uuid_like, Store, StoreError};

/// The tables (hidden: for the tests alone, see `entities` at the crate root).
#[doc(hidden)]
pub mod entities {
    pub mod document_share {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "document_shares")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub citizen_id: String,
            pub document: String,
            pub code_hash: String,
            pub created_at: DateTimeUtc,
            pub expires_at: DateTimeUtc,
            pub revoked_at: Option<DateTimeUtc>,
            pub redeemed_at: Option<DateTimeUtc>,
            pub redeemed_by: Option<String>,
            pub redeemed_by_name: Option<String>,
        }
        no_relations!();
    }

    pub mod document_verifier {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "document_verifiers")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub iin: String,
            pub organisation: String,
            pub name: String,
            pub created_at: DateTimeUtc,
            pub disabled_at: Option<DateTimeUtc>,
        }
        no_relations!();
    }

    pub mod document_code_failure {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "document_code_failures")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub verifier: String,
            pub at: DateTimeUtc,
        }
        no_relations!();
    }

    pub mod document_redeem_attempt {
        use crate::entities::no_relations;
        use sea_orm::entity::prelude::*;
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "document_redeem_attempts")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: String,
            pub verifier: String,
            pub at: DateTimeUtc,
        }
        no_relations!();
    }
}

use entities::{document_code_failure, document_redeem_attempt, document_share, document_verifier};

/// The per-minute redemption budgets, shared by every instance on the database.
#[derive(Debug, Clone, Copy)]
pub struct RedeemBudgets {
    /// The budgets' sliding window (a minute).
    pub window: chrono::Duration,
    /// Attempts of one verifier within `window`.
    pub per_verifier: u64,
    /// Attempts of all verifiers together within `window`.
    pub total: u64,
}

/// Which budget refused an attempt, and the seconds until it has room again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSpent {
    Total(u64),
    Verifier(u64),
}

/// What a share is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareState {
    Active,
    Redeemed,
    Revoked,
    Expired,
}

impl ShareState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareState::Active => "active",
            ShareState::Redeemed => "redeemed",
            ShareState::Revoked => "revoked",
            ShareState::Expired => "expired",
        }
    }
}

impl DocumentShare {
    pub fn state(&self, now: DateTime<Utc>) -> ShareState {
        if self.redeemed_at.is_some() {
            ShareState::Redeemed
        } else if self.revoked_at.is_some() {
            ShareState::Revoked
        } else if self.expires_at <= now {
            ShareState::Expired
        } else {
            ShareState::Active
        }
    }
}

/// A share whose code is still usable.
fn usable(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(document_share::Column::RedeemedAt.is_null())
        .add(document_share::Column::RevokedAt.is_null())
        .add(document_share::Column::ExpiresAt.gt(now))
}

impl Store {
    /// Opens a share of `document` under `code_hash` until `expires_at`.
    /// `None` when a usable share already has that code (the caller draws
    /// another): at any moment a code names at most one usable share.
    pub async fn open_document_share(
        &self,
        citizen_id: &str,
        document: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<DocumentShare>, StoreError> {
        let taken = document_share::Entity::find().filter(document_share::Column::CodeHash.eq(code_hash)).filter(usable(now)).count(&self.db).await?;
        if taken > 0 {
            return Ok(None);
        }
        let m = document_share::ActiveModel {
            id: Set(uuid_like()),
            citizen_id: Set(citizen_id.into()),
            document: Set(document.into()),
            code_hash: Set(code_hash.into()),
            created_at: Set(super::stored_time(now)),
            expires_at: Set(super::stored_time(expires_at)),
            revoked_at: Set(None),
            redeemed_at: Set(None),
            redeemed_by: Set(None),
            redeemed_by_name: Set(None),
        };
        m.clone().insert_row(&self.db).await?;
        Ok(Some(m.try_into_model()?.into()))
    }

    /// The citizen's shares, newest first, at most `limit`.
    pub async fn document_shares(&self, citizen_id: &str, limit: u64) -> Result<Vec<DocumentShare>, StoreError> {
        Ok(document_share::Entity::find()
            .filter(document_share::Column::CitizenId.eq(citizen_id))
            .order_by_desc(document_share::Column::CreatedAt)
            .order_by_desc(document_share::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The citizen's shares that were viewed, newest view first, at most `limit`.
    pub async fn document_views(&self, citizen_id: &str, limit: u64) -> Result<Vec<DocumentShare>, StoreError> {
        Ok(document_share::Entity::find()
            .filter(document_share::Column::CitizenId.eq(citizen_id))
            .filter(document_share::Column::RedeemedAt.is_not_null())
            .order_by_desc(document_share::Column::RedeemedAt)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The citizen revokes one of their own shares before it is used.
    /// `false` when it is not theirs, or no longer usable.
    pub async fn revoke_document_share(&self, citizen_id: &str, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let res = document_share::Entity::update_many()
            .col_expr(document_share::Column::RevokedAt, Expr::value(super::stored_time(now)))
            .filter(document_share::Column::Id.eq(id))
            .filter(document_share::Column::CitizenId.eq(citizen_id))
            .filter(usable(now))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// The usable share under `code_hash`, if any (read only).
    pub async fn usable_document_share(&self, code_hash: &str, now: DateTime<Utc>) -> Result<Option<DocumentShare>, StoreError> {
        Ok(document_share::Entity::find().filter(document_share::Column::CodeHash.eq(code_hash)).filter(usable(now)).one(&self.db).await?.map(Into::into))
    }

    /// Redeems share `id` for `verifier` if it is still usable, once: of two
    /// concurrent redemptions exactly one gets the share.
    pub async fn redeem_document_share(&self, id: &str, verifier: &str, verifier_name: &str, now: DateTime<Utc>) -> Result<Option<DocumentShare>, StoreError> {
        let res = document_share::Entity::update_many()
            .col_expr(document_share::Column::RedeemedAt, Expr::value(super::stored_time(now)))
            .col_expr(document_share::Column::RedeemedBy, Expr::value(verifier))
            .col_expr(document_share::Column::RedeemedByName, Expr::value(verifier_name))
            .filter(document_share::Column::Id.eq(id))
            .filter(usable(now))
            .exec(&self.db)
            .await?;
        if res.rows_affected != 1 {
            return Ok(None);
        }
        Ok(document_share::Entity::find_by_id(id).one(&self.db).await?.map(Into::into))
    }

    /// The shares `verifier` redeemed, newest first, at most `limit`.
    pub async fn redemptions_by(&self, verifier: &str, limit: u64) -> Result<Vec<DocumentShare>, StoreError> {
        Ok(document_share::Entity::find()
            .filter(document_share::Column::RedeemedBy.eq(verifier))
            .order_by_desc(document_share::Column::RedeemedAt)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Counts one redemption attempt of `verifier` at `now` against the
    /// budgets, on every instance alike: the attempt is written first, then
    /// one count over the window (index on `at`; the window holds at most
    /// about `total` rows, as refused attempts are taken back) gives both
    /// the whole code space's and the verifier's attempts. Over either
    /// budget the attempt is taken back and refused with the seconds until
    /// the oldest attempt in the way leaves the window. Concurrent attempts
    /// on several instances never admit more than a budget: each counts
    /// after its own row is written, so the last of them sees all the others.
    pub async fn admit_redeem_attempt(&self, verifier: &str, now: DateTime<Utc>, b: RedeemBudgets) -> Result<Result<(), BudgetSpent>, StoreError> {
        use sea_orm::sea_query::Func;
        let now = super::stored_time(now);
        let id = uuid_like();
        document_redeem_attempt::ActiveModel { id: Set(id.clone()), verifier: Set(verifier.into()), at: Set(now) }.insert_row(&self.db).await?;
        let since = now - b.window;
        let (total, mine): (i64, i64) = document_redeem_attempt::Entity::find()
            .select_only()
            .column_as(document_redeem_attempt::Column::Id.count(), "total")
            .column_as(Expr::FunctionCall(Func::count(Expr::case(document_redeem_attempt::Column::Verifier.eq(verifier), 1))), "mine")
            .filter(document_redeem_attempt::Column::At.gt(since))
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or((0, 0));
        let over_total = total.max(0) as u64 > b.total;
        let over_mine = mine.max(0) as u64 > b.per_verifier;
        if !over_total && !over_mine {
            return Ok(Ok(()));
        }
        document_redeem_attempt::Entity::delete_by_id(id).exec(&self.db).await?;
        let mut oldest = document_redeem_attempt::Entity::find().filter(document_redeem_attempt::Column::At.gt(since));
        if !over_total {
            oldest = oldest.filter(document_redeem_attempt::Column::Verifier.eq(verifier));
        }
        let oldest = oldest.order_by_asc(document_redeem_attempt::Column::At).one(&self.db).await?.map(|a| a.at);
        let wait = oldest.map(|t| (t + b.window - now).num_milliseconds()).unwrap_or(1000);
        let wait = (wait.max(1) as u64).div_ceil(1000);
        Ok(Err(if over_total { BudgetSpent::Total(wait) } else { BudgetSpent::Verifier(wait) }))
    }

    /// Deletes the redemption attempts at or before `before` (out of every
    /// budget's window); how many.
    pub async fn prune_redeem_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let res =
            document_redeem_attempt::Entity::delete_many().filter(document_redeem_attempt::Column::At.lte(super::stored_time(before))).exec(&self.db).await?;
        Ok(res.rows_affected)
    }

    pub async fn record_code_failure(&self, verifier: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        document_code_failure::ActiveModel { id: Set(uuid_like()), verifier: Set(verifier.into()), at: Set(super::stored_time(now)) }
            .insert_row(&self.db)
            .await?;
        Ok(())
    }

    /// The times of `verifier`'s wrong codes since `since`, oldest first.
    pub async fn code_failures_since(&self, verifier: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError> {
        Ok(document_code_failure::Entity::find()
            .filter(document_code_failure::Column::Verifier.eq(verifier))
            .filter(document_code_failure::Column::At.gt(since))
            .order_by_asc(document_code_failure::Column::At)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|f| f.at)
            .collect())
    }

    /// Registers (or re-enables and renames) an organisation user who may redeem codes on the verifier page.
    pub async fn add_document_verifier(&self, iin: &str, organisation: &str, name: &str) -> Result<(), StoreError> {
        let m = document_verifier::ActiveModel {
            iin: Set(iin.into()),
            organisation: Set(organisation.into()),
            name: Set(name.into()),
            created_at: Set(super::stored_time(Utc::now())),
            disabled_at: Set(None),
        };
        if document_verifier::Entity::find_by_id(iin).one(&self.db).await?.is_some() {
            m.update_row(&self.db).await?;
        } else {
            m.insert_row(&self.db).await?;
        }
        Ok(())
    }

    /// Disables an organisation user; `false` when there is none enabled.
    pub async fn disable_document_verifier(&self, iin: &str) -> Result<bool, StoreError> {
        let res = document_verifier::Entity::update_many()
            .col_expr(document_verifier::Column::DisabledAt, Expr::value(super::stored_time(Utc::now())))
            .filter(document_verifier::Column::Iin.eq(iin))
            .filter(document_verifier::Column::DisabledAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// The enabled organisation user with this IIN.
    pub async fn document_verifier(&self, iin: &str) -> Result<Option<DocumentVerifier>, StoreError> {
        Ok(document_verifier::Entity::find_by_id(iin).filter(document_verifier::Column::DisabledAt.is_null()).one(&self.db).await?.map(Into::into))
    }

    pub async fn document_verifiers(&self) -> Result<Vec<DocumentVerifier>, StoreError> {
        Ok(document_verifier::Entity::find().order_by_asc(document_verifier::Column::Iin).all(&self.db).await?.into_iter().map(Into::into).collect())
    }
}

crate::record! {
    /// A document the citizen shares by code.
    DocumentShare from entities::document_share {
    id: String,
    citizen_id: String,
    document: String,
    code_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    redeemed_at: Option<DateTime<Utc>>,
    redeemed_by: Option<String>,
    redeemed_by_name: Option<String>,
    }
}

crate::record! {
    /// A verifier registered by the operator.
    DocumentVerifier from entities::document_verifier {
    iin: String,
    organisation: String,
    name: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    }
}
