//! What the operator watches (`/metrics`): backlogs counted in the database,
//! so every instance reports the same numbers.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set};

use super::{
    entities::{event_delivery, serving_instance},
    onboarding::entities::{application, mail},
    Store, StoreError,
};

/// The backlogs at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// §10 events not yet accepted by the relying party and still retried.
    pub events_pending: u64,
    /// §10 events given up after the last try.
    pub events_abandoned: u64,
    /// Onboarding mail not yet sent.
    pub mail_unsent: u64,
    /// Onboarding applications per (step, overdue).
    pub applications: Vec<(String, bool, u64)>,
}

impl Store {
    /// Counts the backlogs; `max_event_attempts` is where delivery gives up.
    pub async fn backlog(&self, max_event_attempts: i32) -> Result<Backlog, StoreError> {
        let undelivered = || event_delivery::Entity::find().filter(event_delivery::Column::DeliveredAt.is_null());
        let events_pending = undelivered().filter(event_delivery::Column::Attempts.lt(max_event_attempts)).count(&self.db).await?;
        let events_abandoned = undelivered().filter(event_delivery::Column::Attempts.gte(max_event_attempts)).count(&self.db).await?;
        let mail_unsent = mail::Entity::find().filter(mail::Column::SentAt.is_null()).count(&self.db).await?;
        let rows: Vec<(String, bool, i64)> = application::Entity::find()
            .select_only()
            .column(application::Column::Step)
            .column(application::Column::Overdue)
            .column_as(application::Column::Id.count(), "n")
            .group_by(application::Column::Step)
            .group_by(application::Column::Overdue)
            .into_tuple()
            .all(&self.db)
            .await?;
        let applications = rows.into_iter().map(|(step, overdue, n)| (step, overdue, n.max(0) as u64)).collect();
        Ok(Backlog { events_pending, events_abandoned, mail_unsent, applications })
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        self.db.execute_unprepared("SELECT 1").await?;
        Ok(())
    }
}

impl Store {
    /// Records that `instance` serves at `now`, forgets instances silent
    /// since `gone_before`, and counts those seen since `alive_since`.
    pub async fn instance_heartbeat(
        &self,
        instance: &str,
        now: DateTime<Utc>,
        alive_since: DateTime<Utc>,
        gone_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        use sea_orm::sea_query::OnConflict;
        serving_instance::Entity::delete_many().filter(serving_instance::Column::SeenAt.lt(gone_before)).exec(&self.db).await?;
        let row = serving_instance::ActiveModel { id: Set(instance.into()), seen_at: Set(now) };
        serving_instance::Entity::insert(row)
            .on_conflict(OnConflict::column(serving_instance::Column::Id).update_column(serving_instance::Column::SeenAt).to_owned())
            .exec_without_returning(&self.db)
            .await?;
        Ok(serving_instance::Entity::find().filter(serving_instance::Column::SeenAt.gte(alive_since)).count(&self.db).await?)
    }

    /// The instance stops serving: the others count it out at their next beat.
    pub async fn instance_gone(&self, instance: &str) -> Result<(), StoreError> {
        serving_instance::Entity::delete_by_id(instance).exec(&self.db).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[tokio::test]
    async fn instances_are_counted_by_their_heartbeats() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let now = Utc::now();
        let beat = |id: &'static str, at: DateTime<Utc>| {
            let store = store.clone();
            async move { store.instance_heartbeat(id, at, at - Duration::seconds(15), at - Duration::hours(1)).await.unwrap() }
        };
        assert_eq!(beat("a", now).await, 1);
        assert_eq!(beat("b", now).await, 2);
        assert_eq!(beat("a", now + Duration::seconds(5)).await, 2, "a beat again is one instance");
        assert_eq!(beat("a", now + Duration::seconds(20)).await, 1, "b silent for 20 s is not counted");
        store.instance_gone("a").await.unwrap();
        assert_eq!(beat("c", now + Duration::seconds(21)).await, 1);
    }
}
