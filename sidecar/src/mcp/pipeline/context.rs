//! What a question is answered from: the dataset, the collections most relevant to the question
//! (ranked, then read in full), the glossary and example questions, and the distinct values of
//! small text columns, read under the asker's own role so they show only what the asker may see.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use crate::db::datasets::{CatalogRequest, Collection, Detail, Example, Fields, GlossaryTerm, Runtime};
use crate::db::questions::{Executor, Limits};
use super::PipelineError;
use crate::db::Db;

/// How many collections a question's context holds at most.
pub const MAX_TABLES: usize = 10;
/// Text columns with at most this many distinct values have their values listed.
pub const MAX_SAMPLE_VALUES: i64 = 60;

/// Collections read per catalog page, and pages read at most when ranking (10,000 collections).
const CATALOG_PAGE: i32 = 1000;
const CATALOG_PAGES: i32 = 10;

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub comment: Option<String>,
    pub distinct_values: Option<i64>,
    pub primary_key: bool,
    /// Distinct values (for small text columns), as the asker may see them.
    pub values: Vec<String>,
}

impl Column {
    pub fn is_numeric(&self) -> bool {
        let t = self.type_name.as_str();
        ["integer", "bigint", "smallint", "numeric", "real", "double precision", "money", "decimal"].iter().any(|n| t.starts_with(n))
    }

    pub fn is_temporal(&self) -> bool {
        let t = self.type_name.as_str();
        t.starts_with("timestamp") || t == "date"
    }

    pub fn is_text(&self) -> bool {
        let t = self.type_name.as_str();
        t == "text" || t.starts_with("character") || t == "citext" || t == "name"
    }
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub schema: String,
    pub table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub kind: String,
    pub comment: Option<String>,
    pub record_count: Option<i64>,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column that names a row for people: name, title, label, code, or the first text column.
    pub fn label_column(&self) -> Option<&Column> {
        ["name", "title", "label", "code"]
            .iter()
            .find_map(|n| self.column(n))
            .or_else(|| self.columns.iter().find(|c| c.is_text() && !c.primary_key))
    }
}

/// Quotes an identifier when it needs quoting.
pub fn quote(ident: &str) -> String {
    let plain = !ident.is_empty()
        && ident.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !matches!(ident, "user" | "order" | "group" | "select" | "from" | "where" | "table" | "limit" | "offset" | "end" | "desc" | "asc" | "all" | "any");
    if plain { ident.to_string() } else { format!("\"{}\"", ident.replace('"', "\"\"")) }
}

#[derive(Debug, Clone)]
pub struct Context {
    pub dataset: Runtime,
    pub tables: Vec<Table>,
    pub glossary: Vec<GlossaryTerm>,
    pub examples: Vec<Example>,
}

impl Context {
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.schema == schema && t.name == name)
    }
}

/// Lowercase word stems of a text (ASCII letters and digits; CJK characters one by one).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() && ch.is_ascii() {
            current.push(ch);
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if ch.is_alphanumeric() {
                out.push(ch.to_string());
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A word without a plural ending (orders → order, categories → category, statuses → status).
pub fn stem(word: &str) -> String {
    if let Some(base) = word.strip_suffix("ies").filter(|b| b.len() > 2) {
        return format!("{base}y");
    }
    if let Some(base) = word.strip_suffix("ses").filter(|b| b.len() > 2) {
        return format!("{base}s");
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        return word[..word.len() - 1].to_string();
    }
    word.to_string()
}

/// The stems of an identifier's parts (total_amount → total, amount).
pub fn ident_stems(ident: &str) -> Vec<String> {
    ident.split(['_', ' ', '.']).filter(|p| !p.is_empty()).map(|p| stem(&p.to_lowercase())).collect()
}

/// How relevant a collection is to a question: its name, its columns' names, its comment and
/// the glossary and example questions that mention it.
pub fn relevance(question: &HashSet<String>, collection: &Collection, glossary: &[GlossaryTerm], examples: &[Example]) -> f64 {
    let mut score = 0.0;
    let name = format!("{}.{}", collection.schema, collection.name);
    for s in ident_stems(&collection.name) {
        if question.contains(&s) {
            score += 4.0;
        }
    }
    if let Some(Fields::Names(fields)) = &collection.fields {
        for f in fields {
            let stems = ident_stems(f);
            if stems.iter().all(|s| question.contains(s)) {
                score += 2.0;
            } else if stems.iter().any(|s| question.contains(s) && s.len() > 2) {
                score += 0.5;
            }
        }
    }
    if let Some(comment) = &collection.comment {
        score += 0.3 * words(comment).iter().map(|w| stem(w)).filter(|w| w.len() > 3 && question.contains(w)).count() as f64;
    }
    for g in glossary {
        let terms: Vec<String> = std::iter::once(g.term.clone()).chain(g.synonyms.iter().cloned()).collect();
        let mentioned = terms.iter().any(|t| {
            let ws: Vec<String> = words(t).iter().map(|w| stem(w)).collect();
            !ws.is_empty() && ws.iter().all(|w| question.contains(w))
        });
        if mentioned && (g.definition.contains(&name) || g.definition.contains(&format!("{}.", collection.name))) {
            score += 3.0;
        }
    }
    for e in examples {
        let ws: HashSet<String> = words(&e.question).iter().map(|w| stem(w)).collect();
        let overlap = ws.intersection(question).count() as f64 / ws.len().max(1) as f64;
        if overlap >= 0.5 && e.sql.contains(&collection.name) {
            score += 2.0 * overlap;
        }
    }
    score
}

/// Picks the collections a question needs: a small dataset whole, else the most relevant (or,
/// when nothing is, the largest). `gather` adds the tables these reference.
pub fn choose(question: &str, summary: &[Collection], glossary: &[GlossaryTerm], examples: &[Example]) -> Vec<String> {
    let q: HashSet<String> = words(question).iter().map(|w| stem(w)).collect();
    let mut ranked: Vec<(f64, &Collection)> =
        summary.iter().map(|c| (relevance(&q, c, glossary, examples), c)).collect();
    ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut chosen: Vec<String> = ranked
        .iter()
        .filter(|(score, _)| *score > 0.0)
        .take(MAX_TABLES)
        .map(|(_, c)| format!("{}.{}", c.schema, c.name))
        .collect();
    // A small dataset is taken whole; a question that names nothing gets the biggest tables.
    if summary.len() <= MAX_TABLES {
        chosen = summary.iter().map(|c| format!("{}.{}", c.schema, c.name)).collect();
    } else if chosen.is_empty() {
        let mut by_size: Vec<&Collection> = summary.iter().collect();
        by_size.sort_by_key(|c| std::cmp::Reverse(c.record_count.unwrap_or(0)));
        chosen = by_size.iter().take(MAX_TABLES / 2).map(|c| format!("{}.{}", c.schema, c.name)).collect();
    }
    chosen
}

/// Foreign-key neighbours a context lacks: the tables its tables reference (at most MAX_TABLES).
pub fn referenced(tables: &[Table]) -> Vec<String> {
    let have: HashSet<String> = tables.iter().map(|t| format!("{}.{}", t.schema, t.name)).collect();
    let mut out: Vec<String> = Vec::new();
    for name in tables.iter().flat_map(|t| t.foreign_keys.iter().map(|k| format!("{}.{}", k.schema, k.table))) {
        if !have.contains(&name) && !out.contains(&name) && out.len() < MAX_TABLES {
            out.push(name);
        }
    }
    out
}

/// Turns full catalog entries into the planner's tables.
pub fn tables(collections: Vec<Collection>, samples: &BTreeMap<(String, String, String), Vec<String>>) -> Vec<Table> {
    collections
        .into_iter()
        .map(|c| {
            let fields = match c.fields {
                Some(Fields::Full(f)) => f,
                _ => Vec::new(),
            };
            Table {
                columns: fields
                    .into_iter()
                    .map(|f| Column {
                        values: samples.get(&(c.schema.clone(), c.name.clone(), f.name.clone())).cloned().unwrap_or_default(),
                        primary_key: f.primary_key == Some(true),
                        name: f.name,
                        type_name: f.type_name,
                        comment: f.comment,
                        distinct_values: f.distinct_values,
                    })
                    .collect(),
                primary_key: c.primary_key.unwrap_or_default(),
                foreign_keys: c
                    .foreign_keys
                    .unwrap_or_default()
                    .into_iter()
                    .map(|k| ForeignKey { columns: k.columns, schema: k.references.schema, table: k.references.name, ref_columns: k.references.columns })
                    .collect(),
                schema: c.schema,
                name: c.name,
                kind: c.kind,
                comment: c.comment,
                record_count: c.record_count,
            }
        })
        .collect()
}

/// The query that lists the distinct values of small text columns, in one statement (run under
/// the asker's role).
pub fn samples_query(tables: &[Table]) -> Option<String> {
    let parts: Vec<String> = tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| c.is_text() && c.distinct_values.is_some_and(|n| (1..=MAX_SAMPLE_VALUES).contains(&n)))
                .map(move |c| {
                    format!(
                        "(SELECT '{}'::text AS s, '{}'::text AS t, '{}'::text AS c, v::text FROM (SELECT DISTINCT {} AS v FROM {} WHERE {} IS NOT NULL ORDER BY 1 LIMIT {}) d)",
                        t.schema.replace('\'', "''"),
                        t.name.replace('\'', "''"),
                        c.name.replace('\'', "''"),
                        quote(&c.name),
                        t.qualified(),
                        quote(&c.name),
                        MAX_SAMPLE_VALUES
                    )
                })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

/// A page of the catalog as `gather` reads it: the whole dataset (no filter, estimated counts),
/// or only the named collections.
fn catalog_page(detail: Detail, page_offset: i32, relations: Option<&[String]>) -> CatalogRequest<'_> {
    CatalogRequest { detail, name_filter: None, page_size: CATALOG_PAGE, page_offset, exact_counts: false, relations }
}

/// Reads what answering `question` about a dataset needs, as the account may see it: the dataset,
/// a summary of every collection (to rank them), the chosen collections in full, and (when
/// `values` says so for the context) the values of their small text columns, which take a scan
/// of each table to read.
pub async fn gather(
    db: &Db,
    executor: &Executor,
    account_id: i64,
    dataset_id: i64,
    question: &str,
    values: impl Fn(&Context) -> bool,
) -> Result<Context, PipelineError> {
    let qc = db.question_context(account_id, dataset_id).await?;
    let mut summary: Vec<Collection> = Vec::new();
    for page in 0..CATALOG_PAGES {
        let p = db.catalog(dataset_id, account_id, &catalog_page(Detail::Summary, page * CATALOG_PAGE, None)).await?;
        let done = p.collections.is_empty() || (summary.len() + p.collections.len()) as i64 >= p.total;
        summary.extend(p.collections);
        if done {
            break;
        }
    }
    let chosen = choose(question, &summary, &qc.glossary, &qc.examples);
    let full = db.catalog(dataset_id, account_id, &catalog_page(Detail::Full, 0, Some(&chosen))).await?;
    let rank = |t: &Table| chosen.iter().position(|c| *c == format!("{}.{}", t.schema, t.name)).unwrap_or(usize::MAX);
    let mut tables = tables(full.collections, &BTreeMap::new());
    tables.sort_by_key(rank);
    // The tables the chosen ones reference come too (after them), so that a join can reach a
    // table the question names through one it does not.
    let neighbours = referenced(&tables);
    if !neighbours.is_empty() {
        let more = db.catalog(dataset_id, account_id, &catalog_page(Detail::Full, 0, Some(&neighbours))).await?;
        tables.extend(self::tables(more.collections, &BTreeMap::new()));
    }
    let mut ctx = Context { dataset: qc.runtime, tables, glossary: qc.glossary, examples: qc.examples };
    if values(&ctx) {
        fill_samples(executor, account_id, &ctx.dataset, &mut ctx.tables).await;
    }
    Ok(ctx)
}

/// Fills in the distinct values of small text columns, read under the account's role (so only
/// values of rows it may see). A failure only costs the samples.
async fn fill_samples(executor: &Executor, account_id: i64, dataset: &Runtime, tables: &mut [Table]) {
    let Some(sql) = samples_query(tables) else { return };
    let limits = Limits {
        max_rows: 10_000,
        max_bytes: 512 * 1024,
        timeout: Duration::from_millis(dataset.timeout_ms.clamp(100, 5_000) as u64),
    };
    let ran = match executor.execute_for(account_id, dataset.id, &sql, limits).await {
        Ok(ran) => ran.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let result = match ran {
        Ok(result) => result,
        Err(error) => {
            tracing::warn!(%error, dataset = dataset.id, "could not read sample values");
            return;
        }
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut samples: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for row in &result.rows {
        if let [s, t, c, v] = row.as_slice()
            && let (Some(s), Some(t), Some(c), Some(v)) = (text(s), text(t), text(c), text(v)) {
                samples.entry((s, t, c)).or_default().push(v);
            }
    }
    for table in tables.iter_mut() {
        for column in &mut table.columns {
            if let Some(values) = samples.remove(&(table.schema.clone(), table.name.clone(), column.name.clone())) {
                column.values = values;
            }
        }
    }
}
