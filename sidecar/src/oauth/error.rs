//! OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707), built once and turned into the JSON
//! response every OAuth endpoint answers with: `{"error", "error_description"}`, `no-store`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    /// For `too_many_requests`: seconds until the client may try again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError { code, description: description.into(), retry_after: None }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "request_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_requests" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error code of a SQLSTATE raised by the extension's OAuth functions (class QO).
    pub fn code_for_sqlstate(state: &str) -> Option<&'static str> {
        Some(match state {
            "QO001" => "invalid_request",
            "QO002" => "invalid_client",
            "QO003" => "invalid_grant",
            "QO004" => "unauthorized_client",
            "QO006" => "invalid_scope",
            "QO007" => "invalid_target",
            "QO008" => "invalid_redirect_uri",
            "QO009" => "invalid_client_metadata",
            "QO010" => "access_denied",
            "QO011" => "too_many_requests",
            _ => return None,
        })
    }

    /// The error a token-endpoint function returned as JSON (`{"error", "error_description"}`).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let code = value.get("error")?.as_str()?;
        let code = KNOWN.iter().find(|k| **k == code).copied().unwrap_or("server_error");
        let description = value.get("error_description").and_then(|d| d.as_str()).unwrap_or_default();
        Some(Self::new(code, description))
    }
}

const KNOWN: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "access_denied",
];

impl From<tokio_postgres::Error> for OAuthError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => match Self::code_for_sqlstate(db.code().code()) {
                // A rate limit says in its detail how many seconds remain.
                Some(code) => OAuthError {
                    retry_after: db.detail().and_then(|d| d.trim().parse().ok()),
                    ..OAuthError::new(code, db.message())
                },
                None if db.code().code().starts_with("22") || db.code().code().starts_with("23") => {
                    OAuthError::invalid_request(db.message())
                }
                None => {
                    tracing::error!(sqlstate = db.code().code(), message = db.message(), "oauth: database error");
                    OAuthError::new("server_error", "something went wrong on our side; it has been logged")
                }
            },
            None => {
                tracing::warn!(error = %e, "oauth: database unreachable");
                OAuthError::new("temporarily_unavailable", "the database is unavailable right now")
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for OAuthError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => {
                tracing::warn!(error = %other, "oauth: no database connection");
                OAuthError::new("temporarily_unavailable", "the database is unavailable right now")
            }
        }
    }
}

/// Responses of the token, revocation and registration endpoints must not be cached (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let code = if self.code == "request_too_large" { "invalid_request" } else { self.code };
        let mut response = no_store((self.status(), Json(json!({ "error": code, "error_description": self.description }))).into_response());
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
