//! `quarry-sidecar`: reads its configuration from the environment and serves until told to stop.

use std::process::ExitCode;

use quarry_sidecar::{config::Config, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("quarry-sidecar: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_format);
    match server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "quarry-sidecar stopped");
            ExitCode::FAILURE
        }
    }
}
