//! The demo as `./dev demo` builds it (same scripts, a fresh database): the extension is installed,
//! the catalog lists the demo dataset for each account as its role may see it, exact counts follow
//! row-level security, and the sidecar's own role can call the service API but read no data.

use quarry_e2e::{admin, admin_conninfo, connect, connect_keeping_notices, sidecar_database_url, sqlstate};
use serde_json::Value;

async fn account(email: &str) -> i64 {
    admin().await.query_one("SELECT quarry.account_id($1)", &[&email]).await.unwrap().get(0)
}

async fn dataset(team: &str, name: &str) -> i64 {
    admin()
        .await
        .query_one("SELECT quarry.dataset_id(quarry.team_id($1), $2)", &[&team, &name])
        .await
        .unwrap()
        .get(0)
}

/// The catalog as the sidecar gets it: through its own role and the service API.
async fn catalog(dataset: i64, account: i64, detail: &str, exact: bool) -> Value {
    let sidecar = connect(&sidecar_database_url()).await;
    sidecar
        .query_one(
            "SELECT quarry.catalog($1, $2, $3, NULL, 100, 0, $4)",
            &[&dataset, &account, &detail, &exact],
        )
        .await
        .unwrap()
        .get(0)
}

fn names(catalog: &Value) -> Vec<String> {
    catalog["collections"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

fn collection<'a>(catalog: &'a Value, name: &str) -> &'a Value {
    catalog["collections"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

#[tokio::test]
async fn the_extension_is_installed() {
    let row = admin().await.query_one("SELECT extversion, nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'quarry'", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), env!("CARGO_PKG_VERSION"));
    assert_eq!(row.get::<_, String>(1), "quarry");
}

#[tokio::test]
async fn the_analyst_sees_the_whole_retail_dataset() {
    let listing = catalog(dataset("Analytics", "Retail").await, account("demo@quarry.local").await, "full", false).await;
    assert_eq!(
        names(&listing),
        ["categories", "customers", "monthly_revenue", "order_details", "order_lines", "orders", "products", "regions"]
    );
    assert_eq!(listing["total"], 8);
    let orders = collection(&listing, "orders");
    assert_eq!(orders["kind"], "table");
    assert_eq!(orders["record_count"], 120_000, "ANALYZE ran after loading: the estimate is exact here");
    assert_eq!(orders["primary_key"], serde_json::json!(["id"]));
    let fields: Vec<&str> = orders["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["id", "customer_id", "region_id", "ordered_at", "status", "channel", "total_amount"]);
    let customer_id = &orders["fields"][1];
    assert_eq!(customer_id["references"]["name"], "customers");
    assert_eq!(customer_id["nullable"], false);
    let indexes: Vec<&str> = orders["indexes"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(indexes.contains(&"orders_ordered_at_idx"), "{indexes:?}");
    assert_eq!(collection(&listing, "monthly_revenue")["kind"], "materialized_view");
    assert_eq!(collection(&listing, "order_details")["kind"], "view");
    assert!(collection(&listing, "orders")["comment"].as_str().unwrap().contains("total_amount"));
}

/// A question runs with the plan PostgreSQL makes for it, parallel workers included, and they are
/// started (auto_explain, reporting each plan as it ran, says how many): before, the executor asked
/// PostgreSQL for a number of rows, which runs the plan with no workers at all.
#[tokio::test]
async fn a_question_runs_with_its_parallel_workers() {
    let (db, notices) = connect_keeping_notices(&admin_conninfo()).await;
    // Parallel plans for any table, and every plan reported to this session as a notice.
    db.batch_execute(
        "LOAD 'auto_explain';
         SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off;
         SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice;
         SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
         SET max_parallel_workers_per_gather = 2",
    )
    .await
    .unwrap();
    let sql = "SELECT channel, count(*) AS orders FROM retail.orders GROUP BY channel ORDER BY channel";
    let (analyst, retail) = (account("demo@quarry.local").await, dataset("Analytics", "Retail").await);
    for max_rows in [100, 2] {
        let result: Value = db
            .query_one("SELECT quarry.execute_for($1, $2, $3, $4, 1000000)::jsonb", &[&analyst, &retail, &sql, &max_rows])
            .await
            .unwrap()
            .get(0);
        let plans = notices.lock().unwrap().drain(..).collect::<Vec<_>>();
        let plan = plans.iter().find(|p| p.contains("FROM retail.orders")).unwrap_or_else(|| panic!("no plan of the question: {plans:?}"));
        assert!(plan.contains("Workers Planned: 2"), "{plan}");
        assert!(plan.contains("Workers Launched: 2") || plan.contains("Workers Launched: 1"), "workers started: {plan}");
        // The caps still hold: a cap under the result's size stops it there.
        let channels = result["rows"].as_array().unwrap().len();
        if max_rows == 2 {
            assert_eq!((channels, &result["truncated_by"]), (2, &Value::from("rows")), "{result}");
        } else {
            assert!(channels > 2 && result["truncated"] == false, "{result}");
        }
    }
}

#[tokio::test]
async fn the_regional_manager_sees_only_what_its_role_may_read() {
    let retail = dataset("Analytics", "Retail").await;
    let listing = catalog(retail, account("emea@quarry.local").await, "full", true).await;
    // No grant on the materialized view, and no email column.
    assert!(!names(&listing).contains(&"monthly_revenue".to_string()), "{:?}", names(&listing));
    let customer_fields: Vec<&str> = collection(&listing, "customers")["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!customer_fields.contains(&"email"), "{customer_fields:?}");

    // Exact counts follow row-level security: compare with the same counts written by hand.
    let admin = admin().await;
    let emea_orders: i64 = admin
        .query_one("SELECT count(*) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id WHERE r.code = 'EMEA'", &[])
        .await
        .unwrap()
        .get(0);
    let emea_lines: i64 = admin
        .query_one(
            "SELECT count(*) FROM retail.order_lines l JOIN retail.orders o ON o.id = l.order_id
               JOIN retail.regions r ON r.id = o.region_id WHERE r.code = 'EMEA'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(emea_orders > 10_000 && emea_orders < 120_000, "{emea_orders}");
    assert_eq!(collection(&listing, "orders")["record_count"], emea_orders);
    assert_eq!(collection(&listing, "orders")["record_count_exact"], true);
    assert_eq!(collection(&listing, "order_lines")["record_count"], emea_lines);

    let analyst = catalog(retail, account("demo@quarry.local").await, "summary", true).await;
    assert_eq!(collection(&analyst, "orders")["record_count"], 120_000);
}

#[tokio::test]
async fn teams_decide_which_datasets_an_account_may_list() {
    let sidecar = connect(&sidecar_database_url()).await;
    let revenue = dataset("Finance", "Revenue").await;
    let emea = account("emea@quarry.local").await;
    let err = sidecar
        .query_one("SELECT quarry.catalog($1, $2)", &[&revenue, &emea])
        .await
        .expect_err("emea is not in the Finance team");
    assert_eq!(sqlstate(&err), "42704");
    let demo = account("demo@quarry.local").await;
    let listing: Value = sidecar.query_one("SELECT quarry.catalog($1, $2, 'names')", &[&revenue, &demo]).await.unwrap().get(0);
    assert_eq!(names(&listing), ["monthly_revenue", "regions"]);
}

#[tokio::test]
async fn the_sidecar_role_holds_no_data_privileges() {
    let sidecar = connect(&sidecar_database_url()).await;
    for sql in [
        "SELECT count(*) FROM retail.orders",
        "SELECT count(*) FROM quarry.accounts",
        "SELECT quarry.create_account('mallory@example.com', 'password123')",
        "SELECT quarry.set_account_role(1, 'retail_analyst')",
    ] {
        let err = sidecar.query_one(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}: {err}");
    }
    let member_of_nothing: bool = sidecar
        .query_one("SELECT NOT rolinherit FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .unwrap()
        .get(0);
    assert!(member_of_nothing, "the sidecar's role is NOINHERIT");
}

#[tokio::test]
async fn question_roles_cannot_reach_quarry() {
    let admin = admin().await;
    admin.batch_execute("BEGIN; SET LOCAL ROLE retail_analyst").await.unwrap();
    let err = admin.query_one("SELECT count(*) FROM quarry.accounts", &[]).await.expect_err("no access");
    assert_eq!(sqlstate(&err), "42501");
    admin.batch_execute("ROLLBACK").await.unwrap();
}
