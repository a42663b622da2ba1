use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logging starts before the configuration is read, so it is set by the
    // environment alone: TANU_LOG (filter, default `info`) and
    // TANU_LOG_FORMAT (`text`, the default, or `json`: one object a line).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TANU_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr);
    match std::env::var("TANU_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("tanu: TANU_LOG_FORMAT={other:?}: expected text or json");
            return std::process::ExitCode::FAILURE;
        }
    }
    let cli = tanu_idp::cli::Cli::parse();
    match tanu_idp::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tanu: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
