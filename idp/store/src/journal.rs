//! The audit journal's rows (Rules §8): appended with a unique `prev_hash`
//! so that of two concurrent appends on the same head one fails; the chain
//! itself (hashing, verification) is `audit.rs`'s.
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::WriteRow;
use super::{entities::audit_record, Store, StoreError};

crate::record! {
    /// One journal record as stored (`subject`: the citizen's IIN, pseudonymised).
    JournalRecord from audit_record {
        seq: i64,
        at: chrono::DateTime<chrono::Utc>,
        client_id: Option<String>,
        subject: Option<String>,
        step: String,
        outcome: String,
        reason: Option<String>,
        prev_hash: String,
        hash: String,
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
        audit_record::ActiveModel::from(r).insert_row(&self.db).await?;
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
