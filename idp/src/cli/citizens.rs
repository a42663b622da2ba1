//! `tanu citizens …`: the operator acting for a citizen.
use clap::Subcommand;
use tanu_biometrics::Iin;

use crate::{app::master_key, audit::Journal, config::Config};

#[derive(Subcommand)]
pub enum CitizensCommand {
    /// Withdraws the citizen's biometric consent (Rules §11): the reference
    /// template and its key are deleted, the withdrawal journalled with who
    /// did it, the citizen's open sessions ended. For a citizen who can no
    /// longer sign in by face; the citizen can do the same at `/me`.
    WithdrawBiometrics {
        /// The citizen's IIN (12 digits, checked).
        #[arg(long)]
        iin: Iin,
        /// Who does it (journalled); defaults to $USER.
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: CitizensCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::store(config).await?;
    let journal = Journal::new(store.clone(), master_key(config)?.derive("tanu audit pseudonym v1"));
    match cmd {
        CitizensCommand::WithdrawBiometrics { iin, by, json } => {
            let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "operator".into());
            let by = by.trim();
            if by.is_empty() || by.len() > 100 || by.chars().any(char::is_control) {
                anyhow::bail!("--by must be 1 to 100 printable characters");
            }
            let citizen = store
                .citizen_by_iin(crate::domain::Environment::Production, iin.as_str())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no citizen with this IIN has signed in to Tanu: nothing is held"))?;
            let had = crate::cabinet::withdraw_biometrics(&store, &journal, &citizen, &format!("operator: {by}")).await?;
            if json {
                println!("{}", serde_json::json!({ "citizen_id": citizen.id, "withdrawn": had, "by": by }));
            } else if had {
                println!("biometric consent withdrawn, template deleted, sessions ended (journalled as done by {by})");
            } else {
                println!("no biometric consent was in force; any template was deleted and sessions ended (journalled as done by {by})");
            }
        }
    }
    Ok(())
}
