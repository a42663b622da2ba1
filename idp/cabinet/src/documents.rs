//! Documents shared by code (issue 14): the citizen opens access to a
//! document the registry holds for them and gets a short numeric code (and
//! a QR code of the verifier page's address with it); one verifier — a
//! relying party through its client credentials, or an organisation user an
//! operator registered — redeems it and sees the document once.
//!
//! Codes are 8 digits drawn from the OS generator, stored only as a keyed
//! hash, valid `documents.code_ttl` seconds, single-use and revocable. Every
//! redemption passes three limits first: the whole code space's budget per
//! minute, the verifier's budget per minute, and the verifier's lockout
//! (`lockout_failures` wrong codes within `lockout_window`). All three are
//! counted in the database, so they hold across every instance behind a
//! balancer (two instances do not allow twice).
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::Rng;
use tanu_biometrics::registry::{DirectoryRegistry, HttpRegistry, Person, PersonRegistry, RegistryError};

use crate::audit::{Event, Outcome};
use crate::store::documents::{BudgetSpent, DocumentShare, RedeemBudgets};
use crate::store::{Citizen, StoreError};
use crate::CabinetState;

/// Digits of a short code.
pub const CODE_DIGITS: usize = 8;

/// A document the registry holds for a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The identity card: IIN, name, date of birth and its photo.
    IdentityCard,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 1] = [DocumentKind::IdentityCard];
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::IdentityCard => "identity_card",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A short code as typed: 8 digits; spaces and dashes between them are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortCode(String);

impl ShortCode {
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 64 {
            return None;
        }
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(ShortCode(digits))
    }
    fn generate() -> Self {
        ShortCode(format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who redeems: its key for limits and records, and how the citizen sees it.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// `client:<client_id>` or `user:<IIN pseudonym>`.
    pub key: String,
    pub display: String,
    pub client_id: Option<String>,
}

impl Verifier {
    pub fn client(c: &crate::store::Client) -> Self {
        let display = if c.organisation_name == c.system_name { c.system_name.clone() } else { format!("{} — {}", c.organisation_name, c.system_name) };
        Verifier { key: format!("client:{}", c.id), display, client_id: Some(c.id.to_string()) }
    }
    pub fn user(app: &CabinetState, v: &crate::store::documents::DocumentVerifier) -> Self {
        Verifier { key: format!("user:{}", app.journal.pseudonym(&v.iin)), display: format!("{} — {}", v.organisation, v.name), client_id: None }
    }
}

/// The document as a verifier sees it, once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentView {
    pub share_id: String,
    pub document: DocumentKind,
    pub iin: String,
    pub name: String,
    pub birthdate: Option<String>,
    pub photo_content_type: &'static str,
    pub photo_base64: String,
    pub viewed_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("too many redemptions; retry in {0} s")]
    TooMany(u64),
    #[error("too many wrong codes; locked for {0} s")]
    Locked(u64),
    #[error("the code is wrong, used, revoked or expired")]
    InvalidCode,
    #[error("the registry holds no such document")]
    NoDocument,
    #[error("the registry is unavailable: {0}")]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The window of the per-minute redemption budgets.
pub const BUDGET_WINDOW_SECS: i64 = 60;

/// How often one instance prunes the attempts out of the budgets' window.
const PRUNE_EVERY_MS: i64 = 1_000;

/// The registry and the redemption budgets, shared by the cabinet's routes.
pub struct Documents {
    registry: Arc<dyn PersonRegistry>,
    /// When this instance last pruned old redemption attempts (ms since the epoch).
    last_prune: AtomicI64,
}

/// A registry that answers "unavailable" (the configured one could not be built).
struct Unavailable(String);

#[async_trait::async_trait]
impl PersonRegistry for Unavailable {
    async fn lookup(&self, _: &tanu_biometrics::Iin) -> Result<Option<Person>, RegistryError> {
        Err(RegistryError::Unavailable(self.0.clone()))
    }
}

impl Documents {
    /// The registry the face sign-in reads (`http` when configured, else
    /// the directory `dir`).
    pub fn new(http: Option<&tanu_biometrics::registry::HttpRegistryConfig>, dir: &std::path::Path) -> Self {
        let registry: Arc<dyn PersonRegistry> = match http {
            Some(http) if !http.base_url.is_empty() => match HttpRegistry::new(http.clone()) {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    tracing::error!(error = %e, "documents: the person registry cannot be used");
                    Arc::new(Unavailable(e.to_string()))
                }
            },
            _ => Arc::new(DirectoryRegistry::new(dir)),
        };
        Documents { registry, last_prune: AtomicI64::new(0) }
    }

    /// The budgets as configured.
    fn budgets(app: &CabinetState) -> RedeemBudgets {
        let cfg = &app.config.documents;
        RedeemBudgets {
            window: chrono::Duration::seconds(BUDGET_WINDOW_SECS),
            per_verifier: u64::from(cfg.redeem_per_minute.max(1)),
            total: u64::from(cfg.redeem_per_minute_total.max(1)),
        }
    }

    /// Deletes the attempts out of the budgets' window, at most once every
    /// `PRUNE_EVERY_MS` on this instance (an indexed range delete of the rows
    /// that left the window since). A failure is logged; the budgets do not
    /// depend on it (they count within the window only).
    async fn prune(&self, app: &CabinetState, now: DateTime<Utc>) {
        let ms = now.timestamp_millis();
        let last = self.last_prune.load(Ordering::Relaxed);
        if ms - last < PRUNE_EVERY_MS || self.last_prune.compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        if let Err(e) = app.store.prune_redeem_attempts(now - chrono::Duration::seconds(BUDGET_WINDOW_SECS)).await {
            tracing::warn!(error = %e, "documents: pruning redemption attempts");
        }
    }

    async fn person(&self, citizen: &Citizen) -> Result<Option<Person>, DocumentError> {
        let Ok(iin) = citizen.iin.parse::<tanu_biometrics::Iin>() else { return Ok(None) };
        Ok(self.registry.lookup(&iin).await?)
    }

    /// The documents the registry holds for the citizen.
    pub async fn available(&self, citizen: &Citizen) -> Result<Vec<DocumentKind>, DocumentError> {
        Ok(if self.person(citizen).await?.is_some() { vec![DocumentKind::IdentityCard] } else { vec![] })
    }

    /// Opens access to `document`: a new share and its code (shown once, never stored).
    pub async fn open(&self, app: &CabinetState, citizen: &Citizen, document: DocumentKind) -> Result<(DocumentShare, ShortCode), DocumentError> {
        if !self.available(citizen).await?.contains(&document) {
            return Err(DocumentError::NoDocument);
        }
        let now = Utc::now();
        let expires = now + chrono::Duration::seconds(app.config.documents.code_ttl.min(86_400) as i64);
        // A code names at most one usable share: draw again on a collision.
        for _ in 0..8 {
            let code = ShortCode::generate();
            if let Some(share) = app.store.open_document_share(&citizen.id, document.as_str(), &code_hash(app, &code), now, expires).await? {
                return Ok((share, code));
            }
        }
        Err(StoreError::Invalid("no free code".into()).into())
    }

    /// Redeems a code for `verifier`: the three limits, then the share, once.
    pub async fn redeem(&self, app: &CabinetState, verifier: &Verifier, raw_code: &str) -> Result<DocumentView, DocumentError> {
        let now = Utc::now();
        self.prune(app, now).await;
        // The code space's budget and the verifier's, in the database (every instance alike).
        match app.store.admit_redeem_attempt(&verifier.key, now, Self::budgets(app)).await? {
            Ok(()) => {}
            Err(BudgetSpent::Total(wait) | BudgetSpent::Verifier(wait)) => return Err(DocumentError::TooMany(wait)),
        }
        let cfg = &app.config.documents;
        let window = chrono::Duration::seconds(cfg.lockout_window.min(30 * 86_400) as i64);
        let failures = app.store.code_failures_since(&verifier.key, now - window).await?;
        if failures.len() >= cfg.lockout_failures.max(1) as usize {
            let until = failures[failures.len() - cfg.lockout_failures.max(1) as usize] + window;
            journal(app, verifier, "document_redeem_locked", Outcome::Failure).await;
            return Err(DocumentError::Locked((until - now).num_seconds().max(1) as u64));
        }
        let share = match ShortCode::parse(raw_code) {
            Some(code) => app.store.usable_document_share(&code_hash(app, &code), now).await?,
            None => None,
        };
        let wrong = || async {
            app.store.record_code_failure(&verifier.key, now).await?;
            journal(app, verifier, "document_redeem", Outcome::Failure).await;
            Err::<DocumentView, DocumentError>(DocumentError::InvalidCode)
        };
        let Some(share) = share else { return wrong().await };
        let Some(citizen) = app.store.citizen(&share.citizen_id).await? else { return wrong().await };
        // The document is read before the code is spent: a registry outage leaves the code usable.
        let person = self.person(&citizen).await?.ok_or(DocumentError::NoDocument)?;
        let Some(share) = app.store.redeem_document_share(&share.id, &verifier.key, &verifier.display, now).await? else { return wrong().await };
        journal(app, verifier, "document_redeem", Outcome::Success).await;
        Ok(DocumentView {
            share_id: share.id,
            document: DocumentKind::parse(&share.document).unwrap_or(DocumentKind::IdentityCard),
            iin: citizen.iin.clone(),
            name: person.name,
            birthdate: citizen.birthdate.clone(),
            photo_content_type: image_type(&person.photo),
            photo_base64: base64::engine::general_purpose::STANDARD.encode(&person.photo),
            viewed_at: share.redeemed_at.unwrap_or(now),
        })
    }
}

/// The operator's journal of redemptions. The citizen's side of a view is
/// the share row itself (their access history reads it), so no subject here.
async fn journal(app: &CabinetState, verifier: &Verifier, step: &str, outcome: Outcome) {
    let event = Event { client_id: verifier.client_id.as_deref(), subject: None, step, outcome, reason: Some(&verifier.key) };
    app.journal.append_after(event).await;
}

/// The keyed hash a code is stored as (a leaked table alone does not map hashes back to codes).
fn code_hash(app: &CabinetState, code: &ShortCode) -> String {
    crate::crypto::mac(&app.document_code_key, &["document code", code.as_str()])
}

fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xff, 0xd8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "application/octet-stream"
    }
}

/// The verifier page's address with the code: what the QR code holds.
pub fn verify_url(app: &CabinetState, code: &ShortCode) -> String {
    app.config.endpoint(&format!("/me/verify?code={}", code.as_str()))
}

/// An SVG QR code of `data`, drawn here (the `qrcode` crate), no third party.
pub fn qr_svg(data: &str) -> String {
    match qrcode::QrCode::new(data.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(e) => {
            tracing::error!(error = %e, "QR code");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_eight_digits_however_spaced() {
        assert_eq!(ShortCode::parse("1234 5678").unwrap().as_str(), "12345678");
        assert_eq!(ShortCode::parse("1234-5678").unwrap().as_str(), "12345678");
        for bad in ["1234567", "123456789", "1234567a", "", "١٢٣٤٥٦٧٨", &"1".repeat(100)] {
            assert!(ShortCode::parse(bad).is_none(), "{bad}");
        }
        let c = ShortCode::generate();
        assert!(ShortCode::parse(c.as_str()).is_some());
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("https://id.example.kz/me/verify?code=12345678");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    }
}
