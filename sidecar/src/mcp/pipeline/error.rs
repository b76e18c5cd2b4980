//! Why a question (or SQL to run) could not be answered at all. A question whose SQL fails is
//! not an error: it is an answer with its failed attempts. These are the other endings, each with
//! a message for the person asking; the MCP edge turns them into tool errors.

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The extension refused or failed (the asker may not use the dataset, the conversation is not
    /// theirs, the database is down, …).
    #[error(transparent)]
    Db(#[from] DbError),
    /// The request cannot go on as asked; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The asker has nothing they may ask about.
    #[error("{0}")]
    Forbidden(String),
    /// A model provider failed or is not set up; the message says which and what to do.
    #[error("{0}")]
    Model(String),
}
