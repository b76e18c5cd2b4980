//! A question's answer in SQLBot's shape: `success`, `sql`, `data` (`fields` and one object per
//! row, as SQLBot's chat records keep them), `chart` (`type`, `title`, `axis`, `columns`) and
//! `image_url`, with Quarry's own additions beside them (the chat and conversation, the dataset,
//! the interpretation and the analysis). The chart image is a `data:` URL: SQLBot serves its
//! images at `/images/<file>` to anyone who has the link; Quarry serves none.
//!
//! Also the same answer as Markdown, which is what SQLBot's streamed answers are and what MCP
//! hosts show best.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::db::questions::QueryResult;
use crate::mcp::pipeline::analysis::{format_value, markdown_table};
use crate::mcp::pipeline::chart::Chart;
use crate::mcp::pipeline::i18n::t;
use crate::mcp::pipeline::{Answer, Outcome, Status};

/// Rows of a result the Markdown rendering shows (the JSON answer carries all of them).
const MARKDOWN_ROWS: usize = 20;

/// Column names as object keys: unique (a repeated name gets `_2`, `_3`…), so no value is lost.
fn field_names(result: &QueryResult) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(result.columns.len());
    for column in &result.columns {
        let mut name = column.name.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{}_{n}", column.name);
            n += 1;
        }
        names.push(name);
    }
    names
}

/// SQLBot's `data`: the fields, and each row as an object keyed by them.
fn data(result: &QueryResult, datasource: i64) -> Value {
    let fields = field_names(result);
    let rows: Vec<Value> = result
        .rows
        .iter()
        .map(|row| Value::Object(fields.iter().cloned().zip(row.iter().cloned()).collect::<Map<String, Value>>()))
        .collect();
    json!({
        "fields": fields,
        "data": rows,
        "datasource": datasource,
        "row_count": result.row_count,
        "truncated": result.truncated,
        "truncated_by": result.truncated_by,
    })
}

/// The name and value of an axis, as SQLBot's chart configurations have them.
fn axis(column: &Option<String>) -> Value {
    match column {
        Some(c) => json!({ "name": c, "value": c }),
        None => Value::Null,
    }
}

/// SQLBot's `chart`: its type, title, axes and columns (Quarry's types: single_value, bar, line,
/// pie, table).
fn chart(chart: &Chart, result: &QueryResult, title: &str) -> Value {
    let mut axes = Map::new();
    if chart.x.is_some() {
        axes.insert("x".into(), axis(&chart.x));
    }
    if chart.y.is_some() {
        axes.insert("y".into(), axis(&chart.y));
    }
    if chart.series.is_some() {
        axes.insert("series".into(), axis(&chart.series));
    }
    json!({
        "type": serde_json::to_value(chart.kind).unwrap_or(Value::Null),
        "title": title,
        "axis": axes,
        "columns": field_names(result).iter().map(|c| json!({ "name": c, "value": c })).collect::<Vec<_>>(),
    })
}

/// The answer as the front returns it. `chat_id` is the chat asked in (none for an assistant).
pub fn body(outcome: &Outcome, chat_id: Option<i64>) -> Map<String, Value> {
    let a = &outcome.answer;
    let mut body = Map::new();
    body.insert("success".into(), Value::Bool(a.status == Status::Answered));
    if let Some(chat) = chat_id {
        body.insert("chat_id".into(), json!(chat));
    }
    body.insert("conversation_id".into(), json!(a.conversation_id));
    body.insert("question".into(), json!(a.question));
    body.insert("datasource_id".into(), json!(a.dataset.id));
    body.insert("datasource_name".into(), json!(a.dataset.name));
    match a.status {
        Status::Answered => {}
        Status::NotConfident => {
            body.insert("message".into(), json!(a.analysis));
            body.insert("suggestions".into(), json!(a.suggestions));
        }
        Status::Failed => {
            let last = a.attempts.last().and_then(|at| at.error.clone()).unwrap_or_default();
            body.insert("message".into(), json!(format!("The SQL did not run: {last}")));
        }
    }
    let sql = a.sql.clone().or_else(|| a.attempts.last().map(|at| at.sql.clone()).filter(|s| !s.is_empty()));
    if let Some(sql) = sql {
        body.insert("sql".into(), json!(sql));
    }
    if let Some(interpretation) = &a.interpretation {
        body.insert("interpretation".into(), json!(interpretation));
    }
    if let Some(result) = &a.result {
        body.insert("data".into(), data(result, a.dataset.id));
        if let Some(c) = &a.chart {
            body.insert("chart".into(), chart(c, result, &a.question));
        }
    }
    if a.status == Status::Answered {
        body.insert("analysis".into(), json!(a.analysis));
    }
    if let Some(png) = &outcome.image {
        let encoded = base64::engine::general_purpose::STANDARD.encode(png);
        body.insert("image_url".into(), json!(format!("data:image/png;base64,{encoded}")));
    }
    body.insert("lang".into(), serde_json::to_value(a.lang).unwrap_or(Value::Null));
    body
}

/// A cell for a Markdown table: formatted, on one line.
fn cell(v: &Value) -> String {
    format_value(v).replace('\n', " ").replace('|', "\\|")
}

/// The answer as Markdown: the chat and question (quoted, as SQLBot's streamed answers begin), the
/// interpretation, the SQL, the rows as a table and the analysis; or why there is no answer.
pub fn markdown(a: &Answer, chat_id: Option<i64>) -> String {
    let mut out = String::new();
    match chat_id {
        Some(chat) => out.push_str(&format!("> Chat {chat} · {} (datasource {})\n", a.dataset.name, a.dataset.id)),
        None => out.push_str(&format!("> {} (datasource {})\n", a.dataset.name, a.dataset.id)),
    }
    out.push_str(&format!("> {}\n\n", a.question.replace('\n', " ")));
    if let Some(interpretation) = &a.interpretation {
        out.push_str(&format!("**{}:** {interpretation}\n\n", t(a.lang, "interpretation", &[])));
    }
    let sql = a.sql.as_ref().or_else(|| a.attempts.last().map(|at| &at.sql)).filter(|s| !s.is_empty());
    if let Some(sql) = sql {
        out.push_str(&format!("```sql\n{sql}\n```\n\n"));
    }
    match a.status {
        Status::NotConfident => {
            out.push_str(&a.analysis);
            for s in &a.suggestions {
                out.push_str(&format!("\n- {s}"));
            }
            return out;
        }
        Status::Failed => {
            let last = a.attempts.last().and_then(|at| at.error.clone()).unwrap_or_default();
            out.push_str(&format!("The SQL did not run: {last}"));
            return out;
        }
        Status::Answered => {}
    }
    if let Some(r) = &a.result {
        if r.rows.is_empty() {
            out.push_str("The SQL execution result is empty.\n\n");
        } else {
            out.push_str(&markdown_table(&field_names(r), &r.rows, MARKDOWN_ROWS, cell));
            if r.rows.len() > MARKDOWN_ROWS {
                out.push_str(&format!("\n… and {} more rows.\n", r.rows.len() - MARKDOWN_ROWS));
            }
            if r.truncated {
                out.push_str(&format!("\n(More rows exist: the {} cap cut the result.)\n", r.truncated_by.as_deref().unwrap_or("row")));
            }
            out.push('\n');
        }
    }
    out.push_str(&a.analysis);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::datasets::DatasetRef;
    use crate::mcp::pipeline::dataset::Choice;
    use crate::mcp::pipeline::i18n::Lang;

    fn answer(result: QueryResult) -> Answer {
        Answer {
            conversation_id: 7,
            dataset: DatasetRef { id: 3, name: "Retail".into() },
            dataset_choice: Choice::Given,
            question: "Revenue by region".into(),
            status: Status::Answered,
            model: None,
            interpretation: Some("revenue, grouped by region".into()),
            semantic_query: None,
            sql: Some("SELECT region, sum(x) FROM t GROUP BY 1".into()),
            attempts: Vec::new(),
            result: Some(result),
            chart: None,
            analysis: "EMEA leads.".into(),
            suggestions: Vec::new(),
            lang: Lang::En,
            duration_ms: 1.0,
        }
    }

    #[test]
    fn rows_become_objects_keyed_by_unique_field_names() {
        let r = QueryResult::of(&[("region", "text"), ("n", "bigint"), ("n", "bigint")], vec![vec![json!("EMEA"), json!(1), json!(2)]]);
        let outcome = Outcome { answer: answer(r), image: Some(vec![0x89, b'P', b'N', b'G']) };
        let b = body(&outcome, Some(12));
        assert_eq!(b["success"], true);
        assert_eq!(b["chat_id"], 12);
        assert_eq!(b["data"]["fields"], json!(["region", "n", "n_2"]));
        assert_eq!(b["data"]["data"], json!([{ "region": "EMEA", "n": 1, "n_2": 2 }]));
        assert_eq!(b["data"]["datasource"], 3);
        assert_eq!(b["image_url"], "data:image/png;base64,iVBORw==");
        assert_eq!(b["sql"], "SELECT region, sum(x) FROM t GROUP BY 1");
    }

    #[test]
    fn markdown_shows_the_question_sql_rows_and_analysis() {
        let r = QueryResult::of(&[("region", "text"), ("revenue", "numeric")], vec![vec![json!("A|B"), json!(10)]]);
        let text = markdown(&answer(r), Some(12));
        assert!(text.starts_with("> Chat 12 · Retail (datasource 3)\n> Revenue by region\n\n"), "{text}");
        assert!(text.contains("```sql\nSELECT region"), "{text}");
        assert!(text.contains("| region | revenue |\n| --- | --- |\n| A\\|B | 10 |"), "{text}");
        assert!(text.ends_with("EMEA leads."), "{text}");
    }

    #[test]
    fn an_unanswered_question_says_why() {
        let mut a = answer(QueryResult::of(&[], vec![]));
        a.status = Status::NotConfident;
        a.result = None;
        a.sql = None;
        a.analysis = "I don't know what \"foo\" refers to.".into();
        a.suggestions = vec!["How many orders are there?".into()];
        let b = body(&Outcome { answer: a, image: None }, None);
        assert_eq!(b["success"], false);
        assert_eq!(b["message"], "I don't know what \"foo\" refers to.");
        assert_eq!(b["suggestions"], json!(["How many orders are there?"]));
        assert!(b.get("data").is_none() && b.get("chat_id").is_none() && b.get("image_url").is_none());
    }
}
