//! Quarry's sidecar: a stateless HTTP front end over the `quarry` extension.
//!
//! Every piece of state that matters is a row in PostgreSQL; this process holds a connection
//! pool and its configuration, nothing else, so any number of them can run side by side.

pub mod config;
pub mod db;
pub mod error;
pub mod form;
pub mod health;
pub mod https;
pub mod mcp;
pub mod metrics;
pub mod oauth;
pub mod pages;
pub mod pg_tls;
pub mod serve;
pub mod server;
pub mod session;
pub mod sqlbot;
pub mod state;
pub mod telemetry;
pub mod urls;

/// The extension version this sidecar was built with and expects to find installed.
pub const EXTENSION_VERSION: &str = env!("CARGO_PKG_VERSION");
