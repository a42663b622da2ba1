//! The attempt journal (Rules §8: "every attempt to pass biometric
//! identification is recorded in sequence"): append-only and hash-chained.
//!
//! Each record's hash is SHA-256 over the previous record's hash and the
//! record's own canonical form (including its sequence number), so an edited,
//! removed, inserted or reordered record breaks the chain at that point;
//! `tanu audit verify` finds it. Removing records from the *end* leaves a
//! valid shorter chain: operators anchor the head (`tanu audit verify`
//! prints it) outside the database and pass it back with `--head`.
//!
//! The policy when a write fails: a step whose record can be written before
//! its effect is refused when the write fails ([`Journal::append`], its
//! error returned: every sign-in outcome, every step of face sign-in,
//! consent). A record of an effect already made that cannot be undone (a
//! workflow action the workflow accepted, a consent revoked, a document
//! redeemed) is written with [`Journal::append_after`]: the effect stands,
//! and the failure is logged as an error and counted in
//! `tanu_journal_write_failures_total`, for the operator to alert on.
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{journal::JournalRecord, Store, StoreError};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One attempt or step of one, as the journal records it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub client_id: Option<&'a str>,
    /// Already pseudonymised (see [`Journal::pseudonym`]).
    pub subject: Option<String>,
    pub step: &'a str,
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    client_id: Option<&'a str>,
    subject: Option<&'a str>,
    step: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
}

fn record_hash(prev: &str, r: &Canonical<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    // Strings and integers only: serialising cannot fail (and a record
    // hashed over nothing would break the chain, found by `tanu audit verify`).
    h.update(serde_json::to_vec(r).unwrap_or_default());
    hex::encode(h.finalize())
}

fn canonical(m: &JournalRecord) -> Canonical<'_> {
    Canonical {
        seq: m.seq,
        at: m.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        client_id: m.client_id.as_deref(),
        subject: m.subject.as_deref(),
        step: &m.step,
        outcome: &m.outcome,
        reason: m.reason.as_deref(),
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Break {
    /// The record's content does not give its stored hash: it was edited.
    Edited { seq: i64 },
    /// The record does not follow the one before it: records were removed,
    /// inserted or reordered before it.
    Unlinked { seq: i64, expected_prev: String },
    /// The chain ends before the anchored head.
    HeadMissing { head: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub records: u64,
    pub head_seq: i64,
    pub head_hash: String,
    pub breaks: Vec<Break>,
}

#[derive(Clone)]
pub struct Journal {
    store: Store,
    pseudonym_key: [u8; 32],
}

impl Journal {
    pub fn new(store: Store, pseudonym_key: [u8; 32]) -> Self {
        Self { store, pseudonym_key }
    }

    /// A stable pseudonym for an IIN: attempts by one person can be grouped
    /// without the journal holding the identifier itself.
    pub fn pseudonym(&self, iin: &str) -> String {
        tanu_core::crypto::mac(&self.pseudonym_key, &["iin", iin])
    }

    /// The pseudonym of a person of `environment`: a citizen's is
    /// [`Self::pseudonym`]; a test person's is another, so that nothing done
    /// in the sandbox under an IIN (lock-outs, the history a cabinet shows)
    /// is held against the citizen who may carry the same IIN.
    pub fn person(&self, environment: tanu_core::domain::Environment, iin: &str) -> String {
        match environment {
            tanu_core::domain::Environment::Production => self.pseudonym(iin),
            tanu_core::domain::Environment::Sandbox => tanu_core::crypto::mac(&self.pseudonym_key, &["sandbox iin", iin]),
        }
    }

    /// The pseudonym of an account's person.
    pub fn subject(&self, citizen: &crate::Citizen) -> String {
        self.person(citizen.environment, &citizen.iin)
    }

    pub async fn append(&self, e: Event<'_>) -> Result<i64, StoreError> {
        // The unique prev_hash makes a concurrent append fail; retry on the new head.
        let mut last_err = None;
        for _ in 0..8 {
            let head = self.store.journal_head().await?;
            let (seq, prev) = head.map(|(seq, hash)| (seq + 1, hash)).unwrap_or((1, GENESIS.to_string()));
            let mut m = JournalRecord {
                seq,
                at: stored_time(Utc::now()),
                client_id: e.client_id.map(str::to_string),
                subject: e.subject.clone(),
                step: e.step.to_string(),
                outcome: e.outcome.as_str().to_string(),
                reason: e.reason.map(str::to_string),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            m.hash = record_hash(&prev, &canonical(&m));
            match self.store.append_journal_record(m).await {
                Ok(_) => return Ok(seq),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| StoreError::Invalid("journal append not tried".into())))
    }

    /// Records an effect already made (see the module's policy): a failed
    /// write is logged and counted, not returned.
    pub async fn append_after(&self, e: Event<'_>) {
        let step = e.step;
        if let Err(err) = self.append(e).await {
            tracing::error!(error = %err, step, "journal append failed after its effect");
            metrics::counter!("tanu_journal_write_failures_total", "step" => step.to_string()).increment(1);
        }
    }

    pub async fn records(&self) -> Result<Vec<JournalRecord>, StoreError> {
        self.store.journal_records().await
    }

    /// Walks the chain from the genesis; `anchored_head` is a head hash kept
    /// elsewhere that must still be in the chain.
    pub async fn verify(&self, anchored_head: Option<&str>) -> Result<Verification, StoreError> {
        let records = self.records().await?;
        Ok(verify_chain(&records, anchored_head))
    }
}

/// Pure check over records in sequence order.
pub fn verify_chain(records: &[JournalRecord], anchored_head: Option<&str>) -> Verification {
    let mut breaks = vec![];
    let mut prev = GENESIS.to_string();
    for r in records {
        if r.prev_hash != prev {
            breaks.push(Break::Unlinked { seq: r.seq, expected_prev: prev.clone() });
        }
        if record_hash(&r.prev_hash, &canonical(r)) != r.hash {
            breaks.push(Break::Edited { seq: r.seq });
        }
        prev = r.hash.clone();
    }
    if let Some(head) = anchored_head {
        if !records.iter().any(|r| r.hash == head) {
            breaks.push(Break::HeadMissing { head: head.to_string() });
        }
    }
    Verification { records: records.len() as u64, head_seq: records.last().map(|r| r.seq).unwrap_or(0), head_hash: prev, breaks }
}

pub use crate::journal::stored_time;

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<JournalRecord> {
        let mut out: Vec<JournalRecord> = vec![];
        for seq in 1..=n {
            let prev = out.last().map(|r| r.hash.clone()).unwrap_or(GENESIS.into());
            let mut m = JournalRecord {
                seq,
                at: stored_time(Utc::now()),
                client_id: Some("c".into()),
                subject: Some(format!("p{seq}")),
                step: "liveness".into(),
                outcome: "failure".into(),
                reason: Some("spoof".into()),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            m.hash = record_hash(&prev, &canonical(&m));
            out.push(m);
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let v = verify_chain(&c, Some(&c[4].hash));
        assert!(v.breaks.is_empty());
        assert_eq!((v.records, v.head_seq), (5, 5));
    }

    #[test]
    fn edits_removals_reorders_and_truncation_are_found() {
        let mut edited = chain(5);
        edited[2].outcome = "success".into();
        assert_eq!(verify_chain(&edited, None).breaks, vec![Break::Edited { seq: 3 }]);

        let mut removed = chain(5);
        removed.remove(2);
        assert!(matches!(verify_chain(&removed, None).breaks[..], [Break::Unlinked { seq: 4, .. }]));

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert!(!verify_chain(&swapped, None).breaks.is_empty());

        let full = chain(5);
        let head = full[4].hash.clone();
        let truncated = &full[..3];
        assert!(verify_chain(truncated, None).breaks.is_empty(), "a shorter chain is self-consistent...");
        assert_eq!(verify_chain(truncated, Some(&head)).breaks, vec![Break::HeadMissing { head }], "...but not with its anchor");
    }
}
