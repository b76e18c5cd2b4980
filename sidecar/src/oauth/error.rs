//! OAuth errors (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707), built once and turned into the JSON
//! response every OAuth endpoint answers with: `{"error", "error_description"}`, `no-store`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::DbError;
use crate::form::FormError;

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

    /// An error a token-endpoint function returned (`{"error", "error_description"}`); a code this
    /// server does not know becomes `server_error`.
    pub fn returned(error: &str, description: &str) -> Self {
        let code = KNOWN.iter().find(|k| **k == error).copied().unwrap_or("server_error");
        Self::new(code, description)
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

/// What the extension raised, as an OAuth error: its own OAuth errors as they are (a rate limit
/// with the seconds to wait), bad input as `invalid_request`, and the rest as the server's fault.
impl From<DbError> for OAuthError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::OAuth { code, message, retry_after } => OAuthError { retry_after, ..OAuthError::new(code, message) },
            DbError::Invalid(message) | DbError::Conflict(message) => OAuthError::invalid_request(message),
            DbError::Unavailable => OAuthError {
                retry_after: Some(crate::db::error::RETRY_AFTER_SECONDS),
                ..OAuthError::new("temporarily_unavailable", "the database is unavailable right now; try again in a moment")
            },
            other => {
                tracing::error!(error = %other, "oauth: database error");
                OAuthError::new("server_error", "something went wrong on our side; it has been logged")
            }
        }
    }
}

/// Parameters that could not be read: `request_too_large` (413) or `invalid_request`.
impl From<FormError> for OAuthError {
    fn from(e: FormError) -> Self {
        if e.too_large { OAuthError::new("request_too_large", e.description) } else { OAuthError::invalid_request(e.description) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_parameters_are_oauth_errors() {
        let too_large = OAuthError::from(FormError { description: "too large".into(), too_large: true });
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let invalid = OAuthError::from(FormError { description: "twice".into(), too_large: false });
        assert_eq!((invalid.code, invalid.status()), ("invalid_request", StatusCode::BAD_REQUEST));
    }
}
