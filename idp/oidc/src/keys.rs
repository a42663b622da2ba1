//! Signing keys: generated on first start, private parts sealed at rest under
//! the master key, rotated with `tanu keys rotate`.
//!
//! Rotation follows the publish-before-sign rule: a new key appears in the
//! JWKS `key_publish_lead` seconds before it starts signing, and a replaced
//! key stays published until every ID token it signed has expired
//! (`id_token_ttl` after it was replaced).
//!
//! Keys are served from memory: the ring loads them once, keeps the JWKS as
//! serialised bytes (recomputed, without the database, when a key changes
//! state) and the opened signers. A rotation or prune in this process drops
//! the cache; one in another process (`tanu keys rotate`, another instance)
//! is noticed by a cheap check of the stored key ids at most every
//! `key_poll_interval` seconds, made by whichever request comes first after
//! the interval.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Instant,
};

use chrono::{DateTime, Duration, Utc};
use openidconnect::{
    core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
    JsonWebKeyId, PrivateSigningKey, SigningError,
};
use p256::ecdsa::signature::Signer as _;
use rsa::pkcs1::EncodeRsaPrivateKey;

use crate::{
    crypto::MasterKey,
    domain::SigningAlg,
    store::{keys::StoredKey, Store, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid} cannot be opened: {detail}")]
    Unusable { kid: String, detail: String },
    #[error("no active {0} signing key")]
    NoActiveKey(&'static str),
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
        // An uncompressed point always has both coordinates.
        let x = point.x().map(|c| c.to_vec()).unwrap_or_default();
        let y = point.y().map(|c| c.to_vec()).unwrap_or_default();
        CoreJsonWebKey::new_ec(x, y, CoreJsonCurveType::P256, Some(self.kid.clone()))
    }
}

/// RS256 over OpenSSL (the system's libcrypto, already linked for JWE and
/// the EDS checks) behind openidconnect's signing trait. openidconnect's own
/// RSA signer (the `rsa` crate, blinded per signature) costs several times
/// more CPU per ID token, and `ring` twice as much as OpenSSL on this
/// machine's AVX-512 (issue 13: signing was half of a refresh grant's CPU;
/// `openssl speed rsa2048` 0.21 ms per signature).
pub struct RsaSigningKey {
    key: openssl::pkey::PKey<openssl::pkey::Private>,
    public: CoreJsonWebKey,
}

impl RsaSigningKey {
    /// From the stored PKCS#1 PEM.
    pub fn from_pem(pem: &str, kid: JsonWebKeyId) -> Result<Self, String> {
        let rsa = openssl::rsa::Rsa::private_key_from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        rsa.check_key().map_err(|e| e.to_string())?;
        let public = CoreJsonWebKey::new_rsa(rsa.n().to_vec(), rsa.e().to_vec(), Some(kid));
        let key = openssl::pkey::PKey::from_rsa(rsa).map_err(|e| e.to_string())?;
        Ok(Self { key, public })
    }
}

impl PrivateSigningKey for RsaSigningKey {
    type VerificationKey = CoreJsonWebKey;

    fn sign(&self, alg: &CoreJwsSigningAlgorithm, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        if *alg != CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256 {
            return Err(SigningError::UnsupportedAlg(format!("{alg:?}")));
        }
        let failed = |e: openssl::error::ErrorStack| SigningError::Other(format!("RSA signing failed: {e}"));
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key).map_err(failed)?;
        signer.set_rsa_padding(openssl::rsa::Padding::PKCS1).map_err(failed)?;
        signer.update(message).map_err(failed)?;
        signer.sign_to_vec().map_err(failed)
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.public.clone()
    }
}

// One per algorithm, held in an `Arc` by the key cache: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Signer {
    Rs256(RsaSigningKey),
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

/// The stored keys as last loaded.
struct Loaded {
    /// The sorted stored kids: keys are only ever added or deleted, so the
    /// set changes exactly when the keys do.
    version: Vec<String>,
    keys: Vec<KeyInfo>,
    sealed: HashMap<String, String>,
    checked: Instant,
    /// The published JWKS and until when it holds (the next state change).
    jwks: Mutex<Option<(DateTime<Utc>, bytes::Bytes)>>,
}

#[derive(Clone)]
pub struct KeyRing {
    store: Store,
    master: MasterKey,
    publish_lead: Duration,
    id_token_ttl: Duration,
    poll_interval: std::time::Duration,
    loaded: Arc<RwLock<Option<Arc<Loaded>>>>,
    /// Held by the one request that checks the key version.
    checking: Arc<tokio::sync::Mutex<()>>,
    signers: Arc<Mutex<HashMap<String, Arc<Signer>>>>,
    loads: Arc<std::sync::atomic::AtomicU64>,
}

impl KeyRing {
    pub fn new(store: Store, master: MasterKey, publish_lead_secs: u64, id_token_ttl_secs: u64) -> Self {
        Self {
            store,
            master,
            publish_lead: Duration::seconds(publish_lead_secs as i64),
            id_token_ttl: Duration::seconds(id_token_ttl_secs as i64),
            poll_interval: std::time::Duration::from_secs(10),
            loaded: Default::default(),
            checking: Default::default(),
            signers: Default::default(),
            loads: Default::default(),
        }
    }

    /// How often the stored key ids are compared with the cached ones
    /// (`key_poll_interval`).
    pub fn with_poll_interval(mut self, secs: u64) -> Self {
        self.poll_interval = std::time::Duration::from_secs(secs);
        self
    }

    /// How many times the keys were loaded from the database (the cache's misses).
    pub fn loads(&self) -> u64 {
        self.loads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn invalidate(&self) {
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    async fn load(&self) -> Result<Arc<Loaded>, KeyError> {
        let rows = self.store.signing_keys().await?;
        let mut version: Vec<String> = rows.iter().map(|r| r.kid.clone()).collect();
        version.sort();
        let sealed = rows.iter().map(|r| (r.kid.clone(), r.sealed_private_key.clone())).collect();
        let keys = rows.into_iter().map(key_info).collect::<Result<Vec<_>, _>>()?;
        self.signers.lock().unwrap_or_else(PoisonError::into_inner).retain(|kid, _| version.binary_search(kid).is_ok());
        self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let loaded = Arc::new(Loaded { version, keys, sealed, checked: Instant::now(), jwks: Mutex::new(None) });
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = Some(loaded.clone());
        Ok(loaded)
    }

    /// The cached keys, loaded when missing and re-checked against the
    /// database's key ids once `poll_interval` has passed.
    async fn current(&self) -> Result<Arc<Loaded>, KeyError> {
        let cached = self.loaded.read().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(cached) = cached else { return self.load().await };
        if cached.checked.elapsed() < self.poll_interval {
            return Ok(cached);
        }
        // One request checks; the others go on with the cached keys.
        let Ok(_guard) = self.checking.try_lock() else { return Ok(cached) };
        let mut kids: Vec<String> = match self.store.signing_key_ids().await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "signing keys: version check failed; serving the cached keys");
                return Ok(cached);
            }
        };
        kids.sort();
        if kids == cached.version {
            let fresh = Arc::new(Loaded {
                version: cached.version.clone(),
                keys: cached.keys.clone(),
                sealed: cached.sealed.clone(),
                checked: Instant::now(),
                jwks: Mutex::new(cached.jwks.lock().unwrap_or_else(PoisonError::into_inner).clone()),
            });
            *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = Some(fresh.clone());
            return Ok(fresh);
        }
        tracing::info!("signing keys changed in the database; reloading");
        self.load().await
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
        self.invalidate();
        Ok(())
    }

    /// Generates a new key per algorithm, published now, signing after the lead.
    pub async fn rotate(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let at = Utc::now() + self.publish_lead;
        let mut out = vec![];
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            out.push(self.generate(alg, at).await?);
        }
        self.invalidate();
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
                        let signer = RsaSigningKey::from_pem(&pem, JsonWebKeyId::new(kid))?;
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
        let public_jwk = with_alg(public_jwk, alg).map_err(|e| KeyError::Unusable { kid: kid.clone(), detail: e.to_string() })?;
        self.store
            .add_signing_key(StoredKey {
                kid: kid.clone(),
                alg: alg.to_string(),
                public_jwk: serde_json::to_string(&public_jwk).map_err(|e| KeyError::Unusable { kid: kid.clone(), detail: e.to_string() })?,
                sealed_private_key: self.master.seal(&private_der, &kid),
                created_at: Utc::now(),
                activates_at,
            })
            .await?;
        Ok(KeyInfo { kid, alg, created_at: Utc::now(), activates_at, public_jwk })
    }

    /// Every stored key, read from the database (operator commands).
    pub async fn all(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.store.signing_keys().await?.into_iter().map(key_info).collect()
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
                        if now < replaced_at + self.id_token_ttl {
                            KeyState::Retiring
                        } else {
                            KeyState::Retired
                        }
                    }
                };
                out.push(((*k).clone(), state));
            }
        }
        out
    }

    fn published(&self, keys: &[KeyInfo], now: DateTime<Utc>) -> CoreJsonWebKeySet {
        let published = self.states(keys, now).into_iter().filter(|(_, s)| *s != KeyState::Retired).map(|(k, _)| k.public_jwk).collect();
        CoreJsonWebKeySet::new(published)
    }

    /// The published key set.
    pub async fn jwks(&self) -> Result<CoreJsonWebKeySet, KeyError> {
        let loaded = self.current().await?;
        Ok(self.published(&loaded.keys, Utc::now()))
    }

    /// The published key set, serialised, from memory: recomputed only when
    /// a key changes state (a next key starts signing, a retiring one ends).
    pub async fn jwks_json(&self) -> Result<bytes::Bytes, KeyError> {
        let loaded = self.current().await?;
        let now = Utc::now();
        let mut cache = loaded.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((until, bytes)) = cache.as_ref() {
            if now < *until {
                return Ok(bytes.clone());
            }
        }
        // Every moment at which some key's state may change; the earliest
        // one ahead of now bounds this serialisation's validity.
        let until = loaded
            .keys
            .iter()
            .flat_map(|k| [k.activates_at, k.activates_at + self.id_token_ttl])
            .filter(|t| *t > now)
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let json = serde_json::to_vec(&self.published(&loaded.keys, now)).map_err(|e| KeyError::Unusable { kid: "jwks".into(), detail: e.to_string() })?;
        let bytes = bytes::Bytes::from(json);
        *cache = Some((until, bytes.clone()));
        Ok(bytes)
    }

    fn active(&self, loaded: &Loaded, alg: SigningAlg) -> Result<KeyInfo, KeyError> {
        self.states(&loaded.keys, Utc::now())
            .into_iter()
            .find(|(k, s)| k.alg == alg && *s == KeyState::Active)
            .map(|(k, _)| k)
            .ok_or(KeyError::NoActiveKey(alg.as_str()))
    }

    /// The active key's private part, unsealed from the cached row.
    fn unsealed(&self, loaded: &Loaded, kid: &str) -> Result<Vec<u8>, KeyError> {
        let sealed = loaded.sealed.get(kid).ok_or_else(|| KeyError::Unusable { kid: kid.into(), detail: "not loaded".into() })?;
        self.master.open(sealed, kid).map_err(|e| KeyError::Unusable { kid: kid.into(), detail: e.to_string() })
    }

    /// The key that signs now for `alg`.
    pub async fn signer(&self, alg: SigningAlg) -> Result<Arc<Signer>, KeyError> {
        let loaded = self.current().await?;
        let active = self.active(&loaded, alg)?;
        if let Some(s) = self.signers.lock().unwrap_or_else(PoisonError::into_inner).get(&active.kid) {
            return Ok(s.clone());
        }
        let bad = |detail: String| KeyError::Unusable { kid: active.kid.clone(), detail };
        let der = self.unsealed(&loaded, &active.kid)?;
        let kid = JsonWebKeyId::new(active.kid.clone());
        let signer = match alg {
            SigningAlg::Rs256 => Signer::Rs256(RsaSigningKey::from_pem(std::str::from_utf8(&der).map_err(|e| bad(e.to_string()))?, kid).map_err(bad)?),
            SigningAlg::Es256 => Signer::Es256(EcP256SigningKey { key: p256::ecdsa::SigningKey::from_slice(&der).map_err(|e| bad(e.to_string()))?, kid }),
        };
        let signer = Arc::new(signer);
        self.signers.lock().unwrap_or_else(PoisonError::into_inner).insert(active.kid.clone(), signer.clone());
        Ok(signer)
    }

    /// The active RS256 key as a `jsonwebtoken` encoder, for JWTs other than
    /// ID tokens (Security Event Tokens).
    pub async fn jwt_encoder(&self) -> Result<(String, jsonwebtoken::EncodingKey), KeyError> {
        let loaded = self.current().await?;
        let active = self.active(&loaded, SigningAlg::Rs256)?;
        let pem = self.unsealed(&loaded, &active.kid)?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).map_err(|e| KeyError::Unusable { kid: active.kid.clone(), detail: e.to_string() })?;
        Ok((active.kid, key))
    }

    /// Deletes keys that are no longer published.
    pub async fn prune(&self) -> Result<usize, KeyError> {
        let keys = self.all().await?;
        let mut n = 0;
        for (k, s) in self.states(&keys, Utc::now()) {
            if s == KeyState::Retired {
                self.store.delete_signing_key(&k.kid).await?;
                n += 1;
            }
        }
        self.invalidate();
        Ok(n)
    }
}

fn key_info(m: StoredKey) -> Result<KeyInfo, KeyError> {
    let bad = |detail: String| KeyError::Unusable { kid: m.kid.clone(), detail };
    Ok(KeyInfo {
        alg: m.alg.parse().map_err(|e: crate::domain::ParseError| bad(e.to_string()))?,
        public_jwk: serde_json::from_str(&m.public_jwk).map_err(|e| bad(e.to_string()))?,
        kid: m.kid,
        created_at: m.created_at,
        activates_at: m.activates_at,
    })
}

/// Adds the `alg` member to a public JWK (RFC 7517 §4.4), which openidconnect's
/// constructors leave out; relying parties use it to pick keys.
fn with_alg(jwk: CoreJsonWebKey, alg: SigningAlg) -> Result<CoreJsonWebKey, serde_json::Error> {
    let mut v = serde_json::to_value(&jwk)?;
    v["alg"] = serde_json::Value::String(alg.to_string());
    serde_json::from_value(v)
}

#[cfg(test)]
mod tests {
    use openidconnect::{core::CoreRsaPrivateSigningKey, JsonWebKey};
    use rsa::pkcs1::EncodeRsaPrivateKey;

    use super::*;

    /// PKCS#1 v1.5 signatures are deterministic: the OpenSSL signer must give
    /// the very bytes openidconnect's own signer gives, and verify against
    /// the published key.
    #[test]
    fn openssl_rs256_signs_what_the_reference_signer_signs() {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        let ours = RsaSigningKey::from_pem(&pem, JsonWebKeyId::new("k".into())).unwrap();
        let reference = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new("k".into()))).unwrap();
        let alg = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        for message in [&b""[..], b"header.payload", &[7u8; 5000]] {
            let sig = ours.sign(&alg, message).unwrap();
            assert_eq!(sig, reference.sign(&alg, message).unwrap());
            ours.as_verification_key().verify_signature(&alg, message, &sig).unwrap();
        }
        assert_eq!(ours.as_verification_key(), reference.as_verification_key());
        assert!(ours.sign(&CoreJwsSigningAlgorithm::RsaSsaPssSha256, b"m").is_err(), "only RS256");
    }
}
