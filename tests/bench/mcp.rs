//! MCP benchmark (`./dev bench`): `tools/call` of list_datasets and get_dashboard_pins over HTTP
//! with a valid token, against a release sidecar, at concurrency 1 and 16, beside the same SQL run
//! directly through tokio-postgres in the same run; and what the per-request token check costs.
//! Prints requests per second, p50 and p99, and ratios. Not a test: it asserts nothing about time.

use std::sync::Arc;

use quarry_e2e::bench::{RUN_FOR, measure, ms, work};
use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, connect, sidecar_database_url};
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() {
    let sidecar = Sidecar::start_with(&[("QUARRY_LOG", "warn,quarry_sidecar::server=info"), ("QUARRY_DB_POOL_SIZE", "32")]).await;
    let (account_id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, _) = tokens_for(&sidecar.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let resource = sidecar.url("/mcp");

    // A dashboard with five pins.
    let admin = admin().await;
    let dashboard: i64 = admin
        .query_one("SELECT quarry.create_dashboard($1, quarry.team_id('Analytics'), $2)", &[&account_id, &format!("Bench {account_id}")])
        .await.unwrap().get(0);
    let retail: i64 = admin.query_one("SELECT id FROM quarry.datasets WHERE name = 'Retail'", &[]).await.unwrap().get(0);
    for i in 0..5 {
        admin
            .execute(
                "SELECT quarry.pin($1, $2, $3, 'Question ' || $4, 'SELECT count(*) FROM retail.orders', 'An analysis', '{\"mark\": \"bar\"}')",
                &[&account_id, &dashboard, &retail, &i.to_string()],
            )
            .await.unwrap();
    }

    let workloads: [(&str, serde_json::Value, String); 2] = [
        ("list_datasets", json!({"detail": "summary"}), "SELECT quarry.list_datasets($1, 'summary', NULL, 50, 0)".into()),
        ("get_dashboard_pins", json!({"dashboard_id": dashboard}), format!("SELECT quarry.dashboard_pins($1, {dashboard})")),
    ];

    println!();
    println!("MCP tools/call over HTTP (release sidecar, session per worker, audit row per call) beside the same SQL");
    println!("through tokio-postgres, {}s per measurement after a warm-up", RUN_FOR.as_secs());
    println!();
    println!("{:<20} {:>4} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>10}", "tool", "conc", "MCP rps", "p50", "p99", "SQL rps", "p50", "p99", "p50 ratio");
    for (tool, args, sql) in &workloads {
        for concurrency in [1usize, 16] {
            let mcp = measure(concurrency, || {
                let (url, token, tool, args) = (resource.clone(), token.clone(), tool.to_string(), args.clone());
                async move {
                    let mut session = Mcp::new(&url, Some(&token));
                    session.initialize().await;
                    let session = Arc::new(Mutex::new(session));
                    work(move || {
                        let (session, tool, args) = (session.clone(), tool.clone(), args.clone());
                        async move {
                            let result = session.lock().await.call(&tool, args).await;
                            assert_eq!(result["isError"], false);
                        }
                    })
                }
            })
            .await;
            let direct = measure(concurrency, || {
                let sql = sql.clone();
                async move {
                    let client = Arc::new(connect(&sidecar_database_url()).await);
                    let statement = client.prepare(&sql).await.unwrap();
                    work(move || {
                        let (client, statement) = (client.clone(), statement.clone());
                        async move {
                            let _: serde_json::Value = client.query_one(&statement, &[&account_id]).await.unwrap().get(0);
                        }
                    })
                }
            })
            .await;
            println!(
                "{tool:<20} {concurrency:>4} | {:>9.0} {:>9} {:>9} | {:>9.0} {:>9} {:>9} | {:>9.2}×",
                mcp.rps, ms(mcp.p50), ms(mcp.p99), direct.rps, ms(direct.p50), ms(direct.p99),
                mcp.p50.as_secs_f64() / direct.p50.as_secs_f64()
            );
        }
    }

    // The per-request check: one call into the extension, next to the cheapest possible round trip.
    let check = |sql: &'static str| {
        let (token, resource) = (token.clone(), resource.clone());
        async move {
            let client = Arc::new(connect(&sidecar_database_url()).await);
            let statement = client.prepare(sql).await.unwrap();
            work(move || {
                let (client, statement, token, resource) = (client.clone(), statement.clone(), token.clone(), resource.clone());
                async move {
                    if statement.params().is_empty() {
                        client.query_one(&statement, &[]).await.unwrap();
                    } else {
                        let rows = client.query(&statement, &[&token, &resource, &None::<String>]).await.unwrap();
                        assert_eq!(rows.len(), 1);
                    }
                }
            })
        }
    };
    let token_check = measure(1, || check("SELECT * FROM quarry.check_mcp_request($1, $2, $3)")).await;
    let round_trip = measure(1, || check("SELECT 1")).await;
    println!();
    println!(
        "per-request token check (quarry.check_mcp_request): p50 {} beside SELECT 1 at p50 {}; its own cost about {:.0} µs",
        ms(token_check.p50),
        ms(round_trip.p50),
        (token_check.p50.as_secs_f64() - round_trip.p50.as_secs_f64()) * 1e6
    );
}
