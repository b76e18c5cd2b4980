//! Question benchmark (`./dev bench questions`), against a release sidecar and the demo data:
//! - the pipeline's own overhead: run_query with the built-in planner beside running the SQL it
//!   wrote directly (read-only transaction, the same role) through tokio-postgres;
//! - run_sql throughput, p50 and p99 at concurrency 1 and 16 for `SELECT 1` and an aggregate over
//!   the orders, beside pgbench running the same SQL on the same database.
//! All in the same run. Not a test: it asserts nothing about time.

use std::path::Path;
use std::sync::Arc;

use quarry_e2e::bench::{RUN_FOR, measure, ms, pgbench, work};
use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin_conninfo, connect, required_env};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// An MCP session per worker calling one tool with the same arguments.
async fn tool_worker(url: String, token: String, tool: &'static str, arguments: Value) -> quarry_e2e::bench::Work {
    let mut session = Mcp::new(&url, Some(&token));
    session.initialize().await;
    let session = Arc::new(Mutex::new(session));
    work(move || {
        let (session, arguments) = (session.clone(), arguments.clone());
        async move {
            let result = session.lock().await.call(tool, arguments).await;
            assert_eq!(result["isError"], false, "{result}");
        }
    })
}

/// A connection per worker running `sql` as the role in a read-only transaction, as Quarry's
/// executor runs it (planned for all its rows, parallel workers allowed), but without Quarry.
async fn direct_worker(role: &'static str, sql: String) -> quarry_e2e::bench::Work {
    let client = Arc::new(connect(&admin_conninfo()).await);
    work(move || {
        let (client, sql) = (client.clone(), sql.clone());
        async move {
            client.batch_execute(&format!("BEGIN READ ONLY; SET LOCAL ROLE {role}; {sql}; ROLLBACK")).await.unwrap();
        }
    })
}

/// The built-in planner's own time per question, in process: the dataset's model made ready and
/// the question planned and compiled, for every question of the suites (`tests/questions`).
async fn planner_time() {
    use quarry_sidecar::db::semantic::{DimensionValue, QuestionModel};
    use quarry_sidecar::mcp::pipeline::builtin::{self, Semantics};
    use quarry_sidecar::mcp::pipeline::i18n::Lang;

    #[derive(serde::Deserialize)]
    struct Suite {
        dataset: String,
        #[serde(rename = "case")]
        cases: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        ask: String,
    }

    let admin = connect(&admin_conninfo()).await;
    let today = chrono::Utc::now().date_naive();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("questions");
    let mut times = Vec::new();
    for (file, email) in [("retail.toml", "demo@quarry.local"), ("billing.toml", "billing@quarry.local")] {
        let suite: Suite = toml::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        let row = admin
            .query_one(
                "SELECT quarry.question_model(a.id, d.id), quarry.dimension_values(a.id, d.id)::jsonb
                   FROM quarry.accounts a, quarry.datasets d WHERE a.email = $1 AND d.name = $2",
                &[&email, &suite.dataset],
            )
            .await
            .unwrap();
        let source: QuestionModel = serde_json::from_value(row.get(0)).unwrap();
        let values: Value = row.get(1);
        let rows: Vec<DimensionValue> = values["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| Some(DimensionValue { table: r[0].as_str()?.into(), dimension: r[1].as_str()?.into(), value: r[2].as_str()?.into() }))
            .collect();
        for case in &suite.cases {
            // Warm once, then time five runs of the whole in-process step.
            for round in 0..6 {
                let started = std::time::Instant::now();
                let semantics = Semantics::new(source.clone(), &rows);
                let planned = builtin::plan(&semantics, &case.ask, builtin::Earlier::None, Lang::of_text(&case.ask), today);
                std::hint::black_box(&planned);
                if round > 0 {
                    times.push(started.elapsed());
                }
            }
        }
    }
    times.sort();
    let pick = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!();
    println!("The built-in planner's own time (model made ready, question read, SQL compiled; in process, no SQL run),");
    println!("over the {} questions of the suites, 5 runs each:", times.len() / 5);
    println!("  p50 {}   p90 {}   p99 {}   max {}   (goal: p50 within 5 ms: {:.1}% of it)",
        ms(pick(0.5)), ms(pick(0.9)), ms(pick(0.99)), ms(pick(1.0)), pick(0.5).as_secs_f64() * 1000.0 / 5.0 * 100.0);
}

#[tokio::main]
async fn main() {
    planner_time().await;

    let sidecar = Sidecar::start_with(&[("QUARRY_LOG", "warn,quarry_sidecar::server=info"), ("QUARRY_DB_POOL_SIZE", "32")]).await;
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, _) = tokens_for(&sidecar.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let url = sidecar.url("/mcp");

    println!();
    println!("run_query with the built-in planner (release sidecar) beside the SQL it wrote, run directly as the same");
    println!("role in a read-only transaction (as Quarry's executor runs it: planned for all its rows, parallel");
    println!("workers allowed); p50 of each at concurrency 1, {}s each; overhead = run_query - SQL", RUN_FOR.as_secs());
    println!();
    println!("{:<40} | {:>10} {:>10} | {:>10} | {:>10}", "question", "run_query", "p99", "SQL", "overhead");
    let questions = ["How many orders are there?", "Total amount of orders by region", "Orders by month in 2025", "Top 5 products by quantity sold"];
    let mut probe = Mcp::new(&url, Some(&token));
    probe.initialize().await;
    for question in questions {
        let answer = probe.ok("run_query", json!({ "question": question })).await;
        let sql = answer["sql"].as_str().expect("the planner answers the benchmark's questions").to_string();
        let pipeline = measure(1, || tool_worker(url.clone(), token.clone(), "run_query", json!({ "question": question }))).await;
        let direct = measure(1, || direct_worker("retail_analyst", sql.clone())).await;
        println!(
            "{question:<40} | {:>10} {:>10} | {:>10} | {:>7.2} ms",
            ms(pipeline.p50), ms(pipeline.p99), ms(direct.p50),
            (pipeline.p50.as_secs_f64() - direct.p50.as_secs_f64()) * 1000.0
        );
    }

    println!();
    println!("run_sql over MCP (check, read-only transaction as the account's role, caps, conversation blocks, chart,");
    println!("analysis, audit) beside pgbench running the same SQL on the same database; {}s each; pgbench ÷ = its req/s ÷ run_sql's", RUN_FOR.as_secs());
    println!();
    println!("{:<10} {:>4} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>9}", "query", "conc", "run_sql/s", "p50", "p99", "pgbench/s", "p50", "p99", "pgbench ÷");
    let aggregate = "SELECT channel, count(*) AS orders, sum(total_amount) AS amount FROM retail.orders GROUP BY channel";
    for (name, sql) in [("SELECT 1", "SELECT 1"), ("aggregate", aggregate)] {
        for concurrency in [1usize, 16] {
            let quarry = measure(concurrency, || tool_worker(url.clone(), token.clone(), "run_sql", json!({ "sql": sql }))).await;
            let bench = pgbench(&required_env("QUARRY_BENCH_PGBENCH"), &admin_conninfo(), sql, concurrency).await;
            println!(
                "{name:<10} {concurrency:>4} | {:>9.0} {:>9} {:>9} | {:>9.0} {:>9} {:>9} | {:>8.1}×",
                quarry.rps, ms(quarry.p50), ms(quarry.p99), bench.rps, ms(bench.p50), ms(bench.p99),
                bench.rps / quarry.rps
            );
        }
    }
    println!();
    println!("aggregate: {aggregate}");
}
