//! The token endpoint (`POST /v1/oauth/token`): the authorization_code and refresh_token grants.
//! Form or JSON bodies. The extension does the checking and rotating; this maps the answer.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{OAuthError, no_store};
use super::params::Params;
use super::secs;
use crate::server::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, &headers, body).await {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => {
            tracing::info!(error = e.code, description = %e.description, "token request refused");
            e.into_response()
        }
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Value, OAuthError> {
    let p = Params::from_body(headers, body).await?;
    let ttl = &state.config.oauth;
    let client = state.pool.get().await?;
    let answer: Value = match p.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => {
            let row = client
                .query_one(
                    "SELECT quarry.redeem_code($1, $2, $3, $4, $5, $6, make_interval(secs => $7), make_interval(secs => $8))",
                    &[
                        &p.get("code"),
                        &p.get("client_id"),
                        &p.get("client_secret"),
                        &p.get("redirect_uri"),
                        &p.get("code_verifier"),
                        &p.get("resource"),
                        &secs(ttl.access_ttl),
                        &secs(ttl.refresh_ttl),
                    ],
                )
                .await?;
            row.get(0)
        }
        Some("refresh_token") => {
            let row = client
                .query_one(
                    "SELECT quarry.refresh_tokens($1, $2, $3, $4, $5, make_interval(secs => $6),
                                                  make_interval(secs => $7), make_interval(secs => $8))",
                    &[
                        &p.get("refresh_token"),
                        &p.get("client_id"),
                        &p.get("client_secret"),
                        &p.get("scope"),
                        &p.get("resource"),
                        &secs(ttl.access_ttl),
                        &secs(ttl.refresh_ttl),
                        &secs(ttl.refresh_grace),
                    ],
                )
                .await?;
            row.get(0)
        }
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use authorization_code or refresh_token"),
            ));
        }
    };
    match OAuthError::from_json(&answer) {
        Some(error) => Err(error),
        None => Ok(answer),
    }
}
