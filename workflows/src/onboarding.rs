//! The connection procedure of an initiator (Rules chapter 3, §12–§17) as a
//! pure state machine: which step an application is in, who must act by
//! when, what each action does, and what a passing deadline does.
//!
//! No I/O and no clock: the Temporal workflow ([`crate::temporal`]) feeds it
//! actions (signals) and the time (timers), and carries out the [`Effect`]s
//! through activities. Everything here is tested exhaustively on its own.
//!
//! | step | who acts | limit | rule |
//! |---|---|---|---|
//! | review of the application | operator | 2 working days | §13 |
//! | sandbox access | operator | 10 working days from approval | §14 |
//! | testing until a positive result | initiator | 3 calendar months from sandbox access | §15, §16 |
//! | review of the act | operator | 3 working days | §17 |
//! | rework of a returned act | initiator | 3 working days | §17 |
//! | re-review of the reworked act | operator | 3 working days | §17 |
//! | draft contract | operator | 3 working days from approval of the act | §17 |
//! | contract concluded | both | — | §17 |
//! | production access | operator | 10 working days from the contract | §17 |
//!
//! An operator-side deadline that passes marks the step **overdue**, tells the
//! supervisor, and stays on the record; the application keeps waiting for the
//! operator. An initiator-side deadline that passes **lapses** the
//! application with a recorded reason; a new one may be filed.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{add_calendar_months, Calendar, CalendarError, WorkingDays, ALMATY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Review,
    Sandbox,
    Testing,
    ActReview,
    Rework,
    ActReReview,
    DraftContract,
    Contract,
    Production,
    /// Production access granted: the procedure is complete.
    Connected,
    /// Refused with reasons (§13); the initiator may apply again.
    Refused,
    /// An initiator-side deadline passed; the reason is recorded.
    Lapsed,
}

impl Step {
    pub const ALL: [Step; 12] = [
        Step::Review,
        Step::Sandbox,
        Step::Testing,
        Step::ActReview,
        Step::Rework,
        Step::ActReReview,
        Step::DraftContract,
        Step::Contract,
        Step::Production,
        Step::Connected,
        Step::Refused,
        Step::Lapsed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Review => "review",
            Step::Sandbox => "sandbox",
            Step::Testing => "testing",
            Step::ActReview => "act_review",
            Step::Rework => "rework",
            Step::ActReReview => "act_re_review",
            Step::DraftContract => "draft_contract",
            Step::Contract => "contract",
            Step::Production => "production",
            Step::Connected => "connected",
            Step::Refused => "refused",
            Step::Lapsed => "lapsed",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Step::Connected | Step::Refused | Step::Lapsed)
    }

    /// Who must act in this step, within what, under which rule.
    pub fn limit(self) -> Option<(Side, Limit, &'static str)> {
        use Limit::*;
        match self {
            Step::Review => Some((Side::Operator, Days(2), "§13")),
            Step::Sandbox => Some((Side::Operator, Days(10), "§14")),
            Step::Testing => Some((Side::Initiator, Months(3), "§15")),
            Step::ActReview => Some((Side::Operator, Days(3), "§17")),
            Step::Rework => Some((Side::Initiator, Days(3), "§17")),
            Step::ActReReview => Some((Side::Operator, Days(3), "§17")),
            Step::DraftContract => Some((Side::Operator, Days(3), "§17")),
            Step::Production => Some((Side::Operator, Days(10), "§17")),
            Step::Contract | Step::Connected | Step::Refused | Step::Lapsed => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Operator,
    Initiator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limit {
    /// Working days, ending at the end of the last one (Asia/Almaty).
    Days(u32),
    /// Calendar months, ending at the end of the day.
    Months(u32),
}

/// A reason a person wrote (a refusal, a return): never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl TryFrom<String> for Reason {
    type Error = ActionError;
    fn try_from(s: String) -> Result<Self, ActionError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 4000 {
            return Err(ActionError::ReasonRequired);
        }
        Ok(Reason(t.to_owned()))
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.0
    }
}

impl Reason {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What someone does to an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// §13: the application is complete and correct.
    Approve,
    /// §13: a reasoned refusal.
    Refuse { reason: Reason },
    /// §14: sandbox access granted; `client_id` is the sandbox OIDC client.
    GrantSandbox { client_id: String },
    /// §15: a test run's result; a negative one is recorded and testing goes on.
    RecordTest { positive: bool, note: String },
    /// §16: the act of testing and commissioning, signed by EDS (verified
    /// before the action is taken); `document_sha256` names the signed document.
    SubmitAct { document_sha256: String, signer: String },
    /// §17: the operator approves the act (by EDS).
    ApproveAct { document_sha256: String, signer: String },
    /// §17: the operator returns the act for rework.
    ReturnAct { reason: Reason },
    /// §17: the reworked act, signed again.
    ResubmitAct { document_sha256: String, signer: String },
    /// §17: the draft contract is sent.
    SendDraftContract,
    /// §17: the contract is concluded.
    ConcludeContract,
    /// §17: production access granted; `client_id` is the production client.
    GrantProduction { client_id: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Refuse { .. } => "refuse",
            Action::GrantSandbox { .. } => "grant_sandbox",
            Action::RecordTest { .. } => "record_test",
            Action::SubmitAct { .. } => "submit_act",
            Action::ApproveAct { .. } => "approve_act",
            Action::ReturnAct { .. } => "return_act",
            Action::ResubmitAct { .. } => "resubmit_act",
            Action::SendDraftContract => "send_draft_contract",
            Action::ConcludeContract => "conclude_contract",
            Action::GrantProduction { .. } => "grant_production",
        }
    }

    /// Who may take the action. Recording a test result is the initiator's
    /// report; the operator may record one too (testing is joint, §15).
    pub fn allowed(&self, side: Side) -> bool {
        match self {
            Action::SubmitAct { .. } | Action::ResubmitAct { .. } => side == Side::Initiator,
            Action::RecordTest { .. } | Action::ConcludeContract => true,
            _ => side == Side::Operator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ActionError {
    #[error("`{action}` is not possible while the application is in step `{step}`")]
    NotNow { action: String, step: String },
    #[error("`{action}` is not for the {side:?} to take")]
    WrongParty { action: String, side: Side },
    #[error("a reason is required (1 to 4000 characters)")]
    ReasonRequired,
    #[error("the application is closed ({0})")]
    Closed(String),
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub side: Side,
    /// The person (name, login) as the portal or console knows them.
    pub name: String,
}

/// One line of the application's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub step: Step,
    /// `filed`, an action's name, `reminder`, `overdue`, `lapsed`.
    pub event: String,
    pub actor: Option<Actor>,
    pub detail: Option<String>,
    /// The deadline that was running for this step when it happened.
    pub deadline: Option<DateTime<Utc>>,
    /// For actions that end a step: whether it was in time.
    pub on_time: Option<bool>,
}

/// The deadline of the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub side: Side,
    pub rule: String,
    /// Exclusive: the step must be done before this instant.
    pub due: DateTime<Utc>,
    /// 09:00 Almaty on the last working day before the due day.
    pub remind_at: DateTime<Utc>,
    pub reminded: bool,
    pub overdue: bool,
}

/// What the workflow must do after a transition or a passing deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Tell `to` that the application moved (every transition).
    Notify {
        to: Side,
        step: Step,
        event: String,
    },
    Remind {
        to: Side,
        step: Step,
        due: DateTime<Utc>,
    },
    /// An operator-side deadline passed: the supervisor is told.
    Breach {
        step: Step,
        due: DateTime<Utc>,
    },
    /// An initiator-side deadline passed: the application lapsed.
    Lapse {
        step: Step,
        due: DateTime<Utc>,
    },
}

/// An application's whole state: what the workflow keeps and the UIs show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub step: Step,
    pub step_started: DateTime<Utc>,
    pub deadline: Option<Deadline>,
    pub timeline: Vec<TimelineEntry>,
    /// Breached operator-side steps (they stay on the record).
    pub breaches: Vec<(Step, DateTime<Utc>)>,
    pub sandbox_client_id: Option<String>,
    pub production_client_id: Option<String>,
    /// Why the application was refused or lapsed.
    pub closing_reason: Option<String>,
    /// Acts submitted (sha256 of each signed document), in order.
    pub acts: Vec<String>,
}

impl Application {
    /// A newly filed application (§12): in review, with the operator's 2 working days running.
    pub fn filed(id: impl Into<String>, at: DateTime<Utc>, actor: Actor, calendar: &Calendar) -> Result<Self, CalendarError> {
        let mut app = Application {
            id: id.into(),
            received_at: at,
            step: Step::Review,
            step_started: at,
            deadline: None,
            timeline: Vec::new(),
            breaches: Vec::new(),
            sandbox_client_id: None,
            production_client_id: None,
            closing_reason: None,
            acts: Vec::new(),
        };
        app.deadline = deadline_for(Step::Review, at, calendar)?;
        app.log(at, "filed", Some(actor), None, None);
        Ok(app)
    }

    fn log(&mut self, at: DateTime<Utc>, event: &str, actor: Option<Actor>, detail: Option<String>, on_time: Option<bool>) {
        self.timeline.push(TimelineEntry {
            at,
            step: self.step,
            event: event.to_owned(),
            actor,
            detail,
            deadline: self.deadline.as_ref().map(|d| d.due),
            on_time,
        });
    }

    fn enter(&mut self, step: Step, at: DateTime<Utc>, calendar: &Calendar) -> Result<(), CalendarError> {
        self.step = step;
        self.step_started = at;
        self.deadline = deadline_for(step, at, calendar)?;
        Ok(())
    }

    /// Takes `action` by `actor` at `at`. On success returns what to tell whom.
    pub fn apply(&mut self, action: Action, actor: Actor, at: DateTime<Utc>, calendar: &Calendar) -> Result<Vec<Effect>, ApplyError> {
        if self.step.is_closed() {
            return Err(ActionError::Closed(self.step.as_str().into()).into());
        }
        if !action.allowed(actor.side) {
            return Err(ActionError::WrongParty { action: action.name().into(), side: actor.side }.into());
        }
        let not_now = || ApplyError::Action(ActionError::NotNow { action: action.name().into(), step: self.step.as_str().into() });
        let next = match (&action, self.step) {
            (Action::Approve, Step::Review) => Step::Sandbox,
            (Action::Refuse { .. }, Step::Review) => Step::Refused,
            (Action::GrantSandbox { .. }, Step::Sandbox) => Step::Testing,
            (Action::RecordTest { positive: false, .. }, Step::Testing) => Step::Testing,
            (Action::RecordTest { positive: true, .. }, Step::Testing) => Step::Testing,
            (Action::SubmitAct { .. }, Step::Testing) => Step::ActReview,
            (Action::ApproveAct { .. }, Step::ActReview | Step::ActReReview) => Step::DraftContract,
            (Action::ReturnAct { .. }, Step::ActReview | Step::ActReReview) => Step::Rework,
            (Action::ResubmitAct { .. }, Step::Rework) => Step::ActReReview,
            (Action::SendDraftContract, Step::DraftContract) => Step::Contract,
            (Action::ConcludeContract, Step::Contract) => Step::Production,
            (Action::GrantProduction { .. }, Step::Production) => Step::Connected,
            _ => return Err(not_now()),
        };
        // §16: the act follows a positive test result.
        if matches!(action, Action::SubmitAct { .. }) && !self.has_positive_test() {
            return Err(ActionError::NotNow { action: "submit_act (no positive test result yet)".into(), step: self.step.as_str().into() }.into());
        }
        let on_time = self.deadline.as_ref().map(|d| at < d.due);
        let detail = match &action {
            Action::Refuse { reason } | Action::ReturnAct { reason } => Some(reason.as_str().to_owned()),
            Action::GrantSandbox { client_id } | Action::GrantProduction { client_id } => Some(client_id.clone()),
            Action::RecordTest { positive, note } => Some(format!("{}: {note}", if *positive { "positive" } else { "negative" })),
            Action::SubmitAct { document_sha256, signer }
            | Action::ResubmitAct { document_sha256, signer }
            | Action::ApproveAct { document_sha256, signer } => Some(format!("sha256 {document_sha256}, signed by {signer}")),
            _ => None,
        };
        let ends_step = next != self.step;
        self.log(at, action.name(), Some(actor), detail, if ends_step { on_time } else { None });
        match &action {
            Action::Refuse { reason } => self.closing_reason = Some(reason.as_str().to_owned()),
            Action::GrantSandbox { client_id } => self.sandbox_client_id = Some(client_id.clone()),
            Action::GrantProduction { client_id } => self.production_client_id = Some(client_id.clone()),
            Action::SubmitAct { document_sha256, .. } | Action::ResubmitAct { document_sha256, .. } => self.acts.push(document_sha256.clone()),
            _ => {}
        }
        if ends_step {
            self.enter(next, at, calendar)?;
        }
        let event = action.name().to_owned();
        Ok(vec![Effect::Notify { to: Side::Initiator, step: self.step, event: event.clone() }, Effect::Notify { to: Side::Operator, step: self.step, event }])
    }

    /// §16: whether testing has reached a positive result (the act may follow).
    pub fn has_positive_test(&self) -> bool {
        self.timeline.iter().any(|e| e.step == Step::Testing && e.event == "record_test" && e.detail.as_deref().is_some_and(|d| d.starts_with("positive")))
    }

    /// The next instant at which time alone changes something (a reminder or a deadline).
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        let d = self.deadline.as_ref()?;
        if !d.reminded && d.remind_at < d.due {
            Some(d.remind_at)
        } else if !d.overdue {
            Some(d.due)
        } else {
            None
        }
    }

    /// Lets time pass to `now`: reminders, breaches, lapses.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let Some(d) = self.deadline.clone() else { return effects };
        if !d.reminded && now >= d.remind_at && now < d.due {
            if let Some(dl) = self.deadline.as_mut() {
                dl.reminded = true;
            }
            self.log(now, "reminder", None, Some(format!("{:?} side, due {}", d.side, d.due)), None);
            effects.push(Effect::Remind { to: d.side, step: self.step, due: d.due });
        }
        if !d.overdue && now >= d.due {
            if let Some(dl) = self.deadline.as_mut() {
                dl.overdue = true;
                dl.reminded = true;
            }
            match d.side {
                Side::Operator => {
                    self.breaches.push((self.step, d.due));
                    self.log(now, "overdue", None, Some(format!("operator deadline under {} passed", d.rule)), Some(false));
                    effects.push(Effect::Breach { step: self.step, due: d.due });
                }
                Side::Initiator => {
                    let step = self.step;
                    let reason = format!("the initiator's deadline for `{}` under {} passed on {}", step.as_str(), d.rule, d.due);
                    self.log(now, "lapsed", None, Some(reason.clone()), Some(false));
                    self.closing_reason = Some(reason);
                    self.step = Step::Lapsed;
                    self.step_started = now;
                    self.deadline = None;
                    effects.push(Effect::Lapse { step, due: d.due });
                }
            }
        }
        effects
    }

    /// Whole working days left before the current deadline (negative when overdue).
    pub fn working_days_left(&self, now: DateTime<Utc>, calendar: &Calendar) -> Option<i64> {
        let d = self.deadline.as_ref()?;
        let today = now.with_timezone(&ALMATY).date_naive();
        let last_day = (d.due - Duration::seconds(1)).with_timezone(&ALMATY).date_naive();
        calendar.working_days_between(today, last_day).ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// The deadline of `step` entered at `at`.
/// Reminders go out at 09:00 Almaty time.
const NINE_AM: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("09:00 is a time"),
};

pub fn deadline_for(step: Step, at: DateTime<Utc>, calendar: &Calendar) -> Result<Option<Deadline>, CalendarError> {
    let Some((side, limit, rule)) = step.limit() else { return Ok(None) };
    let due = match limit {
        Limit::Days(n) => calendar.deadline_after(at, WorkingDays::new(n))?,
        Limit::Months(m) => add_calendar_months(at, m),
    };
    let last_day = (due - Duration::seconds(1)).with_timezone(&ALMATY).date_naive();
    let remind_day = calendar.reminder_day(last_day)?;
    let nine = remind_day.and_time(NINE_AM);
    let remind_at = ALMATY.from_local_datetime(&nine).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or(due);
    // A reminder before the step began (a 2-day limit entered late in the day) is sent at once.
    let remind_at = remind_at.max(at);
    Ok(Some(Deadline { side, rule: rule.to_owned(), due, remind_at, reminded: false, overdue: false }))
}

#[cfg(test)]
mod tests;
