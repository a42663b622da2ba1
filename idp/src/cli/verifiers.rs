//! `tanu verifiers …`: the organisation users an operator lets redeem
//! citizens' document codes on the verifier page (`/me/verify`). They sign in
//! there with Tanu through the portal's sign-in; this list says who may.
use clap::Subcommand;
use tanu_biometrics::Iin;

use crate::config::Config;

#[derive(Subcommand)]
pub enum VerifiersCommand {
    /// Registers (or re-enables) an organisation user.
    Add {
        /// The user's IIN (12 digits, checked).
        #[arg(long)]
        iin: Iin,
        /// The organisation, as citizens see it in their access history.
        #[arg(long)]
        organisation: String,
        /// The user's name, as citizens see it.
        #[arg(long)]
        name: String,
    },
    /// Disables an organisation user.
    Disable {
        #[arg(long)]
        iin: Iin,
    },
    /// Lists the organisation users.
    List,
}

fn printable(what: &str, s: &str) -> anyhow::Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        anyhow::bail!("--{what} must be 1 to 200 printable characters");
    }
    Ok(s.to_string())
}

pub async fn run(cmd: VerifiersCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::store(config).await?;
    match cmd {
        VerifiersCommand::Add { iin, organisation, name } => {
            store.add_document_verifier(iin.as_str(), &printable("organisation", &organisation)?, &printable("name", &name)?).await?;
            println!("verifier {iin} registered");
        }
        VerifiersCommand::Disable { iin } => {
            if !store.disable_document_verifier(iin.as_str()).await? {
                anyhow::bail!("no enabled verifier with this IIN");
            }
            println!("verifier {iin} disabled");
        }
        VerifiersCommand::List => {
            for v in store.document_verifiers().await? {
                let state = if v.disabled_at.is_some() { "disabled" } else { "enabled" };
                println!("{}\t{}\t{}\t{state}", v.iin, v.organisation, v.name);
            }
        }
    }
    Ok(())
}
