//! The question suites (`tests/questions/*.toml`): hundreds of questions about the two demo
//! datasets, in English, Chinese and Korean, each with ground-truth SQL written by hand, asked of
//! the built-in planner. Both the planner's SQL and the ground truth run through
//! `quarry.execute_for` as the same account, and the answers are compared as
//! `tests/questions/README.md` says. Prints accuracy by kind and language, and every miss.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Utc;
use quarry_e2e::admin;
use quarry_sidecar::mcp::pipeline::semantic::{self, Document, Model, Query, Values};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Suite {
    dataset: String,
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize, Clone)]
struct Case {
    id: String,
    kind: String,
    lang: String,
    ask: String,
    #[serde(default)]
    before: Vec<String>,
    #[serde(default)]
    sql: Option<String>,
    #[serde(default)]
    ordered: bool,
    #[serde(default)]
    refuse: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Right,
    Refused,
    Wrong,
}

/// A cell of a result, for comparing.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Cell::Text(b.to_string()),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if !s.trim().is_empty() => Cell::Num(n),
            _ => Cell::Text(s.trim().to_lowercase()),
        },
        other => Cell::Text(other.to_string().to_lowercase()),
    }
}

fn is_date(s: &str) -> bool {
    s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' && s[..4].chars().all(|c| c.is_ascii_digit())
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Null, Cell::Null) => true,
        (Cell::Num(x), Cell::Num(y)) => (x - y).abs() <= 0.01 || (x - y).abs() <= 0.001 * x.abs().max(y.abs()),
        (Cell::Text(x), Cell::Text(y)) if is_date(x) && is_date(y) => x[..10] == y[..10],
        (Cell::Text(x), Cell::Text(y)) => x == y,
        _ => false,
    }
}

/// Whether `answer` answers like `truth`: same rows, every truth column found among the
/// answer's (extra columns allowed), in order when `ordered`.
fn matches(truth: &[Vec<Cell>], answer: &[Vec<Cell>], ordered: bool) -> bool {
    if truth.len() != answer.len() {
        return false;
    }
    if truth.is_empty() {
        return true;
    }
    let (tc, ac) = (truth[0].len(), answer[0].len());
    if ac < tc {
        return false;
    }
    // Candidate answer columns for each truth column: the same values (as a multiset).
    let column = |rows: &[Vec<Cell>], c: usize| -> Vec<Cell> { rows.iter().map(|r| r[c].clone()).collect() };
    let same_multiset = |a: &[Cell], b: &[Cell]| -> bool {
        let mut used = vec![false; b.len()];
        a.iter().all(|x| {
            if let Some(j) = (0..b.len()).find(|j| !used[*j] && same(x, &b[*j])) {
                used[j] = true;
                true
            } else {
                false
            }
        })
    };
    let candidates: Vec<Vec<usize>> = (0..tc)
        .map(|t| (0..ac).filter(|a| same_multiset(&column(truth, t), &column(answer, *a))).collect())
        .collect();
    if candidates.iter().any(Vec::is_empty) {
        return false;
    }
    // Try assignments until rows line up.
    fn assign(t: usize, candidates: &[Vec<usize>], chosen: &mut Vec<usize>, check: &dyn Fn(&[usize]) -> bool) -> bool {
        if t == candidates.len() {
            return check(chosen);
        }
        for &a in &candidates[t] {
            if chosen.contains(&a) {
                continue;
            }
            chosen.push(a);
            if assign(t + 1, candidates, chosen, check) {
                return true;
            }
            chosen.pop();
        }
        false
    }
    let check = |mapping: &[usize]| -> bool {
        let row_eq = |tr: &Vec<Cell>, ar: &Vec<Cell>| mapping.iter().enumerate().all(|(t, a)| same(&tr[t], &ar[*a]));
        if ordered {
            return truth.iter().zip(answer).all(|(t, a)| row_eq(t, a));
        }
        let mut used = vec![false; answer.len()];
        truth.iter().all(|tr| {
            if let Some(j) = (0..answer.len()).find(|j| !used[*j] && row_eq(tr, &answer[*j])) {
                used[j] = true;
                true
            } else {
                false
            }
        })
    };
    assign(0, &candidates, &mut Vec::new(), &check)
}

fn rows_of(result: &Value) -> Vec<Vec<Cell>> {
    result["rows"].as_array().map(|rows| rows.iter().map(|r| r.as_array().unwrap().iter().map(cell).collect()).collect()).unwrap_or_default()
}

struct Dataset {
    account: i64,
    dataset: i64,
    model: Model,
    values: Values,
}

async fn dataset(admin: &tokio_postgres::Client, account_email: &str, name: &str) -> Dataset {
    let account: i64 = admin.query_one("SELECT quarry.account_id($1)", &[&account_email]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one("SELECT d.id FROM quarry.datasets d WHERE d.name = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    let qm: Value = admin.query_one("SELECT quarry.question_model($1, $2)", &[&account, &dataset]).await.unwrap().get(0);
    let model = Model::new(serde_json::from_value::<Document>(qm["model"].clone()).unwrap());
    let values_json: Value = admin.query_one("SELECT quarry.dimension_values($1, $2)::jsonb", &[&account, &dataset]).await.unwrap().get(0);
    let mut values = Values::new();
    for row in values_json["rows"].as_array().unwrap() {
        let (t, d, v) = (row[0].as_str().unwrap(), row[1].as_str().unwrap(), row[2].as_str().unwrap());
        if let Some(ti) = model.table(t)
            && let Some(di) = model.tables()[ti].dimensions.iter().position(|x| x.name == d)
        {
            values.entry((ti, di)).or_default().push(v.to_string());
        }
    }
    values.retain(|_, v| v.len() <= 100);
    Dataset { account, dataset, model, values }
}

async fn run(admin: &tokio_postgres::Client, d: &Dataset, sql: &str) -> Result<Value, String> {
    admin
        .query_one("SELECT quarry.execute_for($1, $2, $3, 10000, 33554432, 60000)::jsonb", &[&d.account, &d.dataset, &sql])
        .await
        .map(|r| r.get(0))
        .map_err(|e| e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()))
}

/// The share of the suites answered right when this floor was last raised.
const REACHED: f64 = 0.85;

#[tokio::test]
async fn question_suites() {
    let admin = admin().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("questions");
    let today = Utc::now().date_naive();
    let mut tally: BTreeMap<(String, String), [u32; 3]> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, [u32; 3]> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut wrong = Vec::new();
    for (file, account) in [("retail.toml", "demo@quarry.local"), ("billing.toml", "billing@quarry.local")] {
        let suite: Suite = toml::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let d = dataset(&admin, account, &suite.dataset).await;
        for case in &suite.cases {
            let mut previous: Option<Query> = None;
            let mut chain_ok = true;
            for b in &case.before {
                match semantic::plan(b, &d.model, &d.values, previous.as_ref(), today) {
                    Ok(p) => previous = Some(p.query),
                    Err(_) => chain_ok = false,
                }
            }
            let planned = if chain_ok { semantic::plan(&case.ask, &d.model, &d.values, previous.as_ref(), today) } else { Err(semantic::Refusal::NoMeasure) };
            let (verdict, note) = match (&planned, case.refuse) {
                (Err(_), true) => (Verdict::Right, String::new()),
                (Ok(p), true) => (Verdict::Wrong, format!("answered a question to refuse:\n{}", p.compiled.sql)),
                (Err(e), false) => (Verdict::Refused, format!("{e:?}")),
                (Ok(p), false) => {
                    let truth = run(&admin, &d, case.sql.as_deref().unwrap()).await.unwrap_or_else(|e| panic!("{}: ground truth failed: {e}", case.id));
                    match run(&admin, &d, &p.compiled.sql).await {
                        Err(e) => (Verdict::Refused, format!("the SQL failed: {e}\n{}", p.compiled.sql)),
                        Ok(answer) if matches(&rows_of(&truth), &rows_of(&answer), case.ordered) => (Verdict::Right, String::new()),
                        Ok(answer) => (
                            Verdict::Wrong,
                            format!(
                                "{}\n  truth:  {}\n  answer: {}",
                                p.compiled.sql,
                                truncate(&truth["rows"].to_string()),
                                truncate(&answer["rows"].to_string())
                            ),
                        ),
                    }
                }
            };
            let slot = match verdict {
                Verdict::Right => 0,
                Verdict::Refused => 1,
                Verdict::Wrong => 2,
            };
            tally.entry((file.trim_end_matches(".toml").to_string(), case.kind.clone())).or_default()[slot] += 1;
            by_lang.entry(case.lang.clone()).or_default()[slot] += 1;
            if verdict != Verdict::Right {
                let line = format!("[{:?}] {} ({}, {}): {} — {}", verdict, case.id, case.kind, case.lang, case.ask, note);
                if verdict == Verdict::Wrong {
                    wrong.push(line);
                } else {
                    misses.push(line);
                }
            }
        }
    }
    let (mut right, mut total, mut wrong_n) = (0, 0, 0);
    println!("\n{:<10} {:<24} {:>6} {:>8} {:>6} {:>6}", "suite", "kind", "right", "refused", "wrong", "total");
    for ((suite, kind), [r, f, w]) in &tally {
        println!("{suite:<10} {kind:<24} {r:>6} {f:>8} {w:>6} {:>6}", r + f + w);
        right += r;
        wrong_n += w;
        total += r + f + w;
    }
    for (lang, [r, f, w]) in &by_lang {
        println!("{:<10} {lang:<24} {r:>6} {f:>8} {w:>6} {:>6}", "language", r + f + w);
    }
    println!("\nright {right} of {total} ({:.1}%), wrong {wrong_n}\n", f64::from(right) * 100.0 / f64::from(total));
    for line in wrong.iter().chain(&misses) {
        println!("{line}\n");
    }
    assert_eq!(wrong_n, 0, "confident wrong answers: see above");
    let accuracy = f64::from(right) / f64::from(total);
    // The accuracy reached so far, raised as the planner learns (the goal is 0.9): a change that
    // loses answers fails here.
    let floor: f64 = std::env::var("QUARRY_SUITE_FLOOR").ok().and_then(|v| v.parse().ok()).unwrap_or(REACHED);
    assert!(accuracy >= floor, "accuracy {accuracy:.3} is below {floor}");
}

fn truncate(s: &str) -> String {
    if s.len() > 300 { format!("{}…", &s[..s.char_indices().nth(300).map(|(i, _)| i).unwrap_or(s.len())]) } else { s.to_string() }
}
