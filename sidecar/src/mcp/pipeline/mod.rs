//! The question pipeline: a question becomes a dataset, a schema context, SQL (from the built-in
//! planner or a model), a checked and guarded run under the asker's role, a chart and an analysis,
//! and every step is stored as a block of the conversation. `run_sql` takes the same path with
//! SQL the caller wrote, minus the model.
//!
//! Failed SQL goes back to the model with the reason, a bounded number of times; the built-in
//! planner is deterministic, so its SQL is tried once. Nothing here holds state between requests.

pub mod analysis;
pub mod axis;
pub mod builtin;
pub mod chart;
pub mod context;
pub mod dataset;
pub mod error;
pub mod i18n;
pub mod providers;
pub mod render;
pub mod semantic;

use std::sync::Arc;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::chart::Chart;
use self::context::Context;
use self::dataset::Choice;
pub use self::error::PipelineError;
use self::i18n::{Lang, t};
use self::builtin::{Planned, Semantics};
use self::semantic::Query;
use self::providers::prompt::{self, Reply};
use self::providers::sampling::{self, ClientModel, Fallback, Sampler};
use self::providers::{Complete, Format, Model};
use crate::config::QuestionsConfig;
use crate::db::{Db, DbError};
use crate::db::conversations::{History, NewTurn, Turn};
use crate::db::datasets::{DatasetRef, Runtime};
use crate::db::questions::{Executor, QueryError, QueryResult};
use crate::metrics::Metrics;

/// Result rows a conversation block keeps (the answer itself carries up to the row cap).
const PREVIEW_ROWS: usize = 50;
/// Earlier turns of a conversation a follow-up sees.
const HISTORY_TURNS: i32 = 5;

/// What the pipeline works with, and nothing more: the extension, the executor of accounts'
/// queries, the questions settings, an HTTP client for model providers, the chart font, and
/// where its steps and model requests are timed. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    pub db: Db,
    pub executor: Executor,
    pub settings: QuestionsConfig,
    /// Talks to model providers (see [`providers`]).
    pub http: reqwest::Client,
    /// The font chart images are drawn with; without one, answers come without images.
    pub chart_font: Option<ab_glyph::FontArc>,
    /// Dimension values recently read for an account (see [`builtin::ValuesCache`]).
    pub values: Arc<builtin::ValuesCache>,
    /// Where each step's time and each model request are recorded.
    pub metrics: Metrics,
}

impl Pipeline {
    /// The pipeline, with its HTTP client for model providers and its chart font (from
    /// `QUARRY_CHART_FONT`, or where the system keeps DejaVu Sans).
    pub fn new(db: Db, executor: Executor, settings: QuestionsConfig, metrics: Metrics) -> Result<Pipeline, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("quarry-sidecar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let chart_font = render::load_font(settings.chart_font.as_deref())?;
        Ok(Pipeline { db, executor, settings, http, chart_font, values: Default::default(), metrics })
    }
}

/// A question to answer.
pub struct Ask {
    pub question: String,
    pub dataset_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// Without a dataset or a conversation, the question is matched among this team's datasets
    /// only (SQLBot's workspace); `None`: among all of the account's.
    pub team_id: Option<i64>,
    pub lang: Lang,
    pub return_image: bool,
    pub max_rows: Option<i64>,
}

/// SQL to run as written.
pub struct RunSql {
    pub sql: String,
    /// The MCP session calling: without a conversation_id, its calls append to one conversation
    /// per dataset.
    pub mcp_session: Option<String>,
    /// What the SQL answers (the conversation's title); its first line when absent.
    pub question: Option<String>,
    pub dataset_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub lang: Lang,
    pub return_image: bool,
    pub max_rows: Option<i64>,
}

/// The pipeline's steps, reported as progress.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Dataset,
    Schema,
    Sql,
    Run,
    Chart,
    Analysis,
}

impl Step {
    fn key(self) -> &'static str {
        match self {
            Step::Dataset => "step_dataset",
            Step::Schema => "step_schema",
            Step::Sql => "step_sql",
            Step::Run => "step_run",
            Step::Chart => "step_chart",
            Step::Analysis => "step_analysis",
        }
    }

    fn number(self) -> u32 {
        self as u32 + 1
    }

    /// The step's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Step::Dataset => "dataset",
            Step::Schema => "schema",
            Step::Sql => "sql",
            Step::Run => "run",
            Step::Chart => "chart",
            Step::Analysis => "analysis",
        }
    }

    /// How many steps a pipeline run reports.
    pub const TOTAL: u32 = 6;

    /// Tells `progress` this step has begun, in the asker's language.
    async fn report(self, progress: &dyn Caller, lang: Lang) {
        progress.report(self.number(), Step::TOTAL, t(lang, self.key(), &[])).await;
    }
}

/// The client behind a request, as far as the pipeline talks to it: where progress goes (an MCP
/// client's progress notifications, or nowhere) and, when it offers one, its own model.
#[async_trait::async_trait]
pub trait Caller: Send + Sync {
    async fn report(&self, step: u32, total: u32, message: String);
    /// The client's model through MCP sampling, when the client declared that it samples.
    fn sampler(&self) -> Option<&dyn Sampler> {
        None
    }
}

/// A caller whose progress goes nowhere (a question answered as one JSON object, or steps
/// already reported).
pub struct Silent;

#[async_trait::async_trait]
impl Caller for Silent {
    async fn report(&self, _step: u32, _total: u32, _message: String) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The SQL ran; result, chart and analysis are there.
    Answered,
    /// The planner or model could not answer reliably and said so; see analysis and suggestions.
    NotConfident,
    /// Every attempt failed; see attempts.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ModelRef {
    pub id: i64,
    pub name: String,
    /// builtin, openai or anthropic.
    pub provider: String,
}

/// One try at SQL: what was written and, if it did not run, why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    pub sql: String,
    /// Why it did not run: refused by the check (stage "check") or failed in the database ("run").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// What `run_query` and `run_sql` return.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    /// The conversation this question and its answer are stored in; pass it back for follow-ups.
    pub conversation_id: i64,
    pub dataset: DatasetRef,
    /// How the dataset was chosen: given, conversation, only or matched.
    pub dataset_choice: Choice,
    pub question: String,
    pub status: Status,
    /// The model that wrote the SQL (absent for run_sql).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    /// What the question was read as, in plain words: the measure and its definition, the
    /// filters, the period as dates, the grouping, order and limit (built-in planner and models
    /// that answered with a semantic query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpretation: Option<String>,
    /// The semantic query the SQL was compiled from, in the dataset's semantic model's terms (for
    /// an answer from a verified query: the planner's reading of the question, which a follow-up
    /// changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic_query: Option<Query>,
    /// The SQL that ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Every SQL attempt in order, failed ones with their errors.
    pub attempts: Vec<Attempt>,
    /// What the SQL returned under your role (at most max_rows rows; see truncated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<QueryResult>,
    /// The chart picked for the result, with its Vega-Lite specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
    /// A short analysis of the result, or why there is none.
    pub analysis: String,
    /// Questions that can be answered, when this one could not.
    pub suggestions: Vec<String>,
    pub lang: Lang,
    /// How long the whole pipeline took.
    pub duration_ms: f64,
}

/// An answer and, when one was asked for, its chart as a PNG.
pub struct Outcome {
    pub answer: Answer,
    pub image: Option<Vec<u8>>,
}

/// What a run came to, and the turn it leaves for the caller to save with the call's audit row
/// (then `answer.conversation_id` is the saved turn's). A run that ended in an error still leaves
/// what it did; one that stopped before it began (no dataset, an account that may not ask) leaves
/// no turn.
pub struct Finished {
    pub outcome: Result<Outcome, PipelineError>,
    pub turn: Option<NewTurn>,
}

impl Finished {
    fn stopped(e: PipelineError) -> Finished {
        Finished { outcome: Err(e), turn: None }
    }
}

/// One run of the pipeline: who asks, the dataset's limits, the row cap, where progress goes, and
/// the blocks the run has produced so far (saved together, in one transaction, when it ends).
struct Run<'a> {
    pipeline: &'a Pipeline,
    account_id: i64,
    dataset: Runtime,
    max_rows: i32,
    lang: Lang,
    progress: &'a dyn Caller,
    blocks: std::sync::Mutex<Vec<Value>>,
}

impl Run<'_> {
    /// Adds a block to the turn being recorded.
    fn add(&self, kind: &str, content: Value) {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner()).push(json!({ "kind": kind, "content": content }));
    }

    /// The turn's blocks, for the conversation continued (or the MCP session's, or a new one
    /// titled after the question).
    fn turn(&self, conversation_id: Option<i64>, mcp_session: Option<String>, title: &str) -> NewTurn {
        let blocks = Value::Array(std::mem::take(&mut *self.blocks.lock().unwrap_or_else(|e| e.into_inner())));
        NewTurn { dataset_id: self.dataset.id, conversation_id, title: title.to_string(), blocks, mcp_session }
    }

    async fn report(&self, step: Step) {
        step.report(self.progress, self.lang).await;
    }

    /// Records how long a step took since `started`.
    fn timed(&self, step: Step, started: Instant) {
        self.pipeline.metrics.step(step.name(), started);
    }

    /// Runs one attempt of SQL and stores it: the SQL block (with the semantic query and the
    /// interpretation it came from, if any), then its result or its error.
    async fn attempt(&self, sql: &str, number: usize, writer: &str, answer: &mut Answer) -> Result<Result<QueryResult, String>, PipelineError> {
        self.add_sql(sql, number, writer, answer);
        self.report(Step::Run).await;
        let started = Instant::now();
        let ran = check_and_run(&self.pipeline.executor, self.account_id, sql, &self.dataset, self.max_rows).await;
        self.timed(Step::Run, started);
        Ok(self.add_ran(sql, number, ran?, answer))
    }

    /// Stores an attempt's SQL block.
    fn add_sql(&self, sql: &str, number: usize, writer: &str, answer: &Answer) {
        let mut block = json!({ "sql": sql, "attempt": number, "model": writer });
        if let Some(q) = &answer.semantic_query {
            block["semantic_query"] = serde_json::to_value(q).unwrap_or(Value::Null);
        }
        if let Some(i) = &answer.interpretation {
            block["interpretation"] = Value::String(i.clone());
        }
        self.add("sql", block);
    }

    /// Stores what an attempt came to: its result, or why it did not run.
    fn add_ran(&self, sql: &str, number: usize, ran: Ran, answer: &mut Answer) -> Result<QueryResult, String> {
        match ran {
            Ran::Rows(result) => {
                self.add("result", result_block(&result));
                answer.attempts.push(Attempt { sql: sql.to_string(), error: None, stage: None });
                answer.sql = Some(sql.to_string());
                Ok(result)
            }
            Ran::Refused { stage, reason } => {
                self.add("error", json!({ "stage": stage, "message": reason, "attempt": number }));
                answer.attempts.push(Attempt { sql: sql.to_string(), error: Some(reason.clone()), stage: Some(stage.to_string()) });
                Err(reason)
            }
        }
    }
}

/// The row cap: what the caller asked for, never more than the dataset allows.
fn row_cap(asked: Option<i64>, row_limit: i64) -> i32 {
    asked.unwrap_or(row_limit).clamp(1, row_limit.clamp(1, 100_000)) as i32
}

/// What a run of SQL came to.
enum Ran {
    Rows(QueryResult),
    /// Not run: the check refused it, or the database stopped it; the reason is safe to show.
    Refused { stage: &'static str, reason: String },
}

/// The guarded path every statement takes: `quarry.execute_for` checks it (its shape, then, from
/// PostgreSQL's analysis, what it calls) and runs it under the account's role, within the
/// dataset's limits and the caps.
async fn check_and_run(executor: &Executor, account_id: i64, sql: &str, dataset: &Runtime, max_rows: i32) -> Result<Ran, PipelineError> {
    let limits = executor.limits(dataset.timeout_ms, max_rows);
    Ok(Ran::of(executor.execute_for(account_id, dataset.id, sql, limits).await?))
}

impl Ran {
    fn of(outcome: Result<QueryResult, QueryError>) -> Ran {
        match outcome {
            Ok(result) => Ran::Rows(result),
            Err(e) => Ran::Refused { stage: e.stage(), reason: e.to_string() },
        }
    }
}

/// A result as a conversation block keeps it: the first rows only.
fn result_block(result: &QueryResult) -> Value {
    json!({
        "columns": result.columns,
        "rows": result.rows.iter().take(PREVIEW_ROWS).collect::<Vec<_>>(),
        "row_count": result.row_count,
        "truncated": result.truncated,
        "truncated_by": result.truncated_by,
    })
}

/// Who answers: the built-in planner, or a model (a configured provider, or the asking client's
/// own through sampling).
enum Writer<'a> {
    Planner,
    Model(Box<dyn Complete + 'a>),
}

impl Writer<'_> {
    fn model(&self) -> Option<&dyn Complete> {
        match self {
            Writer::Model(m) => Some(m.as_ref()),
            Writer::Planner => None,
        }
    }
}

async fn writer_for<'a>(pipeline: &Pipeline, account_id: i64, dataset_id: i64, caller: &'a dyn Caller) -> Result<(Writer<'a>, ModelRef), PipelineError> {
    let config = pipeline.db.dataset_model(account_id, dataset_id).await?;
    let builtin = |id: i64, name: String| (Writer::Planner, ModelRef { id, name, provider: "builtin".into() });
    let config = match config {
        Some(c) if !c.is_builtin() => c,
        other => {
            let (id, name) = other.map(|c| (c.id, c.name)).unwrap_or((0, "Built-in planner".into()));
            return Ok(builtin(id, name));
        }
    };
    let reference = ModelRef { id: config.id, name: config.name.clone(), provider: config.provider.clone() };
    if config.provider == "sampling" {
        return match (caller.sampler(), sampling::fallback(&config)) {
            (Some(sampler), _) => Ok((Writer::Model(Box::new(ClientModel { config, sampler, metrics: pipeline.metrics.clone() })), reference)),
            (None, Fallback::Builtin) => Ok(builtin(0, format!("Built-in planner (\"{}\" needs a client that offers sampling)", config.name))),
            (None, Fallback::None) => Err(PipelineError::Model(format!(
                "The dataset is answered by your MCP client's own model (\"{}\"), and this client does not offer sampling: use a client that does, or ask your administrator for another model.",
                config.name
            ))),
        };
    }
    let name = config.name.clone();
    let model = Model::new(config, &pipeline.http, &pipeline.settings, &pipeline.metrics).map_err(|e| {
        PipelineError::Model(format!("The model configuration \"{name}\" cannot be used here: {e}. Ask your administrator to fix it."))
    })?;
    Ok((Writer::Model(Box::new(model)), reference))
}

/// The first step of every run, in one call of the extension when the request decides the
/// dataset: the account may ask (or the run stops with the reason), the conversation continued
/// (if any), and the dataset, else matched from `text`.
#[allow(clippy::too_many_arguments)]
async fn begin(
    pipeline: &Pipeline,
    account_id: i64,
    dataset_id: Option<i64>,
    conversation_id: Option<i64>,
    team_id: Option<i64>,
    text: &str,
    lang: Lang,
    progress: &dyn Caller,
) -> Result<(Option<History>, Runtime, Choice), PipelineError> {
    Step::Dataset.report(progress, lang).await;
    let started = Instant::now();
    let begun = async {
        // Within one team, that team's datasets decide (its only one, or the best match); the
        // account's only dataset overall may be another team's.
        let (dataset_id, picked) = match (dataset_id, conversation_id, team_id) {
            (None, None, Some(team)) => {
                let (id, choice) = dataset::matched(&pipeline.db, account_id, text, Some(team)).await?;
                (Some(id), Some(choice))
            }
            _ => (dataset_id, None),
        };
        let start = pipeline.db.question_start(account_id, dataset_id, conversation_id, HISTORY_TURNS).await?;
        let decided = start.dataset.zip(start.choice.as_deref().and_then(Choice::from_name));
        let (dataset, choice) = match decided {
            Some((dataset, choice)) => (dataset, picked.unwrap_or(choice)),
            None => {
                // question_start found several datasets: the question picks one.
                let (id, _) = dataset::matched(&pipeline.db, account_id, text, None).await?;
                (pipeline.db.dataset_runtime(account_id, id).await?, Choice::Matched)
            }
        };
        Ok((start.history, dataset, choice))
    }
    .await;
    pipeline.metrics.step(Step::Dataset.name(), started);
    begun
}

/// Answers a question.
pub async fn ask(pipeline: &Pipeline, account_id: i64, request: Ask, caller: &dyn Caller) -> Finished {
    let started = Instant::now();
    let lang = request.lang;
    let begun = begin(pipeline, account_id, request.dataset_id, request.conversation_id, request.team_id, &request.question, lang, caller).await;
    let (history, dataset, choice) = match begun {
        Ok(begun) => begun,
        Err(e) => return Finished::stopped(e),
    };
    let dataset_id = dataset.id;

    Step::Schema.report(caller, lang).await;
    let schema_started = Instant::now();
    let prepared = async {
        let (writer, model) = writer_for(pipeline, account_id, dataset_id, caller).await?;
        let semantics = Semantics::load(&pipeline.db, &pipeline.values, pipeline.settings.values_ttl, account_id, dataset_id).await?;
        // A model also sees the tables themselves, with the values of small columns.
        let ctx = match writer {
            Writer::Model(_) => Some(context::gather(&pipeline.db, &pipeline.executor, account_id, dataset_id, &request.question, |_| true).await?),
            Writer::Planner => None,
        };
        Ok::<_, PipelineError>((writer, model, semantics, ctx))
    }
    .await;
    let (writer, model, semantics, ctx) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return Finished::stopped(e),
    };
    pipeline.metrics.step(Step::Schema.name(), schema_started);
    let dataset = semantics.source.runtime.clone();
    let run = Run {
        pipeline,
        account_id,
        max_rows: row_cap(request.max_rows, dataset.row_limit),
        dataset,
        lang,
        progress: caller,
        blocks: Default::default(),
    };
    run.add("question", json!({ "text": request.question, "lang": lang }));
    let mut answer = Answer::new(&run, choice, request.question.clone(), Some(model));
    let turns = history.as_ref().map(|h| h.turns.clone()).unwrap_or_default();

    run.report(Step::Sql).await;
    let worked = async {
        let result = match (writer.model(), &ctx) {
            (Some(m), Some(ctx)) => by_model(&run, ctx, &semantics, m, &turns, &mut answer).await?,
            _ => by_planner(&run, &semantics, &turns, &mut answer).await?,
        };
        match result {
            Some(result) => finish(&run, &writer, result, request.return_image, &mut answer).await,
            None => Ok(None),
        }
    }
    .await;
    // What happened is recorded even when the run ends in an error (a model that did not answer).
    let turn = run.turn(history.map(|h| h.conversation_id), None, &request.question);
    answer.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Finished { outcome: worked.map(|image| Outcome { answer, image }), turn: Some(turn) }
}

impl Answer {
    /// An answer about to be worked out.
    fn new(run: &Run<'_>, choice: Choice, question: String, model: Option<ModelRef>) -> Answer {
        Answer {
            // Known once the caller has saved the turn.
            conversation_id: 0,
            dataset: DatasetRef { id: run.dataset.id, name: run.dataset.name.clone() },
            dataset_choice: choice,
            question,
            status: Status::Answered,
            model,
            interpretation: None,
            semantic_query: None,
            sql: None,
            attempts: Vec::new(),
            result: None,
            chart: None,
            analysis: String::new(),
            suggestions: Vec::new(),
            lang: run.lang,
            duration_ms: 0.0,
        }
    }
}

/// The semantic query of the conversation's latest question, if it was answered with one: what
/// a follow-up changes.
fn previous_query(turns: &[Turn]) -> Option<Query> {
    turns.last().and_then(|t| t.semantic_query.clone()).and_then(|v| serde_json::from_value(v).ok())
}

/// Runs what the built-in planner (or a model's semantic query) came to: its SQL, once (the
/// compilation is deterministic), or an honest "not sure".
async fn run_planned(run: &Run<'_>, planned: Planned, writer: &str, number: usize, answer: &mut Answer) -> Result<Option<QueryResult>, PipelineError> {
    let sql = match planned {
        Planned::Refused { reason, suggestions } => {
            not_confident(run, answer, reason, suggestions).await?;
            return Ok(None);
        }
        Planned::Query { query, sql, interpretation } => {
            answer.semantic_query = Some(*query);
            answer.interpretation = Some(interpretation);
            sql
        }
        Planned::Verified { sql, interpretation, reading, .. } => {
            answer.interpretation = Some(interpretation);
            answer.semantic_query = reading.map(|q| *q);
            sql
        }
    };
    match run.attempt(&sql, number, writer, answer).await? {
        Ok(result) => Ok(Some(result)),
        Err(_) => {
            answer.status = Status::Failed;
            Ok(None)
        }
    }
}

/// The built-in planner over the dataset's semantic model.
async fn by_planner(run: &Run<'_>, semantics: &Semantics, turns: &[Turn], answer: &mut Answer) -> Result<Option<QueryResult>, PipelineError> {
    let today = chrono::Utc::now().date_naive();
    let previous = previous_query(turns);
    let earlier = match (&previous, turns.is_empty()) {
        (Some(q), _) => builtin::Earlier::Answered(q),
        (None, true) => builtin::Earlier::None,
        (None, false) => builtin::Earlier::Unanswered,
    };
    let started = Instant::now();
    let planned = builtin::plan(semantics, &answer.question, earlier, answer.lang, today);
    run.timed(Step::Sql, started);
    run_planned(run, planned, "builtin", 1, answer).await
}

/// A model: its answer (a semantic query the planner compiles, or SQL), and when that fails, the
/// error back to it for another try (a bounded number of times). Either way the SQL takes the
/// same guarded path.
async fn by_model(run: &Run<'_>, ctx: &Context, semantics: &Semantics, model: &dyn Complete, turns: &[Turn], answer: &mut Answer) -> Result<Option<QueryResult>, PipelineError> {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let system = prompt::sql_system(ctx, &semantics.model, answer.lang, &today);
    let schema = prompt::answer_schema();
    let mut messages = prompt::sql_messages(turns, &answer.question);
    let tries = 1 + run.pipeline.settings.sql_retries as usize;
    for number in 1..=tries {
        let started = Instant::now();
        let reply = model.complete(&system, &messages, Format::Json(&schema)).await;
        run.timed(Step::Sql, started);
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                let message = format!("The model \"{}\" did not answer: {e}.", model.name());
                run.add("error", json!({ "stage": "model", "message": message, "attempt": number }));
                return Err(PipelineError::Model(format!("{message} Try again in a moment, or ask your administrator to check it.")));
            }
        };
        let sql = match prompt::read_reply(&reply) {
            Reply::Cannot(reason) => {
                let suggestions = semantic::suggestions(&semantics.model);
                not_confident(run, answer, reason, suggestions).await?;
                return Ok(None);
            }
            Reply::Sql(sql) => {
                answer.semantic_query = None;
                answer.interpretation = None;
                sql
            }
            Reply::Semantic(query) => match builtin::compile(semantics, *query, answer.lang) {
                Ok(Planned::Query { query, sql, interpretation }) => {
                    answer.semantic_query = Some(*query);
                    answer.interpretation = Some(interpretation);
                    sql
                }
                Ok(_) => unreachable!("compiling a semantic query gives a query"),
                Err(error) => {
                    rejected(run, answer, number, &error);
                    messages.extend(prompt::correction(&reply, &format!("the semantic query cannot be compiled: {error}")));
                    continue;
                }
            },
            Reply::Invalid(error) => {
                rejected(run, answer, number, &error);
                messages.extend(prompt::correction(&reply, &error));
                continue;
            }
        };
        match run.attempt(&sql, number, &model.label(), answer).await? {
            Ok(result) => return Ok(Some(result)),
            Err(error) => messages.extend(prompt::correction(&reply, &error)),
        }
    }
    answer.status = Status::Failed;
    Ok(None)
}

/// Records an answer of a model that could not even be compiled to SQL.
fn rejected(run: &Run<'_>, answer: &mut Answer, number: usize, error: &str) {
    run.add("error", json!({ "stage": "semantic_query", "message": error, "attempt": number }));
    answer.attempts.push(Attempt { sql: String::new(), error: Some(error.to_string()), stage: Some("semantic_query".into()) });
}

async fn not_confident(run: &Run<'_>, answer: &mut Answer, reason: String, suggestions: Vec<String>) -> Result<(), PipelineError> {
    run.add("error", json!({ "stage": "plan", "message": reason }));
    let mut text = reason.clone();
    if !suggestions.is_empty() {
        text.push(' ');
        text.push_str(&t(answer.lang, "try_these", &[]));
        text.push_str(&suggestions.iter().map(|s| format!(" {s}")).collect::<Vec<_>>().join(";"));
    }
    run.add("analysis", json!({ "text": text, "source": "builtin" }));
    answer.status = Status::NotConfident;
    answer.analysis = reason;
    answer.suggestions = suggestions;
    Ok(())
}

/// The chart (and its image when asked for) and the analysis of a result, stored as blocks.
async fn finish(run: &Run<'_>, writer: &Writer<'_>, result: QueryResult, return_image: bool, answer: &mut Answer) -> Result<Option<Vec<u8>>, PipelineError> {
    run.report(Step::Chart).await;
    let started = Instant::now();
    let chart = chart::choose(&result, &answer.question, run.lang);
    run.add("chart", serde_json::to_value(&chart).unwrap_or(Value::Null));
    let image = match (&run.pipeline.chart_font, return_image) {
        (Some(font), true) => {
            let title = chart.title().map(str::to_string).unwrap_or_else(|| axis::title(&answer.question, None, None, run.lang));
            let (font, chart, result, lang) = (font.clone(), chart.clone(), result.clone(), run.lang);
            tokio::task::spawn_blocking(move || render::png(&chart, &result, &title, lang, &font)).await.ok().flatten()
        }
        _ => None,
    };
    run.timed(Step::Chart, started);

    run.report(Step::Analysis).await;
    let started = Instant::now();
    let (text, source) = match writer {
        Writer::Model(model) if model.writes_analysis() => {
            let (system, messages) = prompt::analysis(&answer.question, answer.sql.as_deref().unwrap_or_default(), &result, run.lang);
            match model.complete(&system, &messages, Format::Text).await {
                Ok(text) => (text.trim().to_string(), "model"),
                Err(e) => {
                    tracing::warn!(error = %e, "the model wrote no analysis; using the built-in one");
                    (analysis::describe(&result, &chart, run.lang), "builtin")
                }
            }
        }
        _ => (analysis::describe(&result, &chart, run.lang), "builtin"),
    };
    run.timed(Step::Analysis, started);
    run.add("analysis", json!({ "text": text, "source": source }));
    answer.analysis = text;
    answer.chart = Some(chart);
    answer.result = Some(result);
    Ok(image)
}

/// Runs SQL the caller wrote: the same dataset resolution, check, executor, caps, blocks and
/// chart as a question, with the built-in analysis.
pub async fn run_sql(pipeline: &Pipeline, account_id: i64, request: RunSql, progress: &dyn Caller) -> Finished {
    let started = Instant::now();
    let lang = request.lang;
    let sql = request.sql.trim();
    // Continuing no conversation, it first tries the one-call path.
    let tried_at_once = request.conversation_id.is_none();
    let at_once = if tried_at_once { run_at_once(pipeline, account_id, &request, progress).await } else { Ok(None) };
    let begun = match at_once {
        Ok(Some((dataset, choice, ran))) => Ok((None, dataset, choice, Some(ran))),
        Ok(None) => {
            // Progress only goes up: a try at once reported the dataset step already.
            let reporter: &dyn Caller = if tried_at_once { &Silent } else { progress };
            begin(pipeline, account_id, request.dataset_id, request.conversation_id, None, sql, lang, reporter)
                .await
                .map(|(history, dataset, choice)| (history, dataset, choice, None))
        }
        Err(e) => Err(e),
    };
    let (history, dataset, choice, ran) = match begun {
        Ok(begun) => begun,
        Err(e) => return Finished::stopped(e),
    };
    let question = request.question.clone().filter(|q| !q.trim().is_empty()).unwrap_or_else(|| sql.to_string());
    let run = Run {
        pipeline,
        account_id,
        max_rows: row_cap(request.max_rows, dataset.row_limit),
        dataset,
        lang,
        progress,
        blocks: Default::default(),
    };
    run.add("question", json!({ "text": question, "lang": lang }));
    let mut answer = Answer::new(&run, choice, question.clone(), None);
    let worked = async {
        let outcome = match ran {
            Some(ran) => {
                run.add_sql(sql, 1, "caller", &answer);
                run.add_ran(sql, 1, ran, &mut answer)
            }
            None => run.attempt(sql, 1, "caller", &mut answer).await?,
        };
        match outcome {
            Ok(result) => finish(&run, &Writer::Planner, result, request.return_image, &mut answer).await,
            Err(_) => {
                answer.status = Status::Failed;
                Ok(None)
            }
        }
    }
    .await;
    let turn = run.turn(history.map(|h| h.conversation_id), request.mcp_session, &question);
    answer.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Finished { outcome: worked.map(|image| Outcome { answer, image }), turn: Some(turn) }
}

/// run_sql in one call of the extension when it continues no conversation: the account's role
/// checked, the dataset (the one given, else the account's only one) and the run, together.
/// `None` when the account has several datasets and named none: the SQL then picks one, as a
/// question does. Reports the dataset step only: whether the run step comes next is not known
/// before the call returns, and progress must only go up.
async fn run_at_once(pipeline: &Pipeline, account_id: i64, request: &RunSql, progress: &dyn Caller) -> Result<Option<(Runtime, Choice, Ran)>, PipelineError> {
    Step::Dataset.report(progress, request.lang).await;
    let started = Instant::now();
    // The extension shortens the server's largest timeout to the dataset's, and caps the rows.
    let limits = pipeline.executor.limits(i64::MAX, 1);
    let max_rows = request.max_rows.map(|m| m.clamp(1, 100_000) as i32);
    let ran = pipeline.executor.run_for(account_id, request.dataset_id, request.sql.trim(), max_rows, limits).await;
    pipeline.metrics.step(Step::Run.name(), started);
    let Some(ran) = ran? else { return Ok(None) };
    let choice = Choice::from_name(&ran.choice)
        .ok_or_else(|| DbError::Internal(format!("run_for chose the dataset in an unknown way: {}", ran.choice)))?;
    Ok(Some((ran.dataset, choice, Ran::of(ran.result))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_cap_never_exceeds_the_dataset_limit() {
        assert_eq!(row_cap(None, 1000), 1000);
        assert_eq!(row_cap(Some(10), 1000), 10);
        assert_eq!(row_cap(Some(5000), 1000), 1000);
        assert_eq!(row_cap(Some(0), 1000), 1);
    }
}
