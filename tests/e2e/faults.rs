//! Faults a production sidecar meets, each survived without a restart of the sidecar:
//! - every database connection busy: a 503 with `Retry-After` after the configured wait, not a hang;
//! - PostgreSQL restarted while tool calls are in flight: each call ends with a clear tool error or
//!   a 503 with a retry hint, the sidecar serves the next calls on new connections, and no question
//!   is saved half (its blocks are all there or none are);
//! - the sidecar killed in the middle of a question: every call it answered has its audit row;
//! - a model provider that hangs, resets the connection or answers garbage: a clear tool error
//!   after the configured retries, no request left hanging;
//! - a bounded load run: 200 concurrent MCP sessions calling every tool, no errors but the
//!   designed ones, the sidecar's peak memory reported.
//!
//! The tests in this file restart the shared test cluster, so they run one at a time (`SERIAL`),
//! and the file is its own test binary (cargo runs binaries one after another).

use std::time::Duration;

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, mcp_session, own_retail_dataset, required_env, use_model};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::const_new(());

/// A question that runs for seconds (until the dataset's timeout stops it): the orders crossed
/// with themselves, counted.
const SLOW: &str = "SELECT count(*) AS pairs FROM retail.orders a CROSS JOIN retail.orders b";
/// The questions the sidecar is running in the database right now (through quarry.execute_for,
/// or quarry.run_for for a run_sql that continues no conversation).
const RUNNING: &str = "pg_stat_activity WHERE application_name = 'quarry-sidecar (questions)' AND state = 'active' \
     AND (query LIKE '%execute_for%' OR query LIKE '%run_for%')";

/// A second client on the same MCP session (same token, same session id), for concurrent calls.
fn same_session(mcp: &Mcp) -> Mcp {
    let mut other = Mcp::new(&mcp.url, mcp.token.as_deref());
    other.session_id = mcp.session_id.clone();
    other
}

/// [`quarry_e2e::wait_until`] within 30 s.
async fn wait_until(sql: &str, what: &str) {
    quarry_e2e::wait_until(sql, Duration::from_secs(30), what).await;
}

/// A tools/call as raw HTTP: the status, the `Retry-After` header and the body.
/// Its JSON-RPC request id is unique in the session (calls may be in flight together); the answer
/// is read with [`answer_in`].
async fn raw_call(mcp: &Mcp, tool: &str, arguments: Value) -> (u16, Option<String>, String) {
    static NEXT_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let message = json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": arguments } });
    let response = mcp.post(&message).timeout(Duration::from_secs(60)).send().await.expect("an HTTP answer within a minute");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, response.text().await.unwrap())
}

/// The JSON-RPC response in a tool call's body (JSON or an SSE stream), or null.
fn answer_in(body: &str) -> Value {
    quarry_e2e::mcp::messages(body).into_iter().find(|m| m.get("result").is_some() || m.get("error").is_some()).unwrap_or_default()
}

/// A call that failed because the database went away must say so and say to try again: a 503
/// with `Retry-After`, or a tool error whose text says to try again. Never a 500, never success.
fn failed_cleanly(status: u16, retry_after: &Option<String>, body: &str) -> bool {
    match status {
        503 => retry_after.is_some(),
        200 => {
            let answer = answer_in(body);
            answer["result"]["isError"] == true && answer.to_string().contains("try again")
        }
        _ => false,
    }
}

#[tokio::test]
async fn every_connection_busy_gives_a_503_with_retry_after_not_a_hang() {
    let _serial = SERIAL.lock().await;
    let metrics_token = "e2e-faults-metrics-token";
    let s = Sidecar::start_with(&[("QUARRY_DB_POOL_SIZE", "1"), ("QUARRY_DB_WAIT_MS", "300"), ("QUARRY_METRICS_TOKEN", metrics_token)]).await;
    // The metrics see it too: a scrape needs no database connection.
    let scrape = || async {
        let response = quarry_e2e::http().get(s.url("/metrics")).bearer_auth(metrics_token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    let (mcp, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;

    // The only connection is held: its token check waits for a lock a DBA's transaction holds.
    let mut dba = admin().await;
    let lock = dba.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE quarry.mcp_sessions IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let held = same_session(&mcp);
    let first = tokio::spawn(async move { raw_call(&held, "list_teams", json!({})).await });
    wait_until(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'quarry-sidecar' AND wait_event_type = 'Lock')",
        "the sidecar's connection to wait for the lock",
    )
    .await;

    let (status, retry_after, body) = raw_call(&mcp, "list_teams", json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)), "Retry-After: {retry_after:?}");
    let text = scrape().await;
    for line in [
        "quarry_db_pool_max_connections{pool=\"main\"} 1",
        "quarry_db_pool_in_use{pool=\"main\"} 1",
        "quarry_db_pool_timeouts_total{pool=\"main\"} 1",
        "quarry_token_checks_total{outcome=\"unavailable\"} 1",
        "quarry_http_requests_total{route=\"/mcp\",method=\"POST\",status=\"503\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} is not in\n{text}");
    }
    // The OAuth token endpoint too: RFC 6749's temporarily_unavailable, with the same header.
    let token = mcp
        .http
        .post(s.url("/v1/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "qrt_busy"), ("client_id", "busy")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 503);
    assert!(token.headers().get("retry-after").is_some(), "{:?}", token.headers());
    let error: Value = token.json().await.unwrap();
    assert_eq!(error["error"], "temporarily_unavailable", "{error}");

    lock.rollback().await.unwrap();
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, 200, "the waiting call finishes once the lock is gone: {body}");
    let (status, _, body) = raw_call(&mcp, "list_teams", json!({})).await;
    assert_eq!(status, 200, "and the next call is served: {body}");
    let text = scrape().await;
    assert!(text.lines().any(|l| l == "quarry_db_pool_in_use{pool=\"main\"} 0"), "{text}");
}

/// The blocks of every question of these accounts: each question block is followed by an answer
/// (any other kind of block). Counts questions without one.
async fn half_saved_questions(accounts: &[i64]) -> i64 {
    admin()
        .await
        .query_one(
            "SELECT count(*) FROM quarry.conversation_blocks q
               JOIN quarry.conversations c ON c.id = q.conversation_id
              WHERE c.account_id = ANY ($1) AND q.kind = 'question'
                AND NOT EXISTS (SELECT 1 FROM quarry.conversation_blocks a
                                 WHERE a.conversation_id = q.conversation_id AND a.seq = q.seq + 1 AND a.kind <> 'question')",
            &[&accounts],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn postgresql_restarted_under_calls_in_flight_then_served_again() {
    let _serial = SERIAL.lock().await;
    let s = Sidecar::start().await;
    let (mut mcp, account_id) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    mcp.ok("run_query", json!({ "question": "How many orders are there?" })).await;

    // Queries running inside the database when it restarts.
    let mut in_flight = Vec::new();
    for _ in 0..3 {
        let other = same_session(&mcp);
        in_flight.push(tokio::spawn(async move {
            raw_call(&other, "run_sql", json!({ "sql": SLOW })).await
        }));
    }
    wait_until(&format!("SELECT count(*) >= 3 FROM {RUNNING}"), "three queries running in the database").await;
    let restarted = tokio::process::Command::new("bash")
        .arg(required_env("QUARRY_E2E_CLUSTER"))
        .arg("restart")
        .status()
        .await
        .expect("run cluster.sh restart");
    assert!(restarted.success(), "PostgreSQL restarted");

    for call in in_flight {
        let Ok((status, retry_after, body)) = call.await else {
            let logs: Vec<String> = s.logs().iter().rev().take(30).map(|l| l.to_string()).collect();
            panic!("a call cut by the restart got no answer; the sidecar's last log lines: {logs:#?}");
        };
        assert!(failed_cleanly(status, &retry_after, &body), "a call cut by the restart: HTTP {status} {retry_after:?} {body}");
    }

    // The same sidecar and the same MCP session carry on. Its pooled connections died with the
    // server; the first calls may still meet one (each such failure must be clean) before new
    // ones are opened: bounded attempts, then it must work.
    let mut served = None;
    for _ in 0..5 {
        let (status, retry_after, body) = raw_call(&mcp, "run_sql", json!({ "sql": "SELECT count(*) AS n FROM retail.orders" })).await;
        let answer = answer_in(&body);
        if status == 200 && answer["result"]["isError"] == false {
            served = Some(answer);
            break;
        }
        assert!(failed_cleanly(status, &retry_after, &body), "while recovering: HTTP {status} {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let served = served.expect("the sidecar serves calls again after the restart, without being restarted itself");
    assert!(served["result"]["structuredContent"]["result"]["rows"][0][0].as_i64().unwrap() > 0, "{served}");
    mcp.ok("run_query", json!({ "question": "How many customers are there?" })).await;
    assert_eq!(half_saved_questions(&[account_id]).await, 0, "no question was saved without its answer");
}

#[tokio::test]
async fn a_sidecar_killed_mid_question_keeps_the_audit_row_of_every_answered_call() {
    let _serial = SERIAL.lock().await;
    let s = Sidecar::start().await;
    let (mut mcp, account_id) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let answered = ["list_teams", "list_datasets", "run_sql", "run_query", "list_conversations"];
    for tool in answered {
        let arguments = match tool {
            "run_sql" => json!({ "sql": "SELECT 1 AS one" }),
            "run_query" => json!({ "question": "How many orders are there?" }),
            _ => json!({}),
        };
        let result = mcp.call(tool, arguments).await;
        assert_eq!(result["isError"], false, "{tool}: {result}");
    }

    let sleeper = same_session(&mcp);
    let cut = tokio::spawn(async move {
        let message = json!({ "jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": { "name": "run_sql", "arguments": { "sql": SLOW } } });
        match sleeper.post(&message).send().await {
            Ok(response) => response.text().await.is_err(),
            Err(_) => true,
        }
    });
    wait_until(&format!("SELECT count(*) >= 1 FROM {RUNNING}"), "the question to be running").await;
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(s.pid() as i32, libc::SIGKILL) };
    assert!(cut.await.unwrap(), "the call in flight got no answer");

    let rows = admin()
        .await
        .query("SELECT action FROM quarry.audit_log WHERE account_id = $1 ORDER BY id", &[&account_id])
        .await
        .unwrap();
    let audited: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let answered: Vec<String> = answered.iter().map(|t| t.to_string()).collect();
    assert_eq!(audited, answered, "every answered call has its audit row, in order; the cut one has none");
}

/// How a fake model provider misbehaves.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Reads the request and never answers.
    Hangs,
    /// Reads the request and resets the connection.
    Resets,
    /// Answers 200 with a body that is not JSON.
    Garbage,
}

/// A model provider that misbehaves on every request; counts the requests.
async fn bad_provider(how: Misbehaviour) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let _ = stream.read(&mut buffer).await;
                match how {
                    Misbehaviour::Hangs => {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                    }
                    Misbehaviour::Resets => {
                        let _ = stream.set_zero_linger();
                        drop(stream);
                    }
                    Misbehaviour::Garbage => {
                        let body = "<html>upstream proxy error</html> not json {";
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(body.as_bytes()).await;
                    }
                }
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_model_provider_that_hangs_resets_or_answers_garbage_gives_a_clear_tool_error() {
    let _serial = SERIAL.lock().await;
    let metrics_token = "e2e-faults-metrics-token";
    let s = Sidecar::start_with(&[("QUARRY_E2E_MODEL_KEY", "sk-e2e"), ("QUARRY_METRICS_TOKEN", metrics_token)]).await;
    let mut garbage_requests = 0;
    for how in [Misbehaviour::Hangs, Misbehaviour::Resets, Misbehaviour::Garbage] {
        let (url, requests) = bad_provider(how).await;
        let (team, dataset) = own_retail_dataset(&format!("E2E faults {how:?}")).await;
        let options = json!({ "timeout_ms": 1000, "max_retries": 1 });
        use_model(dataset, "misbehaving", "openai", "gpt-e2e", &url, Some("QUARRY_E2E_MODEL_KEY"), &options).await;
        let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &[&team], None).await;

        let (status, _, body) = raw_call(&mcp, "run_query", json!({ "question": "How many orders are there?" })).await;
        assert_eq!(status, 200, "{how:?}: {body}");
        let answer = answer_in(&body);
        assert_eq!(answer["result"]["isError"], true, "{how:?}: {answer}");
        let message = answer["result"]["content"][0]["text"].as_str().unwrap().to_string();
        assert!(message.starts_with("The model \"misbehaving\" did not answer"), "{how:?}: {message}");
        match how {
            Misbehaviour::Hangs => assert!(message.contains("no answer within 1 s (tried 2 times)"), "{message}"),
            Misbehaviour::Resets => assert!(message.contains("the request failed (tried 2 times)"), "{message}"),
            Misbehaviour::Garbage => assert!(message.contains("reply was not JSON") && !message.contains("<html>"), "{message}"),
        }
        let made = requests.load(std::sync::atomic::Ordering::SeqCst);
        match how {
            // A timeout and a reset are worth one more try (max_retries = 1), then reported.
            Misbehaviour::Hangs | Misbehaviour::Resets => assert_eq!(made, 2, "{how:?}: requests made"),
            Misbehaviour::Garbage => {
                assert!((1..=2).contains(&made), "{how:?}: requests made: {made}");
                garbage_requests = made;
            }
        }
        // The sidecar is not stuck: the session answers at once.
        mcp.ok("list_teams", json!({})).await;
    }

    // The metrics name each misbehaviour, request by request, and the three completions that
    // failed for good.
    let response = quarry_e2e::http().get(s.url("/metrics")).bearer_auth(metrics_token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for line in [
        "quarry_model_requests_total{provider=\"openai\",outcome=\"timeout\"} 2".to_string(),
        "quarry_model_requests_total{provider=\"openai\",outcome=\"network\"} 2".to_string(),
        format!("quarry_model_requests_total{{provider=\"openai\",outcome=\"invalid_reply\"}} {garbage_requests}"),
        format!("quarry_model_request_duration_seconds_count{{provider=\"openai\"}} {}", 4 + garbage_requests),
        "quarry_model_failures_total{provider=\"openai\"} 3".to_string(),
        "quarry_tool_calls_total{tool=\"run_query\",outcome=\"error\"} 3".to_string(),
        "quarry_tool_calls_total{tool=\"list_teams\",outcome=\"ok\"} 3".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} is not in\n{text}");
    }
}

#[tokio::test]
async fn two_hundred_sessions_calling_every_tool_get_only_designed_errors() {
    let _serial = SERIAL.lock().await;
    // Calls wait up to a minute for a connection (default: 5 s) so that a slow machine queues
    // them rather than refusing them; the refusal itself has its own test above.
    let s = Sidecar::start_with(&[("QUARRY_DB_WAIT_MS", "60000")]).await;
    const ACCOUNTS: usize = 4;
    const SESSIONS_PER_ACCOUNT: usize = 50;
    let mut tokens = Vec::new();
    for _ in 0..ACCOUNTS {
        let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
        let (issued, _) = tokens_for(&s.base_url, &email, &password, None).await;
        tokens.push(issued["access_token"].as_str().unwrap().to_string());
    }

    let mut sessions = Vec::new();
    for i in 0..ACCOUNTS * SESSIONS_PER_ACCOUNT {
        let token = tokens[i % ACCOUNTS].clone();
        let url = s.url("/mcp");
        sessions.push(tokio::spawn(async move { one_session_of_every_tool(&url, &token, i).await }));
    }
    let (mut calls, mut busy) = (0, 0);
    for session in sessions {
        let (made, waited) = session.await.expect("a session ran to the end");
        calls += made;
        busy += waited;
    }
    let peak = std::fs::read_to_string(format!("/proc/{}/status", s.pid()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        .unwrap();
    println!(
        "load run: {} sessions, {calls} tool calls, {busy} answered 503 + Retry-After and retried, the sidecar's peak memory (VmHWM) {peak}",
        ACCOUNTS * SESSIONS_PER_ACCOUNT
    );
    assert_eq!(calls, ACCOUNTS * SESSIONS_PER_ACCOUNT * 16);
}

/// An overloaded sidecar answers 503 with `Retry-After` (its designed error when every connection
/// stays busy past `QUARRY_DB_WAIT_MS`), or, when that happens inside a tool, a tool error that
/// says to try again in a moment; a client does what it is told. Returns the answer and
/// counts the 503s.
async fn patiently(mcp: &mut Mcp, method: &str, params: Value, busy: &mut usize) -> Value {
    for _ in 0..30 {
        let (status, response, body) = mcp.request(method, params.clone()).await;
        // The same as a tool error, when the pool ran dry after the call began.
        let unavailable = response.as_ref().is_some_and(|r| {
            r["result"]["isError"] == true && r["result"]["content"][0]["text"].as_str().is_some_and(|t| t.contains("unavailable right now; try again"))
        });
        if status == 503 || unavailable {
            *busy += 1;
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        assert_eq!(status, 200, "{method}: HTTP {status}: {body}");
        return response.unwrap_or_else(|| panic!("{method}: no response in {body}"));
    }
    panic!("{method}: still busy after 30 tries");
}

/// A tool call that must succeed (after any 503s): its structured content.
async fn tool_ok(mcp: &mut Mcp, tool: &str, arguments: Value, busy: &mut usize) -> Value {
    let response = patiently(mcp, "tools/call", json!({ "name": tool, "arguments": arguments }), busy).await;
    assert_eq!(response["result"]["isError"], false, "{tool}: {response}");
    response["result"]["structuredContent"].clone()
}

/// One MCP session that calls every tool once (and one designed error); returns how many calls it
/// made and how many 503s it met.
async fn one_session_of_every_tool(url: &str, token: &str, i: usize) -> (usize, usize) {
    let mut busy = 0;
    let b = &mut busy;
    let mut mcp = Mcp::new(url, Some(token));
    let init = json!({ "protocolVersion": quarry_e2e::mcp::PROTOCOL, "capabilities": {}, "clientInfo": { "name": "load", "version": "1" } });
    patiently(&mut mcp, "initialize", init, b).await;
    let notified = mcp.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).send().await.unwrap();
    assert_eq!(notified.status(), 202);
    let teams = tool_ok(&mut mcp, "list_teams", json!({}), b).await;
    let team = teams["teams"].as_array().unwrap().iter().find(|t| t["name"] == "Analytics").unwrap()["id"].clone();
    let datasets = tool_ok(&mut mcp, "list_datasets", json!({ "detail": "names" }), b).await;
    let dataset = datasets["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "Retail").unwrap()["id"].clone();
    tool_ok(&mut mcp, "describe_dataset", json!({ "dataset_id": dataset, "page_size": 5 }), b).await;
    tool_ok(&mut mcp, "list_models", json!({}), b).await;
    let sql = format!("SELECT {i} AS session, count(*) AS n FROM retail.orders");
    let ran = tool_ok(&mut mcp, "run_sql", json!({ "dataset_id": dataset, "sql": sql }), b).await;
    assert_eq!(ran["result"]["rows"][0][0], json!(i));
    let asked = tool_ok(&mut mcp, "run_query", json!({ "dataset_id": dataset, "question": "How many orders are there?" }), b).await;
    assert_eq!(asked["status"], "answered", "{asked}");
    let conversation = asked["conversation_id"].clone();
    tool_ok(&mut mcp, "list_conversations", json!({ "dataset_id": dataset }), b).await;
    tool_ok(&mut mcp, "get_conversation", json!({ "conversation_id": conversation }), b).await;
    tool_ok(&mut mcp, "rename_conversation", json!({ "conversation_id": conversation, "title": format!("load {i}") }), b).await;
    let name = format!("load {i} {}", std::process::id());
    let board = tool_ok(&mut mcp, "create_dashboard", json!({ "team_id": team, "name": name }), b).await;
    let pin = tool_ok(&mut mcp, "pin_to_dashboard", json!({ "dashboard_id": board["id"], "conversation_id": conversation }), b).await;
    tool_ok(&mut mcp, "list_dashboards", json!({ "team_id": team }), b).await;
    tool_ok(&mut mcp, "get_dashboard_pins", json!({ "dashboard_id": board["id"] }), b).await;
    tool_ok(&mut mcp, "unpin", json!({ "pin_id": pin["id"] }), b).await;
    tool_ok(&mut mcp, "delete_conversation", json!({ "conversation_id": conversation }), b).await;
    // The designed error: a conversation that is gone.
    let gone = patiently(&mut mcp, "tools/call", json!({ "name": "get_conversation", "arguments": { "conversation_id": conversation } }), b).await;
    assert_eq!(gone["result"]["isError"], true, "{gone}");
    assert!(gone.to_string().contains("does not exist"), "{gone}");
    (16, busy)
}
