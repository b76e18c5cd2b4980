//! What the server shares with every request: the configuration, the extension's client, the
//! public URLs, the metadata fetcher and the question pipeline. Cheap to clone; it holds no state
//! that matters beyond connection pools.
//!
//! Handlers never see all of it: each takes the parts it needs (`State<Db>`, `State<Site>`, …),
//! which the `FromRef` implementations below cut out of it. So the edges (OAuth, pages, MCP,
//! health) depend on those parts, and only this module and the server know the whole.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::config::Config;
use crate::db::Db;
use crate::db::questions::Executor;
use crate::mcp::pipeline::Pipeline;
use crate::metrics::{Metrics, Scrape};
use crate::oauth::client_metadata::MetadataFetcher;
use crate::pages::Site;
use crate::urls::PublicUrls;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The extension's service API.
    pub db: Db,
    /// Where clients reach this server (see [`Config::public_url_for`]), and every URL derived.
    pub urls: Arc<PublicUrls>,
    /// Fetches Client ID Metadata Documents (public addresses only).
    pub metadata_fetcher: MetadataFetcher,
    /// Answers questions (see [`crate::mcp::pipeline`]).
    pub pipeline: Pipeline,
    /// What is counted and timed (see [`crate::metrics`]).
    pub metrics: Metrics,
}

impl AppState {
    /// The state of a server bound to `local`, over these connection pools, recording into
    /// `metrics`.
    pub fn new(config: Config, db: Db, executor: Executor, local: SocketAddr, metrics: Metrics) -> Result<AppState, String> {
        Ok(AppState {
            urls: Arc::new(PublicUrls::new(&config.public_url_for(local))),
            metadata_fetcher: MetadataFetcher::new(config.oauth.client_metadata_allow_private),
            pipeline: Pipeline::new(db.clone(), executor, config.questions.clone(), metrics.clone())?,
            metrics,
            db,
            config: Arc::new(config),
        })
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Arc<Config> {
        state.config.clone()
    }
}

impl FromRef<AppState> for Arc<PublicUrls> {
    fn from_ref(state: &AppState) -> Arc<PublicUrls> {
        state.urls.clone()
    }
}

impl FromRef<AppState> for MetadataFetcher {
    fn from_ref(state: &AppState) -> MetadataFetcher {
        state.metadata_fetcher.clone()
    }
}

impl FromRef<AppState> for Scrape {
    fn from_ref(state: &AppState) -> Scrape {
        Scrape { metrics: state.metrics.clone(), token: state.config.metrics.token.as_deref().map(Arc::from) }
    }
}

impl FromRef<AppState> for Site {
    fn from_ref(state: &AppState) -> Site {
        Site { db: state.db.clone(), urls: state.urls.clone(), config: state.config.clone() }
    }
}
