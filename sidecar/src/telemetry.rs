//! Structured logs: one JSON object per line by default (`QUARRY_LOG_FORMAT=text` for people),
//! filtered by `QUARRY_LOG` (default `info`), e.g. `QUARRY_LOG=quarry_sidecar=debug,info`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: &LogFormat) {
    let filter = EnvFilter::try_from_env("QUARRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    // A second init (tests starting several servers in one process) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
