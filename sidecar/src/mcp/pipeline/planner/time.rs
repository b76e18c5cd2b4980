//! Time in questions: windows ("last month", "in 2025", "last 30 days", "this year", "since
//! 2025") and buckets ("by month", "monthly", "per week"), as SQL over a date or time column.
//! Windows are relative to the database's clock (`now()`), so answers match what a person means
//! the moment they ask.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn sql(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }

    fn from_word(word: &str) -> Option<Unit> {
        Some(match word.trim_end_matches('s') {
            "day" | "daily" | "date" => Unit::Day,
            "week" | "weekly" => Unit::Week,
            "month" | "monthly" => Unit::Month,
            "quarter" | "quarterly" => Unit::Quarter,
            "year" | "yearly" | "annual" | "annually" => Unit::Year,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The last n units up to now ("last 30 days", "past 6 months").
    Trailing(u32, Unit),
    /// The whole previous unit ("last month", "last year", "yesterday").
    Previous(Unit),
    /// The unit so far ("this month", "this year", "today").
    Current(Unit),
    /// A calendar year ("in 2025").
    Year(i32),
    /// A calendar month ("in March 2025").
    Month(i32, u32),
    /// From the start of a year on ("since 2025").
    Since(i32),
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

fn year(word: &str) -> Option<i32> {
    word.parse::<i32>().ok().filter(|y| (1900..=2200).contains(y))
}

/// The time window a question names, if any.
pub fn window(words: &[String], text: &str) -> Option<Window> {
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).map(String::as_str);
        let after = words.get(i + 2).map(String::as_str);
        match (w.as_str(), next, after) {
            ("last" | "past" | "previous", Some(n), Some(unit)) if n.parse::<u32>().is_ok() => {
                if let Some(u) = Unit::from_word(unit) {
                    return Some(Window::Trailing(n.parse().unwrap(), u));
                }
            }
            ("last" | "previous" | "past", Some(unit), _) => {
                if let Some(u) = Unit::from_word(unit) {
                    return Some(Window::Previous(u));
                }
            }
            ("this" | "current", Some(unit), _) => {
                if let Some(u) = Unit::from_word(unit) {
                    return Some(Window::Current(u));
                }
            }
            ("yesterday", _, _) => return Some(Window::Previous(Unit::Day)),
            ("today", _, _) => return Some(Window::Current(Unit::Day)),
            ("since", Some(y), _) if year(y).is_some() => return Some(Window::Since(year(y).unwrap())),
            (m, Some(y), _) if MONTHS.contains(&m) && year(y).is_some() => {
                let month = MONTHS.iter().position(|x| x == &m).unwrap() as u32 + 1;
                return Some(Window::Month(year(y).unwrap(), month));
            }
            _ => {}
        }
    }
    if let Some(y) = words.iter().find_map(|w| year(w)) {
        return Some(Window::Year(y));
    }
    // Chinese and Korean: the common relative windows.
    for (needle, window) in [
        ("上个月", Window::Previous(Unit::Month)), ("上月", Window::Previous(Unit::Month)), ("上個月", Window::Previous(Unit::Month)),
        ("지난달", Window::Previous(Unit::Month)), ("지난 달", Window::Previous(Unit::Month)),
        ("去年", Window::Previous(Unit::Year)), ("작년", Window::Previous(Unit::Year)),
        ("今年", Window::Current(Unit::Year)), ("올해", Window::Current(Unit::Year)),
        ("本月", Window::Current(Unit::Month)), ("이번 달", Window::Current(Unit::Month)),
    ] {
        if text.contains(needle) {
            return Some(window);
        }
    }
    None
}

/// The time bucket a question asks to group by ("by month", "monthly", "per week", "over time").
pub fn bucket(words: &[String], text: &str) -> Option<Unit> {
    for (i, w) in words.iter().enumerate() {
        if matches!(w.as_str(), "daily" | "weekly" | "monthly" | "quarterly" | "yearly" | "annually") {
            return Unit::from_word(w);
        }
        if matches!(w.as_str(), "by" | "per" | "each" | "every")
            && let Some(u) = words.get(i + 1).and_then(|n| Unit::from_word(n)) {
                return Some(u);
            }
    }
    if words.windows(2).any(|p| p[0] == "over" && p[1] == "time") || words.iter().any(|w| w == "trend") {
        return Some(Unit::Month);
    }
    for (needle, unit) in [("每月", Unit::Month), ("按月", Unit::Month), ("월별", Unit::Month), ("每年", Unit::Year), ("按年", Unit::Year),
                           ("연도별", Unit::Year), ("每天", Unit::Day), ("按天", Unit::Day), ("일별", Unit::Day), ("每周", Unit::Week), ("주별", Unit::Week)] {
        if text.contains(needle) {
            return Some(unit);
        }
    }
    None
}

/// A window as a SQL condition on a column.
pub fn condition(window: &Window, column: &str) -> String {
    match window {
        Window::Trailing(n, unit) => format!("{column} >= now() - interval '{n} {}'", unit.sql()),
        Window::Previous(unit) => format!(
            "{column} >= date_trunc('{u}', now()) - interval '1 {u}' AND {column} < date_trunc('{u}', now())",
            u = unit.sql()
        ),
        Window::Current(unit) => format!("{column} >= date_trunc('{}', now())", unit.sql()),
        Window::Year(y) => format!("{column} >= DATE '{y}-01-01' AND {column} < DATE '{}-01-01'", y + 1),
        Window::Month(y, m) => {
            let (ny, nm) = if *m == 12 { (y + 1, 1) } else { (*y, m + 1) };
            format!("{column} >= DATE '{y}-{m:02}-01' AND {column} < DATE '{ny}-{nm:02}-01'")
        }
        Window::Since(y) => format!("{column} >= DATE '{y}-01-01'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::pipeline::context::words;

    fn w(q: &str) -> Option<Window> {
        window(&words(q), q)
    }

    #[test]
    fn windows() {
        assert_eq!(w("revenue last month"), Some(Window::Previous(Unit::Month)));
        assert_eq!(w("orders in the last 30 days"), Some(Window::Trailing(30, Unit::Day)));
        assert_eq!(w("sales in 2025"), Some(Window::Year(2025)));
        assert_eq!(w("orders in march 2025"), Some(Window::Month(2025, 3)));
        assert_eq!(w("orders this year"), Some(Window::Current(Unit::Year)));
        assert_eq!(w("orders since 2025"), Some(Window::Since(2025)));
        assert_eq!(w("上个月的订单"), Some(Window::Previous(Unit::Month)));
        assert_eq!(w("how many orders"), None);
        assert_eq!(condition(&Window::Month(2025, 12), "t.at"), "t.at >= DATE '2025-12-01' AND t.at < DATE '2026-01-01'");
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket(&words("orders by month"), ""), Some(Unit::Month));
        assert_eq!(bucket(&words("weekly revenue"), ""), Some(Unit::Week));
        assert_eq!(bucket(&words("revenue by region"), ""), None);
        assert_eq!(bucket(&words("revenue over time"), ""), Some(Unit::Month));
    }
}
