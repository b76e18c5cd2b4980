//! One error type for the HTTP edge. Whatever goes wrong inside becomes one of these, and each
//! becomes exactly one response: a status and a JSON body `{"error": code, "message": text}`.
//! Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "something went wrong on our side; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        (status, Json(json!({ "error": code, "message": message }))).into_response()
    }
}

/// Errors raised by the extension carry a SQLSTATE that says whose fault they are: the class
/// decides the variant, the extension's message (written for people) is kept.
impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return Error::Unavailable("the database is unreachable".into());
        };
        let message = db.message().to_string();
        let code = db.code();
        if *code == SqlState::UNDEFINED_OBJECT || *code == SqlState::UNDEFINED_TABLE {
            Error::NotFound(message)
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            Error::Forbidden(message)
        } else if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::OBJECT_IN_USE {
            Error::Conflict(message)
        } else if code.code().starts_with("22") || code.code().starts_with("23") {
            Error::BadRequest(message)
        } else if code.code().starts_with("08") || code.code().starts_with("57") || code.code().starts_with("53") {
            Error::Unavailable("the database is unavailable right now".into())
        } else {
            Error::Internal(format!("{}: {}", code.code(), message))
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => {
                tracing::warn!(error = %other, "no database connection");
                Error::Unavailable("the database is unavailable right now".into())
            }
        }
    }
}
