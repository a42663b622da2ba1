//! What the operator watches (`/metrics`): backlogs counted in the database,
//! so every instance reports the same numbers.
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

use super::{
    entities::event_delivery,
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
