//! The MCP server at `/mcp` (Streamable HTTP): rmcp's transport behind Quarry's resource-server
//! guard. Sessions (protocol 2025-11-25) live in memory while busy and in PostgreSQL for good;
//! the stateless 2026-07-28 revision is served alongside. The question pipeline ([`pipeline`]) is
//! the domain the tools stand on; it knows nothing of MCP.

pub mod guard;
pub mod identity;
pub mod live_sessions;
pub mod pipeline;
pub mod scopes;
pub mod server;
pub mod sessions;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use self::pipeline::Pipeline;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::urls::PublicUrls;

/// The origin of a URL with its port spelled out, as rmcp's Origin check wants it.
fn origin_with_port(url: &url::Url) -> Option<String> {
    Some(format!("{}://{}:{}", url.scheme(), url.host_str()?, url.port_or_known_default()?))
}

/// `/mcp`: the MCP service behind the guard. Browsers may call it from the public URL's origin
/// and from `allowed_origins`. Token checks and tool calls are recorded in `metrics`.
pub fn router<S: Clone + Send + Sync + 'static>(
    db: Db,
    pipeline: Pipeline,
    urls: Arc<PublicUrls>,
    allowed_origins: &[String],
    live_sessions: usize,
    metrics: Metrics,
) -> Router<S> {
    let public = url::Url::parse(&urls.issuer).expect("the issuer is a URL");
    let mut origins: Vec<String> = origin_with_port(&public).into_iter().collect();
    for extra in allowed_origins {
        if let Some(o) = url::Url::parse(extra).ok().as_ref().and_then(origin_with_port) {
            origins.push(o);
        }
    }
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts([urls.authority.clone()])
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(guard::MAX_BODY)
        .with_sse_keep_alive(Some(Duration::from_secs(15)));
    config.session_store = Some(Arc::new(sessions::PgSessionStore { db: db.clone() }));
    let mut local = LocalSessionManager::default();
    // Idle sessions leave memory after a while, and the least recently used when more than
    // `live_sessions` are idle; their record in PostgreSQL brings them back.
    local.session_config.keep_alive = Some(Duration::from_secs(600));
    let session_manager = live_sessions::LiveSessions::new(local, live_sessions, metrics.clone());
    let pins = session_manager.pins();

    let prototype = server::QuarryServer::new(db.clone(), pipeline, urls.issuer.clone(), metrics.clone());
    let service = StreamableHttpService::new(
        move || Ok(prototype.clone()),
        Arc::new(session_manager),
        config,
    );
    // The guard first; then a request naming a session holds it in memory while rmcp serves it.
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(pins, live_sessions::hold))
        .layer(middleware::from_fn_with_state(guard::Guard { db, urls, metrics }, guard::guard))
}
