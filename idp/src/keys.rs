//! Signing keys: generated on first start, private parts sealed at rest under
//! the master key, rotated with `tanu keys rotate`.
//!
//! Rotation follows the publish-before-sign rule: a new key appears in the
//! JWKS `key_publish_lead` seconds before it starts signing, and a replaced
//! key stays published until every ID token it signed has expired
//! (`id_token_ttl` after it was replaced).
use std::{collections::HashMap, sync::{Arc, Mutex}};

use chrono::{DateTime, Duration, Utc};
use openidconnect::{
    core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey},
    JsonWebKeyId, PrivateSigningKey, SigningError,
};
use p256::ecdsa::signature::Signer as _;
use rsa::pkcs1::EncodeRsaPrivateKey;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};

use crate::{crypto::MasterKey, domain::SigningAlg, store::{entities::signing_key, Store, StoreError}};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid} cannot be opened: {detail}")]
    Unusable { kid: String, detail: String },
    #[error("no active {0} signing key")]
    NoActiveKey(&'static str),
}

impl From<sea_orm::DbErr> for KeyError {
    fn from(e: sea_orm::DbErr) -> Self {
        KeyError::Store(e.into())
    }
}

/// ES256 over the `p256` crate, behind openidconnect's signing trait (the
/// crate itself ships RSA and EdDSA signers only).
pub struct EcP256SigningKey {
    key: p256::ecdsa::SigningKey,
    kid: JsonWebKeyId,
}

impl PrivateSigningKey for EcP256SigningKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        if *alg != CoreJwsSigningAlgorithm::EcdsaP256Sha256 {
            return Err(SigningError::UnsupportedAlg(format!("{alg:?}")));
        }
        // JWS wants the fixed-size r||s form, which is what `to_bytes` gives.
        let sig: p256::ecdsa::Signature = self.key.sign(message);
        Ok(sig.to_bytes().to_vec())
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        let point = self.key.verifying_key().to_encoded_point(false);
        let x = point.x().expect("uncompressed point has x").to_vec();
        let y = point.y().expect("uncompressed point has y").to_vec();
        CoreJsonWebKey::new_ec(x, y, CoreJsonCurveType::P256, Some(self.kid.clone()))
    }
}

pub enum Signer {
    Rs256(CoreRsaPrivateSigningKey),
    Es256(EcP256SigningKey),
}

impl Signer {
    pub fn alg(&self) -> CoreJwsSigningAlgorithm {
        match self {
            Signer::Rs256(_) => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Signer::Es256(_) => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        }
    }
}

/// A key as published: kid, algorithm, when it starts signing.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: SigningAlg,
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
    pub public_jwk: CoreJsonWebKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing new tokens.
    Active,
    /// Replaced; published until tokens it signed have expired.
    Retiring,
    /// No longer published.
    Retired,
}

#[derive(Clone)]
pub struct KeyRing {
    store: Store,
    master: MasterKey,
    publish_lead: Duration,
    id_token_ttl: Duration,
    signers: Arc<Mutex<HashMap<String, Arc<Signer>>>>,
}

impl KeyRing {
    pub fn new(store: Store, master: MasterKey, publish_lead_secs: u64, id_token_ttl_secs: u64) -> Self {
        Self {
            store,
            master,
            publish_lead: Duration::seconds(publish_lead_secs as i64),
            id_token_ttl: Duration::seconds(id_token_ttl_secs as i64),
            signers: Default::default(),
        }
    }

    /// On first start there is nothing any relying party could have cached,
    /// so the first keys sign at once.
    pub async fn ensure_initial_keys(&self) -> Result<(), KeyError> {
        let existing = self.all().await?;
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            if !existing.iter().any(|k| k.alg == alg) {
                self.generate(alg, Utc::now()).await?;
            }
        }
        Ok(())
    }

    /// Generates a new key per algorithm, published now, signing after the lead.
    pub async fn rotate(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let at = Utc::now() + self.publish_lead;
        let mut out = vec![];
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            out.push(self.generate(alg, at).await?);
        }
        Ok(out)
    }

    async fn generate(&self, alg: SigningAlg, activates_at: DateTime<Utc>) -> Result<KeyInfo, KeyError> {
        let kid = format!("{}-{}", alg.as_str().to_lowercase(), crate::crypto::random_token(9));
        // Key generation is CPU-bound (RSA takes a noticeable moment).
        let (private_der, public_jwk) = tokio::task::spawn_blocking({
            let kid = kid.clone();
            move || -> Result<(Vec<u8>, CoreJsonWebKey), String> {
                let mut rng = rand::rngs::OsRng;
                match alg {
                    SigningAlg::Rs256 => {
                        let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?;
                        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| e.to_string())?;
                        let signer = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid)))?;
                        Ok((pem.as_bytes().to_vec(), signer.as_verification_key()))
                    }
                    SigningAlg::Es256 => {
                        let key = p256::ecdsa::SigningKey::random(&mut rng);
                        let signer = EcP256SigningKey { key: key.clone(), kid: JsonWebKeyId::new(kid) };
                        Ok((key.to_bytes().to_vec(), signer.as_verification_key()))
                    }
                }
            }
        })
        .await
        .map_err(|e| KeyError::Unusable { kid: kid.clone(), detail: e.to_string() })?
        .map_err(|detail| KeyError::Unusable { kid: kid.clone(), detail })?;
        let public_jwk = with_alg(public_jwk, alg);
        signing_key::ActiveModel {
            kid: Set(kid.clone()),
            alg: Set(alg.to_string()),
            public_jwk: Set(serde_json::to_string(&public_jwk).expect("JWK serialises")),
            sealed_private_key: Set(self.master.seal(&private_der, &kid)),
            created_at: Set(Utc::now()),
            activates_at: Set(activates_at),
        }
        .insert(&self.store.db)
        .await?;
        Ok(KeyInfo { kid, alg, created_at: Utc::now(), activates_at, public_jwk })
    }

    pub async fn all(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let rows = signing_key::Entity::find()
            .order_by_asc(signing_key::Column::ActivatesAt)
            .all(&self.store.db)
            .await?;
        rows.into_iter()
            .map(|m| {
                let bad = |detail: String| KeyError::Unusable { kid: m.kid.clone(), detail };
                Ok(KeyInfo {
                    alg: m.alg.parse().map_err(|e: crate::domain::ParseError| bad(e.to_string()))?,
                    public_jwk: serde_json::from_str(&m.public_jwk).map_err(|e| bad(e.to_string()))?,
                    kid: m.kid,
                    created_at: m.created_at,
                    activates_at: m.activates_at,
                })
            })
            .collect()
    }

    /// The state of every key at `now`, per algorithm.
    pub fn states(&self, keys: &[KeyInfo], now: DateTime<Utc>) -> Vec<(KeyInfo, KeyState)> {
        let mut out = vec![];
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            let of_alg: Vec<&KeyInfo> = keys.iter().filter(|k| k.alg == alg).collect();
            let active = of_alg.iter().rposition(|k| k.activates_at <= now);
            for (i, k) in of_alg.iter().enumerate() {
                let state = match active {
                    _ if k.activates_at > now => KeyState::Next,
                    Some(a) if a == i => KeyState::Active,
                    _ => {
                        // Replaced when the following key activated.
                        let replaced_at = of_alg[i + 1].activates_at;
                        if now < replaced_at + self.id_token_ttl { KeyState::Retiring } else { KeyState::Retired }
                    }
                };
                out.push(((*k).clone(), state));
            }
        }
        out
    }

    /// The published key set.
    pub async fn jwks(&self) -> Result<CoreJsonWebKeySet, KeyError> {
        let keys = self.all().await?;
        let published = self
            .states(&keys, Utc::now())
            .into_iter()
            .filter(|(_, s)| *s != KeyState::Retired)
            .map(|(k, _)| k.public_jwk)
            .collect();
        Ok(CoreJsonWebKeySet::new(published))
    }

    /// The key that signs now for `alg`.
    pub async fn signer(&self, alg: SigningAlg) -> Result<Arc<Signer>, KeyError> {
        let keys = self.all().await?;
        let active = self
            .states(&keys, Utc::now())
            .into_iter()
            .find(|(k, s)| k.alg == alg && *s == KeyState::Active)
            .map(|(k, _)| k)
            .ok_or(KeyError::NoActiveKey(alg.as_str()))?;
        if let Some(s) = self.signers.lock().expect("signer cache").get(&active.kid) {
            return Ok(s.clone());
        }
        let row = signing_key::Entity::find_by_id(active.kid.clone())
            .one(&self.store.db)
            .await?
            .ok_or(KeyError::NoActiveKey(alg.as_str()))?;
        let bad = |detail: String| KeyError::Unusable { kid: row.kid.clone(), detail };
        let der = self.master.open(&row.sealed_private_key, &row.kid).map_err(|e| bad(e.to_string()))?;
        let kid = JsonWebKeyId::new(row.kid.clone());
        let signer = match alg {
            SigningAlg::Rs256 => Signer::Rs256(
                CoreRsaPrivateSigningKey::from_pem(std::str::from_utf8(&der).map_err(|e| bad(e.to_string()))?, Some(kid))
                    .map_err(bad)?,
            ),
            SigningAlg::Es256 => Signer::Es256(EcP256SigningKey {
                key: p256::ecdsa::SigningKey::from_slice(&der).map_err(|e| bad(e.to_string()))?,
                kid,
            }),
        };
        let signer = Arc::new(signer);
        self.signers.lock().expect("signer cache").insert(row.kid.clone(), signer.clone());
        Ok(signer)
    }

    /// The active RS256 key as a `jsonwebtoken` encoder, for JWTs other than
    /// ID tokens (Security Event Tokens).
    pub async fn jwt_encoder(&self) -> Result<(String, jsonwebtoken::EncodingKey), KeyError> {
        let keys = self.all().await?;
        let active = self
            .states(&keys, Utc::now())
            .into_iter()
            .find(|(k, s)| k.alg == SigningAlg::Rs256 && *s == KeyState::Active)
            .map(|(k, _)| k)
            .ok_or(KeyError::NoActiveKey("RS256"))?;
        let row = signing_key::Entity::find_by_id(active.kid.clone())
            .one(&self.store.db)
            .await?
            .ok_or(KeyError::NoActiveKey("RS256"))?;
        let bad = |detail: String| KeyError::Unusable { kid: row.kid.clone(), detail };
        let pem = self.master.open(&row.sealed_private_key, &row.kid).map_err(|e| bad(e.to_string()))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).map_err(|e| bad(e.to_string()))?;
        Ok((row.kid.clone(), key))
    }

    /// Deletes keys that are no longer published.
    pub async fn prune(&self) -> Result<usize, KeyError> {
        let keys = self.all().await?;
        let mut n = 0;
        for (k, s) in self.states(&keys, Utc::now()) {
            if s == KeyState::Retired {
                signing_key::Entity::delete_by_id(k.kid).exec(&self.store.db).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Adds the `alg` member to a public JWK (RFC 7517 §4.4), which openidconnect's
/// constructors leave out; relying parties use it to pick keys.
fn with_alg(jwk: CoreJsonWebKey, alg: SigningAlg) -> CoreJsonWebKey {
    let mut v = serde_json::to_value(&jwk).expect("JWK serialises");
    v["alg"] = serde_json::Value::String(alg.to_string());
    serde_json::from_value(v).expect("JWK with alg deserialises")
}
