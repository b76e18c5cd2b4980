//! Token revocation (RFC 7009) at `POST /v1/oauth/revoke`: 200 with an empty body for any token
//! the client may revoke, known or not.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{OAuthError, no_store};
use crate::db::Db;
use crate::db::oauth::{ClientCredentials, TokenAnswer};
use crate::form::Params;

pub async fn revoke(State(db): State<Db>, headers: HeaderMap, body: Body) -> Response {
    match handle(&db, &headers, body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn handle(db: &Db, headers: &HeaderMap, body: Body) -> Result<(), OAuthError> {
    let p = Params::from_body(headers, body).await?;
    let Some(token) = p.get("token") else {
        return Err(OAuthError::invalid_request("token is required"));
    };
    let client = ClientCredentials { client_id: p.get("client_id"), client_secret: p.get("client_secret") };
    match db.revoke_token(token, &client).await? {
        TokenAnswer::Granted(_) => Ok(()),
        TokenAnswer::Refused { error, description } => Err(OAuthError::returned(&error, &description)),
    }
}
