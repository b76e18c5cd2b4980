//! The OAuth 2.1 authorization server, one module per endpoint. Every state change is a call of
//! the extension's functions; these handlers parse, validate the request's shape, and map the
//! answers to HTTP.

pub mod authorize;
pub mod client_metadata;
pub mod error;
pub mod metadata;
pub mod register;
pub mod revoke;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::config::Config;
use crate::db::Db;
use crate::pages::Site;
use crate::urls::PublicUrls;

/// The OAuth endpoints, for any server state that can hand each what it needs.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: FromRef<S>,
    Site: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<PublicUrls>: FromRef<S>,
    client_metadata::MetadataFetcher: FromRef<S>,
{
    Router::new()
        .route("/.well-known/oauth-protected-resource", get(metadata::protected_resource))
        .route("/.well-known/oauth-protected-resource/{*path}", get(metadata::protected_resource))
        .route("/.well-known/oauth-authorization-server", get(metadata::authorization_server))
        .route("/.well-known/oauth-authorization-server/{*path}", get(metadata::authorization_server))
        .route("/v1/oauth/register", post(register::register))
        .route("/v1/oauth/token", post(token::token))
        .route("/v1/oauth/revoke", post(revoke::revoke))
        .route("/oauth/authorize", get(authorize::show).post(authorize::submit))
}
