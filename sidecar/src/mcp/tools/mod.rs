//! The tools, one module per concern, and what they share: turning errors into tool errors a
//! person can act on, and auditing every call.

pub mod conversations;
pub mod dashboards;
pub mod datasets;
pub mod questions;
pub mod types;
pub mod workspace;

use std::future::Future;
use std::time::Instant;

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde_json::{Value, json};

use super::identity::Identity;
use super::server::QuarryServer;
use crate::db::DbError;
use crate::db::conversations::NewTurn;
use crate::db::mcp::AuditEntry;
use crate::mcp::pipeline::PipelineError;

/// Why a tool could not do what was asked, in words for the person (or model) asking.
#[derive(Debug)]
pub enum ToolError {
    NotFound(String),
    Forbidden(String),
    Invalid(String),
    /// A model provider failed or is not set up; the message says which and what to do.
    Upstream(String),
    Unavailable,
    Internal,
}

impl ToolError {
    pub fn message(&self) -> String {
        match self {
            ToolError::NotFound(m) | ToolError::Forbidden(m) | ToolError::Invalid(m) | ToolError::Upstream(m) => m.clone(),
            ToolError::Unavailable => "Quarry's database is unavailable right now; try again in a moment.".into(),
            ToolError::Internal => "Something went wrong on Quarry's side; it has been logged.".into(),
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            ToolError::Forbidden(_) => "denied",
            _ => "error",
        }
    }
}

/// What the extension raised, in words for the person asking: its own message for what they can
/// act on (with the hint of a refusal), a short sentence for the rest.
impl From<DbError> for ToolError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound(message) => ToolError::NotFound(message),
            DbError::Forbidden { message, hint } => {
                ToolError::Forbidden(format!("{message}.{}", hint.map(|h| format!(" {h}")).unwrap_or_default()))
            }
            DbError::Invalid(message) | DbError::Conflict(message) => ToolError::Invalid(message),
            DbError::Unavailable => ToolError::Unavailable,
            DbError::Internal(_) => ToolError::Internal,
            other => {
                tracing::error!(error = %other, "tool: unexpected database error");
                ToolError::Internal
            }
        }
    }
}

impl From<PipelineError> for ToolError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Db(e) => e.into(),
            PipelineError::Invalid(message) => ToolError::Invalid(message),
            PipelineError::Forbidden(message) => ToolError::Forbidden(message),
            PipelineError::Model(message) => ToolError::Upstream(message),
        }
    }
}

/// A tool's answer: structured content (matching the tool's output schema), a readable text
/// rendering of it, more content (a chart image), and what the audit log should note. An answer
/// can also be a failure that still has something to show (a question whose SQL kept failing).
pub struct Answer {
    pub structured: Value,
    pub text: String,
    pub extra: Vec<ContentBlock>,
    pub failure: Option<String>,
    pub audit: AuditNote,
}

#[derive(Default, Clone)]
pub struct AuditNote {
    pub question: Option<String>,
    pub sql: Option<String>,
    pub row_count: Option<i64>,
}

impl Answer {
    pub fn new<T: Serialize>(value: &T, text: String) -> Result<Answer, ToolError> {
        let structured = serde_json::to_value(value).map_err(|e| {
            tracing::error!(error = %e, "tool output did not serialize");
            ToolError::Internal
        })?;
        Ok(Answer { structured, text, extra: Vec::new(), failure: None, audit: AuditNote::default() })
    }

    pub fn noting(mut self, audit: AuditNote) -> Answer {
        self.audit = audit;
        self
    }

    pub fn with_content(mut self, content: ContentBlock) -> Answer {
        self.extra.push(content);
        self
    }

    /// Marks the answer as a tool error (with this message in the audit log), keeping its content.
    pub fn failed(mut self, message: String) -> Answer {
        self.failure = Some(message);
        self
    }
}

/// Arguments as the audit log keeps them: long strings cut to 500 characters.
fn summarize(arguments: Value) -> Value {
    match arguments {
        Value::String(s) if s.chars().count() > 500 => Value::String(s.chars().take(500).collect::<String>() + "…"),
        Value::Array(items) => Value::Array(items.into_iter().take(50).map(summarize).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, summarize(v))).collect()),
        other => other,
    }
}

/// Runs a tool's work, writes its audit row (who, through which client, what, how long, how it
/// ended), counts it in the metrics, and turns the outcome into the tool result: structured
/// content and text, or a tool error with a message (never internals).
pub async fn run(
    server: &QuarryServer,
    tool: &str,
    identity: &Identity,
    arguments: Value,
    work: impl Future<Output = Result<Answer, ToolError>>,
) -> CallToolResult {
    let started = Instant::now();
    let outcome = work.await;
    let ending = Ending::of(&outcome);
    match record(server, tool, identity, arguments, started, &ending, None).await {
        Ok(_) => result(outcome),
        Err(_) => withheld(tool, identity),
    }
}

/// How a call ended, as its audit row and the metrics tell it.
pub struct Ending {
    /// ok, error or denied.
    pub result: &'static str,
    pub error: Option<String>,
    pub note: AuditNote,
}

impl Ending {
    fn of(outcome: &Result<Answer, ToolError>) -> Ending {
        match outcome {
            Ok(answer) => Ending::answered(answer.failure.clone(), answer.audit.clone()),
            Err(e) => Ending::failed(e),
        }
    }

    /// An answer, or (with `failure`) an answer that is a tool error with something to show.
    pub fn answered(failure: Option<String>, note: AuditNote) -> Ending {
        Ending { result: if failure.is_some() { "error" } else { "ok" }, error: failure, note }
    }

    pub fn failed(e: &ToolError) -> Ending {
        Ending { result: e.outcome(), error: Some(e.message()), note: AuditNote::default() }
    }
}

/// Why a call could not be recorded.
pub enum Unrecorded {
    /// The turn was refused (a conversation deleted meanwhile, say): nothing was written.
    Turn(ToolError),
    /// The database did not take the audit row.
    Audit,
}

/// Writes the call's audit row and, in the same transaction, the conversation turn it produced
/// (returning the turn's conversation); counts the call in the metrics and logs it.
pub async fn record(
    server: &QuarryServer,
    tool: &str,
    identity: &Identity,
    arguments: Value,
    started: Instant,
    ending: &Ending,
    turn: Option<&NewTurn>,
) -> Result<Option<i64>, Unrecorded> {
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let arguments = summarize(arguments);
    let entry = AuditEntry {
        account_id: identity.account_id,
        client_id: &identity.client_id,
        tool,
        arguments: &arguments,
        outcome: ending.result,
        duration_ms,
        error: ending.error.as_deref(),
        question: ending.note.question.as_deref(),
        sql: ending.note.sql.as_deref(),
        row_count: ending.note.row_count,
    };
    let saving = Instant::now();
    let recorded = server.db.record_call(&entry, turn).await;
    if turn.is_some() {
        server.metrics.step("save", saving);
    }
    match recorded {
        Ok(conversation) => {
            server.metrics.tool_call(tool, ending.result, elapsed);
            tracing::info!(tool, account_id = identity.account_id, outcome = ending.result, duration_ms, "tool call");
            Ok(conversation)
        }
        Err(e) if turn.is_some() && !matches!(e, DbError::Unavailable | DbError::Internal(_)) => Err(Unrecorded::Turn(e.into())),
        Err(e) => {
            tracing::error!(tool, account_id = identity.account_id, error = %e, "could not write the audit row");
            Err(Unrecorded::Audit)
        }
    }
}

/// Fail closed: no call is answered without its audit row. (What a writing tool changed stays
/// changed; the message says so, and the client may look before trying again.)
pub fn withheld(tool: &str, identity: &Identity) -> CallToolResult {
    tracing::error!(tool, account_id = identity.account_id, "the answer is withheld: no audit row");
    CallToolResult::error(vec![ContentBlock::text(
        "Quarry could not record this call in its audit log, so its answer is withheld. The database may be \
         restarting: try again in a moment (a change this call made may already be saved).",
    )])
}

/// The tool result of an outcome: structured content and text (a tool error when the answer is a
/// failure with something to show), or a tool error with its message.
pub fn result(outcome: Result<Answer, ToolError>) -> CallToolResult {
    match outcome {
        Ok(answer) => {
            // Not CallToolResult::structured, which would also print the structure as text
            // content, only for that text to be replaced by ours.
            let content = std::iter::once(ContentBlock::text(answer.text)).chain(answer.extra).collect();
            let mut result = if answer.failure.is_some() { CallToolResult::error(content) } else { CallToolResult::success(content) };
            result.structured_content = Some(answer.structured);
            result
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.message())]),
    }
}

/// Validates a page size argument against a maximum.
pub fn page_size(value: Option<i64>, default: i64, max: i64) -> Result<i32, ToolError> {
    let n = value.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(ToolError::Invalid(format!("page_size must be between 1 and {max}, not {n}")));
    }
    Ok(n as i32)
}

pub fn page_offset(value: Option<i64>) -> Result<i32, ToolError> {
    let n = value.unwrap_or(0);
    if !(0..=1_000_000).contains(&n) {
        return Err(ToolError::Invalid(format!("page_offset must be between 0 and 1000000, not {n}")));
    }
    Ok(n as i32)
}

/// `{"key": value}` for the audit log's argument summary.
pub fn args<T: Serialize>(arguments: &T) -> Value {
    serde_json::to_value(arguments).unwrap_or_else(|_| json!({}))
}
