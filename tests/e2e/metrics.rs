//! `/metrics`: scraped from a real sidecar after real calls (OAuth, MCP tool calls, a question
//! answered by an OpenAI-compatible model that fails once), with the counters checked against
//! what was done; and never served to the public (its own address, or a bearer token).

use std::collections::BTreeMap;

use quarry_e2e::fake_model::{FakeModel, Reply};
use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, http, own_retail_dataset, use_model};
use serde_json::{Value, json};

const TOKEN: &str = "e2e-metrics-token-0123456789";

/// The samples of a scrape: `name{labels}` (as written) to value. Also checks that every line is
/// a comment or a sample, as the text format says.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            assert!(line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line == "# EOF", "not a comment of the format: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        samples.insert(series.to_string(), value);
    }
    samples
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| panic!("{series} is not in the scrape: {:#?}", samples.keys().collect::<Vec<_>>()))
}

/// The sum of every sample of `name` whose labels contain all of `labels` (`key="value"` each).
fn sum(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| series.split_once('{').map(|(n, _)| n).unwrap_or(series) == name)
        .filter(|(series, _)| labels.iter().all(|l| series.contains(l)))
        .map(|(_, v)| v)
        .sum()
}

async fn scrape(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = http().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Where the sidecar says its metrics listen.
fn metrics_url(sidecar: &Sidecar) -> String {
    let logs = sidecar.logs();
    let line = logs.iter().find(|e| e["message"] == "metrics listening").unwrap_or_else(|| panic!("no metrics address logged: {logs:?}"));
    format!("http://{}/metrics", line["address"].as_str().unwrap())
}

/// A team of its own with a retail dataset answered by an OpenAI-compatible model at `base_url`.
async fn dataset_with_model(base_url: &str) -> (String, i64) {
    let (team, dataset) = own_retail_dataset("E2E metrics").await;
    let options = json!({ "max_retries": 2 });
    use_model(dataset, "E2E metrics model", "openai", "gpt-e2e", base_url, Some("QUARRY_E2E_MODEL_KEY"), &options).await;
    (team, dataset)
}

#[tokio::test]
async fn a_scrape_counts_the_calls_that_were_made() {
    // The model fails once (HTTP 500, retried), then writes the SQL and the analysis.
    let fake = FakeModel::start(vec![
        Reply::error(500, "boom").with_header("retry-after", "0"),
        Reply::openai("```sql\nSELECT count(*) AS orders FROM retail.orders\n```"),
        Reply::openai("There are 120,000 orders."),
    ])
    .await;
    let s = Sidecar::start_with(&[
        ("QUARRY_METRICS_BIND", "127.0.0.1:0"),
        ("QUARRY_METRICS_TOKEN", TOKEN),
        ("QUARRY_E2E_MODEL_KEY", "sk-e2e"),
    ])
    .await;
    let url = metrics_url(&s);

    // Not public: not on the main address, and not without the token on its own.
    assert_eq!(scrape(&s.url("/metrics"), Some(TOKEN)).await.status(), 404, "the main address does not serve metrics");
    let refused = scrape(&url, None).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    assert_eq!(scrape(&url, Some("e2e-metrics-token-012345678")).await.status(), 401, "a token's prefix is not the token");
    assert_eq!(scrape(&url, Some(&format!("{TOKEN}x"))).await.status(), 401);

    // The calls: one MCP request without a token, a sign-in, tool calls that work and fail, a
    // question answered by the model, a path that does not exist.
    let (team, dataset) = dataset_with_model(&format!("{}/v1", fake.url)).await;
    let mut anonymous = Mcp::new(&s.url("/mcp"), None);
    let (status, _, _) = anonymous.request("initialize", json!({})).await;
    assert_eq!(status, 401);
    let (_, email, password) = account(Some("retail_analyst"), &[&team]).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    let mut mcp = Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
    mcp.initialize().await;
    mcp.ok("list_teams", json!({})).await;
    mcp.ok("list_teams", json!({})).await;
    let ran = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) FROM retail.regions", "dataset_id": dataset })).await;
    assert_eq!(ran["status"], "answered", "{ran}");
    let failed = mcp.call("run_sql", json!({ "sql": "SELECT nope FROM retail.regions", "dataset_id": dataset })).await;
    assert_eq!(failed["isError"], true, "{failed}");
    let missing = mcp.call("get_conversation", json!({ "conversation_id": -1 })).await;
    assert_eq!(missing["isError"], true, "{missing}");
    let answer = mcp.ok("run_query", json!({ "question": "How many orders are there?", "dataset_id": dataset })).await;
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(answer["result"]["rows"], json!([[120000]]));
    assert_eq!(fake.unused(), 0, "the model was asked three times");
    assert_eq!(http().get(s.url("/no/such/page")).send().await.unwrap().status(), 404);

    let response = scrape(&url, Some(TOKEN)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain") || content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    let m = samples(&text);

    // Tool calls by tool and outcome, with their latency.
    assert_eq!(get(&m, r#"quarry_tool_calls_total{tool="list_teams",outcome="ok"}"#), 2.0);
    assert_eq!(get(&m, r#"quarry_tool_calls_total{tool="run_sql",outcome="ok"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_tool_calls_total{tool="run_sql",outcome="error"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_tool_calls_total{tool="get_conversation",outcome="error"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_tool_calls_total{tool="run_query",outcome="ok"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_tool_call_duration_seconds_count{tool="run_sql"}"#), 2.0);
    assert_eq!(get(&m, r#"quarry_tool_call_duration_seconds_bucket{tool="run_query",le="+Inf"}"#), 1.0);
    assert!(get(&m, r#"quarry_tool_call_duration_seconds_sum{tool="run_query"}"#) > 0.0);
    assert!(text.contains("# TYPE quarry_tool_call_duration_seconds histogram"));

    // The question's steps: three questions (two run_sql, one run_query) took the save and run
    // steps; the run_sql calls chose their dataset in their run (one call of the extension), the
    // question in a dataset step of its own; the model's question took the schema, sql, chart and
    // analysis steps once.
    for (step, count) in [("dataset", 1.0), ("save", 3.0), ("run", 3.0), ("schema", 1.0), ("sql", 1.0), ("analysis", 2.0), ("chart", 2.0)] {
        assert_eq!(get(&m, &format!(r#"quarry_question_step_duration_seconds_count{{step="{step}"}}"#)), count, "step {step}");
    }

    // The model: one 500 retried, then two answers; no completion failed for good.
    assert_eq!(get(&m, r#"quarry_model_requests_total{provider="openai",outcome="server_error"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_model_requests_total{provider="openai",outcome="ok"}"#), 2.0);
    assert_eq!(get(&m, r#"quarry_model_request_duration_seconds_count{provider="openai"}"#), 3.0);
    assert_eq!(sum(&m, "quarry_model_failures_total", &[]), 0.0);

    // Token checks: the anonymous request, and the session's requests accepted.
    assert_eq!(get(&m, r#"quarry_token_checks_total{outcome="missing"}"#), 1.0);
    // initialize, notifications/initialized, six tool calls.
    assert_eq!(get(&m, r#"quarry_token_checks_total{outcome="accepted"}"#), 8.0);

    // Requests by route template and status.
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/mcp",method="POST",status="401"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/mcp",method="POST",status="200"}"#), 7.0);
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/mcp",method="POST",status="202"}"#), 1.0, "the notification");
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/v1/oauth/token",method="POST",status="200"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/v1/oauth/register",method="POST",status="201"}"#), 1.0);
    assert_eq!(sum(&m, "quarry_http_requests_total", &[r#"route="unmatched""#, r#"status="404""#]), 2.0, "/no/such/page and /metrics");
    assert!(!text.contains("/no/such/page"), "raw paths never become labels");
    assert_eq!(get(&m, r#"quarry_http_request_duration_seconds_count{route="/mcp"}"#), 9.0);

    // Both pools, read at the scrape.
    for pool in ["main", "queries"] {
        let max = get(&m, &format!(r#"quarry_db_pool_max_connections{{pool="{pool}"}}"#));
        let open = get(&m, &format!(r#"quarry_db_pool_connections{{pool="{pool}"}}"#));
        let in_use = get(&m, &format!(r#"quarry_db_pool_in_use{{pool="{pool}"}}"#));
        assert_eq!(max, 16.0, "{pool}");
        assert!(open >= 1.0 && open <= max, "{pool}: {open} open");
        assert!(in_use <= open, "{pool}: {in_use} in use of {open}");
        assert_eq!(get(&m, &format!(r#"quarry_db_pool_waiting{{pool="{pool}"}}"#)), 0.0);
        assert_eq!(get(&m, &format!(r#"quarry_db_pool_timeouts_total{{pool="{pool}"}}"#)), 0.0);
    }
    assert!(text.contains(&format!(r#"quarry_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");

    // No secret reaches a label.
    for secret in [TOKEN, "sk-e2e", tokens["access_token"].as_str().unwrap(), &password] {
        assert!(!text.contains(secret), "a secret in the metrics");
    }
}

#[tokio::test]
async fn metrics_on_the_main_address_need_the_token_and_are_off_without_one() {
    // Neither an address nor a token: no metrics at all.
    let off = Sidecar::start().await;
    assert_eq!(scrape(&off.url("/metrics"), None).await.status(), 404);
    assert!(!off.logs().iter().any(|e| e["message"] == "metrics listening"));

    // Only a token: on the main address, to its bearers.
    let s = Sidecar::start_with(&[("QUARRY_METRICS_TOKEN", TOKEN)]).await;
    let refused = scrape(&s.url("/metrics"), None).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(scrape(&s.url("/metrics"), Some("not-the-metrics-token-at-all")).await.status(), 401);
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status(), 200);
    let scraped = scrape(&s.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(scraped.status(), 200);
    let m = samples(&scraped.text().await.unwrap());
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/healthz",method="GET",status="200"}"#), 1.0);
    assert_eq!(get(&m, r#"quarry_http_requests_total{route="/metrics",method="GET",status="401"}"#), 2.0);

    // A token too short to be safe, or an address that is not one, stops the sidecar at startup
    // as every configuration error does (exit status 2, the reason on stderr).
    for (name, value) in [("QUARRY_METRICS_TOKEN", "short"), ("QUARRY_METRICS_BIND", "localhost")] {
        let (status, _) = Sidecar::run_refused(&[(name, value)]).await;
        assert_eq!(status.code(), Some(2), "{name}={value}");
    }
}

#[tokio::test]
async fn idle_sessions_beyond_the_bound_leave_memory_and_come_back_when_used() {
    let s = Sidecar::start_with(&[("QUARRY_METRICS_BIND", "127.0.0.1:0"), ("QUARRY_METRICS_TOKEN", TOKEN), ("QUARRY_MCP_LIVE_SESSIONS", "2")]).await;
    let (team, _) = own_retail_dataset("E2E live sessions").await;
    let (_, email, password) = account(Some("retail_analyst"), &[&team]).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    // Five sessions, one after the other: each new one beyond two sends the oldest idle one out.
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let mut mcp = Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
        mcp.initialize().await;
        mcp.ok("list_teams", json!({})).await;
        sessions.push(mcp);
    }
    let evicted = |m: &BTreeMap<String, f64>| get(m, "quarry_mcp_sessions_evicted_total");
    let m = samples(&scrape(&metrics_url(&s), Some(TOKEN)).await.text().await.unwrap());
    assert_eq!(evicted(&m), 3.0, "sessions 1 to 3 left memory");

    // The first session still answers, under its own id: PostgreSQL brought it back (and that
    // sent the least recently used idle one out).
    let first = &mut sessions[0];
    let id = first.session_id.clone();
    let teams = first.ok("list_teams", json!({})).await;
    assert!(teams["teams"].as_array().unwrap().iter().any(|t| t["name"] == team.as_str()), "{teams}");
    assert_eq!(first.session_id, id);
    let m = samples(&scrape(&metrics_url(&s), Some(TOKEN)).await.text().await.unwrap());
    assert_eq!(evicted(&m), 4.0);
    // Every session still works, whether it was in memory or not.
    for mcp in &mut sessions {
        mcp.ok("list_teams", json!({})).await;
    }
}

/// Sessions leaving memory while many are made, brought back and used at once: a session is never
/// sent out between the steps of a request that is using it (its lookup, its restore, its
/// handshake), so every call is answered.
#[tokio::test]
async fn sessions_made_restored_and_used_all_at_once_are_never_lost_midway() {
    let s = Sidecar::start_with(&[("QUARRY_METRICS_BIND", "127.0.0.1:0"), ("QUARRY_METRICS_TOKEN", TOKEN), ("QUARRY_MCP_LIVE_SESSIONS", "2")]).await;
    let (team, _) = own_retail_dataset("E2E sessions at once").await;
    let (_, email, password) = account(Some("retail_analyst"), &[&team]).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let mut opened = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (url, token) = (s.url("/mcp"), token.clone());
        opened.spawn(async move {
            let mut mcp = Mcp::new(&url, Some(&token));
            mcp.initialize().await;
            mcp
        });
    }
    let sessions = opened.join_all().await;
    // Three rounds of calls in all two hundred at once: most sessions must come back from PostgreSQL,
    // while others are being made to leave.
    let mut calls = tokio::task::JoinSet::new();
    for mut mcp in sessions {
        calls.spawn(async move {
            for _ in 0..3 {
                let ran = mcp.call("run_sql", json!({ "sql": "SELECT 1 AS one" })).await;
                assert_ne!(ran["isError"], true, "{ran}");
            }
        });
    }
    calls.join_all().await;
    let m = samples(&scrape(&metrics_url(&s), Some(TOKEN)).await.text().await.unwrap());
    assert!(get(&m, "quarry_mcp_sessions_evicted_total") >= 198.0, "sessions left memory and came back");
}
