//! Why a call of the extension failed. The extension raises errors with SQLSTATEs that say whose
//! fault they are; they are read here, once, and every edge (tools, OAuth endpoints, pages, the
//! health check) turns the class into its own answer.

use tokio_postgres::error::DbError as Reported;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Something named does not exist, or is not the caller's (42704, 42P01).
    #[error("{0}")]
    NotFound(String),
    /// Refused for security (42501); the hint, when there is one, says what to do.
    #[error("{message}")]
    Forbidden { message: String, hint: Option<String> },
    /// Bad or missing input (22xxx, 23xxx but 23505, 42601).
    #[error("{0}")]
    Invalid(String),
    /// It exists already, or is still in use (23505, 55006).
    #[error("{0}")]
    Conflict(String),
    /// An OAuth error of the extension's OAuth functions (class QO), with its RFC 6749 code. A rate
    /// limit (QO011) says in its DETAIL how many seconds remain.
    #[error("{message}")]
    OAuth { code: &'static str, message: String, retry_after: Option<u64> },
    /// The question guard refused a query (class QG); PostgreSQL's message with its hint.
    #[error("{0}")]
    Refused(String),
    /// The quarry schema or one of its functions does not exist (3F000, 42883): the extension is
    /// not installed, or not in the version this sidecar needs.
    #[error("{0}")]
    Missing(String),
    /// No connection, a connection lost, or a database that cannot work now (08xxx, 53xxx, 57xxx).
    #[error("the database is unavailable right now")]
    Unavailable,
    /// Anything else: a bug on one side or the other. Logged where it is classified; never shown.
    #[error("internal database error: {0}")]
    Internal(String),
}

/// How many seconds a client is told to wait (`Retry-After`) when the database is unavailable:
/// restarting, or every connection busy.
pub const RETRY_AFTER_SECONDS: u64 = 2;

impl DbError {
    /// Classifies an error the database reported, by its SQLSTATE. Pure: callers that keep the
    /// error (see `From<tokio_postgres::Error>`) log what needs logging.
    pub fn classify(reported: &Reported) -> DbError {
        let message = reported.message().to_string();
        let code = reported.code().code();
        match code {
            "42704" | "42P01" => DbError::NotFound(message),
            "42501" => DbError::Forbidden { message, hint: reported.hint().map(str::to_string) },
            "23505" | "55006" => DbError::Conflict(message),
            "3F000" | "42883" => DbError::Missing(message),
            "42601" => DbError::Invalid(message),
            c if c.starts_with("22") || c.starts_with("23") => DbError::Invalid(message),
            c if c.starts_with("QO") => match oauth_code(c) {
                Some(code) => {
                    DbError::OAuth { code, message, retry_after: reported.detail().and_then(|d| d.trim().parse().ok()) }
                }
                None => DbError::Internal(format!("{c}: {message}")),
            },
            c if is_refusal(c) => DbError::Refused(with_hint(reported)),
            c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => DbError::Unavailable,
            c => DbError::Internal(format!("{c}: {message}")),
        }
    }

    /// A JSON answer of the extension that does not have the shape this sidecar reads.
    pub fn unexpected_shape(function: &str, error: &dyn std::fmt::Display) -> DbError {
        tracing::error!(function, %error, "an extension function returned an unexpected shape");
        DbError::Internal(format!("{function} returned an unexpected shape: {error}"))
    }
}

/// The RFC 6749 (and RFC 7591, RFC 8707) error code of a SQLSTATE of class QO.
fn oauth_code(sqlstate: &str) -> Option<&'static str> {
    Some(match sqlstate {
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

/// PostgreSQL's message, and its hint when there is one.
fn with_hint(reported: &Reported) -> String {
    message_with_hint(reported.message(), reported.hint())
}

/// A message with its hint after it, in parentheses, when there is one.
pub(crate) fn message_with_hint(message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("{message} ({hint})"),
        None => message.to_string(),
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(reported) = e.as_db_error() else {
            tracing::warn!(error = %e, "the database could not be reached");
            return DbError::Unavailable;
        };
        let error = DbError::classify(reported);
        if let DbError::Internal(detail) = &error {
            tracing::error!(sqlstate = reported.code().code(), %detail, "database error");
        }
        error
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        DbError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oauth_sqlstate_has_its_own_code() {
        let codes: Vec<&str> = (1..=11).filter_map(|n| oauth_code(&format!("QO{n:03}"))).collect();
        assert_eq!(codes.len(), 10, "QO005 is not used");
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert_eq!(oauth_code("QO011"), Some("too_many_requests"));
        assert_eq!(oauth_code("QO099"), None);
    }
}

/// Whether the database reported an internal or system error (SQLSTATE classes XX and 58): the
/// backend itself may be in a bad state, so its connection is not reused.
pub(crate) fn reports_internal_error(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| is_internal(c.code()))
}

/// Whether a SQLSTATE is one of the question guard's refusals (class QG).
pub(crate) fn is_refusal(sqlstate: &str) -> bool {
    sqlstate.starts_with("QG")
}

/// Whether a SQLSTATE is of class XX (internal error) or 58 (system error).
pub(crate) fn is_internal(sqlstate: &str) -> bool {
    sqlstate.starts_with("XX") || sqlstate.starts_with("58")
}
