//! Storage of the biometric side of a citizen (Rules §4, §5, §11): consent,
//! the sealed reference template, and failed attempts for rate limiting.
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use tanu_biometrics::template::SealedTemplate;

use super::entities::{biometric_consent, face_failure, reference_template, template_key};
use super::WriteRow;
use super::{uuid_like, Store, StoreError};

/// The consent text shown to the citizen; bump the version when the text
/// changes, so that every consent records exactly what was agreed to.
pub const CONSENT_TEXT_VERSION: &str = "2026-11-22.1";

impl Store {
    /// The citizen's consent in force, if any.
    pub async fn biometric_consent(&self, citizen_id: &str) -> Result<Option<BiometricConsent>, StoreError> {
        Ok(biometric_consent::Entity::find()
            .filter(biometric_consent::Column::CitizenId.eq(citizen_id))
            .filter(biometric_consent::Column::WithdrawnAt.is_null())
            .one(&self.db)
            .await?
            .map(Into::into))
    }

    pub async fn record_biometric_consent(&self, citizen_id: &str, text_version: &str) -> Result<(), StoreError> {
        biometric_consent::ActiveModel {
            id: Set(uuid_like()),
            citizen_id: Set(citizen_id.into()),
            text_version: Set(text_version.into()),
            accepted_at: Set(Utc::now()),
            withdrawn_at: Set(None),
        }
        .insert_row(&self.db)
        .await?;
        Ok(())
    }

    /// Withdraws the consent and deletes the template's data key and the
    /// template with it, in one transaction (§11: biometric data is deleted
    /// when consent goes; without its key, a copy of the template elsewhere
    /// cannot be opened).
    /// Returns whether there was a consent in force.
    pub async fn withdraw_biometric_consent(&self, citizen_id: &str) -> Result<bool, StoreError> {
        let tx = self.db.begin().await?;
        let now = Utc::now();
        let active = biometric_consent::Entity::find()
            .filter(biometric_consent::Column::CitizenId.eq(citizen_id))
            .filter(biometric_consent::Column::WithdrawnAt.is_null())
            .all(&tx)
            .await?;
        let had = !active.is_empty();
        for c in active {
            let mut a: biometric_consent::ActiveModel = c.into();
            a.withdrawn_at = Set(Some(now));
            a.update(&tx).await?;
        }
        template_key::Entity::delete_by_id(citizen_id).exec(&tx).await?;
        reference_template::Entity::delete_by_id(citizen_id).exec(&tx).await?;
        tx.commit().await?;
        Ok(had)
    }

    /// The citizen's sealed template with its wrapped key; `None` when either
    /// is gone (a template whose key was deleted is shredded).
    pub async fn reference_template(&self, citizen_id: &str) -> Result<Option<SealedTemplate>, StoreError> {
        let Some(key) = template_key::Entity::find_by_id(citizen_id).one(&self.db).await? else { return Ok(None) };
        let Some(row) = reference_template::Entity::find_by_id(citizen_id).one(&self.db).await? else { return Ok(None) };
        let decode = |s: &str| STANDARD.decode(s).map_err(|e| StoreError::Corrupt { what: "reference template", detail: e.to_string() });
        Ok(Some(SealedTemplate { wrapped_key: decode(&key.wrapped_key)?, sealed_embedding: decode(&row.sealed_embedding)? }))
    }

    /// Stores the reference template formed on the first verification (§5):
    /// the sealed embedding and its wrapped data key, each in its own table,
    /// in one transaction.
    pub async fn save_reference_template(&self, citizen_id: &str, sealed: &SealedTemplate) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        let now = Utc::now();
        template_key::Entity::delete_by_id(citizen_id).exec(&tx).await?;
        reference_template::Entity::delete_by_id(citizen_id).exec(&tx).await?;
        template_key::ActiveModel { citizen_id: Set(citizen_id.into()), wrapped_key: Set(STANDARD.encode(&sealed.wrapped_key)), created_at: Set(now) }
            .insert(&tx)
            .await?;
        reference_template::ActiveModel {
            citizen_id: Set(citizen_id.into()),
            sealed_embedding: Set(STANDARD.encode(&sealed.sealed_embedding)),
            created_at: Set(now),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn record_face_failure(&self, iin_hash: &str, client_address: &str, reason: &str) -> Result<(), StoreError> {
        face_failure::ActiveModel {
            id: Set(uuid_like()),
            iin_hash: Set(iin_hash.into()),
            client_address: Set(client_address.into()),
            reason: Set(reason.into()),
            at: Set(Utc::now()),
        }
        .insert_row(&self.db)
        .await?;
        Ok(())
    }

    /// What a lock-out is decided on (`crate::face::lockout`): the times of
    /// the failures since `since` in which a face was presented for this IIN
    /// from this address (reasons in `face_presented`), oldest first, and the
    /// count of every failure from this address.
    pub async fn face_lockout_evidence(
        &self,
        iin_hash: &str,
        client_address: &str,
        face_presented: &[&str],
        since: DateTime<Utc>,
    ) -> Result<(Vec<DateTime<Utc>>, u64), StoreError> {
        let recent = || face_failure::Entity::find().filter(face_failure::Column::At.gte(since)).filter(face_failure::Column::ClientAddress.eq(client_address));
        let pair = recent()
            .filter(face_failure::Column::IinHash.eq(iin_hash))
            .filter(face_failure::Column::Reason.is_in(face_presented.iter().copied()))
            .order_by_asc(face_failure::Column::At)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|f| f.at)
            .collect();
        let by_address = recent().count(&self.db).await?;
        Ok((pair, by_address))
    }

    /// The account of this IIN in `environment` (a test person's is never a citizen's).
    pub async fn citizen_by_iin(&self, environment: tanu_core::domain::Environment, iin: &str) -> Result<Option<super::Citizen>, StoreError> {
        use super::entities::citizen;
        citizen::Entity::find()
            .filter(citizen::Column::Environment.eq(environment.as_str()))
            .filter(citizen::Column::Iin.eq(iin))
            .one(&self.db)
            .await?
            .map(super::Citizen::try_from)
            .transpose()
    }
}

crate::record! {
    /// A citizen's consent to biometric processing (Rules §5), as recorded.
    BiometricConsent from super::entities::biometric_consent {
    id: String,
    citizen_id: String,
    text_version: String,
    accepted_at: DateTime<Utc>,
    withdrawn_at: Option<DateTime<Utc>>,
    }
}
