//! Token revocation (RFC 7009) at `POST /v1/oauth/revoke`: 200 with an empty body for any token
//! the client may revoke, known or not.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{OAuthError, no_store};
use super::params::Params;
use crate::server::AppState;

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, &headers, body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<(), OAuthError> {
    let p = Params::from_body(headers, body).await?;
    let Some(token) = p.get("token") else {
        return Err(OAuthError::invalid_request("token is required"));
    };
    let client = state.pool.get().await?;
    let row = client
        .query_one("SELECT quarry.revoke_token($1, $2, $3)", &[&token, &p.get("client_id"), &p.get("client_secret")])
        .await?;
    let answer: Value = row.get(0);
    match OAuthError::from_json(&answer) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
