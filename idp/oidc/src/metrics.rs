//! The protocol's counters, through the `metrics` facade; the exporter and
//! the descriptions are the composition root's (`tanu-idp`'s `metrics.rs`).
use metrics::counter;

/// A sign-in ended: `reason` is `ok` or the failure code of the journal.
pub fn sign_in(outcome: crate::audit::Outcome, reason: &'static str) {
    let outcome = match outcome {
        crate::audit::Outcome::Success => "success",
        crate::audit::Outcome::Failure => "failure",
    };
    counter!("tanu_sign_ins_total", "outcome" => outcome, "reason" => reason).increment(1);
}

/// A registered client's failed authentication answered 429 (its failure budget spent).
pub fn client_auth_throttled() {
    counter!("tanu_client_auth_throttled_total").increment(1);
}

/// A request's `grant_type` as a label: the supported ones, `other` or `none`.
pub fn grant_type_label(grant_type: Option<&str>) -> &'static str {
    match grant_type {
        Some("authorization_code") => "authorization_code",
        Some("refresh_token") => "refresh_token",
        Some(_) => "other",
        None => "none",
    }
}

/// The token endpoint answered a grant (`grant_type` from [`grant_type_label`]):
/// `result` is `issued` or the OAuth error code.
pub fn token_grant(grant_type: &'static str, result: &'static str) {
    counter!("tanu_token_grants_total", "grant_type" => grant_type, "result" => result).increment(1);
}
