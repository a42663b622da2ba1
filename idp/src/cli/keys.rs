//! `tanu keys …`: signing-key rotation.
use clap::Subcommand;

use crate::{app::master_key, config::Config, keys::KeyRing};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List keys and their state (next, active, retiring, retired).
    List,
    /// Generate new keys: published now, signing after `key_publish_lead` seconds.
    Rotate,
    /// Delete keys that are no longer published.
    Prune,
}

pub async fn run(cmd: KeysCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::store(config).await?;
    let ring = KeyRing::new(store, master_key(config)?, config.key_publish_lead, config.id_token_ttl);
    ring.ensure_initial_keys().await?;
    match cmd {
        KeysCommand::List => {
            let keys = ring.all().await?;
            for (k, s) in ring.states(&keys, chrono::Utc::now()) {
                println!("{}\t{}\t{:?}\tsigns from {}", k.kid, k.alg, s, k.activates_at.to_rfc3339());
            }
        }
        KeysCommand::Rotate => {
            for k in ring.rotate().await? {
                println!("{}\t{}\tpublished now, signs from {}", k.kid, k.alg, k.activates_at.to_rfc3339());
            }
        }
        KeysCommand::Prune => println!("{} retired keys deleted", ring.prune().await?),
    }
    Ok(())
}
