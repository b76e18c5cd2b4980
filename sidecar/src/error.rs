//! The plain JSON error of the HTTP edge: a status and a body `{"error": code, "message": text}`,
//! for requests no endpoint takes, and for `/metrics`. (The OAuth endpoints, the pages and the MCP server answer in
//! their own formats: OAuthError, PageError, tool errors.)

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    /// A bearer token was needed and not presented (or not the right one): 401 with a
    /// `WWW-Authenticate` challenge.
    #[error("{0}")]
    Unauthorized(String),
    /// Something on this side failed; the message is for the log, the caller sees only the code.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                let body = json!({ "error": "internal", "message": "something went wrong on Quarry's side; it has been logged" });
                return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
            }
        };
        let mut response = (status, Json(json!({ "error": code, "message": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
