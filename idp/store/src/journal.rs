//! The audit journal's rows (Rules §8): appended with a unique `prev_hash`
//! so that of two concurrent appends on the same head one fails; the chain
//! itself (hashing, verification) is `audit.rs`'s.
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{entities::audit_record, Store, StoreError};

/// One journal record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub client_id: Option<String>,
    /// The citizen's IIN, pseudonymised.
    pub subject: Option<String>,
    pub step: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<audit_record::Model> for JournalRecord {
    fn from(m: audit_record::Model) -> Self {
        let audit_record::Model { seq, at, client_id, subject, step, outcome, reason, prev_hash, hash } = m;
        JournalRecord { seq, at, client_id, subject, step, outcome, reason, prev_hash, hash }
    }
}

impl Store {
    /// The last record's sequence number and hash.
    pub async fn journal_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let head = audit_record::Entity::find().order_by_desc(audit_record::Column::Seq).one(&self.db).await?;
        Ok(head.map(|h| (h.seq, h.hash)))
    }

    /// Appends a record; fails when another append took its place in the chain.
    pub async fn append_journal_record(&self, r: JournalRecord) -> Result<(), StoreError> {
        audit_record::ActiveModel {
            seq: Set(r.seq),
            at: Set(r.at),
            client_id: Set(r.client_id),
            subject: Set(r.subject),
            step: Set(r.step),
            outcome: Set(r.outcome),
            reason: Set(r.reason),
            prev_hash: Set(r.prev_hash),
            hash: Set(r.hash),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The whole journal, oldest first.
    pub async fn journal_records(&self) -> Result<Vec<JournalRecord>, StoreError> {
        let rows = audit_record::Entity::find().order_by_asc(audit_record::Column::Seq).all(&self.db).await?;
        Ok(rows.into_iter().map(JournalRecord::from).collect())
    }

    /// The citizen's records (by pseudonym), newest first, at most `limit`.
    pub async fn journal_of_subject(&self, subject: &str, limit: u64) -> Result<Vec<JournalRecord>, StoreError> {
        let rows = audit_record::Entity::find()
            .filter(audit_record::Column::Subject.eq(subject))
            .order_by_desc(audit_record::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(JournalRecord::from).collect())
    }
}

/// `at` as stored: whole microseconds, so that both databases give it back
/// exactly as it was hashed.
pub fn stored_time(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}
