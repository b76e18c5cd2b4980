//! Sources: datasets over data in other databases, through foreign data wrappers, against real
//! servers that `./dev test` starts (scripts/remotes.sh): a second PostgreSQL cluster without the
//! extension, with row-level security of its own, and a MariaDB server, both holding the retail
//! demo. The same questions answer the same as over the local demo; two accounts mapped to two
//! remote users see different rows; a remote that is down gives a tool error naming the source;
//! bad input is refused and changes nothing; aggregates are pushed down to the remote side.

use std::time::Duration;

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, connect, random_hex, required_env};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

fn remote_pg_port() -> i32 {
    required_env("QUARRY_E2E_REMOTE_PG_PORT").parse().unwrap()
}

fn mariadb_port() -> i32 {
    required_env("QUARRY_E2E_MARIADB_PORT").parse().unwrap()
}

fn all_password() -> String {
    required_env("QUARRY_E2E_REMOTE_ALL_PASSWORD")
}

fn emea_password() -> String {
    required_env("QUARRY_E2E_REMOTE_EMEA_PASSWORD")
}

/// A superuser connection to the remote PostgreSQL (the test's own, to change the remote side).
async fn remote_admin() -> tokio_postgres::Client {
    connect(&required_env("QUARRY_E2E_REMOTE_ADMIN")).await
}

/// Creates a source; returns its name (also its local schema).
async fn create_source(kind: &str, port: i32, remote_schema: Option<&str>) -> String {
    let name = format!("{}_{}", if kind == "postgres" { "rpg" } else { "rmy" }, random_hex(4));
    admin()
        .await
        .query_one(
            "SELECT quarry.create_source($1, $2, '127.0.0.1', $3, 'shop', 'shop_all', $4, remote_schema => $5)",
            &[&name, &kind, &port, &all_password(), &remote_schema],
        )
        .await
        .unwrap_or_else(|e| panic!("create_source {kind}: {e:?}"));
    name
}

/// A local role for accounts, mapped to a remote user of the source.
async fn mapped_role(source: &str, remote_user: &str, password: &str) -> String {
    let role = format!("src_role_{}", random_hex(4));
    let admin = admin().await;
    admin.batch_execute(&format!("CREATE ROLE {role} NOLOGIN")).await.unwrap();
    admin
        .execute("SELECT quarry.map_source_role($1, $2, $3, $4)", &[&source, &role, &remote_user, &password])
        .await
        .unwrap_or_else(|e| panic!("map_source_role: {e:?}"));
    role
}

/// A team of its own with a dataset over the source's schema; returns (team, dataset id).
async fn dataset_over(schema: &str) -> (String, i64) {
    let admin = admin().await;
    let team = format!("Sources {}", random_hex(4));
    let team_id: i64 = admin.query_one("SELECT quarry.create_team($1)", &[&team]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one(
            "SELECT quarry.create_dataset($1, 'Remote shop', ARRAY[$2], 'Orders of a retailer, kept in another database.')",
            &[&team_id, &schema],
        )
        .await
        .unwrap()
        .get(0);
    // As in the local demo, the model keeps to the base tables (the remote PostgreSQL's views
    // come along with its tables).
    admin
        .execute(
            "SELECT quarry.remove_semantic_item($1, 'table', NULL, i.name) FROM quarry.semantic_items i
              WHERE i.dataset_id = $1 AND i.kind = 'table' AND i.name IN ('order_details', 'monthly_revenue')",
            &[&dataset],
        )
        .await
        .unwrap();
    (team, dataset)
}

async fn session(s: &Sidecar, role: &str, team: &str) -> (Mcp, i64) {
    let (id, email, password) = account(Some(role), &[team]).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    let mut mcp = Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
    mcp.initialize().await;
    (mcp, id)
}

/// Rows of SQL over the local demo, as the superuser, as JSON texts (sorted when order does not matter).
async fn local_rows(sql: &str) -> Vec<String> {
    // json_each keeps the columns' order (jsonb would sort them).
    let rows = admin()
        .await
        .query(&format!("SELECT (SELECT json_agg(e.value ORDER BY e.n) FROM json_each(row_to_json(x)) WITH ORDINALITY e(key, value, n))::jsonb FROM ({sql}) x"), &[])
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<_, Value>(0).to_string()).collect()
}

fn answer_rows(answer: &Value) -> Vec<String> {
    answer["result"]["rows"].as_array().unwrap_or_else(|| panic!("no rows: {answer}")).iter().map(Value::to_string).collect()
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// Numbers print differently across wrappers (21.50 vs 21.5): compare as numbers.
fn normalized(rows: Vec<String>) -> Vec<String> {
    rows.into_iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r).unwrap();
            let cells: Vec<Value> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|c| match c {
                    Value::String(s) => s.parse::<f64>().map(|f| json!(format!("{f:.2}"))).unwrap_or(c.clone()),
                    Value::Number(n) => json!(format!("{:.2}", n.as_f64().unwrap())),
                    other => other.clone(),
                })
                .collect();
            json!(cells).to_string()
        })
        .collect()
}

/// Questions as SQL over the demo's tables, in a given schema.
fn questions(schema: &str) -> Vec<(String, bool)> {
    vec![
        (format!("SELECT r.name, count(*) AS orders FROM {schema}.orders o JOIN {schema}.regions r ON r.id = o.region_id GROUP BY r.name ORDER BY r.name"), true),
        (format!("SELECT channel, sum(total_amount) AS amount FROM {schema}.orders GROUP BY channel ORDER BY channel"), true),
        (format!("SELECT p.name, sum(l.quantity) AS quantity FROM {schema}.order_lines l JOIN {schema}.products p ON p.id = l.product_id GROUP BY p.name ORDER BY 2 DESC, 1 LIMIT 5"), true),
        (format!("SELECT c.name, count(*) AS products FROM {schema}.products p JOIN {schema}.categories c ON c.id = p.category_id WHERE p.unit_price > 50 GROUP BY c.name"), false),
        (format!("SELECT count(*) AS customers FROM {schema}.customers WHERE segment = 'enterprise'"), false),
    ]
}

#[tokio::test]
async fn the_same_questions_answer_the_same_over_postgres_fdw_and_mysql_fdw() {
    let s = Sidecar::start().await;
    for (kind, port) in [("postgres", remote_pg_port()), ("mysql", mariadb_port())] {
        let source = create_source(kind, port, if kind == "postgres" { Some("retail") } else { None }).await;
        let role = mapped_role(&source, "shop_all", &all_password()).await;
        let (team, dataset) = dataset_over(&source).await;
        let (mut mcp, _) = session(&s, &role, &team).await;

        // run_sql: the same SQL over the source's schema gives the local demo's rows.
        for (sql, ordered) in questions(&source) {
            let answer = mcp.ok("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
            let local_sql = sql.replace(&format!("{source}."), "retail.");
            let (remote, local) = (normalized(answer_rows(&answer)), normalized(local_rows(&local_sql).await));
            if ordered {
                assert_eq!(remote, local, "{kind}: {sql}");
            } else {
                assert_eq!(sorted(remote), sorted(local), "{kind}: {sql}");
            }
        }

        // run_query: the built-in planner over the foreign tables' derived model.
        let answer = mcp.ok("run_query", json!({ "question": "How many orders by region?", "dataset_id": dataset })).await;
        let sql = answer["sql"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string();
        assert!(sql.contains(&format!("{source}.orders")), "{kind}: the planner used the source's tables: {sql}");
        let local = local_rows("SELECT r.name, count(*) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id GROUP BY 1").await;
        assert_eq!(sorted(normalized(answer_rows(&answer))), sorted(normalized(local)), "{kind}: {answer}");

        // The catalog: record counts from the remote's statistics, keys from the remote catalog.
        let described = mcp.ok("describe_dataset", json!({ "dataset_id": dataset })).await;
        let text = described.to_string();
        let orders = described["collections"]
            .as_array()
            .unwrap_or_else(|| panic!("{described}"))
            .iter()
            .find(|c| c["name"] == "orders")
            .unwrap_or_else(|| panic!("{kind}: orders in {text}"));
        let count = orders["record_count"].as_i64().unwrap_or_else(|| panic!("{kind}: a record count: {orders}"));
        assert!((100_000..=140_000).contains(&count), "{kind}: about 120,000 orders: {count}");
        assert_eq!(orders["kind"], "foreign_table", "{orders}");
        assert_eq!(orders["primary_key"], json!(["id"]), "{kind}: {orders}");
        let keys = orders["foreign_keys"].to_string();
        assert!(keys.contains("\"regions\"") && keys.contains("\"customers\""), "{kind}: {keys}");
    }
}

#[tokio::test]
async fn two_accounts_mapped_to_two_remote_users_see_different_rows() {
    let s = Sidecar::start().await;
    let source = create_source("postgres", remote_pg_port(), Some("retail")).await;
    let everyone = mapped_role(&source, "shop_all", &all_password()).await;
    let emea = mapped_role(&source, "shop_emea", &emea_password()).await;
    let (team, dataset) = dataset_over(&source).await;
    let (mut all_mcp, _) = session(&s, &everyone, &team).await;
    let (mut emea_mcp, _) = session(&s, &emea, &team).await;
    let sql = format!("SELECT count(DISTINCT region_id) AS regions, count(*) AS orders FROM {source}.orders");
    let all = all_mcp.ok("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
    let only = emea_mcp.ok("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
    assert_eq!(all["result"]["rows"][0][0], 4, "{all}");
    assert_eq!(only["result"]["rows"][0][0], 1, "the remote's row-level security holds shop_emea to EMEA: {only}");
    let emea_orders = local_rows("SELECT count(*) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id WHERE r.code = 'EMEA'").await;
    assert_eq!(normalized(vec![json!([only["result"]["rows"][0][1]]).to_string()]), normalized(emea_orders));
    // The remote's column privileges too: shop_emea may not read customers' emails.
    let refused = emea_mcp.tool_error("run_sql", json!({ "sql": format!("SELECT email FROM {source}.customers LIMIT 1"), "dataset_id": dataset })).await;
    assert!(refused.contains("permission denied"), "{refused}");
    // The same question through the planner.
    let all_q = all_mcp.ok("run_query", json!({ "question": "How many orders by region?", "dataset_id": dataset })).await;
    let emea_q = emea_mcp.ok("run_query", json!({ "question": "How many orders by region?", "dataset_id": dataset })).await;
    assert_eq!(answer_rows(&all_q).len(), 4, "{all_q}");
    assert_eq!(answer_rows(&emea_q).len(), 1, "{emea_q}");
}

/// A TCP forwarder to the remote PostgreSQL that can be cut, standing for a remote that goes down.
struct Forwarder {
    port: i32,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Forwarder {
    async fn start(target: i32) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port() as i32;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let mut stopped = stopped.clone();
                tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let mut stopped = stopped.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target as u16)).await else { return };
                            tokio::select! {
                                _ = stopped.changed() => {}
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            }
                        });
                    }
                }
            }
        });
        Forwarder { port, stop }
    }

    fn cut(&self) {
        let _ = self.stop.send(true);
    }
}

#[tokio::test]
async fn a_remote_that_is_down_gives_a_tool_error_naming_the_source() {
    let forwarder = Forwarder::start(remote_pg_port()).await;
    let s = Sidecar::start().await;
    let source = create_source("postgres", forwarder.port, Some("retail")).await;
    let role = mapped_role(&source, "shop_all", &all_password()).await;
    let (team, dataset) = dataset_over(&source).await;
    let (mut mcp, _) = session(&s, &role, &team).await;
    let sql = format!("SELECT count(*) AS n FROM {source}.regions");
    let up = mcp.ok("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
    assert_eq!(up["result"]["rows"], json!([[4]]));

    forwarder.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let result = mcp.call("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
    assert_eq!(result["isError"], true, "{result}");
    let message = result["content"][0]["text"].as_str().unwrap();
    assert!(message.contains(&source), "the error names the source {source}: {message}");
    assert!(!message.contains("panicked") && !message.contains("stack backtrace"), "{message}");
    let question = mcp.call("run_query", json!({ "question": "How many regions are there?", "dataset_id": dataset })).await;
    assert_eq!(question["isError"], true, "{question}");
    assert!(question.to_string().contains(&source), "{question}");
}

/// What a failed call must leave as it was: sources, foreign servers, schemas and user mappings
/// whose names contain `scope` (other tests make their own meanwhile), and no throwaway server.
async fn state(scope: &str) -> Value {
    admin()
        .await
        .query_one(
            "SELECT jsonb_build_object(
                 'sources', (SELECT coalesce(jsonb_agg(s.name ORDER BY s.name), '[]') FROM quarry.sources s WHERE strpos(s.name, $1) > 0),
                 'servers', (SELECT coalesce(jsonb_agg(f.srvname ORDER BY f.srvname), '[]') FROM pg_foreign_server f
                              WHERE strpos(f.srvname, $1) > 0 OR f.srvname LIKE 'quarry_probe%'),
                 'schemas', (SELECT coalesce(jsonb_agg(n.nspname ORDER BY n.nspname), '[]') FROM pg_namespace n
                              WHERE strpos(n.nspname, $1) > 0 OR n.nspname LIKE 'quarry_probe%'),
                 'tables', (SELECT count(*) FROM pg_class c WHERE strpos(c.relname, $1) > 0),
                 'mappings', (SELECT coalesce(jsonb_agg(m.srvname || '/' || m.usename ORDER BY 1), '[]') FROM pg_user_mappings m
                               WHERE strpos(m.srvname, $1) > 0 OR strpos(m.usename, $1) > 0),
                 'source_mappings', (SELECT coalesce(jsonb_agg(m.role_name ORDER BY 1), '[]') FROM quarry.source_mappings m
                                      WHERE strpos(m.role_name, $1) > 0))",
            &[&scope],
        )
        .await
        .unwrap()
        .get(0)
}

async fn refused(sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)], expected: &str, scope: &str) {
    let before = state(scope).await;
    let error = admin().await.query(sql, params).await.expect_err(sql);
    let message = error.as_db_error().map(|e| format!("{} {}", e.message(), e.hint().unwrap_or_default())).unwrap_or(error.to_string());
    assert!(message.contains(expected), "{sql}: {message}");
    assert_eq!(state(scope).await, before, "{sql} changed nothing");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let pg = remote_pg_port();
    let name = format!("bad_{}", random_hex(4));
    let pw = all_password();
    // An unreachable host (nothing listens on port 1).
    refused(
        "SELECT quarry.create_source($1, 'postgres', '127.0.0.1', 1, 'shop', 'shop_all', $2)",
        &[&name, &pw],
        &format!("source '{name}': cannot read"),
        &name,
    )
    .await;
    refused(
        "SELECT quarry.create_source($1, 'mysql', '127.0.0.1', 1, 'shop', 'shop_all', $2)",
        &[&name, &pw],
        &format!("source '{name}': cannot read"),
        &name,
    )
    .await;
    // Wrong remote credentials.
    refused(
        "SELECT quarry.create_source($1, 'postgres', '127.0.0.1', $2, 'shop', 'shop_all', 'wrong password', 'retail')",
        &[&name, &pg],
        "password authentication failed",
        &name,
    )
    .await;
    refused(
        "SELECT quarry.create_source($1, 'mysql', '127.0.0.1', $2, 'shop', 'shop_all', 'wrong password')",
        &[&name, &mariadb_port()],
        "Access denied",
        &name,
    )
    .await;
    // Unknown kinds, TLS options and schemas.
    refused("SELECT quarry.create_source($1, 'oracle', '127.0.0.1', 1, 'shop', 'u', 'p')", &[&name], "unknown source kind", &name).await;
    refused(
        "SELECT quarry.create_source($1, 'postgres', '127.0.0.1', $2, 'shop', 'shop_all', $3, 'retail', tls => '{\"ssl_ca\": \"x\"}')",
        &[&name, &pg, &pw],
        "unknown TLS option ssl_ca",
        &name,
    )
    .await;
    refused(
        "SELECT quarry.create_source($1, 'postgres', '127.0.0.1', $2, 'shop', 'shop_all', $3, 'no_such_schema')",
        &[&name, &pg, &pw],
        "no_such_schema",
        &name,
    )
    .await;

    // A source that exists: its name again is refused, the first one keeps working.
    let source = create_source("postgres", pg, Some("retail")).await;
    refused(
        "SELECT quarry.create_source($1, 'postgres', '127.0.0.1', $2, 'shop', 'shop_all', $3, 'retail', local_schema => 'other')",
        &[&source, &pg, &pw],
        "exists already",
        &source,
    )
    .await;
    // Mappings: a superuser, a BYPASSRLS role, wrong remote credentials.
    let admin = admin().await;
    let bypass = format!("src_bypass_{}", random_hex(4));
    admin.batch_execute(&format!("CREATE ROLE {bypass} NOLOGIN BYPASSRLS")).await.unwrap();
    let plain = format!("src_plain_{}", random_hex(4));
    admin.batch_execute(&format!("CREATE ROLE {plain} NOLOGIN")).await.unwrap();
    refused("SELECT quarry.map_source_role($1, 'postgres', 'shop_all', $2)", &[&source, &pw], "superuser or has BYPASSRLS", &source).await;
    refused("SELECT quarry.map_source_role($1, $2, 'shop_all', $3)", &[&source, &bypass, &pw], "superuser or has BYPASSRLS", &source).await;
    refused("SELECT quarry.map_source_role($1, $2, 'shop_all', 'wrong password')", &[&source, &plain], "password authentication failed", &source).await;
    refused("SELECT quarry.map_source_role($1, $2, 'nobody_here', $3)", &[&source, &plain, &pw], &format!("source '{source}'"), &source).await;
    refused("SELECT quarry.map_source_role('no_such_source', $1, 'shop_all', $2)", &[&plain, &pw], "does not exist", &source).await;
    // Passwords are nowhere in Quarry's tables.
    let mapped = mapped_role(&source, "shop_all", &pw).await;
    let leaked: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT to_jsonb(s)::text t FROM quarry.sources s UNION ALL SELECT to_jsonb(m)::text FROM quarry.source_mappings m) x WHERE strpos(t, $1) > 0",
            &[&pw],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0);
    let listed: Value = admin.query_one("SELECT to_jsonb(s) FROM quarry.sources() s WHERE s.name = $1", &[&source]).await.unwrap().get(0);
    assert_eq!(listed["mappings"][0]["role"], json!(mapped), "{listed}");
    assert!(!listed.to_string().contains(&pw));
    // A source a dataset uses cannot be dropped; an unused one can, with everything it made.
    let (_, dataset) = dataset_over(&source).await;
    refused("SELECT quarry.drop_source($1)", &[&source], "is used by dataset", &source).await;
    admin.execute("SELECT quarry.drop_dataset($1)", &[&dataset]).await.unwrap();
    admin.execute("SELECT quarry.drop_source($1)", &[&source]).await.unwrap();
    let left: i64 = admin
        .query_one(
            "SELECT (SELECT count(*) FROM pg_foreign_server WHERE srvname = $1) + (SELECT count(*) FROM pg_namespace WHERE nspname = $1)
                  + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'quarry_sources' AND c.relname LIKE $1 || '%')",
            &[&source],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "drop_source leaves nothing behind");
}

#[tokio::test]
async fn a_remote_table_that_disappeared_is_a_clear_error_and_refresh_follows_the_remote_schema() {
    let remote = remote_admin().await;
    let schema = format!("scratch_{}", random_hex(4));
    remote
        .batch_execute(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.kept (id int PRIMARY KEY, label text);
             CREATE TABLE {schema}.doomed (id int PRIMARY KEY, kept_id int REFERENCES {schema}.kept);
             INSERT INTO {schema}.kept VALUES (1, 'one'), (2, 'two');
             INSERT INTO {schema}.doomed VALUES (1, 1);
             GRANT USAGE ON SCHEMA {schema} TO shop_all;
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO shop_all;"
        ))
        .await
        .unwrap();
    let s = Sidecar::start().await;
    let source = create_source("postgres", remote_pg_port(), Some(&schema)).await;
    let role = mapped_role(&source, "shop_all", &all_password()).await;
    let (team, dataset) = dataset_over(&source).await;
    let (mut mcp, _) = session(&s, &role, &team).await;
    let doomed = format!("SELECT count(*) AS n FROM {source}.doomed");
    assert_eq!(mcp.ok("run_sql", json!({ "sql": doomed, "dataset_id": dataset })).await["result"]["rows"], json!([[1]]));

    remote.batch_execute(&format!("DROP TABLE {schema}.doomed; CREATE TABLE {schema}.fresh (id int); GRANT SELECT ON {schema}.fresh TO shop_all; ALTER TABLE {schema}.kept ADD COLUMN note text")).await.unwrap();
    let message = mcp.tool_error("run_sql", json!({ "sql": doomed, "dataset_id": dataset })).await;
    assert!(message.contains("doomed") && message.contains("does not exist"), "{message}");
    assert!(message.contains(&source), "the error names the source: {message}");

    let admin = admin().await;
    let changes: Value = admin.query_one("SELECT quarry.refresh_source($1)", &[&source]).await.unwrap().get(0);
    assert_eq!(changes, json!({ "added": ["fresh"], "removed": ["doomed"], "changed": ["kept"] }));
    // The dataset follows: the table is gone from its catalog and model, the others answer.
    let described = mcp.ok("describe_dataset", json!({ "dataset_id": dataset })).await;
    let names: Vec<String> =
        described["collections"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, vec!["fresh", "kept"], "{described}");
    let kept = mcp.ok("run_sql", json!({ "sql": format!("SELECT count(*) AS n, count(note) AS notes FROM {source}.kept"), "dataset_id": dataset })).await;
    assert_eq!(kept["result"]["rows"], json!([[2, 0]]));
    // Refreshing the source of a remote schema that is gone is refused and keeps what there was.
    remote.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
    let before = state(&source).await;
    let error = admin.query_one("SELECT quarry.refresh_source($1)", &[&source]).await.expect_err("refresh of a gone schema");
    assert!(error.as_db_error().unwrap().message().contains(&format!("source '{source}'")), "{error:?}");
    assert_eq!(state(&source).await, before);
}

#[tokio::test]
async fn aggregates_are_pushed_down_and_the_guard_still_refuses() {
    let s = Sidecar::start().await;
    let source = create_source("postgres", remote_pg_port(), Some("retail")).await;
    let role = mapped_role(&source, "shop_all", &all_password()).await;
    let (team, dataset) = dataset_over(&source).await;
    let (mut mcp, _) = session(&s, &role, &team).await;
    // A demo question through the planner, then its SQL explained on the same server.
    let answer = mcp.ok("run_query", json!({ "question": "What is the total amount of orders by channel?", "dataset_id": dataset })).await;
    let sql = answer["sql"].as_str().unwrap().to_string();
    let admin = admin().await;
    let plan: Vec<String> =
        admin.query(&format!("EXPLAIN (VERBOSE) {sql}"), &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
    let remote_sql: Vec<&String> = plan.iter().filter(|l| l.contains("Remote SQL:")).collect();
    assert!(
        remote_sql.iter().any(|l| l.contains("sum(") && l.contains("GROUP BY")),
        "the aggregate runs on the remote side: {plan:#?}"
    );

    // The guard: foreign scans run, but what it refuses stays refused, and the wrappers' own
    // catalog lookups are out of reach.
    for (sql, expected) in [
        (format!("SELECT pg_advisory_lock(1) FROM {source}.regions"), "is not allowed in questions"),
        (format!("DELETE FROM {source}.regions"), ""),
        (format!("SELECT * FROM quarry_sources.{source}__class"), "permission denied"),
    ] {
        let result = mcp.call("run_sql", json!({ "sql": sql, "dataset_id": dataset })).await;
        assert_eq!(result["isError"], true, "{sql}: {result}");
        assert!(result["content"][0]["text"].as_str().unwrap().contains(expected), "{sql}: {result}");
    }
    let remaining: i64 = remote_admin().await.query_one("SELECT count(*) FROM retail.regions", &[]).await.unwrap().get(0);
    assert_eq!(remaining, 4, "nothing was deleted on the remote side");
}
