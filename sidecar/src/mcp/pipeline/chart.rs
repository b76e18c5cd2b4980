//! Picking a chart from a result's shape, as a Vega-Lite specification: one value → single value;
//! a time column and a measure → line; a category and a measure → bar, or pie when the question
//! asks for parts of a whole and there are few parts; anything else → table.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::axis::{self, Grain};
use super::i18n::Lang;
use crate::db::questions::QueryResult;

/// Rows of data a chart specification carries at most.
const MAX_SPEC_ROWS: usize = 500;
/// Categories a bar chart shows at most before a table serves better.
const MAX_BARS: usize = 50;
/// Parts a pie shows at most.
const MAX_SLICES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SingleValue,
    Bar,
    Line,
    Pie,
    Table,
}

/// A chart: its kind, the columns it plots, and a Vega-Lite specification with the data inline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Chart {
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The column along the x axis (categories, time), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The measured column, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// A column that splits a line chart into series, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The Vega-Lite (v5) specification; empty for a table.
    pub spec: Map<String, Value>,
}

impl Chart {
    /// The chart's title (a table has none).
    pub fn title(&self) -> Option<&str> {
        self.spec.get("title").and_then(Value::as_str)
    }
}

/// What a column holds, judged from its PostgreSQL type and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Measure,
    Time,
    Category,
    Other,
}

pub fn is_numeric_type(t: &str) -> bool {
    ["smallint", "integer", "bigint", "numeric", "real", "double precision", "money"].iter().any(|n| t.starts_with(n))
}

fn is_time_type(t: &str) -> bool {
    t == "date" || t.starts_with("timestamp")
}

fn is_time_name(name: &str) -> bool {
    matches!(name, "year" | "quarter" | "month" | "week" | "day" | "date" | "hour")
}

fn is_key_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id")
}

pub fn role(name: &str, type_name: &str) -> Role {
    if is_time_type(type_name) || is_time_name(name) {
        Role::Time
    } else if is_numeric_type(type_name) && !is_key_name(name) {
        Role::Measure
    } else if type_name == "text" || type_name.starts_with("character") || type_name == "boolean" || type_name == "name" || type_name == "uuid" || is_key_name(name) {
        Role::Category
    } else {
        Role::Other
    }
}

/// A JSON value as a number, when it is one (numerics too precise for JSON numbers are strings).
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Whether a question asks how a whole divides into parts.
fn asks_for_parts(question: &str) -> bool {
    let q = question.to_lowercase();
    ["share", "percent", "proportion", "breakdown", "split", "distribution", "composition", "mix", "占比", "比例", "構成", "比重", "비율", "비중", "구성"]
        .iter()
        .any(|w| q.contains(w))
}

/// Picks the chart for a result. `question` decides between bar and pie, and heads it (or, when it
/// is SQL, words in `lang` naming what is plotted); dates on its axis are written in `lang`.
pub fn choose(result: &QueryResult, question: &str, lang: Lang) -> Chart {
    let title = |y: Option<String>, x: Option<String>| axis::title(question, y.as_deref(), x.as_deref(), lang);
    let roles: Vec<Role> = result.columns.iter().map(|c| role(&c.name, &c.type_name)).collect();
    let find = |r: Role| roles.iter().position(|x| *x == r);
    let measure = find(Role::Measure);
    let time = find(Role::Time);
    let category = find(Role::Category);
    let rows = result.rows.len();
    let name = |i: usize| result.columns[i].name.clone();

    let table = Chart { kind: Kind::Table, x: None, y: None, series: None, spec: Map::new() };
    let Some(m) = measure else { return table };
    if rows == 0 {
        return table;
    }
    let all_numeric = result.rows.iter().all(|r| r.get(m).is_some_and(|v| v.is_null() || number(v).is_some()));
    if !all_numeric {
        return table;
    }
    if rows == 1 {
        let x = category.or(time).map(name);
        return build(Kind::SingleValue, x.clone(), Some(name(m)), None, result, &title(Some(name(m)), None), lang);
    }
    if let Some(t) = time {
        let series = category.filter(|_| distinct(result, category.unwrap()) <= 12);
        return build(Kind::Line, Some(name(t)), Some(name(m)), series.map(name), result, &title(Some(name(m)), Some(name(t))), lang);
    }
    let Some(c) = category else { return table };
    let positive = result.rows.iter().all(|r| r.get(m).and_then(number).is_some_and(|v| v > 0.0));
    if asks_for_parts(question) && positive && rows <= MAX_SLICES && !result.truncated {
        return build(Kind::Pie, Some(name(c)), Some(name(m)), None, result, &title(Some(name(m)), Some(name(c))), lang);
    }
    if rows <= MAX_BARS {
        return build(Kind::Bar, Some(name(c)), Some(name(m)), None, result, &title(Some(name(m)), Some(name(c))), lang);
    }
    table
}

fn distinct(result: &QueryResult, column: usize) -> usize {
    let mut seen: Vec<&Value> = Vec::new();
    for r in &result.rows {
        if let Some(v) = r.get(column)
            && !seen.contains(&v) {
                seen.push(v);
            }
    }
    seen.len()
}

/// PostgreSQL's timestamp text ("2025-11-01 00:00:00+00") as ISO 8601, which browsers parse.
fn iso_time(v: &Value) -> Value {
    match v {
        Value::String(s) if s.len() >= 19 && s.as_bytes()[10] == b' ' => {
            let mut iso = s.replacen(' ', "T", 1);
            // "+00" → "+00:00"
            if iso.rfind(['+', '-']).is_some_and(|i| i > 10 && iso.len() - i == 3) {
                iso.push_str(":00");
            }
            Value::String(iso)
        }
        other => other.clone(),
    }
}

fn build(kind: Kind, x: Option<String>, y: Option<String>, series: Option<String>, result: &QueryResult, title: &str, lang: Lang) -> Chart {
    let time_columns: Vec<bool> = result.columns.iter().map(|c| is_time_type(&c.type_name)).collect();
    let values: Vec<Value> = result
        .rows
        .iter()
        .take(MAX_SPEC_ROWS)
        .map(|row| {
            let object: Map<String, Value> = result
                .columns
                .iter()
                .zip(row)
                .zip(&time_columns)
                .map(|((c, v), time)| (c.name.clone(), if *time { iso_time(v) } else { v.clone() }))
                .collect();
            Value::Object(object)
        })
        .collect();
    let x_type = |field: &str| {
        let column = result.columns.iter().find(|c| c.name == field);
        if column.is_some_and(|c| is_time_type(&c.type_name)) { "temporal" } else { "ordinal" }
    };
    let (mark, encoding) = match kind {
        Kind::SingleValue => (
            json!({ "type": "text", "fontSize": 48, "fontWeight": "bold" }),
            json!({ "text": { "field": y, "type": "quantitative", "format": "," } }),
        ),
        Kind::Bar => (
            json!({ "type": "bar", "tooltip": true }),
            json!({
                "x": { "field": x, "type": "nominal", "sort": "-y", "axis": { "labelAngle": -40 } },
                "y": { "field": y, "type": "quantitative" },
            }),
        ),
        Kind::Line => {
            let x_field = x.clone().unwrap_or_default();
            let mut encoding = json!({
                "x": { "field": x, "type": x_type(&x_field) },
                "y": { "field": y, "type": "quantitative" },
            });
            // Dates at the series' grain: "Jan 2025" for months, not 2025-01-01.
            let position = result.columns.iter().position(|c| c.name == x_field);
            let grain = position.and_then(|i| axis::grain(&x_field, result.rows.iter().map(|r| &r[i])));
            if let Some((unit, format)) = grain.filter(|g| *g != Grain::Time).and_then(|g| axis::vega_time(g, lang)) {
                encoding["x"] = json!({ "field": x, "type": "temporal", "timeUnit": unit, "axis": { "format": format } });
            }
            if let Some(s) = &series {
                encoding["color"] = json!({ "field": s, "type": "nominal" });
            }
            (json!({ "type": "line", "point": true, "tooltip": true }), encoding)
        }
        Kind::Pie => (
            json!({ "type": "arc", "tooltip": true }),
            json!({
                "theta": { "field": y, "type": "quantitative", "stack": true },
                "color": { "field": x, "type": "nominal" },
            }),
        ),
        Kind::Table => (Value::Null, Value::Null),
    };
    let spec = json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "data": { "values": values },
        "mark": mark,
        "encoding": encoding,
    });
    Chart { kind, x, y, series, spec: spec.as_object().cloned().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_pick_charts() {
        let one = QueryResult::of(&[("orders", "bigint")], vec![vec![json!(120000)]]);
        assert_eq!(choose(&one, "how many orders", Lang::En).kind, Kind::SingleValue);

        let by_region = QueryResult::of(&[("region", "text"), ("revenue", "numeric")], vec![vec![json!("EMEA"), json!(10.5)], vec![json!("NA"), json!(20)]]);
        let bar = choose(&by_region, "revenue by region", Lang::En);
        assert_eq!((bar.kind, bar.x.as_deref(), bar.y.as_deref()), (Kind::Bar, Some("region"), Some("revenue")));
        assert_eq!(bar.spec["mark"]["type"], "bar");
        assert_eq!(bar.spec["data"]["values"][1]["region"], "NA");
        assert_eq!(choose(&by_region, "share of revenue by region", Lang::En).kind, Kind::Pie);

        let monthly = QueryResult::of(&[("month", "date"), ("orders", "bigint")], vec![vec![json!("2025-01-01"), json!(3)], vec![json!("2025-02-01"), json!(5)]]);
        let line = choose(&monthly, "orders by month", Lang::En);
        assert_eq!(line.kind, Kind::Line);
        assert_eq!(line.spec["encoding"]["x"]["type"], "temporal");

        let names = QueryResult::of(&[("name", "text"), ("email", "text")], vec![vec![json!("a"), json!("b")]]);
        assert_eq!(choose(&names, "customers", Lang::En).kind, Kind::Table);
        assert!(choose(&names, "customers", Lang::En).spec.is_empty());
    }

    #[test]
    fn months_are_months_and_titles_speak_the_askers_language() {
        let monthly = QueryResult::of(
            &[("month", "timestamp with time zone"), ("revenue", "numeric")],
            vec![vec![json!("2025-01-01 00:00:00+00"), json!(4667.5)], vec![json!("2025-02-01 00:00:00+00"), json!(5100)]],
        );
        let line = choose(&monthly, "월별 매출", Lang::KoKr);
        assert_eq!(line.spec["encoding"]["x"]["timeUnit"], "yearmonth");
        assert_eq!(line.spec["encoding"]["x"]["axis"]["format"], "%Y년 %-m월");
        assert_eq!(line.title(), Some("월별 매출"), "the question as asked");
        let english = choose(&monthly, "SELECT date_trunc('month', ordered_at) AS month, sum(total) AS revenue FROM o GROUP BY 1", Lang::En);
        assert_eq!(english.spec["encoding"]["x"]["axis"]["format"], "%b %Y");
        assert_eq!(english.title(), Some("Revenue by month"), "SQL is no title");
        let chinese = choose(&monthly, "select 1", Lang::ZhCn);
        assert_eq!(chinese.title(), Some("按Month的Revenue"));
        let days = QueryResult::of(&[("day", "date"), ("orders", "bigint")], vec![vec![json!("2025-01-01"), json!(3)], vec![json!("2025-01-02"), json!(5)]]);
        assert_eq!(choose(&days, "orders by day", Lang::En).spec["encoding"]["x"]["timeUnit"], "yearmonthdate");
    }

    #[test]
    fn timestamps_become_iso() {
        assert_eq!(iso_time(&json!("2025-11-01 00:00:00+00")), json!("2025-11-01T00:00:00+00:00"));
        assert_eq!(iso_time(&json!("2025-11-01")), json!("2025-11-01"));
    }
}
