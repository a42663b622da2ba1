//! Face sign-ins between requests (issue 16): each sign-in's state, its
//! capture's analysed frames and the recent captures' signatures, kept here so
//! that any instance can take any request of a sign-in. The values are opaque
//! (sealed by the face module); a sign-in's state is written only by
//! compare-and-swap on its version, so concurrent requests on several
//! instances never lose each other's changes.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{
    entities::{face_capture_seen, face_frame, face_sign_in},
    uuid_like, Store, StoreError,
};

/// A sign-in's sealed state and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceSignIn {
    pub state: String,
    pub version: i64,
}

/// A capture remembered for the replay check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSeen {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub signatures: String,
}

fn unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

impl Store {
    /// The sign-in `id` unless it has expired at `now`.
    pub async fn face_sign_in(&self, id: &str, now: DateTime<Utc>) -> Result<Option<FaceSignIn>, StoreError> {
        let row = face_sign_in::Entity::find_by_id(id).filter(face_sign_in::Column::ExpiresAt.gt(now)).one(&self.db).await?;
        Ok(row.map(|r| FaceSignIn { state: r.state, version: r.version }))
    }

    /// Starts the sign-in `id` with `state` unless one is in progress (an
    /// expired one is replaced): false when another request started it first.
    pub async fn create_face_sign_in(&self, id: &str, state: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        // An expired sign-in of the same id goes first, its frames with it.
        let expired =
            face_sign_in::Entity::delete_many().filter(face_sign_in::Column::Id.eq(id)).filter(face_sign_in::Column::ExpiresAt.lte(now)).exec(&self.db).await?;
        if expired.rows_affected > 0 {
            face_frame::Entity::delete_many().filter(face_frame::Column::SignInId.eq(id)).exec(&self.db).await?;
        }
        let row = face_sign_in::ActiveModel { id: Set(id.into()), state: Set(state.into()), version: Set(0), expires_at: Set(expires_at) };
        match face_sign_in::Entity::insert(row).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(e) if unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the sign-in's state if it is still at the version `read` and
    /// has not expired: false when another request wrote first (read again
    /// and redo) or it is gone.
    pub async fn update_face_sign_in(&self, id: &str, read: i64, state: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let written = face_sign_in::Entity::update_many()
            .col_expr(face_sign_in::Column::State, state.into())
            .col_expr(face_sign_in::Column::Version, (read + 1).into())
            .filter(face_sign_in::Column::Id.eq(id))
            .filter(face_sign_in::Column::Version.eq(read))
            .filter(face_sign_in::Column::ExpiresAt.gt(now))
            .exec(&self.db)
            .await?;
        Ok(written.rows_affected == 1)
    }

    /// Ends the sign-in if it is still at `read`, with its frames: false when
    /// another request wrote first.
    pub async fn end_face_sign_in(&self, id: &str, read: i64) -> Result<bool, StoreError> {
        let gone =
            face_sign_in::Entity::delete_many().filter(face_sign_in::Column::Id.eq(id)).filter(face_sign_in::Column::Version.eq(read)).exec(&self.db).await?;
        if gone.rows_affected == 1 {
            face_frame::Entity::delete_many().filter(face_frame::Column::SignInId.eq(id)).exec(&self.db).await?;
        }
        Ok(gone.rows_affected == 1)
    }

    /// Drops the sign-ins and frames expired at `now`.
    pub async fn purge_face_sign_ins(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        face_sign_in::Entity::delete_many().filter(face_sign_in::Column::ExpiresAt.lte(now)).exec(&self.db).await?;
        face_frame::Entity::delete_many().filter(face_frame::Column::ExpiresAt.lte(now)).exec(&self.db).await?;
        Ok(())
    }

    /// Keeps one analysed frame of the sign-in's capture `capture`.
    pub async fn add_face_frame(&self, sign_in: &str, capture: u32, at_ms: u32, analysis: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = face_frame::ActiveModel {
            id: Set(uuid_like()),
            sign_in_id: Set(sign_in.into()),
            capture: Set(i64::from(capture)),
            at_ms: Set(i64::from(at_ms)),
            analysis: Set(analysis.into()),
            expires_at: Set(expires_at),
        };
        face_frame::Entity::insert(row).exec_without_returning(&self.db).await?;
        Ok(())
    }

    /// The analysed frames of the sign-in's capture, by arrival, no longer
    /// kept once read (the capture is decided on them once).
    pub async fn take_face_frames(&self, sign_in: &str, capture: u32) -> Result<Vec<String>, StoreError> {
        let capture = i64::from(capture);
        let rows = face_frame::Entity::find()
            .filter(face_frame::Column::SignInId.eq(sign_in))
            .filter(face_frame::Column::Capture.eq(capture))
            .order_by_asc(face_frame::Column::AtMs)
            .all(&self.db)
            .await?;
        face_frame::Entity::delete_many()
            .filter(face_frame::Column::SignInId.eq(sign_in))
            .filter(face_frame::Column::Capture.eq(capture))
            .exec(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| r.analysis).collect())
    }

    /// How many analysed frames are kept, of every sign-in (tests: nothing outlives its sign-in).
    pub async fn face_frames_kept(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(face_frame::Entity::find().count(&self.db).await?)
    }

    /// Remembers a capture's signatures at `at`, forgetting those before `forget_before`.
    pub async fn remember_capture(&self, at: DateTime<Utc>, signatures: &str, forget_before: DateTime<Utc>) -> Result<(), StoreError> {
        face_capture_seen::Entity::delete_many().filter(face_capture_seen::Column::At.lt(forget_before)).exec(&self.db).await?;
        let row = face_capture_seen::ActiveModel { at: Set(at), signatures: Set(signatures.into()), ..Default::default() };
        face_capture_seen::Entity::insert(row).exec_without_returning(&self.db).await?;
        Ok(())
    }

    /// The captures remembered after `seq` and not before `not_before`, oldest
    /// first: the newest `limit` of them.
    pub async fn captures_seen_since(&self, seq: i64, not_before: DateTime<Utc>, limit: u64) -> Result<Vec<CaptureSeen>, StoreError> {
        let mut rows = face_capture_seen::Entity::find()
            .filter(face_capture_seen::Column::Seq.gt(seq))
            .filter(face_capture_seen::Column::At.gte(not_before))
            .order_by_desc(face_capture_seen::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.reverse();
        Ok(rows.into_iter().map(|r| CaptureSeen { seq: r.seq, at: r.at, signatures: r.signatures }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    async fn store() -> Store {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_sign_in_is_written_only_at_the_version_it_was_read() {
        let (store, now) = (store().await, Utc::now());
        let later = now + Duration::minutes(10);
        assert!(store.create_face_sign_in("s1", "a", later, now).await.unwrap());
        assert!(!store.create_face_sign_in("s1", "b", later, now).await.unwrap(), "started twice: the second loses");
        let read = store.face_sign_in("s1", now).await.unwrap().unwrap();
        assert_eq!(read, FaceSignIn { state: "a".into(), version: 0 });
        // Two requests read version 0; the first write wins, the second must read again.
        assert!(store.update_face_sign_in("s1", 0, "c", now).await.unwrap());
        assert!(!store.update_face_sign_in("s1", 0, "d", now).await.unwrap());
        assert_eq!(store.face_sign_in("s1", now).await.unwrap().unwrap(), FaceSignIn { state: "c".into(), version: 1 });
        assert!(!store.end_face_sign_in("s1", 0).await.unwrap(), "ended only at the version read");
        assert!(store.end_face_sign_in("s1", 1).await.unwrap());
        assert_eq!(store.face_sign_in("s1", now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_sign_in_is_gone_with_its_frames() {
        let (store, now) = (store().await, Utc::now());
        let soon = now + Duration::seconds(1);
        assert!(store.create_face_sign_in("s1", "a", soon, now).await.unwrap());
        store.add_face_frame("s1", 7, 10, "f", soon).await.unwrap();
        let after = now + Duration::seconds(2);
        assert_eq!(store.face_sign_in("s1", after).await.unwrap(), None, "expired: not read");
        assert!(!store.update_face_sign_in("s1", 0, "b", after).await.unwrap(), "expired: not written");
        assert!(store.create_face_sign_in("s1", "new", after + Duration::minutes(10), after).await.unwrap(), "replaced");
        assert_eq!(store.take_face_frames("s1", 7).await.unwrap(), Vec::<String>::new(), "the old sign-in's frames went with it");
        store.add_face_frame("s2", 1, 10, "f", soon).await.unwrap();
        store.purge_face_sign_ins(after).await.unwrap();
        assert_eq!(store.face_frames_kept().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn frames_are_read_by_arrival_once_and_per_capture() {
        let (store, now) = (store().await, Utc::now());
        let later = now + Duration::minutes(10);
        // Capture numbers are random u32s: the largest are kept apart too.
        let (mine, other) = (u32::MAX - 1, u32::MAX);
        for (at, v) in [(300, "c"), (100, "a"), (200, "b")] {
            store.add_face_frame("s1", mine, at, v, later).await.unwrap();
        }
        store.add_face_frame("s1", other, 50, "other capture", later).await.unwrap();
        store.add_face_frame("s2", mine, 50, "other sign-in", later).await.unwrap();
        assert_eq!(store.take_face_frames("s1", mine).await.unwrap(), ["a", "b", "c"]);
        assert!(store.take_face_frames("s1", mine).await.unwrap().is_empty(), "read once");
        assert_eq!(store.face_frames_kept().await.unwrap(), 2);
        assert!(store.create_face_sign_in("s1", "x", later, now).await.unwrap());
        assert!(store.end_face_sign_in("s1", 0).await.unwrap());
        assert_eq!(store.face_frames_kept().await.unwrap(), 1, "the sign-in's end takes its frames, not another's");
    }

    #[tokio::test]
    async fn captures_seen_are_read_after_a_sequence_newest_first_bounded() {
        let (store, now) = (store().await, Utc::now());
        for k in 0..5 {
            store.remember_capture(now + Duration::seconds(k), &format!("c{k}"), now - Duration::hours(1)).await.unwrap();
        }
        let all = store.captures_seen_since(0, now - Duration::hours(1), 100).await.unwrap();
        assert_eq!(all.iter().map(|c| c.signatures.as_str()).collect::<Vec<_>>(), ["c0", "c1", "c2", "c3", "c4"]);
        let newest = store.captures_seen_since(0, now - Duration::hours(1), 2).await.unwrap();
        assert_eq!(newest.iter().map(|c| c.signatures.as_str()).collect::<Vec<_>>(), ["c3", "c4"], "the newest within the bound, oldest first");
        let after = store.captures_seen_since(all[2].seq, now - Duration::hours(1), 100).await.unwrap();
        assert_eq!(after.len(), 2);
        assert!(store.captures_seen_since(0, now + Duration::seconds(3), 100).await.unwrap().len() == 2, "not before the window");
        // Remembering a capture forgets what is older than the window.
        store.remember_capture(now + Duration::hours(2), "late", now + Duration::hours(1)).await.unwrap();
        assert_eq!(store.captures_seen_since(0, now - Duration::hours(1), 100).await.unwrap().len(), 1);
    }
}
