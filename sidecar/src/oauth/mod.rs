//! The OAuth 2.1 authorization server, one module per endpoint. Every state change is a call of
//! the extension's functions; these handlers parse, validate the request's shape, and map the
//! answers to HTTP.

pub mod authorize;
pub mod client_metadata;
pub mod error;
pub mod metadata;
pub mod params;
pub mod register;
pub mod revoke;
pub mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::server::AppState;

pub fn router() -> Router<AppState> {
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
