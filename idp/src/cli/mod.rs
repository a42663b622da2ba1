//! The `tanu` command line: one binary for the server and the operator's tools.
pub mod audit;
pub mod biometrics;
pub mod calendar;
pub mod citizens;
pub mod clients;
pub mod keys;
pub mod onboarding;
pub mod verifiers;

use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand};

use crate::{app::App, config::Config, interaction::NoMethodAuthenticator, store::Store};

#[derive(Parser)]
#[command(name = "tanu", version, about = "Tanu: national biometric sign-in (OpenID Connect provider)")]
pub struct Cli {
    /// TOML configuration file; TANU_* environment variables override it.
    #[arg(long, global = true, env = "TANU_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run migrations, then serve the provider.
    Serve,
    /// Run database migrations and exit.
    Migrate,
    /// Run only the onboarding workflow worker (Temporal), without the HTTP server.
    Worker,
    /// The connection procedure: staff, initiators, applications, demo data.
    #[command(subcommand)]
    Onboarding(onboarding::OnboardingCommand),
    /// Register and manage relying parties.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Act for a citizen: withdraw biometric consent.
    #[command(subcommand)]
    Citizens(citizens::CitizensCommand),
    /// Organisation users who may redeem citizens' document codes at /me/verify.
    #[command(subcommand)]
    Verifiers(verifiers::VerifiersCommand),
    /// Signing keys: list, rotate, prune.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The attempt journal (Rules §8): list, verify.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The face engine: compare, eval, liveness (Rules §4–§11).
    #[command(subcommand)]
    Biometrics(biometrics::BiometricsCommand),
    /// The embedded person registry (document photos, §9).
    #[command(subcommand)]
    Registry(biometrics::RegistryCommand),
    /// Kazakhstan working days (weekends, holidays, transfers in ops/calendar).
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
}

/// SIGTERM or SIGINT (Ctrl-C) starts a graceful shutdown (README, "Operating Tanu").
fn stop_on_signal(app: Arc<App>) {
    on_signal(move || app.shutdown());
}

/// Runs `then` on the first SIGTERM or SIGINT.
fn on_signal(then: impl FnOnce() + Send + 'static) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "no SIGTERM handler; Ctrl-C only");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        then();
    });
}

pub fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Ok(Config::load(cli.config.as_deref(), std::env::vars())?)
}

pub async fn store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    Ok(store)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Calendar(c) = cli.command {
        return calendar::run(c);
    }
    let config = load_config(&cli)?;
    match cli.command {
        Command::Serve => {
            // Face sign-in needs the models; without them the server does not
            // start (a clear error), unless face sign-in is switched off.
            let authenticator: Arc<dyn crate::interaction::Authenticator> = if config.face.enabled {
                Arc::new(crate::face::FaceAuthenticator::new(&config).map_err(|e| anyhow::anyhow!("face sign-in: {e}"))?)
            } else {
                tracing::warn!("face.enabled = false: no authentication method; sign-in is unavailable");
                Arc::new(NoMethodAuthenticator)
            };
            let face = config.face.enabled;
            let app = App::build(config, authenticator).await?;
            if face {
                app.face_models_loaded();
            }
            let issuer = app.config.issuer.clone();
            let (addr, server) = app.clone().serve().await?;
            tracing::info!(%addr, %issuer, "tanu is serving");
            println!("Tanu is serving on http://{addr} (issuer {issuer})");
            println!("  discovery: {issuer}/.well-known/openid-configuration");
            stop_on_signal(app);
            server.await?;
            Ok(())
        }
        Command::Worker => {
            if config.onboarding.temporal_address.is_empty() {
                anyhow::bail!("onboarding.temporal_address (TANU_TEMPORAL_ADDRESS) is not set")
            }
            // The onboarding service alone: no signing keys, no authenticator.
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let state = std::sync::Arc::new(crate::app::worker_state(&config, stopped).await?);
            let worker = crate::onboarding::spawn_worker(state.clone());
            let mail =
                tokio::spawn(crate::onboarding::mail::run_delivery(state.store.clone(), state.onboarding.mailer.clone(), std::time::Duration::from_secs(60)));
            println!("onboarding worker running (queue {}); Ctrl-C or SIGTERM stops it", config.onboarding.task_queue);
            on_signal(move || {
                stop.send_replace(true);
            });
            state.stopping().await;
            mail.abort();
            worker.join(std::time::Duration::from_secs(config.shutdown_grace)).await;
            Ok(())
        }
        Command::Onboarding(o) => onboarding::run(o, &config).await,
        Command::Migrate => {
            let s = store(&config).await?;
            println!("migrations applied ({})", s.backend_name());
            Ok(())
        }
        Command::Clients(c) => clients::run(c, &config).await,
        Command::Keys(k) => keys::run(k, &config).await,
        Command::Citizens(c) => citizens::run(c, &config).await,
        Command::Verifiers(v) => verifiers::run(v, &config).await,
        Command::Audit(a) => audit::run(a, &config).await,
        Command::Biometrics(b) => tokio::task::block_in_place(|| biometrics::run(b, &config)),
        Command::Registry(r) => biometrics::run_registry(r, &config).await,
        Command::Calendar(_) => unreachable!("handled before the configuration is loaded"),
    }
}
