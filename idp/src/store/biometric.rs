//! Storage of the biometric side of a citizen (Rules §4, §5, §11): consent,
//! the sealed reference template, and failed attempts for rate limiting.
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait};
use tanu_biometrics::template::SealedTemplate;

use super::entities::{biometric_consent, face_failure, reference_template};
use super::{uuid_like, Store, StoreError};

/// The consent text shown to the citizen; bump the version when the text
/// changes, so that every consent records exactly what was agreed to.
pub const CONSENT_TEXT_VERSION: &str = "2026-11-22.1";

impl Store {
    /// The citizen's consent in force, if any.
    pub async fn biometric_consent(&self, citizen_id: &str) -> Result<Option<biometric_consent::Model>, StoreError> {
        Ok(biometric_consent::Entity::find()
            .filter(biometric_consent::Column::CitizenId.eq(citizen_id))
            .filter(biometric_consent::Column::WithdrawnAt.is_null())
            .one(&self.db)
            .await?)
    }

    pub async fn record_biometric_consent(&self, citizen_id: &str, text_version: &str) -> Result<(), StoreError> {
        biometric_consent::ActiveModel {
            id: Set(uuid_like()),
            citizen_id: Set(citizen_id.into()),
            text_version: Set(text_version.into()),
            accepted_at: Set(Utc::now()),
            withdrawn_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Withdraws the consent and deletes the reference template with it, in
    /// one transaction (§11: biometric data is deleted when consent goes).
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
        reference_template::Entity::delete_by_id(citizen_id).exec(&tx).await?;
        tx.commit().await?;
        Ok(had)
    }

    pub async fn reference_template(&self, citizen_id: &str) -> Result<Option<SealedTemplate>, StoreError> {
        let Some(row) = reference_template::Entity::find_by_id(citizen_id).one(&self.db).await? else { return Ok(None) };
        let decode = |s: &str| {
            STANDARD.decode(s).map_err(|e| StoreError::Corrupt { what: "reference template", detail: e.to_string() })
        };
        Ok(Some(SealedTemplate { wrapped_key: decode(&row.wrapped_key)?, sealed_embedding: decode(&row.sealed_embedding)? }))
    }

    /// Stores the reference template formed on the first verification (§5).
    pub async fn save_reference_template(&self, citizen_id: &str, sealed: &SealedTemplate) -> Result<(), StoreError> {
        reference_template::Entity::delete_by_id(citizen_id).exec(&self.db).await?;
        reference_template::ActiveModel {
            citizen_id: Set(citizen_id.into()),
            wrapped_key: Set(STANDARD.encode(&sealed.wrapped_key)),
            sealed_embedding: Set(STANDARD.encode(&sealed.sealed_embedding)),
            created_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await?;
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
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// Failed attempts since `since` for this IIN and for this address.
    pub async fn face_failures_since(
        &self,
        iin_hash: &str,
        client_address: &str,
        since: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let recent = || face_failure::Entity::find().filter(face_failure::Column::At.gte(since));
        let by_iin = recent().filter(face_failure::Column::IinHash.eq(iin_hash)).count(&self.db).await?;
        let by_address = recent().filter(face_failure::Column::ClientAddress.eq(client_address)).count(&self.db).await?;
        Ok((by_iin, by_address))
    }

    pub async fn citizen_by_iin(&self, iin: &str) -> Result<Option<super::Citizen>, StoreError> {
        use super::entities::citizen;
        Ok(citizen::Entity::find().filter(citizen::Column::Iin.eq(iin)).one(&self.db).await?.map(Into::into))
    }
}
