//! Axes a person reads at a glance: value ticks at round numbers (0, 2,000, 4,000, not 4,667.5),
//! dates written as the grain of the series says (Jan 2025 for months, Q1 2025 for quarters, not
//! 2025-01-01), in the asker's language, and a chart title in that language too.

use serde_json::Value;

use super::i18n::Lang;

/// At most this many value ticks on an axis.
pub const MAX_TICKS: usize = 6;

/// Round ticks covering `lo..=hi`: a step of 1, 2, 2.5 or 5 times a power of ten, the first tick
/// at or below `lo` and the last at or above `hi`, at most `max` + 1 of them.
pub fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 1.0];
    }
    // One value: a range around it (or 0..1 for zero).
    let (lo, hi) = if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        if lo == 0.0 { (0.0, 1.0) } else if lo > 0.0 { (0.0, lo) } else { (lo, 0.0) }
    } else {
        (lo, hi)
    };
    let max = max.max(1);
    let raw = (hi - lo) / max as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| (hi - lo) / s <= max as f64 + 1e-9).unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    // Multiples of the step, so 0.1 + 0.2 does not show as 0.30000000000000004.
    (first as i64..=last as i64).map(|k| round_to_step(k as f64 * step, step)).collect()
}

fn round_to_step(v: f64, step: f64) -> f64 {
    let decimals = (-step.log10().floor()).max(0.0) as i32 + 1;
    let factor = 10f64.powi(decimals);
    (v * factor).round() / factor
}

/// How finely a time series is bucketed, read from its values (and its column's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Year,
    Quarter,
    Month,
    Day,
    /// Times within a day: shown as they are.
    Time,
}

/// Year, month, day and whether a time of day other than midnight follows, of a date or
/// timestamp as PostgreSQL writes it ("2025-01-01", "2025-01-01 00:00:00+00").
fn parts(v: &Value) -> Option<(i32, u32, u32, bool)> {
    let s = v.as_str()?;
    if s.len() < 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return None;
    }
    let year = s[..4].parse().ok()?;
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let rest = s[10..].trim_start_matches(['T', ' ']);
    let timed = !(rest.is_empty() || rest.starts_with("00:00:00"));
    Some((year, month, day, timed))
}

/// The grain of a series of dates: every value on January 1st is years, on the first of a
/// quarter's month in a column named for quarters is quarters, on the first of a month is months;
/// else days, or times when any has a time of day. None when a value is not a date.
pub fn grain<'a>(column: &str, values: impl IntoIterator<Item = &'a Value>) -> Option<Grain> {
    let dates: Vec<(i32, u32, u32, bool)> = values.into_iter().filter(|v| !v.is_null()).map(parts).collect::<Option<_>>()?;
    if dates.is_empty() {
        return None;
    }
    let name = column.to_lowercase();
    if dates.iter().any(|d| d.3) {
        return Some(Grain::Time);
    }
    if dates.iter().any(|d| d.2 != 1) {
        return Some(Grain::Day);
    }
    if dates.iter().all(|d| d.1 == 1) && (dates.len() > 1 || name.contains("year")) {
        return Some(Grain::Year);
    }
    if dates.iter().all(|d| matches!(d.1, 1 | 4 | 7 | 10)) && name.contains("quarter") {
        return Some(Grain::Quarter);
    }
    Some(Grain::Month)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A date as a person says it at this grain, in this language: "Jan 2025", "2025年1月",
/// "2025년 1월"; values that are not dates as they are.
pub fn date_label(v: &Value, grain: Grain, lang: Lang) -> String {
    let Some((year, month, day, _)) = parts(v) else {
        return v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    };
    let quarter = (month - 1) / 3 + 1;
    let month_name = MONTHS[month as usize - 1];
    match (grain, lang) {
        (Grain::Year, _) => year.to_string(),
        (Grain::Quarter, Lang::En) => format!("Q{quarter} {year}"),
        (Grain::Quarter, Lang::ZhCn) => format!("{year}年第{quarter}季度"),
        (Grain::Quarter, Lang::ZhTw) => format!("{year}年第{quarter}季"),
        (Grain::Quarter, Lang::KoKr) => format!("{year}년 {quarter}분기"),
        (Grain::Month, Lang::En) => format!("{month_name} {year}"),
        (Grain::Month, Lang::ZhCn | Lang::ZhTw) => format!("{year}年{month}月"),
        (Grain::Month, Lang::KoKr) => format!("{year}년 {month}월"),
        (Grain::Day, Lang::En) => format!("{day} {month_name} {year}"),
        (Grain::Day, Lang::ZhCn | Lang::ZhTw) => format!("{year}年{month}月{day}日"),
        (Grain::Day, Lang::KoKr) => format!("{year}년 {month}월 {day}일"),
        (Grain::Time, _) => v.as_str().unwrap_or_default().to_string(),
    }
}

/// The Vega-Lite time unit and d3 axis format of a grain in a language.
pub fn vega_time(grain: Grain, lang: Lang) -> Option<(&'static str, &'static str)> {
    Some(match (grain, lang) {
        (Grain::Year, _) => ("year", "%Y"),
        (Grain::Quarter, Lang::En) => ("yearquarter", "Q%q %Y"),
        (Grain::Quarter, Lang::ZhCn) => ("yearquarter", "%Y年第%q季度"),
        (Grain::Quarter, Lang::ZhTw) => ("yearquarter", "%Y年第%q季"),
        (Grain::Quarter, Lang::KoKr) => ("yearquarter", "%Y년 %q분기"),
        (Grain::Month, Lang::En) => ("yearmonth", "%b %Y"),
        (Grain::Month, Lang::ZhCn | Lang::ZhTw) => ("yearmonth", "%Y年%-m月"),
        (Grain::Month, Lang::KoKr) => ("yearmonth", "%Y년 %-m월"),
        (Grain::Day, Lang::En) => ("yearmonthdate", "%-d %b %Y"),
        (Grain::Day, Lang::ZhCn | Lang::ZhTw) => ("yearmonthdate", "%Y年%-m月%-d日"),
        (Grain::Day, Lang::KoKr) => ("yearmonthdate", "%Y년 %-m월 %-d일"),
        (Grain::Time, _) => return None,
    })
}

/// Whether a "question" is in fact SQL (run_sql without a question): no title for people.
fn is_sql(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(7).collect::<String>().to_lowercase();
    head.starts_with("select") || head.starts_with("with") || head.starts_with("table ") || head.starts_with("values")
}

/// A column name for people: "total_amount" → "Total amount".
fn label(column: &str) -> String {
    let text = column.replace('_', " ");
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

/// The chart's title in the asker's language: the question as asked (a person's words, already in
/// their language), or, when what was asked is SQL, the measure by its category or time column
/// ("Revenue by month", "按 month 的 revenue", "month별 revenue").
pub fn title(question: &str, measure: Option<&str>, by: Option<&str>, lang: Lang) -> String {
    let question = question.trim();
    if !question.is_empty() && !is_sql(question) {
        return match question.char_indices().nth(120) {
            Some((cut, _)) => format!("{}…", &question[..cut]),
            None => question.to_string(),
        };
    }
    let result = match lang {
        Lang::En => "Result",
        Lang::ZhCn => "查询结果",
        Lang::ZhTw => "查詢結果",
        Lang::KoKr => "조회 결과",
    };
    match (measure, by, lang) {
        (Some(m), Some(b), Lang::En) => format!("{} by {}", label(m), label(b).to_lowercase()),
        (Some(m), Some(b), Lang::ZhCn | Lang::ZhTw) => format!("按{}的{}", label(b), label(m)),
        (Some(m), Some(b), Lang::KoKr) => format!("{}별 {}", label(b), label(m)),
        (Some(m), None, _) => label(m),
        _ => result.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 18_670.0, MAX_TICKS), vec![0.0, 5_000.0, 10_000.0, 15_000.0, 20_000.0]);
        // Where an even split gave 4,667.5.
        assert_eq!(nice_ticks(1_200.0, 4_667.5, MAX_TICKS), vec![1_000.0, 2_000.0, 3_000.0, 4_000.0, 5_000.0]);
        assert_eq!(nice_ticks(0.0, 0.3, 3), vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(nice_ticks(-40.0, 90.0, 6), vec![-50.0, -25.0, 0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(nice_ticks(7.0, 7.0, 6), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 6), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    }

    #[test]
    fn grains_are_read_from_the_dates() {
        let months = [json!("2025-01-01"), json!("2025-02-01"), json!("2025-03-01")];
        assert_eq!(grain("month", &months), Some(Grain::Month));
        let stamps = [json!("2025-01-01 00:00:00+00"), json!("2025-02-01 00:00:00+00")];
        assert_eq!(grain("month", &stamps), Some(Grain::Month));
        assert_eq!(grain("year", &[json!("2024-01-01"), json!("2025-01-01")]), Some(Grain::Year));
        assert_eq!(grain("quarter", &[json!("2025-01-01"), json!("2025-04-01")]), Some(Grain::Quarter));
        assert_eq!(grain("month", &[json!("2025-01-01"), json!("2025-04-01")]), Some(Grain::Month));
        assert_eq!(grain("day", &[json!("2025-01-01"), json!("2025-01-02")]), Some(Grain::Day));
        assert_eq!(grain("at", &[json!("2025-01-01 13:30:00+00")]), Some(Grain::Time));
        assert_eq!(grain("region", &[json!("EMEA")]), None);
    }

    #[test]
    fn dates_are_written_by_the_grain_and_language() {
        let jan = json!("2025-01-01");
        assert_eq!(date_label(&jan, Grain::Month, Lang::En), "Jan 2025");
        assert_eq!(date_label(&json!("2025-11-01 00:00:00+00"), Grain::Month, Lang::En), "Nov 2025");
        assert_eq!(date_label(&jan, Grain::Month, Lang::ZhCn), "2025年1月");
        assert_eq!(date_label(&jan, Grain::Month, Lang::KoKr), "2025년 1월");
        assert_eq!(date_label(&json!("2025-07-01"), Grain::Quarter, Lang::En), "Q3 2025");
        assert_eq!(date_label(&jan, Grain::Year, Lang::En), "2025");
        assert_eq!(date_label(&json!("2025-03-09"), Grain::Day, Lang::En), "9 Mar 2025");
        assert_eq!(date_label(&json!("EMEA"), Grain::Month, Lang::En), "EMEA");
        assert_eq!(vega_time(Grain::Month, Lang::En), Some(("yearmonth", "%b %Y")));
    }

    #[test]
    fn titles_are_the_question_or_words_in_the_askers_language() {
        assert_eq!(title("Revenue by month last year?", Some("revenue"), Some("month"), Lang::En), "Revenue by month last year?");
        assert_eq!(title("SELECT 1", Some("total_amount"), Some("month"), Lang::En), "Total amount by month");
        assert_eq!(title("select 1", Some("revenue"), Some("region"), Lang::KoKr), "Region별 Revenue");
        assert_eq!(title("WITH x AS (SELECT 1) SELECT * FROM x", None, None, Lang::ZhCn), "查询结果");
        assert_eq!(title("select count(*) from t", Some("count"), None, Lang::En), "Count");
        assert!(title(&"很长的问题".repeat(40), None, None, Lang::ZhCn).ends_with('…'));
    }
}
