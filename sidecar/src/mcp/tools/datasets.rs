//! Datasets and their catalog, as the caller's database role may see them.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Answer, args, page_offset, page_size, run};
use crate::db::datasets::{Collection, DatasetDescription, DatasetList, Detail, Fields};
use crate::mcp::identity::Identity;
use crate::mcp::server::QuarryServer;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDatasetsArgs {
    /// How much to say about each collection (default summary).
    #[serde(default)]
    pub detail: Option<Detail>,
    /// Only collections whose "schema.name" contains this text (case-insensitive).
    #[serde(default)]
    pub name_filter: Option<String>,
    /// Collections per dataset on this page (1 to 200, default 50).
    #[serde(default)]
    pub page_size: Option<i64>,
    /// How many collections of each dataset to skip (default 0).
    #[serde(default)]
    pub page_offset: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeDatasetArgs {
    /// The dataset (from list_datasets).
    pub dataset_id: i64,
    /// Only collections whose "schema.name" contains this text (case-insensitive).
    #[serde(default)]
    pub name_filter: Option<String>,
    /// Collections on this page (1 to 200, default 50).
    #[serde(default)]
    pub page_size: Option<i64>,
    /// How many collections to skip (default 0).
    #[serde(default)]
    pub page_offset: Option<i64>,
}

/// One collection as a line of text (and its fields, indented, at full detail).
fn collection_text(c: &Collection) -> String {
    let mut line = format!("- {}.{} ({}", c.schema, c.name, c.kind.replace('_', " "));
    if let Some(n) = c.record_count {
        line.push_str(&format!(", {}{n} rows", if c.record_count_exact == Some(true) { "" } else { "~" }));
    }
    line.push(')');
    if let Some(comment) = &c.comment {
        line.push_str(&format!(": {comment}"));
    }
    match &c.fields {
        Some(Fields::Names(names)) if !names.is_empty() => line.push_str(&format!("\n    fields: {}", names.join(", "))),
        Some(Fields::Full(fields)) => {
            for f in fields {
                line.push_str(&format!("\n    {} {}{}", f.name, f.type_name, if f.nullable { "" } else { " not null" }));
                if f.primary_key == Some(true) {
                    line.push_str(" primary key");
                }
                if let Some(r) = &f.references {
                    line.push_str(&format!(" → {}.{}.{}", r.schema, r.name, r.column));
                }
                if let Some(comment) = &f.comment {
                    line.push_str(&format!(" -- {comment}"));
                }
            }
        }
        _ => {}
    }
    line
}

#[tool_router(router = datasets_router, vis = "pub(crate)")]
impl QuarryServer {
    #[tool(
        name = "list_datasets",
        title = "List datasets",
        description = "The datasets of all your teams with their collections (tables and views you may read), fields and record counts. Use detail=names to scan a big catalog, name_filter to narrow it, and page_size/page_offset to page through each dataset's collections.",
        output_schema = schema_for_output::<DatasetList>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_datasets(&self, identity: Identity, Parameters(a): Parameters<ListDatasetsArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "list_datasets", &identity, args(&a), async {
            let size = page_size(a.page_size, 50, 200)?;
            let offset = page_offset(a.page_offset)?;
            let list = db.list_datasets(identity.account_id, a.detail.unwrap_or_default(), a.name_filter.as_deref(), size, offset).await?;
            let mut text = String::new();
            if list.datasets.is_empty() {
                text.push_str("You have no datasets yet: ask your administrator to add you to a team with one.");
            }
            for d in &list.datasets {
                text.push_str(&format!("{} (dataset {}, team {}): {}\n", d.name, d.id, d.team.name, d.description));
                if let Some(reason) = &d.unavailable {
                    text.push_str(&format!("  not available to you: {reason}\n"));
                    continue;
                }
                for c in &d.collections {
                    text.push_str(&format!("  {}\n", collection_text(c).replace('\n', "\n  ")));
                }
                let shown = offset as i64 + d.collections.len() as i64;
                if shown < d.collections_total {
                    text.push_str(&format!("  … {} more (page_offset={shown})\n", d.collections_total - shown));
                }
            }
            Answer::new(&list, text.trim_end().to_string())
        })
        .await)
    }

    #[tool(
        name = "describe_dataset",
        title = "Describe a dataset",
        description = "One dataset in depth: every collection you may read with its columns (types, nullability, comments), primary and foreign keys and indexes, plus the dataset's glossary and example questions with their SQL. Page through big datasets with page_size/page_offset or narrow with name_filter.",
        output_schema = schema_for_output::<DatasetDescription>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn describe_dataset(
        &self,
        identity: Identity,
        Parameters(a): Parameters<DescribeDatasetArgs>,
    ) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "describe_dataset", &identity, args(&a), async {
            let size = page_size(a.page_size, 50, 200)?;
            let offset = page_offset(a.page_offset)?;
            let d = db.describe_dataset(identity.account_id, a.dataset_id, a.name_filter.as_deref(), size, offset).await?;
            let mut text = format!("{} (dataset {}, team {}): {}\n", d.name, d.id, d.team.name, d.description);
            for c in &d.collections {
                text.push_str(&collection_text(c));
                text.push('\n');
            }
            if !d.glossary.is_empty() {
                text.push_str("Glossary:\n");
                for g in &d.glossary {
                    text.push_str(&format!("- {}: {}\n", g.term, g.definition));
                }
            }
            if !d.examples.is_empty() {
                text.push_str("Example questions:\n");
                for e in &d.examples {
                    text.push_str(&format!("- {}\n  {}\n", e.question, e.sql.replace('\n', "\n  ")));
                }
            }
            Answer::new(&d, text.trim_end().to_string())
        })
        .await)
    }
}
