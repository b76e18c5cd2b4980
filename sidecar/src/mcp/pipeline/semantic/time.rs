//! Time in questions: the period ("last month", "Q2 2026", "since July 1st, 2026", "the last
//! four complete weeks", "YTD"), a second period to compare with ("versus the month before",
//! "the same period last year"), and the grain to bucket by ("monthly", "by quarter", "day of
//! the week"). Calendar periods become exact dates (UTC) so that an answer can state them;
//! rolling windows ("the last 30 days") stay relative to the database's clock.
//!
//! Conventions: "last month" is the previous calendar month; "this month" runs from its first
//! day to now; "the last N days/weeks/months" is rolling; "last week" is the previous ISO week;
//! "the last N complete weeks" are the N whole weeks before this Monday; a month named without a
//! year is its latest occurrence that has begun.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::query::{Grain, Period};
use super::text::{Token, ordinal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn from_word(word: &str) -> Option<Unit> {
        Some(match word {
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            "quarter" | "quarters" => Unit::Quarter,
            "year" | "years" => Unit::Year,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }
}

/// A period as the planner keeps it: dates, or a rolling window.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// From `start` (inclusive) to `end` (exclusive, `None`: up to now).
    Dates { start: NaiveDate, end: Option<NaiveDate>, label: String },
    /// The last n units up to now.
    Rolling { n: u32, unit: Unit, label: String },
    /// From a date to a moment ("the same period last year" of a period that runs until now).
    Until { start: NaiveDate, end: chrono::NaiveDateTime, label: String },
}

impl Span {
    pub fn to_period(&self) -> Period {
        match self {
            Span::Dates { start, end, label } => Period {
                start: Some(start.to_string()),
                end: end.map(|e| e.to_string()),
                last: None,
                label: label.clone(),
            },
            Span::Rolling { n, unit, label } => Period {
                start: None,
                end: None,
                last: Some(format!("{n} {}{}", unit.sql(), if *n == 1 { "" } else { "s" })),
                label: label.clone(),
            },
            Span::Until { start, end, label } => Period {
                start: Some(start.to_string()),
                end: Some(end.format("%Y-%m-%d %H:%M:%S").to_string()),
                last: None,
                label: label.clone(),
            },
        }
    }

    fn dates(start: NaiveDate, end: Option<NaiveDate>, label: impl Into<String>) -> Span {
        Span::Dates { start, end, label: label.into() }
    }

    /// The same span one unit earlier ("the month before"), or shifted back a year.
    fn before(&self, today: NaiveDate) -> Option<Span> {
        match self {
            Span::Dates { start, end, label } => {
                let end = end.unwrap_or(today + Duration::days(1));
                // A whole calendar unit moves by its unit; anything else by its length.
                let (s, e) = if is_month_start(*start) && is_month_start(end) {
                    let months = months_between(*start, end);
                    (add_months(*start, -months), *start)
                } else {
                    let days = (end - *start).num_days();
                    (*start - Duration::days(days), *start)
                };
                Some(Span::dates(s, Some(e), format!("the period before {label}")))
            }
            Span::Rolling { .. } | Span::Until { .. } => None,
        }
    }

    /// The same span a year earlier; a span that runs until now ends at this moment a year ago.
    fn year_earlier(&self, _today: NaiveDate) -> Option<Span> {
        match self {
            Span::Dates { start, end: Some(end), label } => {
                Some(Span::dates(add_months(*start, -12), Some(add_months(*end, -12)), format!("{label}, a year earlier")))
            }
            Span::Dates { start, end: None, label } => {
                let now = chrono::Utc::now().naive_utc();
                let end = add_months(now.date(), -12).and_time(now.time());
                Some(Span::Until { start: add_months(*start, -12), end, label: format!("{label}, a year earlier") })
            }
            Span::Rolling { .. } | Span::Until { .. } => None,
        }
    }
}

fn is_month_start(d: NaiveDate) -> bool {
    d.day() == 1
}

fn months_between(a: NaiveDate, b: NaiveDate) -> i32 {
    (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32
}

pub fn add_months(d: NaiveDate, months: i32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let last = last_day(y, m);
    NaiveDate::from_ymd_opt(y, m, d.day().min(last)).expect("a valid date")
}

fn last_day(y: i32, m: u32) -> u32 {
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    next.expect("a valid date").pred_opt().expect("a valid date").day()
}

fn start_of(unit: Unit, d: NaiveDate) -> NaiveDate {
    match unit {
        Unit::Day => d,
        Unit::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Unit::Month => NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("a valid date"),
        Unit::Quarter => NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).expect("a valid date"),
        Unit::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("a valid date"),
    }
}

fn add(unit: Unit, d: NaiveDate, n: i32) -> NaiveDate {
    match unit {
        Unit::Day => d + Duration::days(i64::from(n)),
        Unit::Week => d + Duration::days(7 * i64::from(n)),
        Unit::Month => add_months(d, n),
        Unit::Quarter => add_months(d, 3 * n),
        Unit::Year => add_months(d, 12 * n),
    }
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const MONTHS_SHORT: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month_of(word: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == word).or_else(|| MONTHS_SHORT.iter().position(|m| *m == word)).map(|i| i as u32 + 1)
}

fn year_of(token: &Token) -> Option<i32> {
    let n = token.number_value()?;
    (n.fract() == 0.0 && (1990.0..=2100.0).contains(&n) && token.text.len() == 4).then_some(n as i32)
}

/// What the time words of a question say.
#[derive(Debug, Default)]
pub struct Reading {
    pub period: Option<Span>,
    /// The second period of a comparison.
    pub previous: Option<Span>,
    /// Whether growth (a change in percent) was asked for.
    pub growth: bool,
    pub grain: Option<Grain>,
    /// A future period ("next month"): nothing in the data answers it.
    pub future: bool,
    /// The tokens the grain was read from.
    pub grain_tokens: Option<(usize, usize)>,
    /// Which tokens the time words used.
    pub used: Vec<bool>,
    /// A period said relative to the previous question's: "the month before (that)" is one month
    /// back, "the same month last year" twelve. Only a follow-up can use it.
    pub shift: Option<(Unit, i32)>,
}

struct Scan<'a> {
    tokens: &'a [Token],
    today: NaiveDate,
    used: Vec<bool>,
}

impl Scan<'_> {
    fn text(&self, i: usize) -> &str {
        self.tokens.get(i).map(|t| t.text.as_str()).unwrap_or("")
    }

    fn number(&self, i: usize) -> Option<u32> {
        let n = self.tokens.get(i)?.number_value()?;
        (n.fract() == 0.0 && (1.0..=1000.0).contains(&n)).then_some(n as u32)
    }

    fn unit(&self, i: usize) -> Option<Unit> {
        Unit::from_word(self.text(i))
    }

    fn mark(&mut self, from: usize, to: usize) {
        for u in self.used.iter_mut().take(to.min(self.tokens.len())).skip(from) {
            *u = true;
        }
    }

    /// A year near position i ("2026", "this year", "last year"), before or after; marks it used.
    fn year_near(&mut self, i: usize, width: usize) -> Option<i32> {
        let lo = i.saturating_sub(width);
        let hi = (i + width + 1).min(self.tokens.len());
        for j in lo..hi {
            if self.used[j] {
                continue;
            }
            if let Some(y) = self.tokens.get(j).and_then(year_of) {
                self.used[j] = true;
                if j > 0 && self.text(j - 1) == "of" {
                    self.used[j - 1] = true;
                }
                // "2026 year" (2026年, 2026년).
                if self.text(j + 1) == "year" && j + 1 < self.used.len() {
                    self.used[j + 1] = true;
                }
                return Some(y);
            }
            if matches!(self.text(j), "this" | "current") && self.text(j + 1) == "year" {
                self.mark(j, j + 2);
                return Some(self.today.year());
            }
            if matches!(self.text(j), "last" | "previous") && self.text(j + 1) == "year" {
                self.mark(j, j + 2);
                return Some(self.today.year() - 1);
            }
        }
        None
    }

    /// A calendar date at i ("july 1st, 2026", "1 july 2026", "2026-07-01", "march 2026",
    /// "march"): (start, end of the smallest unit named, tokens used).
    fn date_at(&mut self, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
        let t = self.text(i).to_string();
        if t.len() == 10 && t.as_bytes()[4] == b'-' {
            let d = NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok()?;
            return Some((d, d + Duration::days(1), 1));
        }
        // "1 july 2026", "1st of july"
        if let Some(day) = self.number(i).or_else(|| ordinal(&t)).filter(|d| (1..=31).contains(d)) {
            let of = usize::from(self.text(i + 1) == "of");
            if let Some(m) = month_of(self.text(i + 1 + of)) {
                let mut used = 2 + of;
                let year = match self.tokens.get(i + used).and_then(year_of) {
                    Some(y) => {
                        used += 1;
                        y
                    }
                    None => self.latest_year_of(m),
                };
                let d = NaiveDate::from_ymd_opt(year, m, day)?;
                return Some((d, d + Duration::days(1), used));
            }
        }
        let m = month_of(&t)?;
        // "may" is also a verb: only as a month when a day or a year is near, or after in/of/since.
        if t == "may" && !(self.number(i + 1).is_some() || i > 0 && matches!(self.text(i - 1), "in" | "of" | "since" | "from" | "until" | "to" | "and" | "between")) {
            return None;
        }
        let mut used = 1;
        if let Some(day) = self.number(i + 1).or_else(|| ordinal(self.text(i + 1))).filter(|d| (1..=31).contains(d))
            && self.tokens.get(i + 1).and_then(year_of).is_none()
        {
            used += 1;
            let year = match self.tokens.get(i + used).and_then(year_of) {
                Some(y) => {
                    used += 1;
                    y
                }
                None => self.latest_year_of(m),
            };
            let d = NaiveDate::from_ymd_opt(year, m, day)?;
            return Some((d, d + Duration::days(1), used));
        }
        let year = match self.tokens.get(i + 1).and_then(year_of) {
            Some(y) => {
                used += 1;
                y
            }
            None => match self.year_near(i, 2) {
                Some(y) => y,
                None => self.latest_year_of(m),
            },
        };
        let start = NaiveDate::from_ymd_opt(year, m, 1)?;
        Some((start, add_months(start, 1), used))
    }

    /// The latest year in which month m has begun.
    fn latest_year_of(&self, m: u32) -> i32 {
        if m <= self.today.month() { self.today.year() } else { self.today.year() - 1 }
    }

    /// A quarter at i: "q2 2026", "2026 q2", "the second quarter of 2026", "first quarter of this
    /// year", "2 quarter" (as Chinese and Korean say it).
    fn quarter_at(&mut self, i: usize) -> Option<(Span, usize)> {
        let t = self.text(i).to_string();
        let (q, used) = if let Some(n) = t.strip_prefix('q').and_then(|n| n.parse::<u32>().ok()) {
            (n, 1)
        } else if let (Some(n), "quarter") = (ordinal(&t).or_else(|| self.number(i)), self.text(i + 1)) {
            (n, 2)
        } else if t == "quarter" && self.number(i + 1).is_some_and(|n| n <= 4) {
            (self.number(i + 1)?, 2)
        } else {
            return None;
        };
        if !(1..=4).contains(&q) {
            return None;
        }
        self.mark(i, i + used);
        let year = self.year_near(i + used - 1, 3).unwrap_or_else(|| {
            let start = NaiveDate::from_ymd_opt(self.today.year(), (q - 1) * 3 + 1, 1).expect("a valid date");
            if start <= self.today { self.today.year() } else { self.today.year() - 1 }
        });
        let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
        Some((Span::dates(start, Some(add_months(start, 3)), format!("Q{q} {year}")), used))
    }

    /// "first half" / "second half" (of a year), "h1 2026".
    fn half_at(&mut self, i: usize) -> Option<(Span, usize)> {
        let (h, used) = match (self.text(i), self.text(i + 1)) {
            ("first", "half") | ("h1", _) => (1, if self.text(i) == "h1" { 1 } else { 2 }),
            ("second", "half") | ("h2", _) => (2, if self.text(i) == "h2" { 1 } else { 2 }),
            _ => return None,
        };
        self.mark(i, i + used);
        let year = self.year_near(i + used - 1, 3).unwrap_or_else(|| {
            if h == 1 || self.today.month() > 6 { self.today.year() } else { self.today.year() - 1 }
        });
        let start = NaiveDate::from_ymd_opt(year, if h == 1 { 1 } else { 7 }, 1)?;
        Some((Span::dates(start, Some(add_months(start, 6)), format!("H{h} {year}")), used))
    }
}

/// Reads the time words of a question.
pub fn read(tokens: &[Token], today: NaiveDate) -> Reading {
    let reading = read_periods(tokens, today, true);
    // "last month's revenue against the month before": a period of its own makes "the month
    // before" the second period of a comparison, not a shift of an earlier question's.
    if reading.shift.is_some() && reading.period.is_some() { read_periods(tokens, today, false) } else { reading }
}

fn read_periods(tokens: &[Token], today: NaiveDate, shifts: bool) -> Reading {
    let mut s = Scan { tokens, today, used: vec![false; tokens.len()] };
    let mut spans: Vec<(usize, Span)> = Vec::new();
    let mut reading = Reading::default();
    if shifts {
        reading.shift = shift(&mut s);
    }
    let mut i = 0;
    while i < tokens.len() {
        if s.used[i] {
            i += 1;
            continue;
        }
        if let Some((span, used)) = span_at(&mut s, i, &mut reading) {
            s.mark(i, i + used);
            spans.push((i, span));
            i += used;
            continue;
        }
        if let Some((grain, used)) = grain_at(&s, i) {
            if reading.grain.is_none() {
                reading.grain = Some(grain);
                reading.grain_tokens = Some((i, i + used));
            }
            s.mark(i, i + used);
            i += used;
            continue;
        }
        i += 1;
    }
    comparison(&mut s, &mut spans, &mut reading);
    reading.period = spans.first().map(|(_, p)| p.clone());
    if reading.previous.is_none() && spans.len() >= 2 {
        reading.previous = Some(spans[1].1.clone());
    }
    reading.used = s.used;
    reading
}

/// A shift of the previous question's period, when the question names no period of its own but
/// one relative to another: "the month before (that)", "the quarter before", "the same month
/// last year", "the same quarter a year earlier", "a year earlier". Marks its words used.
fn shift(s: &mut Scan) -> Option<(Unit, i32)> {
    let n = s.tokens.len();
    for i in 0..n {
        // "the month before", "the week before that"; not "the month before last" (a period).
        if let Some(unit) = s.unit(i)
            && s.text(i + 1) == "before"
            && s.text(i + 2) != "last"
            && !(i > 0 && matches!(s.text(i - 1), "last" | "this" | "previous"))
            && !(i > 0 && s.tokens[i - 1].number_value().is_some())
        {
            let end = if s.text(i + 2) == "that" { i + 3 } else { i + 2 };
            let start = if i > 0 && s.text(i - 1) == "the" { i - 1 } else { i };
            s.mark(start, end);
            return Some((unit, -1));
        }
        // "the same month last year", "same quarter a year ago / earlier / before"
        if s.text(i) == "same" && (s.unit(i + 1).is_some() || s.text(i + 1) == "period") {
            let year_back = |j: usize| match (s.text(j), s.text(j + 1), s.text(j + 2)) {
                ("last", "year", _) | ("previous", "year", _) => Some(2),
                ("a" | "one", "year", "ago" | "earlier" | "before" | "prior") => Some(3),
                _ => None,
            };
            // Korean and Chinese put the year first ("작년 같은 달", "去年同月").
            let (from, to) = if let Some(k) = year_back(i + 2) {
                (i, i + 2 + k)
            } else if i >= 2 && matches!((s.text(i - 2), s.text(i - 1)), ("last" | "previous", "year")) {
                (i - 2, i + 2)
            } else {
                continue;
            };
            let from = if from > 0 && s.text(from - 1) == "the" { from - 1 } else { from };
            s.mark(from, to);
            return Some((Unit::Year, -1));
        }
    }
    None
}

/// A period starting at token i, and how many tokens it takes.
fn span_at(s: &mut Scan, i: usize, reading: &mut Reading) -> Option<(Span, usize)> {
    let today = s.today;
    let t = s.text(i).to_string();
    let next = s.text(i + 1).to_string();
    match t.as_str() {
        "today" => return Some((Span::dates(today, Some(today + Duration::days(1)), "today"), 1)),
        "yesterday" => return Some((Span::dates(today - Duration::days(1), Some(today), "yesterday"), 1)),
        "ytd" | "mtd" | "qtd" | "wtd" => {
            let unit = match t.as_str() {
                "ytd" => Unit::Year,
                "qtd" => Unit::Quarter,
                "mtd" => Unit::Month,
                _ => Unit::Week,
            };
            return Some((Span::dates(start_of(unit, today), None, format!("{} to date", unit.sql())), 1));
        }
        _ => {}
    }
    // "year to date", "month-to-date"
    if let (Some(unit), "to", "date") = (Unit::from_word(&t), next.as_str(), s.text(i + 2)) {
        return Some((Span::dates(start_of(unit, today), None, format!("{} to date", unit.sql())), 3));
    }
    // this / current / so far this
    if matches!(t.as_str(), "this" | "current")
        && let Some(unit) = s.unit(i + 1)
        && !(unit == Unit::Year && names_part_of_year(s, i + 2))
    {
        let mut used = 2;
        if s.text(i + 2) == "so" && s.text(i + 3) == "far" {
            used += 2;
        }
        return Some((Span::dates(start_of(unit, today), None, format!("this {}", unit.sql())), used));
    }
    if t == "next" && s.unit(i + 1).is_some() || (t == "next" && s.number(i + 1).is_some() && s.unit(i + 2).is_some()) {
        reading.future = true;
        return Some((Span::dates(today, None, "the future"), 2));
    }
    // last / past / previous / prior: N units (rolling, or complete weeks), or one calendar unit.
    if matches!(t.as_str(), "last" | "past" | "previous" | "prior" | "recent" | "latest") {
        let mut j = i + 1;
        if s.text(j) == "the" {
            j += 1;
        }
        let n = s.number(j);
        if n.is_some() {
            j += 1;
        }
        let complete = matches!(s.text(j), "complete" | "full" | "whole" | "entire" | "completed");
        if complete {
            j += 1;
        }
        if let Some(unit) = s.unit(j)
            && !(n.is_none() && unit == Unit::Year && names_part_of_year(s, j + 1))
        {
            let used = j + 1 - i;
            return Some(match (n, complete) {
                (Some(n), true) => {
                    let end = start_of(unit, today);
                    (Span::dates(add(unit, end, -(n as i32)), Some(end), format!("the last {n} complete {}s", unit.sql())), used)
                }
                (Some(n), false) => (Span::Rolling { n, unit, label: format!("the last {n} {}s", unit.sql()) }, used),
                (None, _) if s.text(j).ends_with('s') => (Span::Rolling { n: 1, unit, label: format!("the last {}", unit.sql()) }, used),
                (None, _) => {
                    let end = start_of(unit, today);
                    (Span::dates(add(unit, end, -1), Some(end), format!("last {}", unit.sql())), used)
                }
            });
        }
    }
    // "N units ago", "2 years ago" (a whole calendar unit)
    if let (Some(n), Some(unit), "ago") = (s.number(i), s.unit(i + 1), s.text(i + 2)) {
        let start = add(unit, start_of(unit, today), -(n as i32));
        return Some((Span::dates(start, Some(add(unit, start, 1)), format!("{n} {}s ago", unit.sql())), 3));
    }
    // "in the last 30 days" said as "30 days" after "in"/"over"/"within"
    if let (Some(n), Some(unit)) = (s.number(i), s.unit(i + 1))
        && i > 0
        && matches!(s.text(i - 1), "within" | "over" | "in")
    {
        return Some((Span::Rolling { n, unit, label: format!("the last {n} {}s", unit.sql()) }, 2));
    }
    if let Some(found) = s.quarter_at(i) {
        return Some(found);
    }
    if let Some(found) = s.half_at(i) {
        return Some(found);
    }
    // since / from … (to|until …) / between … and …
    if matches!(t.as_str(), "since" | "from" | "between" | "after") {
        let mut j = i + 1;
        if s.text(j) == "the" {
            j += 1;
        }
        if let Some((start, start_end, used)) = s.date_at(j).or_else(|| year_span(s, j)) {
            let mut k = j + used;
            let is_range = matches!(s.text(k), "to" | "until" | "till" | "through" | "and");
            if is_range && let Some((_, end, used2)) = s.date_at(k + 1).or_else(|| year_span(s, k + 1)) {
                k += 1 + used2;
                return Some((Span::dates(start, Some(end), format!("{start} to {}", end - Duration::days(1))), k - i));
            }
            if t == "between" {
                return None;
            }
            let start = if t == "after" { start_end } else { start };
            return Some((Span::dates(start, None, format!("since {start}")), k - i));
        }
        // "since last month", "since the start of the year"
        if let Some((span, used)) = span_at(s, j, reading)
            && let Span::Dates { start, .. } = span
        {
            return Some((Span::dates(start, None, format!("since {start}")), j - i + used));
        }
    }
    if let Some((start, end, used)) = s.date_at(i) {
        let label = if used == 1 && t.len() != 10 || end == add_months(start, 1) && start.day() == 1 {
            start.format("%B %Y").to_string()
        } else {
            start.to_string()
        };
        return Some((Span::dates(start, Some(end), label), used));
    }
    if let Some((start, end, used)) = year_span(s, i)
        && !(i > 0 && matches!(s.text(i - 1), "$" | "top" | "first" | "over" | "under" | "above" | "below"))
        && !matches!(s.text(i + 1), "%" | "$")
        && !names_part_of_year(s, i + used)
    {
        return Some((Span::dates(start, Some(end), start.year().to_string()), used));
    }
    None
}

/// Whether a quarter, a half or a month follows (within two words), which takes the year itself
/// ("2026年第二季度", "2026년 2분기", "2025 march").
fn names_part_of_year(s: &Scan, from: usize) -> bool {
    (from..from + 3).any(|j| {
        let t = s.text(j);
        (t.starts_with('q') && t[1..].parse::<u32>().is_ok())
            || t == "quarter"
            || t == "half"
            || t == "h1"
            || t == "h2"
            || month_of(t).is_some() && t != "may"
    })
}

/// A calendar year at i ("2025").
fn year_span(s: &Scan, i: usize) -> Option<(NaiveDate, NaiveDate, usize)> {
    let y = s.tokens.get(i).and_then(year_of)?;
    let used = if s.text(i + 1) == "year" { 2 } else { 1 };
    Some((NaiveDate::from_ymd_opt(y, 1, 1)?, NaiveDate::from_ymd_opt(y + 1, 1, 1)?, used))
}

/// A grain at token i ("monthly", "by month", "per week", "each day", "day of the week").
fn grain_at(s: &Scan, i: usize) -> Option<(Grain, usize)> {
    let t = s.text(i);
    let word = |w: &str| -> Option<Grain> {
        Some(match w {
            "hourly" => Grain::Hour,
            "daily" | "day" | "days" | "date" => Grain::Day,
            "weekly" | "week" | "weeks" => Grain::Week,
            "monthly" | "month" | "months" => Grain::Month,
            "quarterly" | "quarter" | "quarters" => Grain::Quarter,
            "yearly" | "annually" | "annual" | "year" | "years" => Grain::Year,
            _ => return None,
        })
    };
    let weekday = |j: usize| -> Option<usize> {
        match (s.text(j), s.text(j + 1), s.text(j + 2), s.text(j + 3)) {
            ("day" | "days", "of", "the", "week") => Some(4),
            ("day" | "days", "of", "week", _) => Some(3),
            ("weekday" | "weekdays", _, _, _) => Some(1),
            _ => None,
        }
    };
    if let Some(n) = weekday(i) {
        return Some((Grain::DayOfWeek, n));
    }
    if matches!(t, "by" | "per" | "each" | "every" | "across" | "over") {
        let j = if s.text(i + 1) == "the" { i + 2 } else { i + 1 };
        if let Some(n) = weekday(j) {
            return Some((Grain::DayOfWeek, j + n - i));
        }
        if let Some(g) = word(s.text(j)) {
            return Some((g, j + 1 - i));
        }
    }
    if matches!(t, "hourly" | "daily" | "weekly" | "monthly" | "quarterly" | "yearly" | "annually") {
        return Some((word(t)?, 1));
    }
    if (t == "trend" || t == "over" && s.text(i + 1) == "time") && s.used.iter().all(|u| !u) {
        return Some((Grain::Month, if t == "trend" { 1 } else { 2 }));
    }
    None
}

/// Comparison words: "versus the month before", "than the same period last year", "growth".
fn comparison(s: &mut Scan, spans: &mut Vec<(usize, Span)>, reading: &mut Reading) {
    let today = s.today;
    let words: Vec<(usize, String)> = s.tokens.iter().enumerate().map(|(i, t)| (i, t.text.clone())).collect();
    let has = |w: &str| words.iter().any(|(_, t)| t == w);
    let growth = has("growth") || has("grew") || has("grow") || has("increase") || has("increased") || has("change") || has("changed")
        || has("yoy") || has("mom") || has("qoq") || has("decline") || has("declined") || has("drop") || has("rise");
    let comparing = growth || has("vs") || has("versus") || has("compare") || has("compared") || has("comparison") || has("than")
        || has("against");
    if !comparing {
        return;
    }
    reading.growth = growth;
    for (i, w) in &words {
        let i = *i;
        // "the month before", "the previous month", "the week before", "the quarter before"
        let before = match (w.as_str(), s.text(i + 1)) {
            ("before", _) if i > 0 && Unit::from_word(s.text(i - 1)).is_some() && !s.used[i] => Some((i - 1, i + 1)),
            ("previous" | "prior" | "preceding", u) if Unit::from_word(u).is_some() => Some((i, i + 2)),
            _ => None,
        };
        if let Some((from, to)) = before
            && let Some((_, first)) = spans.first()
        {
            if let Some(prev) = first.before(today) {
                reading.previous = Some(prev);
            }
            s.mark(from.saturating_sub(usize::from(from > 0 && s.text(from - 1) == "the")), to);
            // A span read from "previous month" is not a second period here.
            spans.retain(|(at, _)| *at < from || *at >= to);
        }
        // "the same period/month/quarter last year", "a year earlier", "year over year", "yoy"
        let same = (w == "same" && (Unit::from_word(s.text(i + 1)).is_some() || s.text(i + 1) == "period"))
            || (matches!(w.as_str(), "a" | "one") && s.text(i + 1) == "year" && matches!(s.text(i + 2), "earlier" | "ago" | "before" | "prior") && !s.used[i + 1])
            || w == "yoy"
            || (w == "year" && s.text(i + 1) == "over" && s.text(i + 2) == "year");
        if same && let Some((_, first)) = spans.first() {
            // "the same period of last quarter" (跟上季度同期): aligned on the other period named;
            // else a year earlier.
            // (Only for another period of the same kind: "去年同月" is the same month a year
            // earlier, not the start of last year.)
            let months_back = |a: NaiveDate, b: NaiveDate| months_between(b, a);
            let aligned = spans.get(1).and_then(|(_, other)| match (first, other) {
                (Span::Dates { start, end: None, .. }, Span::Dates { start: other_start, end: Some(other_end), .. })
                    if (*other_end - *other_start).num_days() < 360 && is_month_start(*start) =>
                {
                    let now = chrono::Utc::now().naive_utc();
                    let back = months_back(*start, *other_start);
                    let end = add_months(now.date(), -back).and_time(now.time());
                    Some(Span::Until { start: *other_start, end, label: "the same part of the period before".into() })
                }
                (Span::Dates { start, end: Some(end), .. }, Span::Dates { start: other_start, end: Some(other_end), .. })
                    if (*other_end - *other_start).num_days() < 360 || (*end - *start).num_days() >= 360 =>
                {
                    let back = months_back(*start, *other_start);
                    Some(Span::dates(*other_start, Some(add_months(*end, -back)), "the same part of the period before"))
                }
                _ => None,
            });
            if let Some(prev) = aligned.or_else(|| first.year_earlier(today)) {
                reading.previous = Some(prev);
            }
            let end = (i + 6).min(s.tokens.len());
            for j in i..end {
                if matches!(s.text(j), "same" | "period" | "month" | "quarter" | "week" | "last" | "year" | "over" | "yoy" | "as" | "a" | "one" | "earlier" | "ago" | "before" | "prior") {
                    s.used[j] = true;
                }
            }
            spans.truncate(1);
        }
    }
    // "growth last quarter over the previous quarter" without the words above: one period and
    // growth means the period before.
    // ("vs" alone may compare values: "monthly versus annual plans".)
    if reading.previous.is_none() && spans.len() == 1 && growth {
        reading.previous = spans[0].1.before(today);
    }
    let _ = Weekday::Mon;
}

/// A period moved by `n` units ("the month before" of March is February), when it has both ends.
pub fn shift_period(p: &Period, unit: Unit, n: i32) -> Option<Period> {
    let date = |s: &Option<String>| s.as_deref().and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok());
    let (start, end) = (date(&p.start)?, date(&p.end)?);
    let (start, end) = (add(unit, start, n), add(unit, end, n));
    let label = format!("{} to {}", start.format("%Y-%m-%d"), (end - Duration::days(1)).format("%Y-%m-%d"));
    Some(Span::dates(start, Some(end), label).to_period())
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::Foreign;
    use super::super::text::tokenize;
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn period(q: &str) -> Option<Period> {
        read(&tokenize(q, &Foreign::builtin()), day()).period.map(|s| s.to_period())
    }

    fn dates(q: &str) -> (Option<String>, Option<String>) {
        let p = period(q).unwrap_or_else(|| panic!("no period in {q}"));
        (p.start, p.end)
    }

    fn d(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn calendar_periods() {
        assert_eq!(dates("revenue last month"), (d("2026-11-01"), d("2026-12-01")));
        assert_eq!(dates("orders last week"), (d("2026-11-23"), d("2026-11-30")));
        assert_eq!(dates("this year"), (d("2026-01-01"), None));
        assert_eq!(dates("YTD revenue"), (d("2026-01-01"), None));
        assert_eq!(dates("revenue in Q2 2026"), (d("2026-04-01"), d("2026-07-01")));
        assert_eq!(dates("the first quarter of this year"), (d("2026-01-01"), d("2026-04-01")));
        assert_eq!(dates("orders in March 2026"), (d("2026-03-01"), d("2026-04-01")));
        assert_eq!(dates("sales since July 1st, 2026"), (d("2026-07-01"), None));
        assert_eq!(dates("between February and April 2026"), (d("2026-02-01"), d("2026-05-01")));
        assert_eq!(dates("the last four complete weeks"), (d("2026-11-02"), d("2026-11-30")));
        assert_eq!(dates("order count for last year"), (d("2025-01-01"), d("2026-01-01")));
        assert_eq!(dates("orders in 2025"), (d("2025-01-01"), d("2026-01-01")));
        assert_eq!(dates("yesterday"), (d("2026-11-30"), d("2026-12-01")));
        assert_eq!(dates("2026년 2분기 주문 건수"), (d("2026-04-01"), d("2026-07-01")));
        assert_eq!(dates("今年第一季度的销售额"), (d("2026-01-01"), d("2026-04-01")));
        assert_eq!(dates("first half of last year"), (d("2025-01-01"), d("2025-07-01")));
    }

    #[test]
    fn rolling_windows() {
        assert_eq!(period("orders over the last 30 days").unwrap().last.as_deref(), Some("30 days"));
        assert_eq!(period("units sold in the last two weeks").unwrap().last.as_deref(), Some("2 weeks"));
        assert_eq!(period("过去7天一共有多少订单").unwrap().last.as_deref(), Some("7 days"));
        assert_eq!(period("how many orders"), None);
        assert_eq!(period("orders over $500"), None);
    }

    #[test]
    fn comparisons_and_grains() {
        let r = read(&tokenize("Compare last month's revenue with the month before", &Foreign::builtin()), day());
        assert_eq!(r.previous.unwrap().to_period().start, d("2026-10-01"));
        let r = read(&tokenize("this year's revenue so far compared with the same period last year", &Foreign::builtin()), day());
        assert_eq!(r.previous.unwrap().to_period().start, d("2025-01-01"));
        let r = read(&tokenize("monthly revenue for this year", &Foreign::builtin()), day());
        assert_eq!(r.grain, Some(Grain::Month));
        let r = read(&tokenize("How do orders spread over the days of the week?", &Foreign::builtin()), day());
        assert_eq!(r.grain, Some(Grain::DayOfWeek));
        assert!(read(&tokenize("revenue next quarter", &Foreign::builtin()), day()).future);
    }
}
