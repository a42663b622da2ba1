use chrono::{TimeZone, Utc};

use super::*;

fn cal() -> Calendar {
    Calendar::embedded()
}

fn op() -> Actor {
    Actor { side: Side::Operator, name: "reviewer".into() }
}

fn ini() -> Actor {
    Actor { side: Side::Initiator, name: "initiator".into() }
}

/// Almaty local time → UTC (UTC+5).
fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    ALMATY.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&Utc)
}

fn reason(s: &str) -> Reason {
    Reason::try_from(s.to_owned()).unwrap()
}

fn act(sha: &str) -> Action {
    Action::SubmitAct { document_sha256: sha.into(), signer: "IIN900101300017".into() }
}

fn every_action() -> Vec<Action> {
    vec![
        Action::Approve,
        Action::Refuse { reason: reason("no BIN") },
        Action::GrantSandbox { client_id: "sbx".into() },
        Action::RecordTest { positive: false, note: "n".into() },
        Action::RecordTest { positive: true, note: "p".into() },
        act("a1"),
        Action::ApproveAct { document_sha256: "a1".into(), signer: "op".into() },
        Action::ReturnAct { reason: reason("fix 5") },
        Action::ResubmitAct { document_sha256: "a2".into(), signer: "i".into() },
        Action::SendDraftContract,
        Action::ConcludeContract,
        Action::GrantProduction { client_id: "prod".into() },
    ]
}

/// Walks an application to `step` along the main path.
fn at_step(step: Step) -> Application {
    let c = cal();
    let t = local(2026, 6, 1, 10); // Monday
    let mut a = Application::filed("app-1", t, ini(), &c).unwrap();
    let path: Vec<(Action, Actor, Step)> = vec![
        (Action::Approve, op(), Step::Sandbox),
        (Action::GrantSandbox { client_id: "sbx".into() }, op(), Step::Testing),
        (Action::RecordTest { positive: true, note: "ok".into() }, ini(), Step::Testing),
        (act("a1"), ini(), Step::ActReview),
        (Action::ReturnAct { reason: reason("fix") }, op(), Step::Rework),
        (Action::ResubmitAct { document_sha256: "a2".into(), signer: "i".into() }, ini(), Step::ActReReview),
        (Action::ApproveAct { document_sha256: "a2".into(), signer: "op".into() }, op(), Step::DraftContract),
        (Action::SendDraftContract, op(), Step::Contract),
        (Action::ConcludeContract, ini(), Step::Production),
        (Action::GrantProduction { client_id: "prod".into() }, op(), Step::Connected),
    ];
    if a.step == step {
        return a;
    }
    for (action, actor, next) in path {
        a.apply(action, actor, t, &c).unwrap();
        if a.step == step && next == step {
            return a;
        }
    }
    panic!("{step:?} not on the main path")
}

#[test]
fn which_action_is_possible_in_which_step() {
    let c = cal();
    let t = local(2026, 6, 2, 10);
    // (step, actions that move it or are accepted)
    let table: &[(Step, &[&str])] = &[
        (Step::Review, &["approve", "refuse"]),
        (Step::Sandbox, &["grant_sandbox"]),
        (Step::Testing, &["record_test", "submit_act"]),
        (Step::ActReview, &["approve_act", "return_act"]),
        (Step::Rework, &["resubmit_act"]),
        (Step::ActReReview, &["approve_act", "return_act"]),
        (Step::DraftContract, &["send_draft_contract"]),
        (Step::Contract, &["conclude_contract"]),
        (Step::Production, &["grant_production"]),
    ];
    for (step, allowed) in table {
        for action in every_action() {
            let mut a = at_step(*step);
            if *step == Step::Testing {
                a.apply(Action::RecordTest { positive: true, note: "ok".into() }, ini(), t, &c).unwrap();
            }
            let actor = if action.allowed(Side::Operator) { op() } else { ini() };
            let got = a.apply(action.clone(), actor, t, &c);
            assert_eq!(got.is_ok(), allowed.contains(&action.name()), "{step:?} + {}: {got:?}", action.name());
        }
    }
    {
        let mut a = at_step(Step::Connected);
        assert!(matches!(a.apply(Action::Approve, op(), t, &c), Err(ApplyError::Action(ActionError::Closed(_)))));
    }
}

#[test]
fn actions_belong_to_their_party() {
    let c = cal();
    let t = local(2026, 6, 2, 10);
    let mut a = at_step(Step::Review);
    assert!(matches!(a.apply(Action::Approve, ini(), t, &c), Err(ApplyError::Action(ActionError::WrongParty { .. }))));
    let mut a = at_step(Step::Testing);
    a.apply(Action::RecordTest { positive: true, note: "ok".into() }, op(), t, &c).unwrap();
    assert!(matches!(a.apply(act("x"), op(), t, &c), Err(ApplyError::Action(ActionError::WrongParty { .. }))));
}

#[test]
fn a_refusal_and_a_return_need_a_reason() {
    assert_eq!(Reason::try_from("   ".to_owned()), Err(ActionError::ReasonRequired));
    assert_eq!(Reason::try_from("x".repeat(4001)), Err(ActionError::ReasonRequired));
    let parsed: Result<Action, _> = serde_json::from_str(r#"{"action":"refuse","reason":""}"#);
    assert!(parsed.is_err(), "an empty reason does not even deserialize");
    let mut a = at_step(Step::Review);
    a.apply(Action::Refuse { reason: reason("BIN check digit wrong") }, op(), local(2026, 6, 1, 12), &cal()).unwrap();
    assert_eq!(a.step, Step::Refused);
    assert_eq!(a.closing_reason.as_deref(), Some("BIN check digit wrong"));
    assert!(a.deadline.is_none());
}

#[test]
fn the_act_needs_a_positive_test_and_negative_ones_are_kept() {
    let c = cal();
    let t = local(2026, 6, 3, 10);
    let mut a = at_step(Step::Sandbox);
    a.apply(Action::GrantSandbox { client_id: "sbx".into() }, op(), t, &c).unwrap();
    assert!(a.apply(act("a"), ini(), t, &c).is_err(), "no positive test yet");
    a.apply(Action::RecordTest { positive: false, note: "token endpoint 401".into() }, ini(), t, &c).unwrap();
    assert_eq!(a.step, Step::Testing, "negative: testing continues");
    assert!(a.apply(act("a"), ini(), t, &c).is_err());
    a.apply(Action::RecordTest { positive: true, note: "all scenarios pass".into() }, ini(), t, &c).unwrap();
    a.apply(act("a"), ini(), t, &c).unwrap();
    assert_eq!(a.step, Step::ActReview);
    let tests: Vec<_> = a.timeline.iter().filter(|e| e.event == "record_test").collect();
    assert_eq!(tests.len(), 2);
    assert!(tests[0].detail.as_deref().unwrap().starts_with("negative"));
}

#[test]
fn deadlines_of_every_step() {
    let c = cal();
    // Filed Monday 1 June 2026 10:00 Almaty.
    let filed = local(2026, 6, 1, 10);
    // (step, entered at, due = end of that local day (exclusive), remind at 09:00 local)
    let rows = [
        // 2 wd: Tue 2, Wed 3 June → due Thu 4 June 00:00 local; reminder Tue 2 June 09:00.
        (Step::Review, filed, local(2026, 6, 4, 0), local(2026, 6, 2, 9)),
        // 10 wd from Mon 1 June: 2,3,4,5, 8,9,10,11,12, 15 → due 16 June 00:00; reminder Fri 12 June.
        (Step::Sandbox, filed, local(2026, 6, 16, 0), local(2026, 6, 12, 9)),
        // 3 months from 1 June → 1 Sep (end of day) → due 2 Sep 00:00; reminder Mon 31 Aug (30 Aug is a Sunday holiday, 31 Aug its moved day off → Fri 28 Aug).
        (Step::Testing, filed, local(2026, 9, 2, 0), local(2026, 8, 28, 9)),
        // 3 wd over Nauryz 2026: entered Fri 20 March; 21–22 weekend, 23 holiday, 24–25 moved days off → 26, 27, 30 → due 31 March.
        (Step::ActReview, local(2026, 3, 20, 15), local(2026, 3, 31, 0), local(2026, 3, 27, 9)),
        (Step::Rework, local(2026, 3, 20, 15), local(2026, 3, 31, 0), local(2026, 3, 27, 9)),
        // 3 wd across New Year: entered Wed 31 Dec 2025 → 1, 2 Jan holidays, 3–4 weekend, 5, 6, 7 (Orthodox Christmas, off), 8 → due 9 Jan.
        (Step::DraftContract, local(2025, 12, 31, 11), local(2026, 1, 9, 0), local(2026, 1, 6, 9)),
        // 10 wd in production from Fri 4 Dec 2026: 7,8,9,10,11, 14,15, (16 Dec holiday), 17,18, 21 → due 22 Dec.
        (Step::Production, local(2026, 12, 4, 12), local(2026, 12, 22, 0), local(2026, 12, 18, 9)),
    ];
    for (step, entered, due, remind) in rows {
        let d = deadline_for(step, entered, &c).unwrap().unwrap();
        assert_eq!(d.due, due, "{step:?} due");
        assert_eq!(d.remind_at, remind, "{step:?} reminder");
        assert_eq!(d.side, step.limit().unwrap().0);
    }
    for step in [Step::Contract, Step::Connected, Step::Refused, Step::Lapsed] {
        assert!(deadline_for(step, filed, &c).unwrap().is_none(), "{step:?}");
    }
    // A year without calendar data is an error, never a silent guess.
    assert!(deadline_for(Step::Review, local(2031, 6, 2, 10), &c).is_err());
}

#[test]
fn an_operator_breach_is_recorded_and_the_application_keeps_waiting() {
    let c = cal();
    let mut a = Application::filed("a", local(2026, 6, 1, 10), ini(), &c).unwrap();
    assert_eq!(a.next_wakeup(), Some(local(2026, 6, 2, 9)));
    assert!(a.tick(local(2026, 6, 2, 8)).is_empty());
    let e = a.tick(local(2026, 6, 2, 9));
    assert_eq!(e, [Effect::Remind { to: Side::Operator, step: Step::Review, due: local(2026, 6, 4, 0) }]);
    assert!(a.tick(local(2026, 6, 3, 12)).is_empty(), "one reminder only");
    assert_eq!(a.next_wakeup(), Some(local(2026, 6, 4, 0)));
    let e = a.tick(local(2026, 6, 4, 0));
    assert_eq!(e, [Effect::Breach { step: Step::Review, due: local(2026, 6, 4, 0) }]);
    assert_eq!(a.step, Step::Review, "still waiting for the operator");
    assert!(a.deadline.as_ref().unwrap().overdue);
    assert_eq!(a.next_wakeup(), None);
    assert!(a.tick(local(2026, 6, 10, 0)).is_empty(), "a breach is reported once");
    // The late answer is taken and marked late; the breach stays.
    a.apply(Action::Approve, op(), local(2026, 6, 5, 10), &c).unwrap();
    let approve = a.timeline.iter().find(|e| e.event == "approve").unwrap();
    assert_eq!(approve.on_time, Some(false));
    assert_eq!(a.breaches, [(Step::Review, local(2026, 6, 4, 0))]);
    assert_eq!(a.step, Step::Sandbox);
    assert!(!a.deadline.as_ref().unwrap().overdue, "the next step has its own deadline");
}

#[test]
fn on_time_actions_are_marked_on_time() {
    let c = cal();
    let mut a = Application::filed("a", local(2026, 6, 1, 10), ini(), &c).unwrap();
    a.apply(Action::Approve, op(), local(2026, 6, 3, 23), &c).unwrap();
    assert_eq!(a.timeline.last().unwrap().on_time, Some(true));
    assert!(a.breaches.is_empty());
}

#[test]
fn testing_lapses_after_three_months() {
    let c = cal();
    let mut a = at_step(Step::Testing);
    let due = a.deadline.as_ref().unwrap().due;
    assert_eq!(a.deadline.as_ref().unwrap().side, Side::Initiator);
    let e = a.tick(due);
    assert_eq!(e.last(), Some(&Effect::Lapse { step: Step::Testing, due }));
    assert_eq!(a.step, Step::Lapsed);
    assert!(a.closing_reason.as_deref().unwrap().contains("testing"));
    assert!(a.apply(act("late"), ini(), due, &c).is_err(), "a lapsed application is closed");
}

#[test]
fn a_missed_rework_lapses() {
    let mut a = at_step(Step::Rework);
    let due = a.deadline.as_ref().unwrap().due;
    let e = a.tick(due + Duration::hours(1));
    assert!(e.contains(&Effect::Lapse { step: Step::Rework, due }));
    assert_eq!(a.step, Step::Lapsed);
}

#[test]
fn returned_twice_then_approved() {
    let c = cal();
    let t = local(2026, 6, 10, 10);
    let mut a = at_step(Step::ActReReview);
    a.apply(Action::ReturnAct { reason: reason("date missing") }, op(), t, &c).unwrap();
    assert_eq!(a.step, Step::Rework);
    a.apply(Action::ResubmitAct { document_sha256: "a3".into(), signer: "i".into() }, ini(), t, &c).unwrap();
    a.apply(Action::ApproveAct { document_sha256: "a3".into(), signer: "op".into() }, op(), t, &c).unwrap();
    assert_eq!(a.step, Step::DraftContract);
    assert_eq!(a.acts, ["a1", "a2", "a3"]);
}

#[test]
fn the_whole_path_and_its_record() {
    let a = at_step(Step::Connected);
    let events: Vec<&str> = a.timeline.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "filed",
            "approve",
            "grant_sandbox",
            "record_test",
            "submit_act",
            "return_act",
            "resubmit_act",
            "approve_act",
            "send_draft_contract",
            "conclude_contract",
            "grant_production"
        ]
    );
    assert_eq!(a.sandbox_client_id.as_deref(), Some("sbx"));
    assert_eq!(a.production_client_id.as_deref(), Some("prod"));
    assert!(a.deadline.is_none() && a.step.is_closed());
    // Serialises for the projection and replays identically.
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<Application>(&json).unwrap(), a);
}

#[test]
fn working_days_left_counts_down() {
    let c = cal();
    let a = Application::filed("a", local(2026, 6, 1, 10), ini(), &c).unwrap();
    assert_eq!(a.working_days_left(local(2026, 6, 1, 12), &c), Some(2));
    assert_eq!(a.working_days_left(local(2026, 6, 3, 12), &c), Some(0));
    // Friday: Thursday and Friday have passed since the last allowed day.
    assert_eq!(a.working_days_left(local(2026, 6, 5, 12), &c), Some(-2));
}
