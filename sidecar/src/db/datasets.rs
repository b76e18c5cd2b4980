//! Datasets and their catalog, as an account's database role may see them, and what the question
//! pipeline reads about a dataset (its limits, glossary and examples).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::workspace::TeamRef;
use super::{Db, DbError};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DatasetRef {
    pub id: i64,
    pub name: String,
}

// How much the catalog says about each collection. (No doc comment: it would change the tools'
// input schemas.)
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    /// Schema, name and kind of each collection.
    Names,
    /// Also comments, record counts and field names.
    #[default]
    Summary,
    /// Also field types, nullability, keys, references and indexes.
    Full,
}

impl Detail {
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Names => "names",
            Detail::Summary => "summary",
            Detail::Full => "full",
        }
    }
}

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
    /// The dataset's semantic model as your role sees it: what questions are answered from.
    #[serde(default)]
    pub semantic_model: Option<super::semantic::Document>,
}

/// A dataset's name, limits and search path, as `quarry.dataset_runtime` (and, with more,
/// `quarry.question_context`) returns them.
#[derive(Debug, Clone, Deserialize)]
pub struct Runtime {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub row_limit: i64,
    pub timeout_ms: i64,
    pub search_path: Option<String>,
}

/// What the question pipeline reads about a dataset before it looks at the catalog.
#[derive(Debug, Deserialize)]
pub struct QuestionContext {
    #[serde(flatten)]
    pub runtime: Runtime,
    pub glossary: Vec<GlossaryTerm>,
    pub examples: Vec<Example>,
}

/// One page of `quarry.catalog`: the collections on it, and how many match in all.
#[derive(Debug, Deserialize)]
pub struct CatalogPage {
    pub total: i64,
    pub collections: Vec<Collection>,
}

/// Which part of a dataset's catalog to read, and in how much detail.
pub struct CatalogRequest<'a> {
    pub detail: Detail,
    /// Only collections whose "schema.name" contains this.
    pub name_filter: Option<&'a str>,
    pub page_size: i32,
    pub page_offset: i32,
    /// Count small relations as the role sees them instead of taking the planner's estimates.
    pub exact_counts: bool,
    /// Only these collections ("schema.name").
    pub relations: Option<&'a [String]>,
}

impl Db {
    /// Every dataset of an account's teams, with a page of each one's collections.
    pub async fn list_datasets(
        &self,
        account_id: i64,
        detail: Detail,
        name_filter: Option<&str>,
        page_size: i32,
        page_offset: i32,
    ) -> Result<DatasetList, DbError> {
        self.json(
            "list_datasets",
            "SELECT quarry.list_datasets($1, $2, $3, $4, $5)",
            &[&account_id, &detail.as_str(), &name_filter, &page_size, &page_offset],
        )
        .await
    }

    /// One dataset in depth: a page of its collections in full, its glossary and examples.
    pub async fn describe_dataset(
        &self,
        account_id: i64,
        dataset_id: i64,
        name_filter: Option<&str>,
        page_size: i32,
        page_offset: i32,
    ) -> Result<DatasetDescription, DbError> {
        self.json(
            "describe_dataset",
            "SELECT quarry.describe_dataset($1, $2, $3, $4, $5)",
            &[&account_id, &dataset_id, &name_filter, &page_size, &page_offset],
        )
        .await
    }

    /// A page of a dataset's catalog as the account's role may see it.
    pub async fn catalog(&self, dataset_id: i64, account_id: i64, r: &CatalogRequest<'_>) -> Result<CatalogPage, DbError> {
        self.json(
            "catalog",
            "SELECT quarry.catalog($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&dataset_id, &account_id, &r.detail.as_str(), &r.name_filter, &r.page_size, &r.page_offset, &r.exact_counts, &r.relations],
        )
        .await
    }

    /// A dataset's limits, glossary and example questions.
    pub async fn question_context(&self, account_id: i64, dataset_id: i64) -> Result<QuestionContext, DbError> {
        self.json("question_context", "SELECT quarry.question_context($1, $2)", &[&account_id, &dataset_id]).await
    }

    /// A dataset's name and limits, provided the account may ask about it.
    pub async fn dataset_runtime(&self, account_id: i64, dataset_id: i64) -> Result<Runtime, DbError> {
        self.json("dataset_runtime", "SELECT quarry.dataset_runtime($1, $2)", &[&account_id, &dataset_id]).await
    }
}
