//! Mail about applications (every transition, reminder, breach and lapse),
//! written in each recipient's language and sent through lettre over SMTP.
//!
//! Mail never holds up the procedure: the workflow's `notify` activity writes
//! each message to the outbox (`onboarding_mails`, idempotently, so an
//! activity retry sends nothing twice) and tries to send it; what fails is
//! retried by [`run_delivery`] and shown as unsent in the console.
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::{message::Mailbox, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tanu_workflows::onboarding::{Effect, Side, Step};
use tanu_workflows::ALMATY;

use crate::i18n::{Lang, Msg};
use crate::store::onboarding::Mail;
use crate::store::StoreError;

/// The SMTP relay, when configured.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP URL: {0}")]
    Url(String),
    #[error("sender {0:?} is not a mailbox")]
    From(String),
}

impl Mailer {
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, MailError> {
        let from = from.parse().map_err(|_| MailError::From(from.to_owned()))?;
        let transport = if smtp_url.is_empty() {
            None
        } else {
            Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
                    .map_err(|e| MailError::Url(e.to_string()))?
                    .timeout(Some(Duration::from_secs(10)))
                    .build(),
            )
        };
        Ok(Mailer { transport, from })
    }

    async fn send(&self, m: &Mail) -> Result<(), String> {
        let Some(transport) = &self.transport else { return Err("no SMTP server is configured (onboarding.smtp_url)".into()) };
        let to: Mailbox = m.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .header(ContentLanguage(m.lang.clone()))
            .body(m.body.clone())
            .map_err(|e| e.to_string())?;
        transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// `Content-Language`, so that mail clients and tests see the language.
#[derive(Clone)]
struct ContentLanguage(String);

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_owned()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Who a mail goes to and in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub lang: Lang,
}

/// The event's name as the mail and timeline say it.
pub fn event_text(event: &str) -> Msg {
    match event {
        "approve" => Msg::onb_e_approve,
        "refuse" => Msg::onb_e_refuse,
        "grant_sandbox" => Msg::onb_e_grant_sandbox,
        "record_test" => Msg::onb_e_record_test,
        "submit_act" => Msg::onb_e_submit_act,
        "approve_act" => Msg::onb_e_approve_act,
        "return_act" => Msg::onb_e_return_act,
        "resubmit_act" => Msg::onb_e_resubmit_act,
        "send_draft_contract" => Msg::onb_e_send_draft_contract,
        "conclude_contract" => Msg::onb_e_conclude_contract,
        "grant_production" => Msg::onb_e_grant_production,
        "reminder" => Msg::onb_e_reminder,
        "overdue" | "breach" => Msg::onb_e_overdue,
        "lapsed" | "lapse" => Msg::onb_e_lapsed,
        _ => Msg::onb_e_filed,
    }
}

pub fn step_text(step: Step) -> Msg {
    match step {
        Step::Review => Msg::onb_step_review,
        Step::Sandbox => Msg::onb_step_sandbox,
        Step::Testing => Msg::onb_step_testing,
        Step::ActReview => Msg::onb_step_act_review,
        Step::Rework => Msg::onb_step_rework,
        Step::ActReReview => Msg::onb_step_act_re_review,
        Step::DraftContract => Msg::onb_step_draft_contract,
        Step::Contract => Msg::onb_step_contract,
        Step::Production => Msg::onb_step_production,
        Step::Connected => Msg::onb_step_connected,
        Step::Refused => Msg::onb_step_refused,
        Step::Lapsed => Msg::onb_step_lapsed,
    }
}

/// Local time for people: Almaty.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&ALMATY).format("%Y-%m-%d %H:%M").to_string()
}

/// A deadline for people: the last minute in which the step is in time
/// (deadlines are kept as the exclusive instant after it, e.g. 00:00 of
/// the next day, which reads as a day too late).
pub fn local_deadline(due: DateTime<Utc>) -> String {
    local(due - chrono::Duration::seconds(1))
}

/// Which side an effect is for, and the event it reports.
pub fn audience(effect: &Effect) -> (Vec<Audience>, &str) {
    match effect {
        Effect::Notify { to: Side::Initiator, event, .. } => (vec![Audience::Initiator], event),
        Effect::Notify { to: Side::Operator, event, .. } => (vec![Audience::Reviewers], event),
        Effect::Remind { to: Side::Initiator, .. } => (vec![Audience::Initiator], "reminder"),
        Effect::Remind { to: Side::Operator, .. } => (vec![Audience::Reviewers], "reminder"),
        // Rules: a missed operator deadline goes to the supervisor.
        Effect::Breach { .. } => (vec![Audience::Supervisors], "overdue"),
        Effect::Lapse { .. } => (vec![Audience::Initiator, Audience::Reviewers], "lapsed"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Initiator,
    Reviewers,
    Supervisors,
}

/// What a message says, in one language.
pub struct Letter {
    pub subject: String,
    pub body: String,
}

pub struct LetterFacts<'a> {
    pub application_id: &'a str,
    pub organisation: &'a str,
    pub system: &'a str,
    pub event: &'a str,
    pub step: Step,
    pub due: Option<DateTime<Utc>>,
    pub detail: Option<&'a str>,
    pub link: String,
}

pub fn compose(lang: Lang, f: &LetterFacts<'_>) -> Letter {
    let t = |m: Msg| m.text(lang);
    let what = t(event_text(f.event));
    let subject = format!("{} {}: {what}", t(Msg::onb_application), f.application_id);
    let mut body = format!("{}\n\n{} {} — {} ({}): {what}.\n", t(Msg::onb_mail_hello), t(Msg::onb_application), f.application_id, f.organisation, f.system);
    if let Some(d) = f.detail {
        body.push_str(&format!("{}: {d}\n", t(Msg::onb_closing_reason)));
    }
    body.push_str(&format!("{} {}\n", t(Msg::onb_mail_now), t(step_text(f.step))));
    if let Some(due) = f.due {
        body.push_str(&format!("{} {}\n", t(Msg::onb_mail_due), local_deadline(due)));
    }
    body.push_str(&format!("{} {}\n\n— {}\n", t(Msg::onb_mail_open), f.link, t(Msg::service_name)));
    Letter { subject, body }
}

/// Writes one mail to the outbox unless it is there already (same `id`),
/// then tries to send what is unsent of it.
pub async fn enqueue_and_send(store: &crate::store::Store, mailer: &Mailer, m: Mail) -> Result<(), StoreError> {
    let existing = store.mail(&m.id).await?;
    let row = match existing {
        Some(row) if row.sent_at.is_some() => return Ok(()),
        Some(row) => row,
        None => {
            store.insert_mail(m.clone()).await?;
            m
        }
    };
    let result = mailer.send(&row).await;
    if let Err(e) = &result {
        tracing::warn!(mail = %row.id, error = %e, "mail not sent; will retry");
    }
    store.mail_sent(&row.id, result).await
}

/// Retries unsent mail every `period` (not older than three days).
pub async fn run_delivery(store: crate::store::Store, mailer: Mailer, period: Duration) {
    if mailer.transport.is_none() {
        return; // nothing could be sent; the console shows such mail as unsent
    }
    loop {
        tokio::time::sleep(period).await;
        let since = Utc::now() - chrono::Duration::days(3);
        let unsent = store.unsent_mails(since).await;
        let Ok(unsent) = unsent else { continue };
        for row in unsent {
            let result = mailer.send(&row).await;
            let _ = store.mail_sent(&row.id, result).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(event: &'static str) -> LetterFacts<'static> {
        LetterFacts {
            application_id: "APP-1",
            organisation: "Bank",
            system: "Online",
            event,
            step: Step::Sandbox,
            due: Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 3, 19, 0, 0).unwrap()),
            detail: None,
            link: "https://id.example.kz/portal/applications/APP-1".into(),
        }
    }

    #[test]
    fn letters_speak_the_recipients_language_and_show_local_time() {
        let kk = compose(Lang::Kk, &facts("approve"));
        let ru = compose(Lang::Ru, &facts("approve"));
        let en = compose(Lang::En, &facts("approve"));
        assert!(kk.subject.contains("өтінім мақұлданды"), "{}", kk.subject);
        assert!(ru.subject.contains("заявка одобрена"), "{}", ru.subject);
        assert!(en.subject.contains("the application was approved"), "{}", en.subject);
        // Due 19:00 UTC is 00:00 in Almaty (UTC+5): in time until 23:59 the day before.
        assert!(en.body.contains("2026-06-03 23:59"), "{}", en.body);
        assert!(en.body.contains("Sandbox access"), "{}", en.body);
    }

    #[test]
    fn breaches_go_to_supervisors_and_lapses_to_both_sides() {
        let due = Utc::now();
        assert_eq!(audience(&Effect::Breach { step: Step::Review, due }).0, vec![Audience::Supervisors]);
        assert_eq!(audience(&Effect::Lapse { step: Step::Testing, due }).0, vec![Audience::Initiator, Audience::Reviewers]);
        assert_eq!(audience(&Effect::Remind { to: Side::Operator, step: Step::Review, due }), (vec![Audience::Reviewers], "reminder"));
    }
}
