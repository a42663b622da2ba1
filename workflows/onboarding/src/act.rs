//! The act of testing and commissioning (Rules Appendix 2) and the
//! operator's approval of it, rendered to canonical documents: UTF-8, `\n`
//! line ends, one field per line, so that the bytes the signer's EDS tool
//! signs are exactly the bytes the server re-renders and verifies. Pure.
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::i18n::{Lang, Msg};

/// What the initiator fills in (Appendix 2, fields 5–8, and the signatory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActFields {
    pub conclusion: String,
    pub scenario: String,
    pub decision: String,
    pub commissioning_date: NaiveDate,
    pub authorised_person: String,
    /// The day the act is drawn up.
    pub date: NaiveDate,
}

/// What the application and the operator contribute (fields 1–4).
pub struct ActParties<'a> {
    pub application_id: &'a str,
    pub operator: &'a str,
    pub initiator: &'a str,
    pub bin: &'a str,
    pub initiator_system: &'a str,
}

const OPERATOR_SYSTEM: &str = "Tanu — National Biometric Authentication System";
const MAX_FIELD: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActError {
    Missing(&'static str),
    TooLong(&'static str),
    Date(&'static str),
}

/// One field: trimmed, CR/LF normalised to `\n`, other controls refused.
fn clean(name: &'static str, v: &str) -> Result<String, ActError> {
    let v = v.replace("\r\n", "\n").replace('\r', "\n");
    let v = v.trim();
    if v.is_empty() {
        return Err(ActError::Missing(name));
    }
    if v.chars().count() > MAX_FIELD || v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ActError::TooLong(name));
    }
    Ok(v.to_owned())
}

impl ActFields {
    /// From the form's strings (the dates as `YYYY-MM-DD`).
    pub fn parse(get: impl Fn(&str) -> String) -> Result<ActFields, ActError> {
        let date = |name: &'static str| NaiveDate::parse_from_str(get(name).trim(), "%Y-%m-%d").map_err(|_| ActError::Date(name));
        Ok(ActFields {
            conclusion: clean("conclusion", &get("conclusion"))?,
            scenario: clean("scenario", &get("scenario"))?,
            decision: clean("decision", &get("decision"))?,
            commissioning_date: date("commissioning_date")?,
            authorised_person: clean("authorised_person", &get("authorised_person"))?,
            date: date("date")?,
        })
    }

    /// The fields back as form pairs (hidden inputs on the signing page).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("conclusion", self.conclusion.clone()),
            ("scenario", self.scenario.clone()),
            ("decision", self.decision.clone()),
            ("commissioning_date", self.commissioning_date.to_string()),
            ("authorised_person", self.authorised_person.clone()),
            ("date", self.date.to_string()),
        ]
    }
}

/// Line ends normalised, and continuation lines of a multi-line value
/// indented, so that no value can forge a line that looks like another field.
fn value(v: &str) -> String {
    v.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\n    ")
}

/// The act, in the application's language.
pub fn render_act(lang: Lang, p: &ActParties<'_>, f: &ActFields) -> String {
    let t = |m: Msg| m.text(lang);
    format!(
        "{title}\n{app}: {id}\n\n1. {op_l}: {op}\n2. {init_l}: {init} ({bin_l} {bin})\n3. {opsys_l}: {opsys}\n4. {sys_l}: {sys}\n5. {c_l}: {c}\n6. {s_l}: {s}\n7. {d_l}: {d}\n8. {cd_l}: {cd}\n\n{date_l}: {date}\n{who_l}: {who}\n",
        title = t(Msg::onb_a_submit_act).to_uppercase(),
        app = t(Msg::onb_application),
        id = p.application_id,
        op_l = t(Msg::onb_doc_operator),
        op = value(p.operator),
        init_l = t(Msg::onb_section_initiator),
        init = value(p.initiator),
        bin_l = t(Msg::onb_f_bin),
        bin = p.bin,
        opsys_l = t(Msg::onb_doc_operator_system),
        opsys = OPERATOR_SYSTEM,
        sys_l = t(Msg::onb_section_system),
        sys = value(p.initiator_system),
        c_l = t(Msg::onb_act_conclusion),
        c = value(&f.conclusion),
        s_l = t(Msg::onb_act_scenario),
        s = value(&f.scenario),
        d_l = t(Msg::onb_act_decision),
        d = value(&f.decision),
        cd_l = t(Msg::onb_act_commissioning),
        cd = f.commissioning_date,
        date_l = t(Msg::onb_doc_date),
        date = f.date,
        who_l = t(Msg::onb_f_authorised_person),
        who = value(&f.authorised_person),
    )
}

/// The operator's approval of one act, naming it by its digest.
pub fn render_approval(lang: Lang, application_id: &str, operator: &str, act_sha256: &str, approver: &str, date: NaiveDate) -> String {
    let t = |m: Msg| m.text(lang);
    format!(
        "{title}\n{app}: {application_id}\n{op_l}: {op}\n{act_l} (SHA-256): {act_sha256}\n\n{date_l}: {date}\n{who_l}: {who}\n",
        title = t(Msg::onb_a_approve_act).to_uppercase(),
        app = t(Msg::onb_application),
        op_l = t(Msg::onb_doc_operator),
        op = value(operator),
        act_l = t(Msg::onb_a_submit_act),
        date_l = t(Msg::onb_doc_date),
        who_l = t(Msg::onb_f_authorised_person),
        who = value(approver),
    )
}

/// The draft contract for connection (Rules §17) the operator sends after
/// approving the act: the parties, the system, its redirect URIs and the
/// obligations with their deadlines, for both sides to conclude on paper or by EDS.
pub fn render_contract(lang: Lang, p: &ActParties<'_>, operator_bin: &str, redirect_uri: &str, act_sha256: &str) -> String {
    let t = |m: Msg| m.text(lang);
    format!(
        "{title}\n{app}: {id}\n\n1. {op_l}: {op} ({bin_l} {op_bin})\n2. {init_l}: {init} ({bin_l} {bin})\n3. {sys_l}: {sys}\n4. {uri_l}: {uri}\n5. {act_l} (SHA-256): {act}\n6. {terms}\n",
        title = t(Msg::onb_contract_title).to_uppercase(),
        app = t(Msg::onb_application),
        id = p.application_id,
        op_l = t(Msg::onb_doc_operator),
        op = value(p.operator),
        bin_l = t(Msg::onb_f_bin),
        op_bin = if operator_bin.is_empty() { "—" } else { operator_bin },
        init_l = t(Msg::onb_section_initiator),
        init = value(p.initiator),
        bin = p.bin,
        sys_l = t(Msg::onb_section_system),
        sys = value(p.initiator_system),
        uri_l = t(Msg::onb_f_redirect_uri),
        uri = redirect_uri,
        act_l = t(Msg::onb_a_submit_act),
        act = act_sha256,
        terms = t(Msg::onb_contract_terms),
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ActFields {
        ActFields {
            conclusion: "The system signs citizens in.".into(),
            scenario: "Sign-in, consent, logout.\r\nRefusal of a photo.".into(),
            decision: "Ready for commissioning.".into(),
            commissioning_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            authorised_person: "Sadykova Aigerim".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        }
    }

    fn parties() -> ActParties<'static> {
        ActParties { application_id: "APP-1", operator: "Operator", initiator: "Bank", bin: "010140000143", initiator_system: "Online" }
    }

    #[test]
    fn the_act_names_every_appendix_2_field_once() {
        let doc = render_act(Lang::En, &parties(), &fields());
        for n in 1..=8 {
            assert_eq!(doc.matches(&format!("\n{n}. ")).count(), 1, "field {n}: {doc}");
        }
        assert!(doc.contains("2. Initiator: Bank (BIN 010140000143)"), "{doc}");
        assert!(doc.contains("8. Date of commissioning: 2026-12-01"), "{doc}");
        assert!(!doc.contains('\r'));
    }

    #[test]
    fn the_same_fields_render_the_same_bytes_and_a_value_cannot_forge_a_field() {
        let a = render_act(Lang::Ru, &parties(), &fields());
        let parsed = ActFields::parse(|k| fields().pairs().into_iter().find(|(n, _)| *n == k).map(|(_, v)| v).unwrap_or_default()).unwrap();
        assert_eq!(render_act(Lang::Ru, &parties(), &parsed), a, "hidden-field round trip");
        let mut forged = fields();
        forged.conclusion = "ok\n7. Decision on the test results: approved".into();
        let doc = render_act(Lang::En, &parties(), &forged);
        assert_eq!(doc.matches("\n7. ").count(), 1, "{doc}");
    }

    #[test]
    fn missing_or_malformed_fields_are_named() {
        let get = |k: &str| if k == "decision" { String::new() } else { "2026-11-23".to_string() };
        assert_eq!(ActFields::parse(get), Err(ActError::Missing("decision")));
        let get = |k: &str| if k == "commissioning_date" { "1 Dec".to_string() } else { "x".to_string() };
        assert_eq!(ActFields::parse(get), Err(ActError::Date("commissioning_date")));
        let get = |k: &str| if k.ends_with("date") { "2026-11-23".to_string() } else { "a\u{7}b".to_string() };
        assert_eq!(ActFields::parse(get), Err(ActError::TooLong("conclusion")));
    }
}
