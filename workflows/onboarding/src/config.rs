//! `[onboarding]` of Tanu's one configuration (file + `TANU_*`, read by
//! `tanu-idp`'s `config.rs`, which documents each default in the README).
use std::path::PathBuf;

use serde::Deserialize;

/// `[onboarding]`: the connection procedure (Rules chapter 3), its Temporal
/// cluster, signatures and mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnboardingConfig {
    /// The Temporal frontend (`http://host:7233`). Empty: the portal and
    /// console say the service is not configured; sign-in is unaffected.
    pub temporal_address: String,
    pub temporal_namespace: String,
    pub task_queue: String,
    /// Whether `tanu serve` runs the workflow worker too (else run `tanu worker`).
    pub worker: bool,
    /// Procedure time per real time. 1 in production; tests alone set more so
    /// that working days pass in seconds (README, "Onboarding").
    pub time_scale: f64,
    /// The working-day calendar files (`kz-YYYY.toml`); the built-in copy when absent.
    pub calendar_dir: PathBuf,
    /// PEM file of the CA certificates EDS signatures must chain to.
    pub eds_roots: Option<PathBuf>,
    /// CRL files (PEM or DER) checked for every certificate of the chain.
    pub eds_crls: Vec<PathBuf>,
    /// The operator as the act names it (Appendix 2, field 1).
    pub operator_name: String,
    /// The operator's BIN: staff approval signatures must carry it (`OU=BIN…`).
    pub operator_bin: String,
    /// `smtp://host:port` (plain, for a local relay), `smtps://…` or
    /// `smtp://…?tls=required`; empty records mails without sending them.
    pub smtp_url: String,
    pub mail_from: String,
    /// How long a portal or console sign-in lasts, in seconds.
    pub session_ttl: u64,
    /// Largest multipart upload (application form with its logo, a signed
    /// act or approval), in bytes; every part is bounded while it is read.
    pub max_upload_bytes: usize,
}

impl Default for OnboardingConfig {
    fn default() -> Self {
        OnboardingConfig {
            temporal_address: String::new(),
            temporal_namespace: "default".into(),
            task_queue: tanu_workflows::temporal::TASK_QUEUE.into(),
            worker: true,
            time_scale: 1.0,
            calendar_dir: PathBuf::from("ops/calendar"),
            eds_roots: None,
            eds_crls: Vec::new(),
            operator_name: "Operator of the National Biometric Authentication System".into(),
            operator_bin: String::new(),
            smtp_url: String::new(),
            mail_from: "Tanu <no-reply@tanu.localhost>".into(),
            session_ttl: 8 * 3600,
            max_upload_bytes: 1024 * 1024,
        }
    }
}
