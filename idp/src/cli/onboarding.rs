//! `tanu onboarding`: who may act in the connection procedure, and demo data.
use std::sync::Arc;

use chrono::Utc;
use clap::Subcommand;
use tanu_workflows::onboarding::{Action, Actor, Side};
use tanu_workflows::temporal::{Command, Request};
use tanu_workflows::Bin;

use crate::app::App;
use crate::config::Config;
use crate::i18n::Lang;
use crate::interaction::NoMethodAuthenticator;
use crate::onboarding::form::{parse, RawApplication};
use crate::store::onboarding::{ApplicationFilter, StaffRole};

#[derive(Subcommand)]
pub enum OnboardingCommand {
    /// Adds (or updates) a member of the operator's staff.
    StaffAdd {
        #[arg(long)]
        iin: tanu_biometrics::Iin,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: crate::onboarding::form::Email,
        /// reviewer | supervisor
        #[arg(long)]
        role: String,
        /// kk | ru | en: the language of their mail.
        #[arg(long, default_value = "kk")]
        lang: String,
    },
    /// Lets a person act for an organisation (BIN) in the portal.
    InitiatorAdd {
        #[arg(long)]
        iin: tanu_biometrics::Iin,
        #[arg(long)]
        bin: Bin,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: crate::onboarding::form::Email,
        #[arg(long, default_value = "kk")]
        lang: String,
    },
    /// Lists applications with step and deadline, nearest deadline first.
    List,
    /// Files demo applications and moves some of them along (needs Temporal
    /// and a running worker; does nothing when demo applications exist).
    SeedDemo {
        /// The demo initiator (bound to the demo BINs).
        #[arg(long)]
        initiator: tanu_biometrics::Iin,
        /// The demo reviewer who takes the operator's steps.
        #[arg(long)]
        reviewer: tanu_biometrics::Iin,
    },
}

pub async fn run(cmd: OnboardingCommand, config: &Config) -> anyhow::Result<()> {
    let app = App::build(config.clone(), Arc::new(NoMethodAuthenticator)).await?;
    match cmd {
        OnboardingCommand::StaffAdd { iin, name, email, role, lang } => {
            let role: StaffRole = role.parse()?;
            app.store.add_staff(iin.as_str(), &name, email.as_str(), Lang::from_code(&lang), role).await?;
            println!("staff {} ({}) is a {}", name, iin, role.as_str());
        }
        OnboardingCommand::InitiatorAdd { iin, bin, name, email, lang } => {
            app.store.bind_initiator(iin.as_str(), &bin, &name, email.as_str(), Lang::from_code(&lang)).await?;
            println!("{name} ({iin}) acts for BIN {bin}");
        }
        OnboardingCommand::List => {
            for a in app.store.applications(&ApplicationFilter::default()).await? {
                let due = a.row.deadline_due.map(crate::onboarding::mail::local_deadline).unwrap_or_default();
                println!("{}\t{}\t{}\t{}\t{}{}", a.row.id, a.row.bin, a.row.step, due, a.row.organisation_name, if a.row.overdue { "\tOVERDUE" } else { "" });
            }
        }
        OnboardingCommand::SeedDemo { initiator, reviewer } => seed_demo(&app, initiator.as_str(), reviewer.as_str()).await?,
    }
    Ok(())
}

/// Three demo organisations: one just filed, one in the sandbox step, one testing.
async fn seed_demo(app: &App, initiator: &str, reviewer: &str) -> anyhow::Result<()> {
    if !app.store.applications(&ApplicationFilter::default()).await?.is_empty() {
        println!("demo applications exist; nothing to do");
        return Ok(());
    }
    let demo = [
        ("АО «Демо Банк»", "010140000143", "Интернет-банкинг", "https://bank.demo.kz/oidc/callback", 0),
        ("ТОО «Демо Логистика»", "020240000053", "Кабинет клиента", "https://logistics.demo.kz/auth/callback", 1),
        ("ГУ «Демо Акимат»", "030340000025", "Электронные услуги", "https://akimat.demo.kz/callback", 2),
    ];
    let initiator_actor = Actor { side: Side::Initiator, name: "Demo initiator (initiator)".into() };
    let operator = Actor { side: Side::Operator, name: "Demo reviewer (reviewer)".into() };
    for (org, bin, system, redirect, steps) in demo {
        let mut raw = RawApplication::default();
        for (k, v) in [
            ("organisation_name", org),
            ("bin", bin),
            ("responsible_official", "Demo Official"),
            ("contact_email", "initiator@demo.kz"),
            ("system_name", system),
            ("redirect_uri", redirect),
            ("sandbox_redirect_uri", "http://127.0.0.1:8081/callback"),
            ("tos_uri", "https://demo.kz/terms"),
            ("policy_uri", "https://demo.kz/privacy"),
            ("authorised_person", "Demo Authorised Person"),
        ] {
            raw.fields.insert(k.into(), v.into());
        }
        let new = parse(&raw).map_err(|e| anyhow::anyhow!("demo form: {e:?}"))?;
        let filed_at = Utc::now();
        let id = crate::onboarding::new_application_id(filed_at);
        app.store.insert_application(&id, &new, Lang::Ru, initiator, filed_at, None).await?;
        app.onboarding.start(&id, filed_at, initiator_actor.clone()).await?;
        app.store.bind_initiator(initiator, &new.bin, "Demo initiator", "initiator@demo.kz", Lang::Ru).await?;
        let commands = [Command::Act { action: Action::Approve }, Command::GrantSandbox];
        for command in commands.into_iter().take(steps) {
            app.onboarding.act(&id, Request { actor: operator.clone(), command }).await?;
        }
        println!("{id}\t{org}\t(reviewer {reviewer})");
    }
    Ok(())
}
