//! The guard, attacked as the attack run of issue 8 did, through real MCP calls: each finding is a
//! test that failed before the guard moved into PostgreSQL's analysis and now passes.
//! - stored pins leaking across roles;
//! - session state (advisory locks, the random seed) outliving a question on a pooled connection;
//! - a read-only question writing WAL;
//! - resource limits lifted from inside the query, and one huge value taking the memory the byte
//!   cap was meant to bound.
//! Then a property: many generated queries over the demo are refused or run, and none leaves
//! state behind on the connection.

use quarry_e2e::mcp::Mcp;
use quarry_e2e::{Sidecar, admin, mcp_session};
use serde_json::{Value, json};

/// The text of every content block and the structured content of a tool result, for "does not
/// contain" checks.
fn everything(result: &Value) -> String {
    result.to_string()
}

async fn refused(mcp: &mut Mcp, sql: &str, function: &str) {
    let result = mcp.call("run_sql", json!({ "sql": sql })).await;
    assert_eq!(result["isError"], true, "{sql} should be refused: {result}");
    let message = result["content"][0]["text"].as_str().unwrap();
    assert!(message.contains(&format!("{function} is not allowed in questions")), "{sql}: {message}");
    assert_eq!(result["structuredContent"]["attempts"][0]["stage"], "check", "{result}");
}

/// Finding 1: the EMEA manager, in the analyst's team, must not receive what the analyst's role
/// computed: every region's revenue, customers' emails.
#[tokio::test]
async fn pins_show_a_viewer_only_what_the_viewers_role_may_see() {
    let s = Sidecar::start().await;
    let (mut analyst, analyst_id) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let (mut manager, _) = mcp_session(&s, Some("retail_emea_manager"), &["Analytics"], None).await;
    let team: i64 = admin().await.query_one("SELECT quarry.team_id('Analytics')", &[]).await.unwrap().get(0);
    let board = analyst.ok("create_dashboard", json!({ "team_id": team, "name": format!("Leaky {analyst_id}") })).await;

    // (A session's run_sql calls make one conversation, whose latest answer a pin takes: each is
    // pinned as it comes.)
    let by_region = analyst
        .ok("run_sql", json!({ "sql": "SELECT r.name AS region, sum(o.total_amount) AS revenue FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id GROUP BY 1 ORDER BY 2 DESC" }))
        .await;
    analyst.ok("pin_to_dashboard", json!({ "dashboard_id": board["id"], "conversation_id": by_region["conversation_id"] })).await;
    let emails = analyst.ok("run_sql", json!({ "sql": "SELECT email FROM retail.customers ORDER BY id LIMIT 5" })).await;
    assert_eq!(emails["conversation_id"], by_region["conversation_id"], "one conversation per session");
    analyst.ok("pin_to_dashboard", json!({ "dashboard_id": board["id"], "conversation_id": emails["conversation_id"] })).await;
    let email_list: Vec<String> =
        emails["result"]["rows"].as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_string()).collect();
    assert_eq!(email_list.len(), 5);

    // The analyst (the same role) still sees the stored answers.
    let own = analyst.ok("get_dashboard_pins", json!({ "dashboard_id": board["id"] })).await;
    assert!(own["pins"].as_array().unwrap().iter().all(|p| p["computed_for_you"] == true));
    assert!(everything(&own).contains("North America"));

    // The manager gets every pin computed again under the manager's role: EMEA only, no emails.
    let seen = manager.call("get_dashboard_pins", json!({ "dashboard_id": board["id"] })).await;
    assert_eq!(seen["isError"], false, "{seen}");
    let text = everything(&seen);
    for other in ["North America", "Asia Pacific", "Latin America"] {
        assert!(!text.contains(other), "the manager saw {other}: {text}");
    }
    for email in &email_list {
        assert!(!text.contains(email.as_str()), "the manager saw {email}");
    }
    let pins = seen["structuredContent"]["pins"].as_array().unwrap();
    assert!(pins.iter().all(|p| p["computed_for_you"] == false));
    assert_eq!(pins[0]["result"]["rows"].as_array().unwrap().len(), 1, "one region: {}", pins[0]);
    assert!(pins[0]["analysis"].as_str().unwrap().contains("Europe"), "{}", pins[0]);
    assert!(pins[1]["error"].as_str().unwrap().contains("permission denied"), "{}", pins[1]);
    // With rerun the same holds.
    let rerun = manager.call("get_dashboard_pins", json!({ "dashboard_id": board["id"], "rerun": true })).await;
    for email in &email_list {
        assert!(!everything(&rerun).contains(email.as_str()));
    }
}

/// The backend behind a sidecar whose pool has one connection, so that two accounts' questions
/// run one after the other on the same PostgreSQL backend.
async fn backend_pid(mcp: &mut Mcp) -> i64 {
    let answer = mcp.ok("run_sql", json!({ "sql": "SELECT pg_backend_pid() AS pid" })).await;
    answer["result"]["rows"][0][0].as_i64().unwrap()
}

/// Finding 2: advisory locks and the random seed must not outlive a question.
#[tokio::test]
async fn nothing_a_question_does_outlives_it_on_a_pooled_connection() {
    let s = Sidecar::start_with(&[("QUARRY_DB_POOL_SIZE", "1")]).await;
    let (mut attacker, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let (mut victim, _) = mcp_session(&s, Some("retail_emea_manager"), &["Analytics"], None).await;
    let pid = backend_pid(&mut attacker).await;
    assert_eq!(backend_pid(&mut victim).await, pid, "both accounts' questions run on one backend");

    refused(&mut attacker, "SELECT pg_advisory_lock(4242)", "pg_advisory_lock(bigint)").await;
    refused(&mut attacker, "SELECT pg_try_advisory_lock(g) FROM generate_series(1, 500) g", "pg_try_advisory_lock(bigint)").await;
    refused(&mut attacker, "SELECT x FROM pg_advisory_lock_shared(7) x", "pg_advisory_lock_shared(bigint)").await;
    let admin = admin().await;
    let locks: i64 = admin
        .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", &[&(pid as i32)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "no advisory lock is left on the backend");
    let taken = victim.ok("run_sql", json!({ "sql": "SELECT count(DISTINCT region_id) FROM retail.customers" })).await;
    assert_eq!(taken["result"]["rows"], json!([[1]]), "the next account's question runs as its own role (EMEA only)");

    // The seed: what random() returns right after setseed(0.5) is known to anyone.
    let predicted: f64 = {
        let row = admin.query_one("SELECT setseed(0.5), random()", &[]).await.unwrap();
        row.get(1)
    };
    refused(&mut attacker, "SELECT setseed(0.5)", "setseed(double precision)").await;
    let drawn = victim.ok("run_sql", json!({ "sql": "SELECT random() AS r" })).await;
    assert_ne!(drawn["result"]["rows"][0][0].as_f64().unwrap(), predicted, "the next random() cannot be predicted");
    assert_eq!(backend_pid(&mut victim).await, pid);

    // Whatever ran, the backend holds no session state a query could have left.
    let state = admin
        .query_one(
            "SELECT (SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'),
                    (SELECT state FROM pg_stat_activity WHERE pid = $1)",
            &[&(pid as i32)],
        )
        .await
        .unwrap();
    assert_eq!(state.get::<_, i64>(0), 0);
    assert_eq!(state.get::<_, Option<String>>(1).as_deref(), Some("idle"), "the connection went back idle, not in a transaction");
}

/// A backend that reports an internal error (as one does when the extension's library was replaced
/// under it) is closed, not handed to the next question; an ordinary error keeps the connection.
#[tokio::test]
async fn a_connection_that_reports_an_internal_error_is_not_reused() {
    let s = Sidecar::start_with(&[("QUARRY_DB_POOL_SIZE", "1")]).await;
    let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let pid = backend_pid(&mut mcp).await;

    let ordinary = mcp.call("run_sql", json!({ "sql": "SELECT 1 / 0 AS x" })).await;
    assert_eq!(ordinary["isError"], true, "{ordinary}");
    assert_eq!(backend_pid(&mut mcp).await, pid, "an ordinary error keeps the connection");

    // A stable built-in that PostgreSQL answers with SQLSTATE XX000 for an impossible object.
    let internal = mcp.call("run_sql", json!({ "sql": "SELECT pg_describe_object(1, 1, 1) AS d" })).await;
    assert_eq!(internal["isError"], true, "{internal}");
    assert!(everything(&internal).contains("objectSubId"), "the database's message is shown: {internal}");
    let after = backend_pid(&mut mcp).await;
    assert_ne!(after, pid, "the backend that reported an internal error was not reused");
    // The backend exits once it reads the closed connection: wait for that, within a bound.
    let gone = format!("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {pid})");
    quarry_e2e::wait_until(&gone, std::time::Duration::from_secs(10), "the backend that reported an internal error to be closed").await;
}

async fn wal_bytes_during(work: impl std::future::Future<Output = ()>) -> i64 {
    let admin = admin().await;
    let before: String = admin.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await.unwrap().get(0);
    work.await;
    admin
        .query_one("SELECT (pg_current_wal_insert_lsn() - $1::text::pg_lsn)::bigint", &[&before])
        .await
        .unwrap()
        .get(0)
}

/// Finding 3: a read-only question must not write WAL (a 10 MB message would add 10 MB).
#[tokio::test]
async fn a_refused_question_writes_no_wal() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let written = wal_bytes_during(async {
        refused(&mut mcp, "SELECT pg_logical_emit_message(false, 'x', repeat('x', 10000000))", "pg_logical_emit_message(boolean,text,text)").await;
        refused(&mut mcp, "SELECT lo_from_bytea(0, convert_to(repeat('x', 10000000), 'UTF8'))", "lo_from_bytea(oid,bytea)").await;
        refused(&mut mcp, "SELECT txid_current()", "txid_current()").await;
    })
    .await;
    // The conversation and audit rows of the three calls are a few kB; other tests of this binary
    // may write a little meanwhile. The attacks would have written 20 MB.
    assert!(written < 2_000_000, "{written} bytes of WAL");
}

/// The peak resident memory of a process, from /proc (the tests run on the database's machine).
fn peak_memory_kb(pid: i64) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read the backend's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

/// Finding 4: limits the query cannot change, and a byte cap that bounds memory.
#[tokio::test]
async fn limits_hold_whatever_the_query_says() {
    let s = Sidecar::start_with(&[("QUARRY_DB_POOL_SIZE", "1")]).await;
    let admin = admin().await;
    let team = format!("Guard {}", std::process::id());
    let team_id: i64 = admin.query_one("SELECT quarry.create_team($1)", &[&team]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one("SELECT quarry.create_dataset($1, 'Shop', ARRAY['retail'])", &[&team_id])
        .await
        .unwrap()
        .get(0);
    admin.execute("SELECT quarry.update_dataset($1, temp_file_limit_kb => 2048)", &[&dataset]).await.unwrap();
    let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &[&team], None).await;

    refused(&mut mcp, "SELECT set_config('work_mem', '8GB', true), count(*) FROM retail.order_lines", "set_config(text,text,boolean)").await;
    let pinned = mcp
        .ok("run_sql", json!({ "sql": "SELECT current_setting('work_mem') AS w, current_setting('temp_file_limit') AS t, current_setting('hash_mem_multiplier') AS h" }))
        .await;
    let configured: (String, String) = {
        let row = admin.query_one("SELECT reset_val || coalesce(unit, ''), (SELECT reset_val FROM pg_settings WHERE name = 'hash_mem_multiplier') FROM pg_settings WHERE name = 'work_mem'", &[]).await.unwrap();
        (row.get(0), row.get(1))
    };
    let row = &pinned["result"]["rows"][0];
    assert_eq!(row[1], "2MB", "the dataset's temp_file_limit");
    assert_eq!(row[2].as_str().unwrap().parse::<f64>().unwrap(), configured.1.parse::<f64>().unwrap());
    assert!(configured.0.ends_with("kB") && !row[0].as_str().unwrap().is_empty());

    // A sort far larger than work_mem spills to temporary files and stops at the dataset's limit.
    let spilled = mcp.call("run_sql", json!({ "sql": "SELECT md5(a::text || b::text) FROM generate_series(1, 3000) a, generate_series(1, 300) b ORDER BY 1 DESC" })).await;
    assert_eq!(spilled["isError"], true, "{spilled}");
    assert!(spilled["content"][0]["text"].as_str().unwrap().contains("temp_file_limit"), "{spilled}");

    // One 300 MB value: PostgreSQL computes it, but it is refused by the byte cap before it is
    // converted (before the fix it was copied twice more on the way to JSON). The length comes
    // from a function scan so that the planner cannot fold the value into a constant (a copy of
    // its own).
    let pid = backend_pid(&mut mcp).await;
    let before = peak_memory_kb(pid);
    let huge = mcp.ok("run_sql", json!({ "sql": "SELECT repeat('x', n) AS v FROM generate_series(300000000, 300000000) n" })).await;
    assert_eq!((&huge["result"]["truncated_by"], &huge["result"]["row_count"]), (&json!("bytes"), &json!(0)));
    let grown_mb = (peak_memory_kb(pid) - before) / 1024;
    assert!(grown_mb < 450, "the backend's peak memory grew by {grown_mb} MB for a 286 MB value");
}

/// A small deterministic generator (xorshift), so that a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A query over the demo: a table, some columns or expressions (safe functions and volatile ones
/// with side effects mixed in), maybe a filter, a subquery, a CTE, a group, an order, a limit.
fn generate(rng: &mut Rng) -> String {
    let tables = ["retail.orders o", "retail.order_lines o", "retail.customers o", "retail.products o", "retail.order_details o", "retail.monthly_revenue o", "retail.regions o"];
    let expressions = [
        "count(*)", "1", "now()", "random()", "upper('x')", "length('abc')", "clock_timestamp() IS NOT NULL", "current_setting('work_mem')",
        "setseed(0.3)", "pg_advisory_lock(11)", "pg_try_advisory_xact_lock(12)", "set_config('work_mem', '1GB', false)",
        "pg_notify('chan', 'x')", "nextval('retail.nope')", "txid_current()", "lo_create(0)", "pg_logical_emit_message(true, 'p', 'm')",
        "pg_sleep(0)", "gen_random_uuid() IS NOT NULL", "date_trunc('month', now())", "md5('x')", "pg_backend_pid() > 0",
        "set_config('search_path', 'public', true)", "pg_advisory_unlock_all()", "query_to_xml('select 1', true, false, '')",
    ];
    let filters = ["", " WHERE true", " WHERE random() < 2", " WHERE EXISTS (SELECT setseed(0.2))", " WHERE 1 = 1 AND pg_try_advisory_lock(13)", " WHERE now() > now() - interval '1 day'"];
    let table = rng.pick(&tables);
    let first = rng.pick(&expressions);
    let second = rng.pick(&expressions);
    let filter = rng.pick(&filters);
    let aggregate = first.starts_with("count") || second.starts_with("count");
    let tail = if aggregate { "" } else { rng.pick(&["", " LIMIT 3", " ORDER BY 1 LIMIT 2", " OFFSET 1 LIMIT 1"]) };
    let body = format!("SELECT {first} AS a, {second} AS b FROM {table}{filter}{tail}");
    match rng.next() % 4 {
        0 => format!("WITH q AS ({body}) SELECT * FROM q"),
        1 => format!("SELECT * FROM ({body}) s"),
        2 => format!("SELECT ({}) AS scalar", body.replacen(&format!("{first} AS a, {second} AS b"), first, 1)),
        _ => body,
    }
}

/// What a query could leave on a connection: advisory locks, settings changed in the session,
/// temporary objects, open cursors, prepared statements, LISTEN channels, the role.
const FINGERPRINT: &str = "SELECT (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')::text
     || '|' || coalesce((SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings
                          WHERE source IN ('session', 'client') AND name NOT IN ('application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle', 'extra_float_digits')), '')
     || '|' || (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema())::text
     || '|' || (SELECT count(*) FROM pg_cursors)::text
     || '|' || (SELECT count(*) FROM pg_prepared_statements)::text
     || '|' || (SELECT count(*) FROM pg_listening_channels())::text
     || '|' || current_user || '|' || coalesce(current_setting('quarry.account_id', true), '')";

#[tokio::test]
async fn generated_queries_are_refused_or_run_and_leave_nothing_behind() {
    let admin = admin().await;
    let account: i64 = admin.query_one("SELECT quarry.account_id('demo@quarry.local')", &[]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one("SELECT quarry.dataset_id(quarry.team_id('Analytics'), 'Retail')", &[])
        .await
        .unwrap()
        .get(0);
    let before: String = admin.query_one(FINGERPRINT, &[]).await.unwrap().get(0);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut ran, mut refusals, mut errors) = (0, 0, 0);
    for case in 0..400 {
        let sql = generate(&mut rng);
        // random() right after setseed(0.25) is known; a question must not leave the seed known.
        let known: f64 = admin.query_one("SELECT setseed(0.25), random()", &[]).await.unwrap().get(1);
        admin.query_one("SELECT setseed(0.25)", &[]).await.unwrap();
        match admin.query_one("SELECT quarry.execute_for($1, $2, $3, 50, 100000)", &[&account, &dataset, &sql]).await {
            Ok(_) => ran += 1,
            Err(e) => match e.code().map(|c| c.code().to_string()) {
                Some(code) if code.starts_with("QG") => refusals += 1,
                Some(_) => errors += 1,
                None => panic!("case {case}: the connection broke on {sql}: {e}"),
            },
        }
        let after: String = admin.query_one(FINGERPRINT, &[]).await.unwrap().get(0);
        assert_eq!(after, before, "case {case} left state behind: {sql}");
        let drawn: f64 = admin.query_one("SELECT random()", &[]).await.unwrap().get(0);
        assert_ne!(drawn, known, "case {case}: the seed was not renewed after {sql}");
    }
    // The generator reaches both sides of the guard.
    assert!(ran > 50 && refusals > 100, "ran {ran}, refused {refusals}, other errors {errors}");
}
