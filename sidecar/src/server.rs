//! The HTTP server: the router, and a serve loop that stops gracefully.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Config;
use crate::db::Db;
use crate::db::questions::Executor;
use crate::error::Error;
use crate::metrics::{self, Metrics, Scrape};
use crate::state::AppState;
use crate::{health, mcp, oauth, pages, serve, sqlbot};

/// Largest request body accepted anywhere; endpoints may set smaller limits.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every endpoint, each handed the parts of the state it needs, behind the request-wide layers
/// (metrics, body limit, request ids, tracing). `/metrics` is here only when a token guards it
/// and it has no address of its own (see [`crate::config::MetricsConfig`]).
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    // The SQLBot-compatible front exists only when turned on: off, its paths are unknown (404).
    let sqlbot = if state.config.sqlbot.enabled {
        sqlbot::router(sqlbot::ops::Front {
            db: state.db.clone(),
            pipeline: state.pipeline.clone(),
            urls: state.urls.clone(),
            token_ttl: state.config.sqlbot.token_ttl,
            trust_forwarded_for: state.config.oauth.trust_forwarded_for,
        })
    } else {
        Router::new()
    };
    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .merge(sqlbot)
        .merge(mcp::router(
            state.db.clone(),
            state.pipeline.clone(),
            state.urls.clone(),
            &state.config.allowed_origins,
            state.config.live_sessions,
            state.metrics.clone(),
        ))
        .merge(oauth::router())
        .merge(pages::router());
    if state.config.metrics.bind.is_none() && state.config.metrics.token.is_some() {
        router = router.route("/metrics", get(metrics::scrape));
    }
    let counted = state.metrics.clone();
    router
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .with_state(state)
        // A layer of the whole router (not of one route), so it sees the route each request
        // matched, and the fallback's requests too.
        .layer(middleware::from_fn_with_state(counted, metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Setup(String),
    /// The database's extension is not the version this build serves; says what to run.
    #[error("{0}")]
    Version(String),
    /// TLS to a database refused its server's certificate (`sslmode`, `sslrootcert`).
    #[error("TLS to {url} failed: {reason} (check sslmode and sslrootcert in {url})")]
    DatabaseTls { url: &'static str, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

pub async fn run(config: Config) -> Result<(), ServeError> {
    let db = Db::connect(&config).map_err(ServeError::Setup)?;
    // A certificate the TLS settings refuse will not get better by waiting: refuse to start.
    db.check_tls().await.map_err(|reason| ServeError::DatabaseTls { url: "DATABASE_URL", reason })?;
    // Say at once whether the database is ready. Another version of the extension is refused
    // before listening: this build calls its own version's functions, and an operator must run
    // the upgrade. Anything else is served regardless (the database may come up later, and
    // /healthz reports it meanwhile).
    match health::check(&db).await {
        Ok(version) => match health::version_problem(&version) {
            None => tracing::info!(extension = %version, "database ready"),
            Some(problem) => return Err(ServeError::Version(problem)),
        },
        Err(problem) => tracing::warn!(%problem, "database not ready"),
    }
    let https = match &config.tls {
        Some((cert, key)) => Some(crate::https::server_config(cert, key).map_err(ServeError::Setup)?),
        None => None,
    };
    let executor = Executor::connect(&config).map_err(ServeError::Setup)?;
    if config.query_database_url.is_some() {
        executor.check_tls().await.map_err(|reason| ServeError::DatabaseTls { url: "QUARRY_QUERY_DATABASE_URL", reason })?;
    }
    let metrics = Metrics::new(vec![
        ("main", {
            let db = db.clone();
            Box::new(move || db.pool_stats())
        }),
        ("queries", {
            let executor = executor.clone();
            Box::new(move || executor.pool_stats())
        }),
    ]);
    let listener = TcpListener::bind(config.bind).await.map_err(|source| ServeError::Bind { addr: config.bind, source })?;
    let local = listener.local_addr()?;
    let state = AppState::new(config.clone(), db, executor, local, metrics.clone()).map_err(ServeError::Setup)?;
    if config.oauth.client_metadata_allow_private {
        tracing::warn!("QUARRY_CLIENT_METADATA_ALLOW_PRIVATE is on: client metadata may be fetched over http and from private addresses (tests only)");
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Metrics on an address of their own are up before the main address says it listens.
    let metrics_server = match config.metrics.bind {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
            tracing::info!(address = %listener.local_addr()?, token = config.metrics.token.is_some(), "metrics listening");
            let app = metrics::router(Scrape { metrics, token: config.metrics.token.as_deref().map(Into::into) });
            let mut stop = stop_rx.clone();
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            Some(tokio::spawn(serve::serve(listener, app, config.http_idle_timeout, stopped)))
        }
        None => {
            if config.metrics.token.is_some() {
                tracing::info!("metrics served at /metrics to bearers of QUARRY_METRICS_TOKEN");
            }
            None
        }
    };

    let app = router(state.clone());
    let stopped = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    let idle = config.http_idle_timeout;
    let server = match https {
        None => {
            // Responses (SSE above all) go out in several small writes: without TCP_NODELAY, Nagle's
            // algorithm meets the client's delayed ACK and every answer waits about 40 ms.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(serve::serve(listener, app, idle, stopped))
        }
        // The TLS listener sets TCP_NODELAY itself.
        Some(tls) => tokio::spawn(serve::serve(crate::https::TlsListener::new(listener, tls)?, app, idle, stopped)),
    };
    tracing::info!(address = %local, public_url = %state.urls.issuer, https = config.tls.is_some(), "listening");

    stop_signal().await;
    tracing::info!(grace_ms = config.shutdown_grace.as_millis() as u64, "stopping: finishing requests in flight");
    let _ = stop_tx.send(true);
    // Long-lived streams may never finish on their own: give them the grace period, no more.
    match tokio::time::timeout(config.shutdown_grace, server).await {
        Ok(Ok(())) => {}
        Ok(Err(join)) => return Err(ServeError::Setup(format!("server task failed: {join}"))),
        Err(_) => tracing::warn!("grace period over; closing the remaining connections"),
    }
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

