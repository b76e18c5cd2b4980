//! Why an operation of the front did not answer, typed, and mapped once to what SQLBot answers for
//! the same trouble: FastAPI's `{"detail": …}` with its status for a request that cannot be served
//! (403 "Could not validate credentials" for any token problem, after which SQLBot's clients call
//! `mcp_start` again; 400 "Incorrect account or password"; 422 with one entry per bad field), and
//! SQLBot's `{"success": false, "message": …}` for a question that was taken but not answered.
//! Unlike SQLBot, a question's failure is never a 500: it is the asker's input or data (4xx), a
//! model provider (502) or the database being away (503). Only a bug is a 500, and says nothing.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::db::DbError;
use crate::mcp::pipeline::PipelineError;

/// SQLBot's answer to any token it cannot use.
pub const CREDENTIALS: &str = "Could not validate credentials";

#[derive(Debug)]
pub enum Failure {
    /// Input that cannot be read: FastAPI's 422, one `{type, loc, msg}` per problem.
    Validation(Vec<Value>),
    /// A token that is missing, unknown, expired or revoked, not the front's, or an assistant's
    /// URL or secret that does not match: 403.
    Credentials,
    /// A token without the scope an operation needs (the DBA narrowed the front's scopes): 403.
    Scope { operation: &'static str, scope: &'static str },
    /// A wrong user name or password: 400.
    Password,
    /// Too many failed sign-ins (or assistant secrets) for the account or from the address: 429,
    /// with the seconds to wait.
    Throttled(Option<i64>),
    /// Any other request that cannot be served, in FastAPI's shape: 400 (no workspace, not in the
    /// workspace, an invalid datasource id), 404 (an unknown chat), 403 (the front turned off).
    Detail(StatusCode, String),
    /// A question that was taken and not answered: `{"success": false, "message", …}` with what
    /// there is to show (the chat, the SQL tried, suggestions).
    Question { status: StatusCode, body: Map<String, Value> },
    /// The database is unavailable: 503.
    Unavailable,
    /// A bug, logged where it happened: 500, with nothing of it shown.
    Internal,
}

impl Failure {
    pub fn detail(status: StatusCode, message: &str) -> Failure {
        Failure::Detail(status, message.to_string())
    }

    /// A question's failure with only a message.
    pub fn question(status: StatusCode, message: String) -> Failure {
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(false));
        body.insert("message".into(), Value::String(message));
        Failure::Question { status, body }
    }

    /// The HTTP status and the body.
    pub fn answer(&self) -> (StatusCode, Value) {
        match self {
            Failure::Validation(problems) => (StatusCode::UNPROCESSABLE_ENTITY, json!({ "detail": problems })),
            Failure::Credentials => (StatusCode::FORBIDDEN, json!({ "detail": CREDENTIALS })),
            Failure::Scope { operation, scope } => (
                StatusCode::FORBIDDEN,
                json!({ "detail": format!("This token may not call {operation}: it needs the {scope} scope, which this server's administrator does not allow the SQLBot-compatible front") }),
            ),
            Failure::Password => (StatusCode::BAD_REQUEST, json!({ "detail": "Incorrect account or password" })),
            Failure::Throttled(retry_after) => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "detail": match retry_after {
                    Some(s) => format!("Too many failed attempts; try again in {s} seconds"),
                    None => "Too many failed attempts; try again later".to_string(),
                } }),
            ),
            Failure::Detail(status, message) => (*status, json!({ "detail": message })),
            Failure::Question { status, body } => (*status, Value::Object(body.clone())),
            Failure::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "detail": "Quarry's database is unavailable right now; try again in a moment" }),
            ),
            Failure::Internal => (StatusCode::INTERNAL_SERVER_ERROR, json!({ "detail": "Something went wrong on Quarry's side; it has been logged" })),
        }
    }

    /// Seconds a client should wait before trying again, when it should.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Failure::Throttled(seconds) => *seconds,
            _ => None,
        }
    }

    /// How the audit log records it: denied for what the caller may not do, error for the rest.
    pub fn outcome(&self) -> &'static str {
        match self {
            Failure::Credentials | Failure::Scope { .. } | Failure::Password | Failure::Throttled(_) => "denied",
            _ => "error",
        }
    }

    /// The message, for the audit log.
    pub fn message(&self) -> String {
        let (_, body) = self.answer();
        match (&body["message"], &body["detail"]) {
            (Value::String(m), _) | (_, Value::String(m)) => m.clone(),
            (_, detail) => detail.to_string(),
        }
    }
}

/// The extension's errors outside a question: what the caller can act on keeps its message.
impl From<DbError> for Failure {
    fn from(e: DbError) -> Failure {
        match e {
            DbError::NotFound(m) => Failure::Detail(StatusCode::NOT_FOUND, m),
            DbError::Invalid(m) | DbError::Conflict(m) => Failure::Detail(StatusCode::BAD_REQUEST, m),
            // Not 403: SQLBot's clients take a 403 to mean "sign in again", which would not help.
            DbError::Forbidden { message, hint } => {
                Failure::Detail(StatusCode::BAD_REQUEST, format!("{message}{}", hint.map(|h| format!(". {h}")).unwrap_or_default()))
            }
            DbError::Unavailable => Failure::Unavailable,
            other => {
                tracing::error!(error = %other, "SQLBot-compatible front: unexpected database error");
                Failure::Internal
            }
        }
    }
}

/// A question the pipeline could not take, in SQLBot's `{"success": false, "message"}` shape.
impl From<PipelineError> for Failure {
    fn from(e: PipelineError) -> Failure {
        let (status, message) = match e {
            PipelineError::Db(DbError::NotFound(m)) => (StatusCode::NOT_FOUND, m),
            PipelineError::Db(DbError::Invalid(m) | DbError::Conflict(m)) | PipelineError::Invalid(m) => (StatusCode::BAD_REQUEST, m),
            PipelineError::Db(DbError::Forbidden { message, hint }) => {
                (StatusCode::BAD_REQUEST, format!("{message}{}", hint.map(|h| format!(". {h}")).unwrap_or_default()))
            }
            PipelineError::Forbidden(m) => (StatusCode::BAD_REQUEST, m),
            PipelineError::Model(m) => (StatusCode::BAD_GATEWAY, m),
            PipelineError::Db(DbError::Unavailable) => return Failure::Unavailable,
            PipelineError::Db(other) => {
                tracing::error!(error = %other, "SQLBot-compatible front: unexpected database error in a question");
                return Failure::Internal;
            }
        };
        Failure::question(status, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_problems_are_sqlbots_403() {
        let (status, body) = Failure::Credentials.answer();
        assert_eq!(status, 403);
        assert_eq!(body, json!({ "detail": "Could not validate credentials" }));
        let (status, body) = Failure::Password.answer();
        assert_eq!(status, 400);
        assert_eq!(body["detail"], "Incorrect account or password");
    }

    #[test]
    fn a_refused_question_is_never_a_403_nor_a_500() {
        let refused: Failure = PipelineError::Forbidden("no role".into()).into();
        let (status, body) = refused.answer();
        assert_eq!(status, 400);
        assert_eq!(body, json!({ "success": false, "message": "no role" }));
        let unknown: Failure = PipelineError::Db(DbError::NotFound("dataset 9 does not exist".into())).into();
        assert_eq!(unknown.answer().0, 404);
        let model: Failure = PipelineError::Model("timeout".into()).into();
        assert_eq!(model.answer().0, 502);
    }

    #[test]
    fn throttling_says_when_to_come_back() {
        let f = Failure::Throttled(Some(840));
        assert_eq!(f.answer().0, 429);
        assert_eq!(f.retry_after(), Some(840));
        assert!(f.message().contains("840"));
        assert_eq!(f.outcome(), "denied");
    }
}
