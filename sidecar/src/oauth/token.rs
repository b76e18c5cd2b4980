//! The token endpoint (`POST /v1/oauth/token`): the authorization_code and refresh_token grants.
//! Form or JSON bodies. The extension does the checking and rotating; this maps the answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{OAuthError, no_store};
use crate::config::{Config, OAuthConfig};
use crate::db::Db;
use crate::db::oauth::{ClientCredentials, CodeRedemption, TokenAnswer, TokenLifetimes, TokenRefresh};
use crate::form::Params;

pub async fn token(State(db): State<Db>, State(config): State<Arc<Config>>, headers: HeaderMap, body: Body) -> Response {
    match handle(&db, &config.oauth, &headers, body).await {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => {
            tracing::info!(error = e.code, description = %e.description, "token request refused");
            e.into_response()
        }
    }
}

async fn handle(db: &Db, ttl: &OAuthConfig, headers: &HeaderMap, body: Body) -> Result<Value, OAuthError> {
    let p = Params::from_body(headers, body).await?;
    let client = ClientCredentials { client_id: p.get("client_id"), client_secret: p.get("client_secret") };
    let lifetimes = TokenLifetimes { access: ttl.access_ttl, refresh: ttl.refresh_ttl };
    let answer = match p.get("grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => {
            let redemption = CodeRedemption {
                code: p.get("code"),
                client,
                redirect_uri: p.get("redirect_uri"),
                code_verifier: p.get("code_verifier"),
                resource: p.get("resource"),
                lifetimes,
            };
            db.redeem_code(&redemption).await?
        }
        Some("refresh_token") => {
            let refresh = TokenRefresh {
                refresh_token: p.get("refresh_token"),
                client,
                scope: p.get("scope"),
                resource: p.get("resource"),
                lifetimes,
                grace: ttl.refresh_grace,
            };
            db.refresh_tokens(&refresh).await?
        }
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use authorization_code or refresh_token"),
            ));
        }
    };
    match answer {
        TokenAnswer::Granted(tokens) => Ok(tokens),
        TokenAnswer::Refused { error, description } => Err(OAuthError::returned(&error, &description)),
    }
}
