//! The built-in planner: offline, deterministic, schema-aware. It reads a question for what it
//! measures (a count, or the sum, average, minimum or maximum of a number column), how to group it
//! (by a category column or a related table, by a time bucket), how to rank (top or bottom N,
//! "which … most"), which period (last month, in 2025, last 30 days …) and which known values to
//! filter on (matched against the distinct values the asker may see). It then tries each table as
//! the base of the query, following foreign keys to the tables it references (never the other way,
//! which would count rows twice), and keeps the binding that accounts for everything the question
//! named. When something stays unaccounted for it says so and suggests questions it can answer; it
//! never guesses.

pub mod time;

use std::collections::HashSet;

use self::time::{Unit, Window};
use super::context::{Context, Table, ident_stems, quote, stem, words};
use super::i18n::{Lang, t};
use crate::db::datasets::Example;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// What the planner made of a question.
#[derive(Debug, Clone)]
pub enum Planned {
    Sql(Plan),
    NotConfident { reason: String, suggestions: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub sql: String,
    /// What the measure column of the result means, for labels ("orders", "total revenue").
    pub measure_label: String,
    pub group_label: Option<String>,
    pub bucket: Option<Unit>,
}

const STOP: &[&str] = &[
    "the", "a", "an", "of", "in", "on", "for", "by", "per", "each", "every", "is", "are", "was", "were", "what", "which", "who",
    "how", "many", "much", "do", "does", "did", "we", "i", "me", "my", "our", "us", "show", "list", "give", "get", "tell",
    "there", "have", "has", "had", "with", "and", "or", "to", "from", "all", "total", "sum", "average", "avg", "mean", "number",
    "count", "top", "bottom", "most", "least", "highest", "lowest", "maximum", "minimum", "max", "min", "last", "this", "past",
    "since", "during", "between", "please", "it", "that", "be", "as", "at", "into", "than", "over", "time", "trend", "year",
    "month", "week", "day", "quarter", "daily", "weekly", "monthly", "quarterly", "yearly", "today", "yesterday", "previous",
    "current", "biggest", "largest", "smallest", "best", "worst", "fewest", "greatest", "value", "values", "amount", "overall",
];

/// Words a question may use without meaning anything the SQL must reflect.
const FILLER: &[&str] = &[
    "sold", "made", "placed", "generated", "bought", "spent", "ordered", "purchased", "created", "received", "got", "get",
    "see", "want", "know", "like", "would", "could", "can", "you", "your", "about", "across", "broken", "down", "breakdown",
    "distribution", "split", "share", "percent", "percentage", "proportion", "overall", "altogether", "currently", "now",
    "so", "far", "ever", "there", "been", "be", "being", "any", "some", "than", "then", "only", "just", "also", "them", "they",
    "it", "its", "their", "those", "these", "one", "ones", "kind", "type", "group", "grouped", "split", "up", "out",
];

/// Words that do not change what an example question asks.
const EXAMPLE_FILLER: &[&str] = &["the", "a", "an", "what", "whats", "is", "are", "was", "were", "show", "me", "give", "list", "please", "our", "my", "s"];

/// Verbs for making a record ("orders placed", "products sold") that may also be a status value.
const GENERIC_VERBS: &[&str] = &["placed", "made", "created", "submitted", "received", "ordered", "sold", "bought", "purchased"];

/// Phrase boundaries: a group or measure phrase ends at these.
const BOUNDARY: &[&str] = &[
    "in", "for", "during", "last", "this", "past", "since", "from", "with", "where", "and", "top", "by", "per", "of", "has", "have",
    "had", "is", "are", "was", "did", "does", "sold", "made", "generated", "brought", "the", "that", "over", "between", "each", "in",
];

fn is_number(w: &str) -> bool {
    w.chars().all(|c| c.is_ascii_digit())
}

struct Intent {
    measure: Option<Measure>,
    content: HashSet<String>,
    measure_words: Vec<String>,
    group: Option<Vec<String>>,
    bucket: Option<Unit>,
    window: Option<Window>,
    rank: Option<(bool, u32)>,
}

fn phrase(words: &[String], from: usize) -> Vec<String> {
    words[from.min(words.len())..]
        .iter()
        .take_while(|w| !BOUNDARY.contains(&w.as_str()))
        .filter(|w| !is_number(w))
        .take(3)
        .map(|w| stem(w))
        .collect()
}

fn read(question: &str) -> Intent {
    let text = question.to_lowercase();
    let words = words(question);
    let has = |w: &str| words.iter().any(|x| x == w);
    let has_pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let cjk = |needles: &[&str]| needles.iter().any(|n| text.contains(n));

    let mut measure = if has_pair("how", "many") || has_pair("number", "of") || has("count") || cjk(&["多少", "几个", "數量", "数量", "个数", "몇", "개수", "건수"]) {
        Some(Measure::Count)
    } else if has("average") || has("avg") || has("mean") || cjk(&["平均", "평균"]) {
        Some(Measure::Avg)
    } else if has("total") || has("sum") || has_pair("how", "much") || cjk(&["总", "總", "合计", "合計", "합계", "총"]) {
        Some(Measure::Sum)
    } else if has("maximum") || has("max") || cjk(&["最高", "最大", "최대", "최고"]) {
        Some(Measure::Max)
    } else if has("minimum") || has("min") || cjk(&["最低", "最小", "최소", "최저"]) {
        Some(Measure::Min)
    } else {
        None
    };

    // Ranking: top/bottom N, or "which … most/least".
    let mut rank = None;
    let mut group = None;
    let mut measure_words = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let n = words.get(i + 1).filter(|n| is_number(n)).and_then(|n| n.parse::<u32>().ok());
        let descending = match w.as_str() {
            "top" | "best" => Some(true),
            "bottom" | "worst" => Some(false),
            _ => None,
        };
        if let Some(desc) = descending {
            rank = Some((desc, n.unwrap_or(10).clamp(1, 1000)));
            let start = i + 1 + usize::from(n.is_some());
            group = Some(phrase(&words, start)).filter(|g| !g.is_empty());
            if let Some(by) = words.iter().skip(start).position(|x| x == "by").map(|p| p + start) {
                measure_words = phrase(&words, by + 1);
            }
            break;
        }
    }
    if rank.is_none()
        && let Some(i) = words.iter().position(|w| w == "which" || w == "what") {
            let most = words.iter().position(|w| matches!(w.as_str(), "most" | "highest" | "largest" | "biggest" | "greatest"));
            let least = words.iter().position(|w| matches!(w.as_str(), "least" | "lowest" | "smallest" | "fewest"));
            if let Some(at) = most.or(least) {
                rank = Some((most.is_some(), 1));
                group = Some(phrase(&words, i + 1)).filter(|g| !g.is_empty());
                measure_words = phrase(&words, at + 1);
                if measure.is_none() || matches!(measure, Some(Measure::Max | Measure::Min)) {
                    measure = None;
                }
            }
        }
    if cjk(&["前"]) && rank.is_none()
        && let Some(n) = words.iter().find(|w| is_number(w)).and_then(|n| n.parse::<u32>().ok()) {
            rank = Some((true, n.clamp(1, 1000)));
        }
    let bucket = time::bucket(&words, &text);
    if group.is_none() {
        for (i, w) in words.iter().enumerate() {
            if matches!(w.as_str(), "by" | "per" | "each") {
                let g = phrase(&words, i + 1);
                let is_time = words.get(i + 1).is_some_and(|n| matches!(n.trim_end_matches('s'), "day" | "week" | "month" | "quarter" | "year" | "date"));
                if !g.is_empty() && !is_time {
                    group = Some(g);
                    break;
                }
            }
        }
    }
    if measure_words.is_empty()
        && let Some(i) = words.iter().position(|w| matches!(w.as_str(), "total" | "sum" | "average" | "avg" | "mean" | "maximum" | "max" | "minimum" | "min" | "many" | "much")) {
            let start = if words.get(i + 1).is_some_and(|w| w == "of") { i + 2 } else { i + 1 };
            measure_words = phrase(&words, start);
        }
    let content: HashSet<String> =
        words.iter().filter(|w| !is_number(w)).map(|w| stem(w)).filter(|w| !STOP.contains(&w.as_str())).collect();
    Intent { measure, content, measure_words, group, bucket, window: time::window(&words, &text), rank }
}

/// A table reachable from the base along foreign keys, and how to join it.
#[derive(Debug, Clone)]
struct Reach {
    table: usize,
    /// (index into `reach` of the referencing table, its columns, this table's columns)
    via: Option<(usize, Vec<String>, Vec<String>)>,
}

fn reachable(ctx: &Context, base: usize) -> Vec<Reach> {
    let mut reach = vec![Reach { table: base, via: None }];
    let mut i = 0;
    while i < reach.len() && reach.len() < 12 {
        let depth = {
            let mut d = 0;
            let mut at = i;
            while let Some((parent, _, _)) = &reach[at].via {
                d += 1;
                at = *parent;
            }
            d
        };
        if depth < 3 {
            let from = &ctx.tables[reach[i].table];
            for fk in &from.foreign_keys {
                if let Some(target) = ctx.tables.iter().position(|t| t.schema == fk.schema && t.name == fk.table)
                    && !reach.iter().any(|r| r.table == target) {
                        reach.push(Reach { table: target, via: Some((i, fk.columns.clone(), fk.ref_columns.clone())) });
                    }
            }
        }
        i += 1;
    }
    reach
}

fn is_key(table: &Table, column: &str) -> bool {
    table.primary_key.iter().any(|k| k == column) || table.foreign_keys.iter().any(|fk| fk.columns.iter().any(|c| c == column)) || column == "id" || column.ends_with("_id")
}

/// How well a column (or its table) answers to a phrase.
fn phrase_score(table: &Table, column: &str, phrase: &[String]) -> f64 {
    let col = ident_stems(column);
    let hits = col.iter().filter(|s| phrase.contains(s)).count();
    if hits == 0 {
        return 0.0;
    }
    // Every part of the column's name is in the phrase ("revenue", "total amount").
    let full = hits == col.len();
    hits as f64 + if full { 2.0 } else { 0.0 } - if is_key(table, column) { 1.5 } else { 0.0 }
}

/// A bound column: which reachable table, which column.
#[derive(Debug, Clone)]
struct Bound {
    reach: usize,
    column: String,
}

struct Binding {
    base: usize,
    reach: Vec<Reach>,
    measure: Measure,
    measured: Option<Bound>,
    group: Option<Bound>,
    time: Option<Bound>,
    filters: Vec<(Bound, String)>,
    score: f64,
    problem: Option<String>,
}

fn bind(ctx: &Context, intent: &Intent, base: usize, question: &str, lang: Lang) -> Binding {
    let reach = reachable(ctx, base);
    let table = |r: usize| &ctx.tables[reach[r].table];
    let base_table = &ctx.tables[base];
    let mut score = 0.0;
    let mut problem = None;

    // Does the question name the base table?
    // Does the question name the base table: all of its name ("orders") or part ("order_lines")?
    let base_stems = ident_stems(&base_table.name);
    let named = base_stems.iter().filter(|s| intent.content.contains(*s)).count();
    let names_base = named > 0;
    if named == base_stems.len() {
        score += 5.0;
    } else if names_base {
        score += 2.0;
    }

    // The measured number column, for sums, averages, extremes (and "which … most <number>").
    let wanted: Vec<String> = if intent.measure_words.is_empty() { intent.content.iter().cloned().collect() } else { intent.measure_words.clone() };
    let mut measured = None;
    let mut best = 0.0;
    for r in 0..reach.len() {
        for c in table(r).columns.iter().filter(|c| c.is_numeric() && !is_key(table(r), &c.name)) {
            let s = phrase_score(table(r), &c.name, &wanted) - if r == 0 { 0.0 } else { 0.5 };
            if s > best {
                best = s;
                measured = Some(Bound { reach: r, column: c.name.clone() });
            }
        }
    }
    // A glossary term the question uses may say which column it means ("… is orders.total_amount").
    if measured.is_none() {
        for g in &ctx.glossary {
            let named = std::iter::once(&g.term).chain(g.synonyms.iter()).any(|term| {
                let ws: Vec<String> = words(term).iter().map(|w| stem(w)).collect();
                !ws.is_empty() && ws.iter().all(|w| intent.content.contains(w))
            });
            if !named {
                continue;
            }
            for r in 0..reach.len() {
                for c in table(r).columns.iter().filter(|c| c.is_numeric()) {
                    if g.definition.contains(&format!("{}.{}", table(r).name, c.name)) {
                        measured = Some(Bound { reach: r, column: c.name.clone() });
                    }
                }
            }
        }
    }
    // Sums and averages are of the base table's own rows: a number found only in a referenced
    // table would be counted once per referencing row.
    let measured = measured.filter(|m| m.reach == 0);
    let measure = match (intent.measure, &measured) {
        (Some(m), _) => m,
        (None, Some(_)) if !names_base || best >= 2.0 => Measure::Sum,
        (None, _) => Measure::Count,
    };
    if measure != Measure::Count {
        if measured.is_some() {
            score += 4.0;
        } else {
            problem = Some(t(lang, "no_measure", &[("words", &wanted.join(" "))]));
        }
    } else if !names_base {
        score -= 3.0;
    }

    // The group: a column, or a referenced table (by its label column).
    let mut group = None;
    if let Some(phrase) = &intent.group {
        let mut best = 0.0;
        for r in 0..reach.len() {
            let t = table(r);
            for c in &t.columns {
                let s = phrase_score(t, &c.name, phrase) - if r == 0 { 0.0 } else { 0.3 } - if c.is_numeric() { 1.0 } else { 0.0 };
                if s > best {
                    best = s;
                    group = Some(Bound { reach: r, column: c.name.clone() });
                }
            }
            let names_table = ident_stems(&t.name).iter().filter(|s| phrase.contains(s)).count();
            if names_table > 0 && r > 0
                && let Some(label) = t.label_column() {
                    let s = names_table as f64 + 1.5;
                    if s > best {
                        best = s;
                        group = Some(Bound { reach: r, column: label.name.clone() });
                    }
                }
        }
        if group.is_some() {
            score += 4.0;
        } else {
            problem = Some(t(lang, "no_group", &[("words", &phrase.join(" "))]));
        }
    }

    // The time column, when the question names a period or a bucket.
    let mut time = None;
    if intent.window.is_some() || intent.bucket.is_some() {
        let preference = |name: &str| ["ordered", "created", "date", "_at", "time", "day"].iter().position(|p| name.contains(p)).unwrap_or(9);
        time = (0..reach.len())
            .flat_map(|r| table(r).columns.iter().filter(|c| c.is_temporal()).map(move |c| (r, c)))
            .min_by_key(|(r, c)| (*r, preference(&c.name)))
            .map(|(r, c)| Bound { reach: r, column: c.name.clone() });
        if time.is_some() {
            score += 2.0;
        } else {
            problem = Some(t(lang, "no_time", &[("table", &base_table.name)]));
        }
    }

    // Known values the question mentions.
    let lower = question.to_lowercase();
    let qwords = words(question);
    let entity_at = qwords.iter().position(|w| ident_stems(&base_table.name).contains(&stem(w)));
    let mut filters = Vec::new();
    for r in 0..reach.len() {
        for c in table(r).columns.iter().filter(|c| !c.values.is_empty()) {
            if group.as_ref().is_some_and(|g| g.reach == r && g.column == c.name) {
                continue;
            }
            for v in &c.values {
                let lv = v.to_lowercase();
                if lv.chars().count() < 2 || STOP.contains(&lv.as_str()) {
                    continue;
                }
                let found = if lv.contains(' ') {
                    lower.contains(&lv)
                } else {
                    qwords.iter().position(|w| *w == lv)
                        // "orders (that were) placed last month": a value that is also the verb of
                        // making the thing, after it, describes every row and filters nothing.
                        .filter(|&at| !(GENERIC_VERBS.contains(&lv.as_str()) && entity_at.is_some_and(|e| at > e)))
                        .is_some()
                };
                if found && !filters.iter().any(|(b, _): &(Bound, String)| b.reach == r && b.column == c.name) {
                    filters.push((Bound { reach: r, column: c.name.clone() }, v.clone()));
                    score += 1.0;
                }
            }
        }
    }

    // Fewer joins are better; joins only count if used.
    let used: Vec<usize> = measured.iter().chain(group.iter()).chain(time.iter()).chain(filters.iter().map(|(b, _)| b)).map(|b| b.reach).collect();
    score -= 0.4 * used.iter().filter(|r| **r > 0).count() as f64;
    if measure == Measure::Count && !names_base && measured.is_none() && problem.is_none() {
        problem = Some(t(lang, "no_table", &[]));
    }
    if problem.is_none() {
        let used_columns = measured.iter().chain(group.iter()).chain(time.iter()).chain(filters.iter().map(|(b, _)| b));
        let mut known: HashSet<String> = used_columns.flat_map(|b| ident_stems(&b.column)).collect();
        known.extend(reach.iter().flat_map(|r| ident_stems(&ctx.tables[r.table].name)));
        known.extend(filters.iter().flat_map(|(_, v)| words(v)).map(|w| stem(&w)));
        known.extend(ctx.glossary.iter().flat_map(|g| std::iter::once(&g.term).chain(&g.synonyms)).flat_map(|t| words(t)).map(|w| stem(&w)));
        let unknown = unaccounted(&intent.content, &known);
        if !unknown.is_empty() {
            problem = Some(t(lang, "unknown_words", &[("words", &unknown.join(", "))]));
        }
    }
    Binding { base, reach, measure, measured, group, time, filters, score, problem }
}

/// Whether the values of small text columns could help: the question has words that no table,
/// column or glossary term explains ("web", "EMEA", "Tokyo" may be values), or words in a script
/// the planner reads by keyword only. Reading values takes a scan of each table, so a question
/// that names only tables and columns does without.
pub fn needs_values(question: &str, ctx: &Context) -> bool {
    if !question.is_ascii() {
        return true;
    }
    let intent = read(question);
    let mut known: HashSet<String> = ctx
        .tables
        .iter()
        .flat_map(|t| ident_stems(&t.name).into_iter().chain(t.columns.iter().flat_map(|c| ident_stems(&c.name))))
        .collect();
    known.extend(ctx.glossary.iter().flat_map(|g| std::iter::once(&g.term).chain(&g.synonyms)).flat_map(|t| words(t)).map(|w| stem(&w)));
    !unaccounted(&intent.content, &known).is_empty()
}

/// Words of a question that nothing in a binding accounts for: answering anyway would ignore
/// them, so the planner says it is not sure instead. (Chinese and Korean questions are read for
/// their keywords only, so their characters are not held against them.)
fn unaccounted(content: &HashSet<String>, known: &HashSet<String>) -> Vec<String> {
    let mut out: Vec<String> = content
        .iter()
        .filter(|w| w.is_ascii() && w.len() > 1 && !known.contains(*w) && !FILLER.contains(&w.as_str()))
        .cloned()
        .collect();
    out.sort();
    out
}

/// The first curated example whose question says the same as this one (the same words, apart
/// from filler): its SQL was written by someone who knows the data.
fn example_for<'a>(question: &str, ctx: &'a Context) -> Option<&'a Example> {
    let key = |q: &str| -> Vec<String> {
        let mut ws: Vec<String> = words(q).iter().filter(|w| !EXAMPLE_FILLER.contains(&w.as_str())).map(|w| stem(w)).collect();
        ws.sort();
        ws.dedup();
        ws
    };
    let asked = key(question);
    ctx.examples.iter().find(|e| key(&e.question) == asked)
}

fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Writes the binding's SQL.
fn write(ctx: &Context, intent: &Intent, b: &Binding, row_limit: i64) -> Plan {
    let base = &ctx.tables[b.base];
    // Aliases for the reachable tables that are used, and the joins that reach them.
    let mut needed: Vec<usize> = b.measured.iter().chain(b.group.iter()).chain(b.time.iter()).chain(b.filters.iter().map(|(x, _)| x)).map(|x| x.reach).collect();
    let mut i = 0;
    while i < needed.len() {
        if let Some((parent, _, _)) = &b.reach[needed[i]].via
            && !needed.contains(parent) {
                needed.push(*parent);
            }
        i += 1;
    }
    needed.sort();
    needed.dedup();
    let alias = |r: usize| format!("t{}", needed.iter().position(|x| *x == r).unwrap_or(0));
    let col = |bound: &Bound| format!("{}.{}", alias(bound.reach), quote(&bound.column));

    let mut from = format!("{} {}", base.qualified(), alias(0));
    for &r in needed.iter().filter(|r| **r != 0) {
        let (parent, cols, ref_cols) = b.reach[r].via.as_ref().expect("reached tables are joined");
        let on: Vec<String> = cols.iter().zip(ref_cols).map(|(c, rc)| format!("{}.{} = {}.{}", alias(r), quote(rc), alias(*parent), quote(c))).collect();
        from.push_str(&format!("\n  JOIN {} {} ON {}", ctx.tables[b.reach[r].table].qualified(), alias(r), on.join(" AND ")));
    }

    let mut select = Vec::new();
    let mut group_by = Vec::new();
    if let (Some(unit), Some(time)) = (intent.bucket, &b.time) {
        select.push(format!("date_trunc('{}', {})::date AS {}", unit.sql(), col(time), unit.sql()));
        group_by.push(select.len());
    }
    let group_label = b.group.as_ref().map(|g| {
        let t = &ctx.tables[b.reach[g.reach].table];
        // A label column of a referenced table is named after the table ("region", not "name").
        let label = if g.reach > 0 && t.label_column().is_some_and(|l| l.name == g.column) { stem(&t.name) } else { g.column.clone() };
        select.push(format!("{} AS {}", col(g), quote(&label)));
        group_by.push(select.len());
        label
    });
    let (measure_sql, measure_label) = match (b.measure, &b.measured) {
        (Measure::Count, _) => ("count(*)".to_string(), base.name.clone()),
        (m, Some(x)) => {
            let c = col(x);
            match m {
                Measure::Sum if x.column.starts_with("total") => (format!("sum({c})"), x.column.clone()),
                Measure::Sum => (format!("sum({c})"), format!("total_{}", x.column)),
                Measure::Avg => (format!("round(avg({c})::numeric, 2)"), format!("average_{}", x.column)),
                Measure::Min => (format!("min({c})"), format!("min_{}", x.column)),
                _ => (format!("max({c})"), format!("max_{}", x.column)),
            }
        }
        (_, None) => ("count(*)".to_string(), base.name.clone()),
    };
    select.push(format!("{measure_sql} AS {}", quote(&measure_label)));
    let measure_position = select.len();

    let mut conditions = Vec::new();
    if let (Some(window), Some(time)) = (&intent.window, &b.time) {
        conditions.push(time::condition(window, &col(time)));
    }
    for (bound, value) in &b.filters {
        conditions.push(format!("{} = {}", col(bound), sql_literal(value)));
    }

    let mut sql = format!("SELECT {}\n  FROM {from}", select.join(",\n       "));
    if !conditions.is_empty() {
        sql.push_str(&format!("\n WHERE {}", conditions.join("\n   AND ")));
    }
    if !group_by.is_empty() {
        sql.push_str(&format!("\n GROUP BY {}", group_by.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(", ")));
        let order = match (intent.rank, intent.bucket) {
            (Some((desc, _)), _) => format!("{measure_position} {}", if desc { "DESC" } else { "ASC" }),
            (None, Some(_)) => "1".to_string(),
            (None, None) => format!("{measure_position} DESC"),
        };
        sql.push_str(&format!("\n ORDER BY {order}"));
        if let Some((_, n)) = intent.rank {
            sql.push_str(&format!("\n LIMIT {}", i64::from(n).min(row_limit)));
        }
    }
    Plan { sql, measure_label, group_label, bucket: intent.bucket }
}

/// Questions this dataset can answer, for when the planner cannot answer the one asked.
pub fn suggestions(ctx: &Context, lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = ctx.examples.iter().take(3).map(|e| e.question.clone()).collect();
    let mut tables: Vec<&Table> = ctx.tables.iter().filter(|t| t.kind != "view").collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.record_count.unwrap_or(0)));
    if let Some(big) = tables.first() {
        out.push(t(lang, "how_many", &[("table", &big.name)]));
        let number = big.columns.iter().find(|c| c.is_numeric() && !is_key(big, &c.name));
        let group = big.foreign_keys.iter().find_map(|fk| ctx.table(&fk.schema, &fk.table)).map(|t| stem(&t.name))
            .or_else(|| big.columns.iter().find(|c| !c.values.is_empty()).map(|c| c.name.clone()));
        if let (Some(n), Some(g)) = (number, group) {
            out.push(t(lang, "total_by", &[("measure", &n.name), ("group", &g)]));
        }
        if big.columns.iter().any(|c| c.is_temporal()) {
            out.push(t(lang, "per_month", &[("table", &big.name)]));
        }
    }
    out.dedup();
    out
}

/// Plans a question against a context; with earlier questions of the conversation, a follow-up
/// that cannot stand alone ("and by month?") is read together with the last one.
pub fn plan(question: &str, ctx: &Context, history: &[String], lang: Lang) -> Planned {
    if let Some(example) = example_for(question, ctx) {
        return Planned::Sql(Plan { sql: example.sql.clone(), measure_label: String::new(), group_label: None, bucket: None });
    }
    let attempt = |text: &str| -> Result<Plan, String> {
        let intent = read(text);
        let mut bindings: Vec<Binding> = (0..ctx.tables.len()).map(|i| bind(ctx, &intent, i, text, lang)).collect();
        bindings.sort_by(|a, b| {
            a.problem.is_some().cmp(&b.problem.is_some()).then(b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal))
        });
        match bindings.first() {
            Some(b) if b.problem.is_none() => Ok(write(ctx, &intent, b, ctx.dataset.row_limit)),
            Some(b) => Err(b.problem.clone().unwrap_or_default()),
            None => Err(t(lang, "no_table", &[])),
        }
    };
    match attempt(question) {
        Ok(p) => Planned::Sql(p),
        Err(reason) => {
            if let Some(last) = history.last()
                && let Ok(p) = attempt(&format!("{last} {question}")) {
                    return Planned::Sql(p);
                }
            Planned::NotConfident {
                reason: t(lang, "not_confident", &[("dataset", &ctx.dataset.name), ("reason", &reason)]),
                suggestions: suggestions(ctx, lang),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::datasets::Runtime;
    use crate::mcp::pipeline::context::{Column, ForeignKey};

    fn column(name: &str, type_name: &str, values: &[&str]) -> Column {
        Column {
            name: name.into(),
            type_name: type_name.into(),
            comment: None,
            distinct_values: None,
            primary_key: name == "id",
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn fk(column: &str, table: &str) -> ForeignKey {
        ForeignKey { columns: vec![column.into()], schema: "shop".into(), table: table.into(), ref_columns: vec!["id".into()] }
    }

    fn table(name: &str, columns: Vec<Column>, foreign_keys: Vec<ForeignKey>) -> Table {
        Table { schema: "shop".into(), name: name.into(), kind: "table".into(), comment: None, record_count: Some(100), columns, primary_key: vec!["id".into()], foreign_keys }
    }

    fn shop() -> Context {
        Context {
            dataset: Runtime { id: 1, name: "Shop".into(), description: None, row_limit: 1000, timeout_ms: 15000, search_path: None },
            tables: vec![
                table(
                    "orders",
                    vec![
                        column("id", "integer", &[]),
                        column("region_id", "integer", &[]),
                        column("ordered_at", "timestamp with time zone", &[]),
                        column("status", "text", &["cancelled", "placed"]),
                        column("channel", "text", &["store", "web"]),
                        column("total_amount", "numeric(12,2)", &[]),
                    ],
                    vec![fk("region_id", "regions")],
                ),
                table("regions", vec![column("id", "integer", &[]), column("code", "text", &["EMEA", "NA"]), column("name", "text", &[])], vec![]),
            ],
            glossary: Vec::new(),
            examples: Vec::new(),
        }
    }

    fn sql(question: &str, history: &[&str]) -> String {
        let history: Vec<String> = history.iter().map(|h| h.to_string()).collect();
        match plan(question, &shop(), &history, Lang::En) {
            Planned::Sql(p) => p.sql,
            Planned::NotConfident { reason, .. } => panic!("{question}: {reason}"),
        }
    }

    #[test]
    fn common_questions_become_sql() {
        assert_eq!(sql("How many orders are there?", &[]), "SELECT count(*) AS orders\n  FROM shop.orders t0");
        let by_region = sql("Total amount of orders by region", &[]);
        assert!(by_region.contains("sum(t0.total_amount) AS total_amount") && by_region.contains("JOIN shop.regions t1 ON t1.id = t0.region_id"), "{by_region}");
        let filtered = sql("How many web orders were cancelled last month?", &[]);
        assert!(filtered.contains("t0.channel = 'web'") && filtered.contains("t0.status = 'cancelled'") && filtered.contains("interval '1 month'"), "{filtered}");
        let placed = sql("How many orders were placed in 2025?", &[]);
        assert!(!placed.contains("'placed'") && placed.contains("DATE '2025-01-01'"), "{placed}");
        let top = sql("Top 3 channels by total amount", &[]);
        assert!(top.ends_with("ORDER BY 2 DESC\n LIMIT 3"), "{top}");
        let follow_up = sql("and by channel?", &["How many orders are there?"]);
        assert!(follow_up.contains("t0.channel AS channel") && follow_up.contains("count(*)"), "{follow_up}");
    }

    #[test]
    fn unknown_words_are_not_guessed() {
        for question in ["What is the weather in Paris?", "How many orders did Bob place?", "Average salary by department"] {
            assert!(matches!(plan(question, &shop(), &[], Lang::En), Planned::NotConfident { .. }), "{question}");
        }
        let Planned::NotConfident { reason, suggestions } = plan("What is the weather?", &shop(), &[], Lang::ZhCn) else { panic!() };
        assert!(reason.contains("Shop") && reason.starts_with("我无法"), "{reason}");
        assert!(suggestions.iter().any(|s| s.contains("orders")), "{suggestions:?}");
    }

    #[test]
    fn values_are_read_only_when_a_word_might_be_one() {
        assert!(!needs_values("How many orders by region?", &shop()));
        assert!(!needs_values("Total amount of orders sold by channel last month", &shop()));
        assert!(needs_values("How many web orders?", &shop()));
        assert!(needs_values("EMEA 的订单有多少个？", &shop()));
    }
}
