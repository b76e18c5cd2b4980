//! The built-in analysis: a few sentences computed from the result, never guessed: the headline
//! number, the largest and smallest groups (and the largest one's share of a whole), the trend of
//! a time series, and whether the result was cut short.

use serde_json::Value;

use super::chart::{Chart, Kind, number};
use super::i18n::{Lang, t};
use crate::db::questions::QueryResult;

/// A number for people: thousands separated, at most two decimals.
pub fn format_number(v: f64) -> String {
    let negative = v < 0.0;
    let rounded = (v.abs() * 100.0).round() / 100.0;
    let whole = rounded.trunc() as u128;
    let cents = ((rounded - rounded.trunc()) * 100.0).round() as u32;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let fraction = match cents {
        0 => String::new(),
        c if c % 10 == 0 => format!(".{}", c / 10),
        c => format!(".{c:02}"),
    };
    format!("{}{grouped}{fraction}", if negative { "-" } else { "" })
}

/// The first `limit` rows as a Markdown table under `header`, each value written by `cell` (which
/// must keep it on one line and free of a bare `|`).
pub fn markdown_table<S: AsRef<str>>(header: &[S], rows: &[Vec<Value>], limit: usize, cell: impl Fn(&Value) -> String) -> String {
    let mut out = format!("| {} |\n", header.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" | "));
    out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
    for row in rows.iter().take(limit) {
        out.push_str(&format!("| {} |\n", row.iter().map(&cell).collect::<Vec<_>>().join(" | ")));
    }
    out
}

/// A value for people: numbers formatted, text as is, dates without a midnight time.
pub fn format_value(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Number(_) => number(v).map(format_number).unwrap_or_else(|| v.to_string()),
        Value::String(s) => s.strip_suffix(" 00:00:00+00").unwrap_or(s).to_string(),
        other => other.to_string(),
    }
}

/// A column name for people: "total_amount" → "total amount".
pub fn label(column: &str) -> String {
    column.replace('_', " ")
}

fn column(result: &QueryResult, name: Option<&str>) -> Option<usize> {
    name.and_then(|n| result.columns.iter().position(|c| c.name == n))
}

/// The analysis of a result drawn as `chart`, in `lang`.
pub fn describe(result: &QueryResult, chart: &Chart, lang: Lang) -> String {
    if result.rows.is_empty() {
        return t(lang, "no_rows", &[]);
    }
    let x = column(result, chart.x.as_deref());
    let y = column(result, chart.y.as_deref());
    let mut text = match (chart.kind, x, y) {
        (Kind::SingleValue, _, Some(y)) => {
            let row = &result.rows[0];
            let measure = label(&result.columns[y].name);
            let name = match x {
                Some(x) => format!("{} ({measure})", format_value(&row[x])),
                None => measure,
            };
            t(lang, "single", &[("label", &name), ("value", &format_value(&row[y]))])
        }
        (Kind::Bar | Kind::Pie, Some(x), Some(y)) => groups(result, x, y, chart.kind == Kind::Pie, lang),
        (Kind::Line, Some(x), Some(y)) => trend(result, x, y, lang),
        _ => t(lang, "rows", &[("n", &result.row_count.to_string())]),
    };
    if result.truncated {
        text.push(' ');
        text.push_str(&t(lang, "truncated", &[("n", &result.row_count.to_string())]));
    }
    text
}

fn groups(result: &QueryResult, x: usize, y: usize, whole: bool, lang: Lang) -> String {
    let points: Vec<(&Value, f64)> = result.rows.iter().filter_map(|r| Some((&r[x], number(&r[y])?))).collect();
    let Some(top) = points.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else { return t(lang, "rows", &[("n", &result.row_count.to_string())]) };
    let bottom = points.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(top);
    let mut text = t(
        lang,
        "groups",
        &[
            ("n", &points.len().to_string()),
            ("group", &label(&result.columns[x].name)),
            ("top", &format_value(top.0)),
            ("top_value", &format_number(top.1)),
            ("bottom", &format_value(bottom.0)),
            ("bottom_value", &format_number(bottom.1)),
        ],
    );
    let total: f64 = points.iter().map(|p| p.1).sum();
    if whole && total > 0.0 {
        text.push(' ');
        let share = format!("{:.1}", top.1 / total * 100.0);
        text.push_str(&t(lang, "share", &[("top", &format_value(top.0)), ("share", &share), ("total", &format_number(total))]));
    }
    text
}

fn trend(result: &QueryResult, x: usize, y: usize, lang: Lang) -> String {
    // Several series (a category column) are summed per point in time.
    let mut points: Vec<(&Value, f64)> = Vec::new();
    for r in &result.rows {
        let Some(v) = number(&r[y]) else { continue };
        match points.iter_mut().find(|p| p.0 == &r[x]) {
            Some(p) => p.1 += v,
            None => points.push((&r[x], v)),
        }
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return t(lang, "rows", &[("n", &result.row_count.to_string())]) };
    let peak = points.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(first);
    let change = if first.1 != 0.0 {
        let pct = (last.1 - first.1) / first.1.abs() * 100.0;
        t(lang, if pct >= 0.0 { "up" } else { "down" }, &[("pct", &format!("{:.1}", pct.abs()))])
    } else {
        format!("{} → {}", format_number(first.1), format_number(last.1))
    };
    t(
        lang,
        "trend",
        &[
            ("first", &format_value(first.0)),
            ("first_value", &format_number(first.1)),
            ("last", &format_value(last.0)),
            ("last_value", &format_number(last.1)),
            ("change", &change),
            ("peak", &format_value(peak.0)),
            ("peak_value", &format_number(peak.1)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::pipeline::chart::choose;
    use serde_json::json;

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(1234567.891), "1,234,567.89");
        assert_eq!(format_number(120000.0), "120,000");
        assert_eq!(format_number(-12.5), "-12.5");
        assert_eq!(format_number(0.0), "0");
    }

    #[test]
    fn analyses_follow_the_numbers() {
        let one = QueryResult::of(&[("orders", "bigint")], vec![vec![json!(120000)]]);
        assert_eq!(describe(&one, &choose(&one, "", Lang::En), Lang::En), "orders: 120,000.");

        let regions = QueryResult::of(&[("region", "text"), ("revenue", "numeric")], vec![
            vec![json!("NA"), json!(300)], vec![json!("EMEA"), json!(100)], vec![json!("APAC"), json!(100.5)],
        ]);
        let text = describe(&regions, &choose(&regions, "revenue by region", Lang::En), Lang::En);
        assert_eq!(text, "3 groups by region. Largest: NA (300); smallest: EMEA (100).");
        let pie = describe(&regions, &choose(&regions, "share of revenue by region", Lang::En), Lang::En);
        assert!(pie.ends_with("NA accounts for 59.9% of the total 500.5."), "{pie}");

        let months = QueryResult::of(&[("month", "date"), ("orders", "bigint")], vec![
            vec![json!("2025-01-01"), json!(100)], vec![json!("2025-02-01"), json!(150)], vec![json!("2025-03-01"), json!(120)],
        ]);
        let text = describe(&months, &choose(&months, "orders by month", Lang::En), Lang::En);
        assert_eq!(text, "From 2025-01-01 (100) to 2025-03-01 (120): up 20.0%. Peak: 2025-02-01 (150).");
        let zh = describe(&months, &choose(&months, "", Lang::En), Lang::ZhCn);
        assert!(zh.contains("增长 20.0%"), "{zh}");

        let empty = QueryResult::of(&[("orders", "bigint")], vec![]);
        assert_eq!(describe(&empty, &choose(&empty, "", Lang::En), Lang::KoKr), "쿼리 결과가 없습니다.");
    }
}
