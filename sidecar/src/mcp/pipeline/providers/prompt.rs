//! What a model is told: the dataset's schema (the collections most relevant to the question,
//! within a character budget), its glossary and examples, the rules its SQL must follow, the
//! conversation so far; and how its reply is read back.

use std::fmt::Write;

use super::Message;
use crate::db::conversations::Turn;
use crate::db::questions::QueryResult;
use crate::mcp::pipeline::context::{Context, Table};
use crate::mcp::pipeline::i18n::Lang;

/// Most characters of schema description in a prompt; tables past it are listed by name only.
const SCHEMA_BUDGET: usize = 24_000;
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

/// The system prompt for writing SQL.
pub fn sql_system(ctx: &Context, lang: Lang, today: &str) -> String {
    let mut out = format!(
        "You write PostgreSQL for Quarry. Answer the user's question about the dataset \"{}\" with exactly one read-only query.\n\
Rules:\n\
- One statement: SELECT, or WITH ... SELECT. Never write data, change settings or roles, or call functions that touch files, the network or other sessions.\n\
- Use only the tables and columns listed below, with schema-qualified table names.\n\
- Aggregate when the question asks for totals, averages or counts; give result columns short snake_case names.\n\
- At most {} rows are returned; add ORDER BY and LIMIT for rankings.\n\
- The query runs under the user's own database role, which may see only some rows: do not filter by user yourself.\n\
- Today is {today} (UTC); use now() or current_date for relative periods.\n\
- Reply with the query alone in one ```sql code block. If these tables cannot answer the question, reply with a line starting NO_SQL: and say why in {}.\n",
        ctx.dataset.name,
        ctx.dataset.row_limit,
        lang.name(),
    );
    if let Some(d) = ctx.dataset.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "\nAbout the dataset: {d}");
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

/// The conversation a model sees: earlier questions with the SQL that answered them, then the
/// question now asked.
pub fn sql_messages(history: &[Turn], question: &str) -> Vec<Message> {
    let mut out = Vec::new();
    for turn in history {
        if let Some(sql) = &turn.sql {
            out.push(Message::user(turn.question.clone()));
            out.push(Message::assistant(format!("```sql\n{}\n```", sql.trim())));
        }
    }
    out.push(Message::user(question.to_string()));
    out
}

/// What the model is told after its SQL failed, to write it again.
pub fn correction(sql: &str, error: &str) -> [Message; 2] {
    [
        Message::assistant(format!("```sql\n{}\n```", sql.trim())),
        Message::user(format!(
            "That query failed: {error}\nWrite a corrected query that follows the rules, in one ```sql code block."
        )),
    ]
}

/// What a model's reply said: SQL to run, or why it cannot answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Sql(String),
    Cannot(String),
}

/// Reads a model's reply: the first ```sql block (or any fenced block), else the whole reply if it
/// is a query; `NO_SQL:` (or anything else) is the model saying it cannot answer.
pub fn read_reply(reply: &str) -> Reply {
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
