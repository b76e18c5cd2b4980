//! Real MCP clients against a real sidecar: the official Python SDK and TypeScript SDK (run as
//! programs from tests/clients) and rmcp's own client. Each goes discovery → registration → PKCE
//! authorization through the real sign-in and consent pages → token → tools.

use std::process::Stdio;

use quarry_e2e::oauth::{Browser, Consent};
use quarry_e2e::{Sidecar, account, admin, required_env};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::auth::AuthorizationCallback;
use rmcp::transport::streamable_http_client::{StreamableHttpClientTransportConfig, StreamableHttpError};
use rmcp::transport::{AuthClient, AuthorizationManager, StreamableHttpClientTransport};
use serde_json::Value;

const TOOLS: &[&str] = &[
    "create_dashboard", "delete_conversation", "describe_dataset", "get_conversation", "get_dashboard_pins",
    "list_conversations", "list_dashboards", "list_datasets", "list_models", "list_teams", "pin_to_dashboard",
    "rename_conversation", "run_query", "run_sql", "unpin",
];

/// Runs a client program and returns the JSON line it printed last.
async fn run_client(program: &str, args: &[&str], dir: &str) -> Value {
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON line in {stdout}"));
    serde_json::from_str(last).unwrap()
}

fn tool_names(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn python_sdk_with_step_up() {
    let s = Sidecar::start().await;
    let (account_id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let clients = required_env("QUARRY_E2E_CLIENTS");
    let python = required_env("QUARRY_E2E_PYTHON");
    let seen = run_client(&python, &["oauth_flow.py", &s.url("/mcp"), &email, &password], &clients).await;
    assert_eq!(seen["server"], "quarry");
    assert_eq!(seen["protocol"], "2025-11-25");
    assert_eq!(tool_names(&seen["tools"]), TOOLS);
    assert_eq!(seen["teams"], serde_json::json!(["Analytics"]));
    assert_eq!(seen["datasets"], serde_json::json!(["Retail"]));
    // The first consent granted only read; list_datasets then needed `datasets`, the server said
    // so with 403 insufficient_scope, and the SDK re-authorized by itself.
    assert_eq!(seen["first_scope"], "read");
    assert!(seen["final_scope"].as_str().unwrap().split(' ').any(|s| s == "datasets"), "{seen}");
    assert_eq!(seen["requested_scopes"].as_array().unwrap().len(), 2, "{seen}");
    let consent: Vec<String> = admin().await
        .query_one("SELECT scopes FROM quarry.oauth_consents WHERE account_id = $1 AND client_id = $2", &[&account_id, &seen["client_id"].as_str().unwrap()])
        .await.unwrap().get(0);
    assert!(consent.contains(&"datasets".to_string()));
}

#[tokio::test]
async fn typescript_sdk() {
    let s = Sidecar::start().await;
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics", "Finance"]).await;
    let clients = required_env("QUARRY_E2E_CLIENTS");
    let node = required_env("QUARRY_E2E_NODE");
    let seen = run_client(&node, &["oauth_flow.mjs", &s.url("/mcp"), &email, &password], &clients).await;
    assert_eq!(seen["server"], "quarry");
    assert_eq!(tool_names(&seen["tools"]), TOOLS);
    assert_eq!(seen["teams"], serde_json::json!(["Analytics", "Finance"]));
    assert!(seen["models"].as_array().unwrap().iter().any(|m| m == "builtin"));
    assert_eq!(seen["answer"]["status"], "answered");
    assert_eq!(seen["answer"]["rows"], serde_json::json!([[20000]]));
    assert_eq!(seen["answer"]["progress"], serde_json::json!([1, 2, 3, 4, 5, 6]));
    assert_eq!(seen["resource_sent"], s.url("/mcp"));
    assert_eq!(seen["pkce"], "S256");
    assert_eq!(seen["scope"], "read write datasets conversations");
    assert_eq!(seen["has_refresh_token"], true);
}

/// rmcp's own client: metadata discovery, registration, authorization URL (PKCE, state,
/// resource), the code exchange with issuer check, then MCP over an authorized transport, and a
/// step-up when a tool needs a scope the first grant left out.
#[tokio::test]
async fn rmcp_client_with_step_up() {
    let s = Sidecar::start().await;
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let redirect = "http://127.0.0.1:39873/callback";
    let browser = Browser::new(&s.base_url);

    let mut manager = AuthorizationManager::new(s.url("/mcp").as_str()).await.unwrap();
    let resolution = manager.resolve_metadata().await.unwrap();
    manager.set_metadata(resolution.metadata);
    let scopes = manager.select_initial_scopes(&[]).await;
    assert_eq!(scopes, ["read", "write", "datasets", "conversations"]);
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    manager.register_client("rmcp e2e", redirect, &scope_refs).await.unwrap();
    let url = manager.get_authorization_url(&scope_refs).await.unwrap();
    let back = browser.authorize(&url, &email, &password, Consent::Only(vec!["read".into()])).await;
    let callback = AuthorizationCallback::from_redirect_url(&back).unwrap();
    assert_eq!(callback.issuer.as_deref(), Some(s.base_url.as_str()));
    manager.exchange_code_for_token_with_issuer(&callback.code, &callback.csrf_token, callback.issuer.as_deref()).await.unwrap();

    let auth_client = AuthClient::new(reqwest::Client::default(), manager);
    let handle = auth_client.auth_manager.clone();
    let transport = StreamableHttpClientTransport::with_client(auth_client, StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")));
    let client = ().serve(transport).await.unwrap();
    assert_eq!(client.peer_info().unwrap().server_info.clone().unwrap().name, "quarry");
    let tools = client.list_tools(Default::default()).await.unwrap();
    let mut names: Vec<String> = tools.tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(names, TOOLS);
    let teams = client.call_tool(CallToolRequestParams::new("list_teams")).await.unwrap();
    assert_eq!(teams.is_error, Some(false));
    assert_eq!(teams.structured_content.unwrap()["teams"][0]["name"], "Analytics");

    // list_datasets needs `datasets`: 403 insufficient_scope, then a step-up.
    let error = client.call_tool(CallToolRequestParams::new("list_datasets")).await.expect_err("needs the datasets scope");
    let rmcp::ServiceError::TransportSend(sent) = &error else { panic!("{error:?}") };
    let Some(StreamableHttpError::InsufficientScope(needed)) = sent.error.downcast_ref::<StreamableHttpError<reqwest::Error>>() else {
        panic!("{error:?}")
    };
    let required = needed.required_scope.clone().unwrap();
    assert!(required.split(' ').any(|s| s == "datasets"), "{required}");
    let url = handle.lock().await.request_scope_upgrade(&required).await.unwrap();
    let back = browser.authorize(&url, &email, &password, Consent::All).await;
    let callback = AuthorizationCallback::from_redirect_url(&back).unwrap();
    handle.lock().await.exchange_code_for_token_with_issuer(&callback.code, &callback.csrf_token, callback.issuer.as_deref()).await.unwrap();
    let datasets = client.call_tool(CallToolRequestParams::new("list_datasets")).await.unwrap();
    assert_eq!(datasets.is_error, Some(false));
    assert_eq!(datasets.structured_content.unwrap()["datasets"][0]["name"], "Retail");
    client.cancel().await.unwrap();
}

/// A dataset answered by the client's own model: the official TypeScript SDK client answers
/// Quarry's sampling requests with a scripted model that writes a semantic query, and the answer
/// is computed from that query; a client without sampling gets the configured fallback (the
/// built-in planner, or a clear error when the fallback is none).
#[tokio::test]
async fn the_clients_own_model_answers_through_sampling() {
    let s = Sidecar::start().await;
    let admin = admin().await;
    let team = format!("E2E sampling {}", quarry_e2e::random_hex(4));
    let team_id: i64 = admin.query_one("SELECT quarry.create_team($1)", &[&team]).await.unwrap().get(0);
    let dataset: i64 = admin.query_one("SELECT quarry.create_dataset($1, 'Shop', ARRAY['retail'])", &[&team_id]).await.unwrap().get(0);
    // The same semantic model as the demo's Retail dataset, so revenue keeps its definition.
    admin
        .execute(
            "SELECT quarry.import_semantic_model($1, quarry.export_semantic_model((SELECT id FROM quarry.datasets WHERE name = 'Retail')))",
            &[&dataset],
        )
        .await
        .unwrap();
    let config: i64 = admin
        .query_one(
            "SELECT quarry.create_model_config($1, 'Client model', 'sampling', 'claude-sonnet', options => '{\"fallback\": \"builtin\"}')",
            &[&team_id],
        )
        .await
        .unwrap()
        .get(0);
    admin.execute("SELECT quarry.set_dataset_model($1, $2)", &[&dataset, &config]).await.unwrap();
    let (account_id, email, password) = account(Some("retail_analyst"), &[&team]).await;
    let (tokens, _) = quarry_e2e::oauth::tokens_for(&s.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str().unwrap();
    let clients = required_env("QUARRY_E2E_CLIENTS");
    let node = required_env("QUARRY_E2E_NODE");
    let question = "What did each sales channel bring in?";
    let expected = admin
        .query_one(
            "SELECT quarry.execute_for($1, $2, 'SELECT o.channel, sum(l.quantity * l.unit_price * (1 - l.discount)) FROM retail.order_lines l \
             JOIN retail.orders o ON o.id = l.order_id WHERE o.status NOT IN (''cancelled'', ''returned'') GROUP BY 1 ORDER BY 2 DESC', 100, 1048576)::jsonb",
            &[&account_id, &dataset],
        )
        .await
        .unwrap()
        .get::<_, Value>(0)["rows"]
        .clone();

    let seen = run_client(&node, &["sampling.mjs", &s.url("/mcp"), token, question, "sample"], &clients).await;
    let answer = &seen["answer"];
    assert_eq!(seen["is_error"], false, "{seen}");
    assert_eq!(answer["status"], "answered", "{seen}");
    assert_eq!(answer["model"]["provider"], "sampling");
    assert_eq!(answer["semantic_query"]["measures"][0]["measure"], "order_lines.revenue");
    assert_eq!(answer["result"]["rows"], expected, "computed from the semantic query the client's model wrote");
    assert!(answer["interpretation"].as_str().unwrap().contains("cancelled"), "{answer}");
    // One sampling request per question: the SQL; the analysis is the built-in one.
    let requests = seen["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{seen}");
    assert_eq!(requests[0]["question"], question);
    assert_eq!(requests[0]["hints"], serde_json::json!(["claude-sonnet"]));

    // Without sampling, the configured fallback: the built-in planner.
    let seen = run_client(&node, &["sampling.mjs", &s.url("/mcp"), token, "Revenue by channel", "plain"], &clients).await;
    assert_eq!(seen["answer"]["status"], "answered", "{seen}");
    assert_eq!(seen["answer"]["model"]["provider"], "builtin");
    assert_eq!(seen["answer"]["result"]["rows"], expected);
    assert!(seen["requests"].as_array().unwrap().is_empty());

    // With no fallback, a clear tool error that says what to do.
    admin
        .execute("UPDATE quarry.model_configs SET options = '{\"fallback\": \"none\"}' WHERE id = $1", &[&config])
        .await
        .unwrap();
    let seen = run_client(&node, &["sampling.mjs", &s.url("/mcp"), token, "Revenue by channel", "plain"], &clients).await;
    assert_eq!(seen["is_error"], true, "{seen}");
    assert!(seen["text"].as_str().unwrap().contains("does not offer sampling"), "{seen}");
}
