//! Dynamic Client Registration (RFC 7591) at `POST /v1/oauth/register`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::{OAuthError, no_store};
use super::params::MAX_BODY;
use crate::server::AppState;
use crate::session::ClientIp;

/// Descriptive metadata kept as the client gave it (and shown back in the response).
const DESCRIPTIVE: &[&str] = &["client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id", "software_version"];

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::new("invalid_client_metadata", description)
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>, OAuthError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

fn optional_strings(object: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, OAuthError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| metadata_error(format!("{name} must be an array of strings"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!("{name} must be an array of strings"))),
    }
}

pub async fn register(State(state): State<AppState>, ClientIp(ip): ClientIp, headers: HeaderMap, body: Body) -> Response {
    match handle(&state, ip, &headers, body).await {
        Ok(registered) => no_store((StatusCode::CREATED, Json(registered)).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, ip: Option<std::net::IpAddr>, headers: &HeaderMap, body: Body) -> Result<Value, OAuthError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(metadata_error("send the client metadata as application/json"));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| OAuthError::new("request_too_large", "the request body is too large"))?;
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(metadata_error("the body must be a JSON object"));
    };

    let redirect_uris = match object.get("redirect_uris") {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>()
        }
        Some(_) => return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris must be an array of strings")),
        None => return Err(OAuthError::new("invalid_redirect_uri", "redirect_uris is required")),
    };
    if let Some(types) = optional_strings(&object, "response_types")?
        && types.iter().any(|t| t != "code") {
            return Err(metadata_error("response_types may only contain code"));
        }
    let mut descriptive = Map::new();
    for name in DESCRIPTIVE {
        if let Some(value) = optional_string(&object, name)? {
            descriptive.insert(name.to_string(), Value::String(value));
        }
    }
    if let Some(contacts) = optional_strings(&object, "contacts")? {
        descriptive.insert("contacts".into(), contacts.into());
    }

    let client = state.pool.get().await?;
    let row = client
        .query_one(
            "SELECT quarry.register_client($1, $2, $3, $4, $5, $6, 'dynamic', $7, $8)",
            &[
                &optional_string(&object, "client_name")?,
                &redirect_uris,
                &optional_string(&object, "token_endpoint_auth_method")?,
                &optional_strings(&object, "grant_types")?,
                &optional_string(&object, "scope")?,
                &Value::Object(descriptive),
                &ip,
                &state.config.oauth.registrations_per_hour,
            ],
        )
        .await?;
    let registered: Value = row.get(0);
    tracing::info!(client_id = registered["client_id"].as_str().unwrap_or_default(), "client registered");
    Ok(registered)
}
