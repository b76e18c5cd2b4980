//! The plain JSON error of the HTTP edge: a status and a body `{"error": code, "message": text}`,
//! for requests no endpoint takes. (The OAuth endpoints, the pages and the MCP server answer in
//! their own formats: OAuthError, PageError, tool errors.)

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        };
        (status, Json(json!({ "error": code, "message": self.to_string() }))).into_response()
    }
}
