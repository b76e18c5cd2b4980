//! The semantic model of a dataset as the extension writes it (`quarry.question_model`,
//! `quarry.export_semantic_model`): tables with their dimensions, time dimensions, measures and
//! filters; relationships; verified queries. The planner derives what it needs from it (see
//! `mcp::pipeline::semantic::model`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tables: Vec<Table>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    #[serde(default)]
    pub verified_queries: Vec<VerifiedQuery>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Table {
    pub name: String,
    pub base_table: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// The column that names a row ("name").
    #[serde(default)]
    pub label: Option<String>,
    /// The time dimension a question's period applies to by default.
    #[serde(default)]
    pub time_dimension: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The columns the asker's role may read.
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    #[serde(default)]
    pub time_dimensions: Vec<TimeDimension>,
    #[serde(default)]
    pub measures: Vec<Measure>,
    #[serde(default)]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Dimension {
    pub name: String,
    pub expr: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Whether its values are read for questions to name.
    #[serde(default)]
    pub values: bool,
    #[serde(default)]
    pub value_synonyms: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct TimeDimension {
    pub name: String,
    pub expr: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub grains: Vec<String>,
    #[serde(default)]
    pub fiscal_year_start: Option<u32>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Measure {
    pub name: String,
    /// An aggregate expression, or (for a fact) a row-level one the question aggregates.
    pub expr: String,
    /// A condition that always applies to the rows it aggregates.
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub fact: bool,
    /// How a fact is aggregated when the question does not say: sum or avg.
    #[serde(default)]
    pub default_aggregation: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    /// The time dimension a period applies to for this measure (`table.time_dimension`).
    #[serde(default)]
    pub time_dimension: Option<String>,
    #[serde(default)]
    pub data_type: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Filter {
    pub name: String,
    pub expr: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Relationship {
    pub name: String,
    pub from: String,
    pub to: String,
    /// Column pairs (from, to).
    pub columns: Vec<(String, String)>,
    #[serde(default)]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct VerifiedQuery {
    pub question: String,
    pub sql: String,
}

use super::datasets::{Example, GlossaryTerm, Runtime};
use super::{Db, DbError};

/// What the planner reads about a dataset: its limits, glossary, examples and semantic model,
/// the model showing only tables and columns the asker's role may read.
#[derive(Debug, Clone, Deserialize)]
pub struct QuestionModel {
    #[serde(flatten)]
    pub runtime: Runtime,
    #[serde(default)]
    pub glossary: Vec<GlossaryTerm>,
    #[serde(default)]
    pub examples: Vec<Example>,
    pub model: Document,
}

/// One value of a dimension, as the asker's role sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionValue {
    pub table: String,
    pub dimension: String,
    pub value: String,
}

#[derive(Deserialize)]
struct ValueRows {
    rows: Vec<(String, String, Option<String>)>,
}

impl Db {
    /// A dataset's semantic model and what a question needs besides it.
    pub async fn question_model(&self, account_id: i64, dataset_id: i64) -> Result<QuestionModel, DbError> {
        self.json("question_model", "SELECT quarry.question_model($1, $2)", &[&account_id, &dataset_id]).await
    }

    /// The values of the model's listed dimensions (at most 101 each), read under the account's
    /// role so that they show only rows it may see.
    pub async fn dimension_values(&self, account_id: i64, dataset_id: i64) -> Result<Vec<DimensionValue>, DbError> {
        let rows: ValueRows = self.json("dimension_values", "SELECT quarry.dimension_values($1, $2)::jsonb", &[&account_id, &dataset_id]).await?;
        Ok(rows
            .rows
            .into_iter()
            .filter_map(|(table, dimension, value)| Some(DimensionValue { table, dimension, value: value? }))
            .collect())
    }
}
