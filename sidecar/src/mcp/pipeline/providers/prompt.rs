//! What a model is told: the dataset's semantic model (its measures with their definitions,
//! dimensions, time dimensions, filters and join paths) and schema (the collections most
//! relevant to the question), each within a character budget, its glossary and examples, the
//! rules its answer must follow, the conversation so far; and how its reply is read back. A
//! model answers with a semantic query (compiled by the planner, so the business definitions
//! hold), with SQL, or with why it cannot.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::Message;
use crate::db::conversations::Turn;
use crate::db::questions::QueryResult;
use crate::mcp::pipeline::context::{Context, Table};
use crate::mcp::pipeline::i18n::Lang;
use crate::mcp::pipeline::semantic::{Model, Query};

/// Most characters of schema description in a prompt; tables past it are listed by name only.
const SCHEMA_BUDGET: usize = 24_000;
/// Most characters of the semantic model in a prompt; tables past it are listed by name only.
const MODEL_BUDGET: usize = 16_000;

/// A model's answer: exactly one of the three.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ModelAnswer {
    /// A semantic query over the dataset's semantic model. Preferred whenever the model's measures,
    /// dimensions, filters and time dimensions can express the question: their definitions (for
    /// example which orders count as revenue) then apply without being restated.
    #[serde(default)]
    pub semantic_query: Option<Value>,
    /// One read-only PostgreSQL query (SELECT or WITH … SELECT), when the semantic model cannot
    /// express the question.
    #[serde(default)]
    pub sql: Option<String>,
    /// Why the question cannot be answered from this dataset, in the asker's language.
    #[serde(default)]
    pub cannot_answer: Option<String>,
}

/// The JSON schema of [`ModelAnswer`] with the semantic query's own schema in place, as the
/// providers' structured outputs take it.
pub fn answer_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(ModelAnswer)).unwrap_or(Value::Null);
    let query = serde_json::to_value(schemars::schema_for!(Query)).unwrap_or(Value::Null);
    if let (Some(props), Some(q)) = (schema.pointer_mut("/properties/semantic_query"), query.as_object()) {
        let mut q = q.clone();
        let defs = q.remove("$defs");
        q.remove("$schema");
        *props = json_any_of_null(Value::Object(q));
        if let (Some(defs), Some(root)) = (defs, schema.as_object_mut()) {
            root.insert("$defs".into(), defs);
        }
    }
    schema
}

fn json_any_of_null(schema: Value) -> Value {
    serde_json::json!({ "anyOf": [schema, { "type": "null" }] })
}

/// A semantic model as prompt text: per table its measures (with definitions and filters),
/// dimensions (with values), time dimensions and named filters; then the join paths. Only the
/// model's tables over the collections `shown` (those relevant to the question) are described.
fn model_text(model: &Model, shown: &dyn Fn(&str) -> bool) -> String {
    let mut out = String::new();
    let mut skipped = Vec::new();
    let tables: Vec<_> = model.tables().iter().filter(|t| shown(&t.base_table)).collect();
    for t in &tables {
        let mut text = format!("table {} ({})", t.name, t.base_table);
        if let Some(d) = &t.description {
            let _ = write!(text, ": {d}");
        }
        if !t.synonyms.is_empty() {
            let _ = write!(text, " [also: {}]", t.synonyms.join(", "));
        }
        for m in &t.measures {
            let kind = if m.fact { "fact (aggregate it)" } else { "measure" };
            let _ = write!(text, "\n  {kind} {}.{} = {}", t.name, m.name, m.expr);
            if let Some(f) = &m.filter {
                let _ = write!(text, " WHERE {f}");
            }
            if let Some(d) = &m.description {
                let _ = write!(text, " -- {d}");
            }
            if !m.synonyms.is_empty() {
                let _ = write!(text, " [also: {}]", m.synonyms.join(", "));
            }
        }
        for d in &t.dimensions {
            let _ = write!(text, "\n  dimension {}.{} = {}", t.name, d.name, d.expr);
            if !d.synonyms.is_empty() {
                let _ = write!(text, " [also: {}]", d.synonyms.join(", "));
            }
        }
        for d in &t.time_dimensions {
            let _ = write!(text, "\n  time dimension {}.{} = {}", t.name, d.name, d.expr);
        }
        for f in &t.filters {
            let _ = write!(text, "\n  filter {}.{} = {}", t.name, f.name, f.expr);
            if !f.synonyms.is_empty() {
                let _ = write!(text, " [also: {}]", f.synonyms.join(", "));
            }
        }
        if out.len() + text.len() > MODEL_BUDGET {
            skipped.push(t.name.clone());
            continue;
        }
        out.push_str(&text);
        out.push('\n');
    }
    if !skipped.is_empty() {
        let _ = writeln!(out, "Also in the model (items not shown): {}", skipped.join(", "));
    }
    let named = |n: &str| tables.iter().any(|t| t.name == n);
    for r in model.doc.relationships.iter().filter(|r| named(&r.from) && named(&r.to)) {
        let on: Vec<String> = r.columns.iter().map(|(a, b)| format!("{}.{a} = {}.{b}", r.from, r.to)).collect();
        let _ = writeln!(out, "join {} -> {} on {}", r.from, r.to, on.join(" AND "));
    }
    out
}
/// Rows of a result shown to a model writing an analysis.
const ANALYSIS_ROWS: usize = 50;

/// A table as prompt text: its name, kind, size and comment, then one line per column with its
/// type, keys, comment and (for small text columns) the values the asker may see.
fn table_text(t: &Table) -> String {
    let mut out = format!("{}.{} ({}", t.schema, t.name, t.kind.replace('_', " "));
    if let Some(n) = t.record_count {
        let _ = write!(out, ", ~{n} rows");
    }
    out.push(')');
    if let Some(c) = &t.comment {
        let _ = write!(out, ": {c}");
    }
    for c in &t.columns {
        let _ = write!(out, "\n  {} {}", c.name, c.type_name);
        if c.primary_key {
            out.push_str(" primary key");
        }
        for fk in t.foreign_keys.iter().filter(|k| k.columns.len() == 1 && k.columns[0] == c.name) {
            let _ = write!(out, " references {}.{}({})", fk.schema, fk.table, fk.ref_columns.join(", "));
        }
        if let Some(comment) = &c.comment {
            let _ = write!(out, " -- {comment}");
        }
        if !c.values.is_empty() {
            let values: Vec<String> = c.values.iter().take(30).map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
            let _ = write!(out, " (values: {})", values.join(", "));
        }
    }
    for fk in t.foreign_keys.iter().filter(|k| k.columns.len() > 1) {
        let _ = write!(out, "\n  ({}) references {}.{}({})", fk.columns.join(", "), fk.schema, fk.table, fk.ref_columns.join(", "));
    }
    out
}

/// The system prompt for answering a question.
pub fn sql_system(ctx: &Context, model: &Model, lang: Lang, today: &str) -> String {
    let mut out = format!(
        "You answer questions for Quarry about the dataset \"{}\".\n\
Reply with exactly one JSON object and nothing else, one of:\n\
- {{\"semantic_query\": {{...}}}}: a query over the semantic model below, in its terms (items named table.item). Prefer this whenever the model can express the question: its measures carry the business definitions. Shape: measures [{{measure, aggregation (for facts: sum, avg, min, max, count), distinct}}], group_by [table.dimension or a table name], time_grain (day, week, month, quarter, year, day_of_week), time_dimension, filters [{{kind: values, dimension, values, negated}} | {{kind: filter, filter}} | {{kind: compare, measure, op, value}}], period {{start, end (exclusive, YYYY-MM-DD) or last (\"30 days\"), label}}, form {{kind: value | share | percentage with condition | per_entity with entity | change with previous period and growth | rank_within with within and n | list}}, order (desc, asc), limit.\n\
- {{\"sql\": \"...\"}}: one read-only PostgreSQL query, when the semantic model cannot express the question.\n\
- {{\"cannot_answer\": \"...\"}}: why the dataset cannot answer it, in {}.\n\
Rules for SQL:\n\
- One statement: SELECT, or WITH ... SELECT. Never write data, change settings or roles, or call functions that touch files, the network or other sessions.\n\
- Use only the tables and columns listed below, with schema-qualified table names, and the measures' definitions where they apply.\n\
- Aggregate when the question asks for totals, averages or counts; give result columns short snake_case names.\n\
- At most {} rows are returned; add ORDER BY and LIMIT for rankings.\n\
- The query runs under the user's own database role, which may see only some rows: do not filter by user yourself.\n\
- Today is {today} (UTC); use now() or current_date for relative periods.\n",
        ctx.dataset.name,
        lang.name(),
        ctx.dataset.row_limit,
    );
    if let Some(d) = ctx.dataset.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "\nAbout the dataset: {d}");
    }
    if !model.tables().is_empty() {
        out.push_str("\nSemantic model:\n");
        let shown = |base: &str| ctx.tables.iter().any(|t| format!("{}.{}", t.schema, t.name) == base);
        out.push_str(&model_text(model, &shown));
    }
    out.push_str("\nTables:\n");
    let mut used = 0;
    let mut skipped = Vec::new();
    for t in &ctx.tables {
        let text = table_text(t);
        if used + text.len() > SCHEMA_BUDGET {
            skipped.push(format!("{}.{}", t.schema, t.name));
            continue;
        }
        used += text.len();
        out.push_str(&text);
        out.push('\n');
    }
    if !skipped.is_empty() {
        let _ = writeln!(out, "Also available (columns not shown): {}", skipped.join(", "));
    }
    if !ctx.glossary.is_empty() {
        out.push_str("\nGlossary:\n");
        for g in &ctx.glossary {
            let also = if g.synonyms.is_empty() { String::new() } else { format!(" (also: {})", g.synonyms.join(", ")) };
            let _ = writeln!(out, "- {}{also}: {}", g.term, g.definition);
        }
    }
    if !ctx.examples.is_empty() {
        out.push_str("\nExamples:\n");
        for e in ctx.examples.iter().take(10) {
            let _ = writeln!(out, "Question: {}\n```sql\n{}\n```", e.question, e.sql.trim());
        }
    }
    out
}

/// The conversation a model sees: earlier questions with what answered them (their semantic
/// query, or their SQL), then the question now asked.
pub fn sql_messages(history: &[Turn], question: &str) -> Vec<Message> {
    let mut out = Vec::new();
    for turn in history {
        let answered = match (&turn.semantic_query, &turn.sql) {
            (Some(q), _) => serde_json::json!({ "semantic_query": q }),
            (None, Some(sql)) => serde_json::json!({ "sql": sql.trim() }),
            (None, None) => continue,
        };
        out.push(Message::user(turn.question.clone()));
        out.push(Message::assistant(answered.to_string()));
    }
    out.push(Message::user(question.to_string()));
    out
}

/// What the model is told after its answer failed, to answer again.
pub fn correction(reply: &str, error: &str) -> [Message; 2] {
    [
        Message::assistant(reply.trim().to_string()),
        Message::user(format!("That failed: {error}\nAnswer again with one JSON object that follows the rules.")),
    ]
}

/// What a model's reply said: a semantic query to compile, SQL to run, or why it cannot answer.
#[derive(Debug, PartialEq)]
pub enum Reply {
    Semantic(Box<Query>),
    Sql(String),
    Cannot(String),
    /// JSON that is none of these, or a semantic query of the wrong shape: the reason.
    Invalid(String),
}

/// The JSON object of a reply: the whole reply, or its ```json block.
fn json_object(reply: &str) -> Option<serde_json::Map<String, Value>> {
    let trimmed = reply.trim();
    let candidate = match trimmed.find("```json") {
        Some(i) => {
            let rest = &trimmed[i + 7..];
            &rest[..rest.find("```").unwrap_or(rest.len())]
        }
        None => trimmed,
    };
    match serde_json::from_str::<Value>(candidate.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Reads a model's reply: a JSON answer (see [`ModelAnswer`]); else, from models that answer in
/// prose, the first ```sql block (or any fenced block), or the whole reply if it is a query;
/// `NO_SQL:` (or anything else) is the model saying it cannot answer.
pub fn read_reply(reply: &str) -> Reply {
    if let Some(map) = json_object(reply) {
        if let Some(q) = map.get("semantic_query").filter(|q| !q.is_null()) {
            return match serde_json::from_value::<Query>(q.clone()) {
                Ok(q) => Reply::Semantic(Box::new(q)),
                Err(e) => Reply::Invalid(format!("the semantic query does not have the expected shape: {e}")),
            };
        }
        if let Some(sql) = map.get("sql").and_then(Value::as_str) {
            return Reply::Sql(sql.trim().trim_end_matches(';').trim().to_string());
        }
        if let Some(why) = map.get("cannot_answer").and_then(Value::as_str) {
            return Reply::Cannot(why.chars().take(1000).collect());
        }
        return Reply::Invalid("the JSON had none of semantic_query, sql or cannot_answer".into());
    }
    let fenced = |text: &str| -> Option<String> {
        let lower = text.to_lowercase();
        let start = lower.find("```sql").map(|i| i + 6).or_else(|| lower.find("```").map(|i| i + 3))?;
        let rest = &text[start..];
        let end = rest.find("```").unwrap_or(rest.len());
        Some(rest[..end].to_string())
    };
    let candidate = fenced(reply).unwrap_or_else(|| reply.to_string());
    let sql = candidate.trim().trim_end_matches(';').trim().to_string();
    let head = sql.split_whitespace().next().unwrap_or_default().to_lowercase();
    if matches!(head.as_str(), "select" | "with" | "values" | "(select" | "table") || fenced(reply).is_some_and(|_| !sql.is_empty()) {
        return Reply::Sql(sql);
    }
    let reason = reply.trim();
    let reason = reason.strip_prefix("NO_SQL:").unwrap_or(reason).trim();
    Reply::Cannot(reason.chars().take(1000).collect())
}

/// The system prompt and message for writing an analysis of a result.
pub fn analysis(question: &str, sql: &str, result: &QueryResult, lang: Lang) -> (String, Vec<Message>) {
    let system = format!(
        "You are a careful data analyst. In {}, write two or three plain sentences about the result for the person who asked: \
the headline number, the largest and smallest values or the trend where they matter. Use only numbers present in the result; \
never invent any. No preamble, no markdown.",
        lang.name()
    );
    let mut text = format!("Question: {question}\nSQL:\n{}\nResult", sql.trim());
    let _ = writeln!(text, " ({} rows{}):", result.row_count, if result.truncated { ", more exist" } else { "" });
    text.push_str(&result.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(","));
    for row in result.rows.iter().take(ANALYSIS_ROWS) {
        text.push('\n');
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        text.push_str(&cells.join(","));
    }
    if result.rows.len() > ANALYSIS_ROWS {
        let _ = write!(text, "\n… {} more rows", result.rows.len() - ANALYSIS_ROWS);
    }
    (system, vec![Message::user(text)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_answers_are_read() {
        let q = read_reply(r#"{"semantic_query": {"measures": [{"measure": "orders.orders"}], "group_by": ["orders.channel"]}}"#);
        assert!(matches!(q, Reply::Semantic(q) if q.group_by == ["orders.channel"]));
        assert_eq!(read_reply("```json\n{\"sql\": \"SELECT 1;\"}\n```"), Reply::Sql("SELECT 1".into()));
        assert_eq!(read_reply(r#"{"cannot_answer": "no weather here"}"#), Reply::Cannot("no weather here".into()));
        assert!(matches!(read_reply(r#"{"semantic_query": {"measures": 3}}"#), Reply::Invalid(_)));
        assert!(matches!(read_reply(r#"{"answer": 42}"#), Reply::Invalid(_)));
        // The schema given to structured outputs carries the semantic query's shape.
        let schema = answer_schema();
        assert!(schema.pointer("/properties/semantic_query/anyOf/0/properties/measures").is_some(), "{schema}");
        assert!(schema.pointer("/properties/sql").is_some() && schema.pointer("/properties/cannot_answer").is_some());
    }

    #[test]
    fn replies_are_read() {
        assert_eq!(read_reply("```sql\nSELECT 1;\n```"), Reply::Sql("SELECT 1".into()));
        assert_eq!(read_reply("Here you go:\n```SQL\nselect count(*) from t\n```\nThis counts rows."), Reply::Sql("select count(*) from t".into()));
        assert_eq!(read_reply("```\nWITH x AS (SELECT 1) SELECT * FROM x\n```"), Reply::Sql("WITH x AS (SELECT 1) SELECT * FROM x".into()));
        assert_eq!(read_reply("SELECT 2"), Reply::Sql("SELECT 2".into()));
        assert_eq!(read_reply("NO_SQL: there is no table of employees."), Reply::Cannot("there is no table of employees.".into()));
        assert_eq!(read_reply("I cannot help with that."), Reply::Cannot("I cannot help with that.".into()));
        // Whatever is in the block is handed to the check, which refuses what is not a query.
        assert_eq!(read_reply("```sql\nDELETE FROM t\n```"), Reply::Sql("DELETE FROM t".into()));
    }

    #[test]
    fn history_becomes_alternating_turns() {
        let history = vec![
            Turn { question: "How many orders?".into(), sql: Some("SELECT count(*) FROM o".into()), semantic_query: None },
            Turn { question: "Unanswerable".into(), sql: None, semantic_query: None },
        ];
        let messages = sql_messages(&history, "And by month?");
        let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, vec![super::super::Role::User, super::super::Role::Assistant, super::super::Role::User]);
        assert_eq!(messages[2].content, "And by month?");
    }
}
