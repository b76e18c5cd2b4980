//! Questions: `run_query` (the whole pipeline: dataset, schema, SQL, guarded run, chart, analysis)
//! and `run_sql` (SQL the caller's own model wrote, through the same check, executor, caps,
//! conversation blocks and audit). Progress notifications go to clients that sent a token.

use std::time::Instant;

use base64::Engine;
use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Answer as ToolAnswer, AuditNote, Ending, ToolError, Unrecorded, args, record, result, withheld};
use crate::mcp::identity::Identity;
use crate::mcp::pipeline::analysis::{format_value, markdown_table};
use crate::mcp::pipeline::dataset::Choice;
use crate::mcp::pipeline::i18n::{Lang, t};
use crate::mcp::pipeline::providers::Message;
use crate::mcp::pipeline::providers::sampling::Sampler;
use crate::mcp::pipeline::{self, Answer, Ask, Caller, Finished, Outcome, RunSql, Status};
use crate::mcp::server::QuarryServer;

/// Longest question accepted, in characters.
const MAX_QUESTION: usize = 2000;
/// Longest SQL accepted, in bytes.
const MAX_SQL: usize = 100_000;
/// Rows of a result shown in the text rendering (all of them are in the structured content).
const TEXT_ROWS: usize = 20;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunQueryArgs {
    /// The question, in plain language (1 to 2000 characters).
    pub question: String,
    /// The dataset to ask (from list_datasets). When absent: the conversation's, your only one,
    /// or the one that best matches the question.
    #[serde(default)]
    pub dataset_id: Option<i64>,
    /// Continue this conversation (from an earlier answer): a follow-up sees its earlier
    /// questions and SQL.
    #[serde(default)]
    pub conversation_id: Option<i64>,
    /// The language of messages, labels, the interpretation and the analysis: en, zh-CN, zh-TW
    /// or ko-KR. When absent, the question's own language (Chinese or Korean), else en.
    #[serde(default)]
    pub lang: Option<Lang>,
    /// Also return the chart as a PNG image (default false).
    #[serde(default)]
    pub return_image: Option<bool>,
    /// Most rows to return, up to the dataset's row limit (which is the default).
    #[serde(default)]
    pub max_rows: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSqlArgs {
    /// One read-only PostgreSQL query (SELECT, or WITH … SELECT). It runs under your own
    /// database role, in a read-only transaction, with the dataset's timeout and row cap.
    pub sql: String,
    /// What the query answers, for the conversation (its first line by default).
    #[serde(default)]
    pub question: Option<String>,
    /// The dataset whose schemas unqualified names resolve in (from list_datasets). When absent:
    /// the conversation's, your only one, or the one whose tables the SQL names.
    #[serde(default)]
    pub dataset_id: Option<i64>,
    /// Add to this conversation. Without it, the run_sql calls of one MCP session go to one
    /// conversation per dataset (started by the first).
    #[serde(default)]
    pub conversation_id: Option<i64>,
    /// The language of messages, labels and the analysis: en (default), zh-CN, zh-TW or ko-KR.
    #[serde(default)]
    pub lang: Option<Lang>,
    /// Also return the chart as a PNG image (default false).
    #[serde(default)]
    pub return_image: Option<bool>,
    /// Most rows to return, up to the dataset's row limit (which is the default).
    #[serde(default)]
    pub max_rows: Option<i64>,
}

/// The MCP client behind a tool call: progress notifications when its request carried a progress
/// token, and its own model when it declared the sampling capability.
pub(crate) struct McpCaller {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    samples: bool,
}

impl McpCaller {
    pub(crate) fn new(context: &RequestContext<RoleServer>) -> McpCaller {
        let samples = context.peer.peer_info().is_some_and(|info| info.capabilities.sampling.is_some());
        McpCaller { peer: context.peer.clone(), token: context.meta.get_progress_token(), samples }
    }
}

#[async_trait::async_trait]
impl Caller for McpCaller {
    fn sampler(&self) -> Option<&dyn Sampler> {
        self.samples.then_some(self as &dyn Sampler)
    }

    async fn report(&self, step: u32, total: u32, message: String) {
        if let Some(token) = &self.token {
            let param = ProgressNotificationParam::new(token.clone(), f64::from(step)).with_total(f64::from(total)).with_message(message);
            if let Err(e) = self.peer.notify_progress(param).await {
                tracing::debug!(error = %e, "a progress notification was not delivered");
            }
        }
    }
}

#[async_trait::async_trait]
impl Sampler for McpCaller {
    /// Asks the client for a completion (`sampling/createMessage`) on the stream of the tool call
    /// that needs it, and reads the text of its reply.
    #[allow(deprecated)]
    async fn sample(&self, system: &str, messages: &[Message], max_tokens: u32, hint: Option<&str>) -> Result<String, String> {
        use rmcp::model::{CreateMessageRequestParams, ModelHint, ModelPreferences, Role, SamplingMessage, SamplingMessageContentBlock};
        let messages = messages
            .iter()
            .map(|m| match m.role {
                pipeline::providers::Role::User => SamplingMessage::user_text(m.content.clone()),
                pipeline::providers::Role::Assistant => SamplingMessage::assistant_text(m.content.clone()),
            })
            .collect();
        let mut params = CreateMessageRequestParams::new(messages, max_tokens).with_system_prompt(system);
        if let Some(hint) = hint {
            params = params.with_model_preferences(ModelPreferences::new().with_hints(vec![ModelHint::new(hint)]));
        }
        let result = self.peer.create_message(params).await.map_err(|e| format!("the client's model did not answer ({e})"))?;
        if result.message.role != Role::Assistant {
            return Err("the client's reply was not the assistant's".into());
        }
        let text: String = result
            .message
            .content
            .into_vec()
            .into_iter()
            .filter_map(|block| match block {
                SamplingMessageContentBlock::Text(t) => Some(t.text),
                _ => None,
            })
            .collect();
        Ok(text)
    }
}

fn check_rows(max_rows: Option<i64>) -> Result<(), ToolError> {
    match max_rows {
        Some(n) if !(1..=100_000).contains(&n) => Err(ToolError::Invalid(format!("max_rows must be between 1 and 100000, not {n}"))),
        _ => Ok(()),
    }
}

/// A cell for the text rendering: formatted, one line, at most 60 characters.
fn cell(v: &serde_json::Value) -> String {
    let text = format_value(v).replace(['\n', '|'], " ");
    if text.chars().count() > 60 { text.chars().take(59).collect::<String>() + "…" } else { text }
}

/// The answer as text for the model or person reading it.
fn answer_text(a: &Answer) -> String {
    let mut out = String::new();
    let chosen = match a.dataset_choice {
        Choice::Given => "as asked",
        Choice::Conversation => "the conversation's",
        Choice::Only => "your only dataset",
        Choice::Matched => "chosen as the best match for the question",
    };
    out.push_str(&format!("Dataset: {} (dataset {}, {chosen}). Conversation {}.\n", a.dataset.name, a.dataset.id, a.conversation_id));
    match a.status {
        Status::NotConfident => {
            out.push_str(&a.analysis);
            for s in &a.suggestions {
                out.push_str(&format!("\n- {s}"));
            }
            return out;
        }
        Status::Failed => {
            for (i, attempt) in a.attempts.iter().enumerate() {
                out.push_str(&format!(
                    "Attempt {}:\n```sql\n{}\n```\nfailed ({}): {}\n",
                    i + 1,
                    attempt.sql,
                    attempt.stage.as_deref().unwrap_or("run"),
                    attempt.error.as_deref().unwrap_or_default()
                ));
            }
            return out.trim_end().to_string();
        }
        Status::Answered => {}
    }
    // What the question was taken to mean comes before any number, so a misreading shows first.
    if let Some(interpretation) = &a.interpretation {
        out.push_str(&format!("{}:\n{interpretation}\n", t(a.lang, "interpretation", &[])));
    }
    if let Some(sql) = &a.sql {
        out.push_str(&format!("```sql\n{sql}\n```\n"));
    }
    if let Some(r) = &a.result {
        let chart = a.chart.as_ref().and_then(|c| serde_json::to_value(c.kind).ok());
        out.push_str(&format!(
            "{} row{}{}{}\n",
            r.row_count,
            if r.row_count == 1 { "" } else { "s" },
            if r.truncated { format!(" (truncated by the {} cap; more exist)", r.truncated_by.as_deref().unwrap_or("row")) } else { String::new() },
            chart.and_then(|c| c.as_str().map(|c| format!("; chart: {c}"))).unwrap_or_default()
        ));
        if !r.columns.is_empty() {
            let header: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
            out.push_str(&markdown_table(&header, &r.rows, TEXT_ROWS, cell));
            if r.rows.len() > TEXT_ROWS {
                out.push_str(&format!("… {} more rows in the structured result.\n", r.rows.len() - TEXT_ROWS));
            }
        }
    }
    out.push_str(&a.analysis);
    out
}

/// What the audit row notes of an outcome, and the failure message when every attempt failed
/// (the answer is then a tool error, with what there is to show).
fn ending(outcome: &Outcome) -> Ending {
    let answer = &outcome.answer;
    let note = AuditNote {
        question: Some(answer.question.clone()),
        sql: answer.sql.clone().or_else(|| answer.attempts.last().map(|a| a.sql.clone())),
        row_count: answer.result.as_ref().map(|r| r.row_count),
    };
    let failure = (answer.status == Status::Failed)
        .then(|| format!("The SQL did not run: {}", answer.attempts.last().and_then(|a| a.error.clone()).unwrap_or_default()));
    Ending::answered(failure, note)
}

/// Turns the pipeline's outcome into the tool's answer: structured content, text, the image, and
/// a tool error when every attempt failed.
fn respond(outcome: Outcome, ending: Ending) -> Result<ToolAnswer, ToolError> {
    let Outcome { answer, image } = outcome;
    let mut reply = ToolAnswer::new(&answer, answer_text(&answer))?.noting(ending.note);
    if let Some(png) = image {
        reply = reply.with_content(ContentBlock::image(base64::engine::general_purpose::STANDARD.encode(png), "image/png"));
    }
    if let Some(message) = ending.error {
        reply = reply.failed(message);
    }
    Ok(reply)
}

/// Records a question tool's call: its audit row and the turn the pipeline left, in one
/// transaction; then the answer, which names the turn's conversation. A turn the extension
/// refuses leaves the call a failure, recorded on its own.
async fn conclude(
    server: &QuarryServer,
    tool: &str,
    identity: &Identity,
    arguments: serde_json::Value,
    started: Instant,
    finished: Result<Finished, ToolError>,
) -> CallToolResult {
    let (outcome, turn) = match finished {
        Ok(Finished { outcome, turn }) => (outcome.map_err(ToolError::from), turn),
        Err(e) => (Err(e), None),
    };
    let ended = match &outcome {
        Ok(outcome) => ending(outcome),
        Err(e) => Ending::failed(e),
    };
    match record(server, tool, identity, arguments.clone(), started, &ended, turn.as_ref()).await {
        Ok(conversation) => result(outcome.and_then(|mut outcome| {
            outcome.answer.conversation_id = conversation.unwrap_or_default();
            respond(outcome, ended)
        })),
        Err(Unrecorded::Turn(refused)) => {
            let failure = ToolError::Invalid(format!("The answer could not be saved in its conversation: {}", refused.message()));
            match record(server, tool, identity, arguments, started, &Ending::failed(&failure), None).await {
                Ok(_) => result(Err(failure)),
                Err(_) => withheld(tool, identity),
            }
        }
        Err(Unrecorded::Audit) => withheld(tool, identity),
    }
}

#[tool_router(router = questions_router, vis = "pub(crate)")]
impl QuarryServer {
    #[tool(
        name = "run_query",
        title = "Ask a question",
        description = "Answers a question about a dataset in plain language (English, Chinese or Korean): picks the dataset (or uses dataset_id), reads the question against the dataset's semantic model (its measures, dimensions, filters and periods), states its interpretation, compiles SQL, runs it under your own database role (read-only, with a timeout and a row cap), picks a chart, and writes a short analysis. Every step is stored in a conversation; pass its conversation_id to ask a follow-up that changes the previous question (\"and by category?\", \"only web\", \"same for last year\", \"top 10 instead\"). When the question cannot be answered reliably it says so and suggests questions that can.",
        output_schema = schema_for_output::<Answer>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn run_query(
        &self,
        identity: Identity,
        context: RequestContext<RoleServer>,
        Parameters(a): Parameters<RunQueryArgs>,
    ) -> Result<CallToolResult, McpError> {
        let progress = McpCaller::new(&context);
        let started = Instant::now();
        let finished = async {
            let question = a.question.trim();
            if question.is_empty() || question.chars().count() > MAX_QUESTION {
                return Err(ToolError::Invalid(format!("question must be 1 to {MAX_QUESTION} characters")));
            }
            check_rows(a.max_rows)?;
            let request = Ask {
                question: question.to_string(),
                dataset_id: a.dataset_id,
                conversation_id: a.conversation_id,
                team_id: None,
                lang: a.lang.unwrap_or_else(|| Lang::of_text(question)),
                return_image: a.return_image.unwrap_or(false),
                max_rows: a.max_rows,
            };
            Ok(pipeline::ask(&self.pipeline, identity.account_id, request, &progress).await)
        }
        .await;
        Ok(conclude(self, "run_query", &identity, args(&a), started, finished).await)
    }

    #[tool(
        name = "run_sql",
        title = "Run SQL",
        description = "Runs one read-only PostgreSQL query you wrote (SELECT or WITH … SELECT) under your own database role: the same check, read-only transaction, timeout, row and byte caps, conversation and audit as run_query, with a chart and a short analysis. Anything else (writes, DDL, several statements, changing role) is refused with the reason.",
        output_schema = schema_for_output::<Answer>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn run_sql(
        &self,
        identity: Identity,
        context: RequestContext<RoleServer>,
        Parameters(a): Parameters<RunSqlArgs>,
    ) -> Result<CallToolResult, McpError> {
        let progress = McpCaller::new(&context);
        let started = Instant::now();
        let finished = async {
            if a.sql.trim().is_empty() || a.sql.len() > MAX_SQL {
                return Err(ToolError::Invalid(format!("sql must be 1 to {MAX_SQL} bytes")));
            }
            if a.question.as_ref().is_some_and(|q| q.chars().count() > MAX_QUESTION) {
                return Err(ToolError::Invalid(format!("question must be at most {MAX_QUESTION} characters")));
            }
            check_rows(a.max_rows)?;
            let request = RunSql {
                sql: a.sql.clone(),
                mcp_session: identity.session_id.clone(),
                question: a.question.clone(),
                dataset_id: a.dataset_id,
                conversation_id: a.conversation_id,
                lang: a.lang.unwrap_or_default(),
                return_image: a.return_image.unwrap_or(false),
                max_rows: a.max_rows,
            };
            Ok(pipeline::run_sql(&self.pipeline, identity.account_id, request, &progress).await)
        }
        .await;
        Ok(conclude(self, "run_sql", &identity, args(&a), started, finished).await)
    }
}
