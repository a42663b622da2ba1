//! `tanu audit …`: read and verify the attempt journal.
use clap::Subcommand;

use crate::{app::master_key, audit::Journal, config::Config};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print the journal in sequence.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain; exits 1 when any record was edited, removed,
    /// inserted or reordered, or the anchored head is gone.
    Verify {
        /// A head hash recorded earlier outside the database.
        #[arg(long)]
        head: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: AuditCommand, config: &Config) -> anyhow::Result<()> {
    let store = super::store(config).await?;
    let journal = Journal::new(store, master_key(config)?.derive("tanu audit pseudonym v1"));
    match cmd {
        AuditCommand::List { json } => {
            for r in journal.records().await? {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "seq": r.seq, "at": r.at, "client_id": r.client_id, "subject": r.subject,
                            "step": r.step, "outcome": r.outcome, "reason": r.reason, "hash": r.hash,
                        })
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        r.seq,
                        r.at.to_rfc3339(),
                        r.client_id.unwrap_or_default(),
                        r.step,
                        r.outcome,
                        r.reason.unwrap_or_default()
                    );
                }
            }
        }
        AuditCommand::Verify { head, json } => {
            let v = journal.verify(head.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else if v.breaks.is_empty() {
                println!("journal intact: {} records, head {} {}", v.records, v.head_seq, v.head_hash);
            } else {
                for b in &v.breaks {
                    println!("BROKEN: {b:?}");
                }
            }
            if !v.breaks.is_empty() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
