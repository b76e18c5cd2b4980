//! The question suites (`tests/questions/*.toml`): hundreds of questions about the two demo
//! datasets, in English, Chinese and Korean, each with ground-truth SQL written by hand, asked
//! through `run_query` of a real sidecar by an account of the suite's role (follow-ups in one
//! conversation). The ground truth runs through `quarry.execute_for` as the same account, and the
//! answers are compared as `tests/questions/README.md` says. Prints accuracy by kind and
//! language, and every miss.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Suite {
    dataset: String,
    /// The database role the questions are asked (and the ground truth run) as.
    role: String,
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

/// One suite's dataset, and a session of an account of the suite's role that can ask about it.
struct Asker {
    account: i64,
    dataset: i64,
    mcp: Mcp,
}

async fn asker(sidecar: &Sidecar, admin: &tokio_postgres::Client, suite: &Suite) -> Asker {
    let (dataset, team): (i64, String) = admin
        .query_one("SELECT d.id, t.name FROM quarry.datasets d JOIN quarry.teams t ON t.id = d.team_id WHERE d.name = $1", &[&suite.dataset])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    let (account, email, password) = account(Some(&suite.role), &[&team]).await;
    let (tokens, _) = tokens_for(&sidecar.base_url, &email, &password, None).await;
    let mut mcp = Mcp::new(&sidecar.url("/mcp"), tokens["access_token"].as_str());
    mcp.initialize().await;
    Asker { account, dataset, mcp }
}

async fn run(admin: &tokio_postgres::Client, a: &Asker, sql: &str) -> Result<Value, String> {
    admin
        .query_one("SELECT quarry.execute_for($1, $2, $3, 10000, 33554432, 60000)::jsonb", &[&a.account, &a.dataset, &sql])
        .await
        .map(|r| r.get(0))
        .map_err(|e| e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()))
}

/// Asks a case through run_query, its earlier questions first in the same conversation; returns
/// the last answer's structured content.
async fn ask(a: &mut Asker, case: &Case) -> Value {
    let mut conversation: Option<Value> = None;
    for question in case.before.iter().chain(std::iter::once(&case.ask)) {
        let mut arguments = json!({ "question": question, "dataset_id": a.dataset });
        if let Some(c) = &conversation {
            arguments["conversation_id"] = c.clone();
        }
        let result = a.mcp.call("run_query", arguments).await;
        let answer = result["structuredContent"].clone();
        assert!(answer.is_object(), "{}: no structured answer: {result}", case.id);
        conversation = Some(answer["conversation_id"].clone());
        if question == &case.ask {
            return answer;
        }
    }
    unreachable!()
}

/// The share of the suites answered right when this floor was last raised.
const REACHED: f64 = 0.91;

#[tokio::test]
async fn question_suites() {
    let admin = admin().await;
    let sidecar = Sidecar::start().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("questions");
    let mut tally: BTreeMap<(String, String), [u32; 3]> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, [u32; 3]> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut wrong = Vec::new();
    for file in ["retail.toml", "billing.toml"] {
        let suite: Suite = toml::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let mut a = asker(&sidecar, &admin, &suite).await;
        for case in &suite.cases {
            let answer = ask(&mut a, case).await;
            let answered = answer["status"] == "answered";
            let sql = answer["sql"].as_str().unwrap_or_default().to_string();
            let (verdict, note) = match (answered, case.refuse) {
                (false, true) => (Verdict::Right, String::new()),
                (true, true) => (Verdict::Wrong, format!("answered a question to refuse:\n{sql}")),
                (false, false) => (Verdict::Refused, format!("{} {}", answer["status"], answer["analysis"])),
                (true, false) => {
                    let truth = run(&admin, &a, case.sql.as_deref().unwrap()).await.unwrap_or_else(|e| panic!("{}: ground truth failed: {e}", case.id));
                    // The rows the answer showed (at most the row cap) against all of the truth's.
                    if matches(&rows_of(&truth), &rows_of(&answer["result"]), case.ordered) {
                        (Verdict::Right, String::new())
                    } else {
                        (
                            Verdict::Wrong,
                            format!(
                                "{sql}\n  truth:  {}\n  answer: {}",
                                truncate(&truth["rows"].to_string()),
                                truncate(&answer["result"]["rows"].to_string())
                            ),
                        )
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
