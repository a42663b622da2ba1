use clap::Parser;

fn main() -> std::process::ExitCode {
    // Logs and traces start before the configuration is read, so they are set
    // by the environment alone (TANU_LOG, TANU_LOG_FORMAT, TANU_OTLP_ENDPOINT:
    // telemetry.rs), and outside the runtime (the OTLP exporter has its own).
    let telemetry = match tanu_idp::telemetry::init() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tanu: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cli = tanu_idp::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tanu: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(tanu_idp::cli::run(cli));
    drop(runtime);
    // The spans still queued leave after the last request was answered.
    telemetry.shutdown();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tanu: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
