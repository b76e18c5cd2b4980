//! Catalog listing benchmark (`./dev bench`): a generated schema of 2,000 tables listed through
//! `quarry.catalog` and through plain `information_schema` queries, in the same run, against the
//! same database, both as a restricted role would see it. Prints medians, p95 and the ratio.
//! Not a test: it asserts nothing about time.

use std::time::{Duration, Instant};

use quarry_e2e::{connect, required_env};

const TABLES: usize = 2000;
const RUNS: usize = 15;
const WARMUP: usize = 3;

#[tokio::main]
async fn main() {
    let admin = connect(&required_env("QUARRY_BENCH_ADMIN")).await;
    let sidecar = connect(&required_env("QUARRY_BENCH_DATABASE_URL")).await;
    eprintln!("generating {TABLES} tables …");
    let (dataset, account) = generate(&admin).await;
    let columns: i64 = admin
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'bench'", &[])
        .await
        .unwrap()
        .get(0);

    // Through the extension, as the sidecar calls it: pages of 1,000 (the largest page).
    let catalog = |detail: &'static str| {
        let sidecar = &sidecar;
        move || async move {
            let mut listed = 0;
            for offset in [0i32, 1000] {
                let page: serde_json::Value = sidecar
                    .query_one("SELECT quarry.catalog($1, $2, $3, NULL, 1000, $4)", &[&dataset, &account, &detail, &offset])
                    .await
                    .unwrap()
                    .get(0);
                listed += page["collections"].as_array().unwrap().len();
            }
            assert_eq!(listed, TABLES);
        }
    };
    let names = measure(catalog("names")).await;
    let summary = measure(catalog("summary")).await;
    let full = measure(catalog("full")).await;

    // The baselines: what a tool without the extension would ask for comparable content, under the
    // same restricted role.
    admin.batch_execute("SET ROLE bench_reader").await.unwrap();
    let baseline = |sql: &'static str, at_least: i64| {
        let admin = &admin;
        move || async move {
            let rows = admin.query(sql, &[]).await.unwrap();
            assert!(rows.len() as i64 >= at_least);
        }
    };
    let info_tables = measure(baseline(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'bench' ORDER BY table_name",
        TABLES as i64,
    ))
    .await;
    let info_columns = measure(baseline(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable
           FROM information_schema.columns c
          WHERE c.table_schema = 'bench'
          ORDER BY c.table_name, c.ordinal_position",
        columns,
    ))
    .await;
    let info_keys = measure(baseline(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
                tc.constraint_type, ccu.table_name AS references_table
           FROM information_schema.columns c
           LEFT JOIN information_schema.key_column_usage k
                  ON k.table_schema = c.table_schema AND k.table_name = c.table_name AND k.column_name = c.column_name
           LEFT JOIN information_schema.table_constraints tc
                  ON tc.constraint_schema = k.constraint_schema AND tc.constraint_name = k.constraint_name
           LEFT JOIN information_schema.constraint_column_usage ccu
                  ON tc.constraint_type = 'FOREIGN KEY' AND ccu.constraint_schema = tc.constraint_schema
                 AND ccu.constraint_name = tc.constraint_name
          WHERE c.table_schema = 'bench'
          ORDER BY c.table_name, c.ordinal_position",
        columns,
    ))
    .await;
    admin.batch_execute("RESET ROLE").await.unwrap();

    println!();
    println!("Catalog of {TABLES} tables ({columns} columns) as a restricted role sees it: median (p95) of {RUNS} runs");
    println!("after {WARMUP} warm-up runs; quarry.catalog in two pages of 1,000, each beside the information_schema");
    println!("query that returns comparable content.");
    println!();
    println!("{:<44} {:>22} {:>22} {:>7}", "content", "quarry.catalog", "information_schema", "ratio");
    row("relation names and kinds", "names", &names, "tables", &info_tables);
    row("+ comments, record counts, column names", "summary", &summary, "columns", &info_columns);
    row("+ types, nullability, keys, references, indexes", "full", &full, "columns+keys", &info_keys);
}

struct Timings(Vec<Duration>);

impl Timings {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

async fn measure<F, Fut>(run: F) -> Timings
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..WARMUP {
        run().await;
    }
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        run().await;
        times.push(start.elapsed());
    }
    Timings(times)
}

fn ms(t: &Timings) -> String {
    format!("{:.1} ms ({:.1})", t.percentile(0.5).as_secs_f64() * 1000.0, t.percentile(0.95).as_secs_f64() * 1000.0)
}

fn row(content: &str, detail: &str, ours: &Timings, baseline_name: &str, baseline: &Timings) {
    let ratio = ours.percentile(0.5).as_secs_f64() / baseline.percentile(0.5).as_secs_f64();
    println!(
        "{content:<44} {:>22} {:>22} {:>6.2}×",
        format!("{detail}: {}", ms(ours)),
        format!("{baseline_name}: {}", ms(baseline)),
        ratio
    );
}

/// Creates schema `bench` with TABLES tables (each with a key, a foreign key to the previous table,
/// an index and comments), a role that may read them, and an account and dataset over them.
async fn generate(admin: &tokio_postgres::Client) -> (i64, i64) {
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS bench CASCADE;
             CREATE SCHEMA bench;
             DO $$
             BEGIN
               IF to_regrole('bench_reader') IS NULL THEN CREATE ROLE bench_reader NOLOGIN; END IF;
               FOR i IN 1..{TABLES} LOOP
                 EXECUTE format('CREATE TABLE bench.t%s (
                     id bigint PRIMARY KEY,
                     name text NOT NULL,
                     amount numeric(12,2),
                     created_at timestamptz NOT NULL DEFAULT now(),
                     status text,
                     parent_id bigint %s)', i,
                   CASE WHEN i > 1 THEN format('REFERENCES bench.t%s', i - 1) ELSE '' END);
                 EXECUTE format('CREATE INDEX ON bench.t%s (created_at)', i);
                 EXECUTE format('COMMENT ON TABLE bench.t%s IS %L', i, 'Generated table number ' || i);
                 EXECUTE format('COMMENT ON COLUMN bench.t%s.amount IS %L', i, 'An amount in USD');
               END LOOP;
             END $$;
             GRANT USAGE ON SCHEMA bench TO bench_reader;
             GRANT SELECT ON ALL TABLES IN SCHEMA bench TO bench_reader;
             ANALYZE;"
        ))
        .await
        .unwrap();
    let row = admin
        .query_one(
            "WITH a AS (SELECT quarry.create_account('bench@quarry.local', NULL, 'Bench', 'bench_reader') AS id),
                  t AS (SELECT quarry.create_team('Bench', (SELECT id FROM a)) AS id)
             SELECT quarry.create_dataset((SELECT id FROM t), 'Generated', ARRAY['bench']), (SELECT id FROM a)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}
