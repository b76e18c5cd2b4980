//! What tools return. Each type is read from the extension's JSON and written back out, so a
//! tool's structured content always has the shape of its declared output schema (generated from
//! these same types).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::executor::QueryResult;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TeamRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DatasetRef {
    pub id: i64,
    pub name: String,
}

// Teams and models ---------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    /// The caller's role in the team: owner or member.
    pub role: String,
    pub members: i64,
    pub datasets: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Model {
    pub id: i64,
    pub name: String,
    /// builtin, openai or anthropic.
    pub provider: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Whether it is the default of its team (or, without a team, of everyone).
    pub is_default: bool,
    /// The team it belongs to; null when every team may use it.
    pub team: Option<TeamRef>,
    /// Whether this sidecar can use it now (the built-in planner always; others need their API key).
    #[serde(default)]
    pub available: bool,
    #[serde(skip_serializing, default)]
    pub api_key_env: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ModelList {
    pub models: Vec<Model>,
}

// Datasets and the catalog --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ColumnRef {
    pub schema: String,
    pub name: String,
    pub column: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Field {
    pub name: String,
    /// PostgreSQL type, e.g. "numeric(12,2)" or "timestamp with time zone".
    #[serde(rename = "type")]
    pub type_name: String,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<bool>,
    /// The column this one refers to, for single-column foreign keys the caller may follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<ColumnRef>,
    /// About how many distinct values the column holds (from the last ANALYZE). Read from the
    /// extension for the question pipeline, never written out to a caller: statistics count rows
    /// row-level security hides from them.
    #[serde(default, skip_serializing)]
    pub distinct_values: Option<i64>,
}

/// Fields: names only (summary detail) or in full.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Fields {
    Full(Vec<Field>),
    Names(Vec<String>),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ForeignKeyTarget {
    pub schema: String,
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub references: ForeignKeyTarget,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Index {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

/// A table, view, materialized view or foreign table the caller may read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Collection {
    pub schema: String,
    pub name: String,
    /// table, partitioned_table, view, materialized_view or foreign_table.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Rows: the planner's estimate unless record_count_exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_count_exact: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Fields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_keys: Option<Vec<ForeignKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<Index>>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DatasetListing {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Most rows an answer returns.
    pub row_limit: i64,
    pub team: TeamRef,
    /// How many collections match, before paging.
    pub collections_total: i64,
    pub collections: Vec<Collection>,
    /// Why the collections cannot be listed for you, when they cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DatasetList {
    pub datasets: Vec<DatasetListing>,
    /// names, summary or full.
    pub detail: String,
    pub page_offset: i64,
    pub page_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct GlossaryTerm {
    pub term: String,
    pub definition: String,
    pub synonyms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Example {
    pub question: String,
    pub sql: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DatasetDescription {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub row_limit: i64,
    pub timeout_ms: i64,
    pub team: TeamRef,
    pub collections_total: i64,
    pub collections: Vec<Collection>,
    pub page_offset: i64,
    pub page_size: i64,
    pub glossary: Vec<GlossaryTerm>,
    pub examples: Vec<Example>,
}

// Conversations ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub id: i64,
    pub title: String,
    pub dataset: DatasetRef,
    pub created_at: String,
    pub updated_at: String,
    /// Questions asked in it.
    pub questions: i64,
    /// Blocks in it (questions, SQL, results, charts, analyses, errors).
    pub blocks: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    pub total: i64,
    pub page_offset: i64,
    pub page_size: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    /// Position in the conversation, from 1.
    pub seq: i64,
    /// question, sql, result, chart, analysis or error.
    pub kind: String,
    /// question: {text}; sql: {sql, attempt, model}; result: {columns, rows, row_count, truncated};
    /// chart: {type, spec}; analysis: {text}; error: {stage, message}.
    pub content: Map<String, Value>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    pub id: i64,
    pub title: String,
    pub dataset: DatasetRef,
    pub created_at: String,
    pub updated_at: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Renamed {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    /// The id of what was deleted.
    pub deleted: i64,
}

// Dashboards ------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Dashboard {
    pub id: i64,
    pub name: String,
    pub label: String,
    /// #rrggbb
    pub color: String,
    pub team: TeamRef,
    /// How many pins it has.
    pub pins: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardList {
    pub dashboards: Vec<Dashboard>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardHeader {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub color: String,
    pub team_id: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Pin {
    pub id: i64,
    pub position: i64,
    pub question: String,
    pub analysis: String,
    pub sql: String,
    /// The chart configuration (a Vega-Lite specification).
    pub chart: Map<String, Value>,
    pub dataset: DatasetRef,
    pub conversation_id: Option<i64>,
    pub created_at: String,
    /// Whether the stored chart and analysis were computed under your database role. When not,
    /// the pin was run again under your role and its chart and analysis are from that run.
    pub computed_for_you: bool,
    /// With rerun (or when not computed for you): what the pin's SQL returns now, under your role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<QueryResult>,
    /// With rerun: why the SQL could not run for you.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardPins {
    pub dashboard: DashboardHeader,
    pub pins: Vec<Pin>,
}
