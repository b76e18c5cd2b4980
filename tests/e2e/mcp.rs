//! The MCP server over real HTTP with real OAuth tokens: the resource server's answers (401, 403,
//! 404), sessions bound to their account and client, every tool with its structured content
//! checked against its declared output schema, team isolation, bad arguments, pins re-run under
//! each caller's role, the audit log, Host/Origin checks, and the capabilities declared (tools
//! only; prompts, resources and completions are -32601).

use std::collections::HashMap;

use quarry_e2e::mcp::{Mcp, messages};
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, http};
use serde_json::{Value, json};

/// The tools of this release and the scopes each needs.
const TOOLS: &[(&str, &str)] = &[
    ("list_teams", "read"),
    ("list_models", "read"),
    ("list_datasets", "datasets"),
    ("describe_dataset", "datasets"),
    ("list_conversations", "conversations"),
    ("get_conversation", "conversations"),
    ("rename_conversation", "write conversations"),
    ("delete_conversation", "write conversations"),
    ("list_dashboards", "read"),
    ("get_dashboard_pins", "read"),
    ("create_dashboard", "write"),
    ("pin_to_dashboard", "write"),
    ("unpin", "write"),
    ("run_query", "write"),
    ("run_sql", "write"),
];

/// A signed-in MCP session for a fresh account with these teams and this role.
async fn session(s: &Sidecar, role: Option<&str>, teams: &[&str], scope: Option<&str>) -> (Mcp, i64) {
    let (id, email, password) = account(role, teams).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, scope).await;
    let mut mcp = Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
    mcp.initialize().await;
    (mcp, id)
}

async fn tool_schemas(mcp: &mut Mcp) -> HashMap<String, Value> {
    let (_, list, body) = mcp.request("tools/list", json!({})).await;
    let list = list.unwrap_or_else(|| panic!("{body}"));
    list["result"]["tools"].as_array().unwrap().iter().map(|t| (t["name"].as_str().unwrap().to_string(), t.clone())).collect()
}

fn assert_matches_schema(tool: &str, schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{tool}: invalid output schema: {e}"));
    // The schema says something: it requires fields, so an empty object does not pass.
    assert!(!validator.is_valid(&json!({})), "{tool}: the output schema accepts anything");
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "{tool}: structured content does not match its output schema: {errors:?}\n{instance}");
}

/// A conversation with a question and its answer, made through the SQL API as the pipeline does.
async fn conversation(account_id: i64, dataset: &str) -> i64 {
    let admin = admin().await;
    let dataset_id: i64 = admin
        .query_one("SELECT id FROM quarry.datasets WHERE name = $1", &[&dataset])
        .await
        .unwrap()
        .get(0);
    let id: i64 = admin
        .query_one("SELECT quarry.start_conversation($1, $2, 'How many orders are there?')", &[&account_id, &dataset_id])
        .await
        .unwrap()
        .get(0);
    for (kind, content) in [
        ("question", json!({"text": "How many orders are there?"})),
        ("sql", json!({"sql": "SELECT count(*) AS orders FROM retail.orders", "attempt": 1, "model": "builtin"})),
        ("result", json!({"columns": [{"name": "orders", "type": "bigint"}], "rows": [[120000]], "row_count": 1, "truncated": false})),
        ("chart", json!({"type": "single_value", "spec": {"mark": "text"}})),
        ("analysis", json!({"text": "There are 120,000 orders."})),
    ] {
        admin.execute("SELECT quarry.add_block($1, $2, $3, $4)", &[&account_id, &id, &kind, &content]).await.unwrap();
    }
    id
}

#[tokio::test]
async fn tools_declare_descriptions_schemas_and_annotations() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let tools = tool_schemas(&mut mcp).await;
    for (name, _) in TOOLS {
        let tool = tools.get(*name).unwrap_or_else(|| panic!("{name} is missing"));
        assert!(tool["description"].as_str().is_some_and(|d| d.len() > 20), "{name}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let hints = &tool["annotations"];
        assert!(hints["readOnlyHint"].is_boolean() && hints["destructiveHint"].is_boolean(), "{name}: {hints}");
        let read_only = name.starts_with("list_") || name.starts_with("get_") || *name == "describe_dataset";
        assert_eq!(hints["readOnlyHint"], read_only, "{name}");
    }
    assert_eq!(tools["delete_conversation"]["annotations"]["destructiveHint"], true);
}

#[tokio::test]
async fn every_tool_returns_what_its_schema_says() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics", "Finance"], None).await;
    let tools = tool_schemas(&mut mcp).await;
    let convo = conversation(me, "Retail").await;
    let analytics: i64 = admin().await.query_one("SELECT quarry.team_id('Analytics')", &[]).await.unwrap().get(0);
    let retail: i64 = admin().await.query_one("SELECT id FROM quarry.datasets WHERE name = 'Retail'", &[]).await.unwrap().get(0);

    let mut check = async |tool: &str, args: Value| -> Value {
        let result = mcp.call(tool, args).await;
        assert_eq!(result["isError"], false, "{tool}: {result}");
        assert!(result["content"][0]["text"].as_str().is_some_and(|t| !t.is_empty()), "{tool}: a readable rendering");
        assert_matches_schema(tool, &tools[tool]["outputSchema"], &result["structuredContent"]);
        result["structuredContent"].clone()
    };

    let teams = check("list_teams", json!({})).await;
    assert_eq!(teams["teams"].as_array().unwrap().len(), 2);
    let models = check("list_models", json!({})).await;
    assert!(models["models"].as_array().unwrap().iter().any(|m| m["provider"] == "builtin" && m["available"] == true));
    for detail in ["names", "summary", "full"] {
        let listing = check("list_datasets", json!({"detail": detail})).await;
        let retail_listing = listing["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "Retail").unwrap();
        assert_eq!(retail_listing["collections_total"], 8, "{detail}");
        // Statistics count rows hidden by row-level security: they are not shown (as pg_stats would not).
        assert!(!listing.to_string().contains("distinct_values"), "{detail}");
    }
    let paged = check("list_datasets", json!({"detail": "names", "name_filter": "order", "page_size": 1, "page_offset": 1})).await;
    let retail_page = paged["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "Retail").unwrap();
    assert_eq!(retail_page["collections_total"], 3, "order_details, order_lines, orders");
    assert_eq!(retail_page["collections"][0]["name"], "order_lines");
    let described = check("describe_dataset", json!({"dataset_id": retail, "name_filter": "orders"})).await;
    assert_eq!(described["collections"][0]["fields"][0]["name"], "id");
    assert!(described["glossary"].as_array().unwrap().iter().any(|g| g["term"] == "revenue"));
    assert_eq!(described["examples"].as_array().unwrap().len(), 3);

    let list = check("list_conversations", json!({"dataset_id": retail})).await;
    assert_eq!(list["total"], 1);
    let thread = check("get_conversation", json!({"conversation_id": convo})).await;
    let kinds: Vec<&str> = thread["blocks"].as_array().unwrap().iter().map(|b| b["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["question", "sql", "result", "chart", "analysis"]);
    let renamed = check("rename_conversation", json!({"conversation_id": convo, "title": "Order count"})).await;
    assert_eq!(renamed["title"], "Order count");

    let board = check("create_dashboard", json!({"team_id": analytics, "name": format!("Board {me}"), "label": "KPIs", "color": "#0EA5E9"})).await;
    assert_eq!(board["color"], "#0ea5e9");
    let pin = check("pin_to_dashboard", json!({"dashboard_id": board["id"], "conversation_id": convo})).await;
    assert_eq!(pin["question"], "How many orders are there?");
    assert_eq!(pin["sql"], "SELECT count(*) AS orders FROM retail.orders");
    assert_eq!(pin["analysis"], "There are 120,000 orders.");
    let boards = check("list_dashboards", json!({"team_id": analytics})).await;
    assert!(boards["dashboards"].as_array().unwrap().iter().any(|d| d["id"] == board["id"] && d["pins"] == 1));
    let pins = check("get_dashboard_pins", json!({"dashboard_id": board["id"], "rerun": true})).await;
    assert_eq!(pins["pins"][0]["result"]["rows"], json!([[120000]]));
    let asked = check("run_query", json!({"question": "Total amount of orders by channel", "return_image": true})).await;
    assert_eq!((&asked["status"], &asked["chart"]["type"]), (&json!("answered"), &json!("bar")));
    let ran = check("run_sql", json!({"sql": "SELECT code, name FROM retail.regions ORDER BY id", "dataset_id": retail})).await;
    assert_eq!(ran["result"]["rows"][0], json!(["NA", "North America"]));
    assert_eq!(ran["chart"]["type"], "table");
    let unpinned = check("unpin", json!({"pin_id": pin["id"]})).await;
    assert_eq!(unpinned["deleted"], pin["id"]);
    let deleted = check("delete_conversation", json!({"conversation_id": convo})).await;
    assert_eq!(deleted["deleted"], convo);
    assert!(mcp.tool_error("get_conversation", json!({"conversation_id": convo})).await.contains("does not exist"));
}

#[tokio::test]
async fn scopes_are_enforced_before_the_mcp_layer() {
    let s = Sidecar::start().await;
    let metadata = s.url("/.well-known/oauth-protected-resource/mcp");
    for granted in ["read", "datasets", "conversations", "write"] {
        let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], Some(granted)).await;
        let (status, _, _) = mcp.request("tools/list", json!({})).await;
        assert_eq!(status, 200, "any valid token may list the tools");
        for (tool, needed) in TOOLS {
            let response = mcp
                .post(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": tool, "arguments": {}}}))
                .send()
                .await
                .unwrap();
            let allowed = needed.split(' ').all(|n| n == granted);
            if allowed {
                assert_eq!(response.status(), 200, "{granted} may call {tool}");
                continue;
            }
            assert_eq!(response.status(), 403, "{granted} may not call {tool}");
            let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
            let order = ["read", "write", "datasets", "conversations"];
            let wanted: Vec<&str> = order.iter().copied().filter(|s| *s == granted || needed.split(' ').any(|n| n == *s)).collect();
            assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
            assert!(challenge.contains(&format!("scope=\"{}\"", wanted.join(" "))), "{tool} with {granted}: {challenge}");
            assert!(challenge.contains(&format!("resource_metadata=\"{metadata}\"")), "{challenge}");
        }
    }
}

#[tokio::test]
async fn sessions_belong_to_their_account_and_client() {
    let s = Sidecar::start().await;
    let (mut mine, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let session_id = mine.session_id.clone().expect("a session id");
    assert!(session_id.len() >= 32, "unguessable: {session_id}");
    let (status, _, _) = mine.request("tools/list", json!({})).await;
    assert_eq!(status, 200);

    // Another account presenting this session id: as if it did not exist.
    let (mut theirs, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    theirs.session_id = Some(session_id.clone());
    assert_eq!(theirs.request("tools/list", json!({})).await.0, 404);
    // The same account through another client: likewise.
    let owner: String = admin().await
        .query_one("SELECT a.email FROM quarry.mcp_sessions s JOIN quarry.accounts a ON a.id = s.account_id WHERE s.session_id = $1", &[&session_id])
        .await.unwrap().get(0);
    let (other_client, _) = tokens_for(&s.base_url, &owner, "e2e password 1234", None).await;
    let mut same_person = Mcp::new(&s.url("/mcp"), other_client["access_token"].as_str());
    same_person.session_id = Some(session_id.clone());
    assert_eq!(same_person.request("tools/list", json!({})).await.0, 404);
    // An unknown session id.
    let mut unknown = Mcp::new(&s.url("/mcp"), other_client["access_token"].as_str());
    unknown.session_id = Some("0c1d2e3f-0000-4000-8000-000000000000".into());
    assert_eq!(unknown.request("tools/list", json!({})).await.0, 404);

    // Notifications are accepted with 202; DELETE ends the session.
    let note = mine.post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}})).send().await.unwrap();
    assert_eq!(note.status(), 202);
    let mut delete = http().delete(s.url("/mcp")).header("mcp-session-id", &session_id);
    delete = delete.bearer_auth(mine.token.as_deref().unwrap());
    assert!(delete.send().await.unwrap().status().is_success());
    assert_eq!(mine.request("tools/list", json!({})).await.0, 404);
    let ended: bool = admin().await
        .query_one("SELECT ended_at IS NOT NULL FROM quarry.mcp_sessions WHERE session_id = $1", &[&session_id]).await.unwrap().get(0);
    assert!(ended);
}

#[tokio::test]
async fn sessions_survive_a_sidecar_restart() {
    let a = Sidecar::start().await;
    let (mut mcp, _) = session(&a, Some("retail_analyst"), &["Analytics"], None).await;
    let session_id = mcp.session_id.clone().unwrap();
    let port = a.base_url.rsplit(':').next().unwrap().to_string();
    assert_eq!(a.terminate().await.code(), Some(0));
    // A new process on the same address serves the same session from PostgreSQL.
    let b = Sidecar::start_with(&[("QUARRY_BIND", &format!("127.0.0.1:{port}"))]).await;
    assert_eq!(b.base_url, format!("http://127.0.0.1:{port}"));
    assert_eq!(mcp.session_id.as_deref(), Some(session_id.as_str()));
    let teams = mcp.ok("list_teams", json!({})).await;
    assert_eq!(teams["teams"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn one_teams_things_are_invisible_to_another() {
    let s = Sidecar::start().await;
    let (mut analyst, analyst_id) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let (mut outsider, _) = session(&s, Some("retail_analyst"), &["Finance"], None).await;
    let analytics: i64 = admin().await.query_one("SELECT quarry.team_id('Analytics')", &[]).await.unwrap().get(0);
    let board = analyst.ok("create_dashboard", json!({"team_id": analytics, "name": format!("Private {analyst_id}")})).await;
    let convo = conversation(analyst_id, "Retail").await;
    let pin = analyst.ok("pin_to_dashboard", json!({"dashboard_id": board["id"], "conversation_id": convo})).await;

    let theirs = outsider.ok("list_dashboards", json!({})).await;
    assert!(!theirs["dashboards"].as_array().unwrap().iter().any(|d| d["id"] == board["id"]));
    for (tool, args) in [
        ("get_dashboard_pins", json!({"dashboard_id": board["id"]})),
        ("get_conversation", json!({"conversation_id": convo})),
        ("rename_conversation", json!({"conversation_id": convo, "title": "mine now"})),
        ("delete_conversation", json!({"conversation_id": convo})),
        ("unpin", json!({"pin_id": pin["id"]})),
        ("list_dashboards", json!({"team_id": analytics})),
        ("create_dashboard", json!({"team_id": analytics, "name": "intruder"})),
    ] {
        let message = outsider.tool_error(tool, args).await;
        assert!(message.contains("does not exist") || message.contains("not a member"), "{tool}: {message}");
    }
    let lists = outsider.ok("list_conversations", json!({})).await;
    assert_eq!(lists["total"], 0);
    let datasets = outsider.ok("list_datasets", json!({"detail": "names"})).await;
    let names: Vec<&str> = datasets["datasets"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Revenue"]);
    // Still there for the analyst.
    assert_eq!(analyst.ok("get_dashboard_pins", json!({"dashboard_id": board["id"]})).await["pins"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_arguments_get_clear_tool_errors() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    for (tool, args, expected) in [
        ("get_conversation", json!({"conversation_id": 987654321}), "does not exist"),
        ("get_conversation", json!({"conversation_id": "abc"}), "invalid type"),
        ("get_conversation", json!({}), "missing field"),
        ("describe_dataset", json!({"dataset_id": 987654321}), "does not exist"),
        ("list_datasets", json!({"page_size": 100000}), "page_size must be between 1 and 200"),
        ("list_datasets", json!({"page_offset": -1}), "page_offset"),
        ("list_datasets", json!({"detail": "everything"}), "unknown variant"),
        ("list_datasets", json!({"surprise": true}), "unknown field"),
        ("list_conversations", json!({"page_size": 0}), "page_size"),
        ("create_dashboard", json!({"team_id": 1, "name": "x", "color": "red"}), "color"),
        ("create_dashboard", json!({"team_id": 1, "name": ""}), "must not be empty"),
        ("get_dashboard_pins", json!({"dashboard_id": 987654321}), "does not exist"),
        ("unpin", json!({"pin_id": -5}), "does not exist"),
        ("rename_conversation", json!({"conversation_id": 987654321, "title": "x"}), "does not exist"),
    ] {
        let message = mcp.tool_error(tool, args.clone()).await;
        assert!(message.contains(expected), "{tool} {args}: {message}");
        assert!(!message.contains("panicked") && !message.contains("SQLSTATE") && !message.contains(".rs:"), "{message}");
    }
    let (status, response, _) = mcp.request("tools/call", json!({"name": "no_such_tool", "arguments": {}})).await;
    assert_eq!(status, 200);
    assert!(response.unwrap()["error"]["code"].is_i64(), "an unknown tool is a protocol error");
}

#[tokio::test]
async fn pins_rerun_under_each_callers_role() {
    let s = Sidecar::start().await;
    let (mut analyst, analyst_id) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let (mut manager, _) = session(&s, Some("retail_emea_manager"), &["Analytics"], None).await;
    let analytics: i64 = admin().await.query_one("SELECT quarry.team_id('Analytics')", &[]).await.unwrap().get(0);
    let board = analyst.ok("create_dashboard", json!({"team_id": analytics, "name": format!("Orders {analyst_id}")})).await;
    let convo = conversation(analyst_id, "Retail").await;
    analyst.ok("pin_to_dashboard", json!({"dashboard_id": board["id"], "conversation_id": convo})).await;

    let emea: i64 = admin().await
        .query_one("SELECT count(*) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id WHERE r.code = 'EMEA'", &[])
        .await.unwrap().get(0);
    let seen_by_analyst = analyst.ok("get_dashboard_pins", json!({"dashboard_id": board["id"], "rerun": true})).await;
    assert_eq!(seen_by_analyst["pins"][0]["result"]["rows"], json!([[120000]]));
    let seen_by_manager = manager.ok("get_dashboard_pins", json!({"dashboard_id": board["id"], "rerun": true})).await;
    assert_eq!(seen_by_manager["pins"][0]["result"]["rows"], json!([[emea]]), "row-level security decides");
    // Without rerun, the pinning analyst's role sees the stored answer and nothing runs; the
    // manager's role differs, so the pin runs again under it (see tests/e2e/guard.rs).
    let stored = analyst.ok("get_dashboard_pins", json!({"dashboard_id": board["id"]})).await;
    assert_eq!(stored["pins"][0]["computed_for_you"], json!(true));
    assert!(stored["pins"][0].get("result").is_none());
    let for_manager = manager.ok("get_dashboard_pins", json!({"dashboard_id": board["id"]})).await;
    assert_eq!(for_manager["pins"][0]["computed_for_you"], json!(false));
    assert_eq!(for_manager["pins"][0]["result"]["rows"], json!([[emea]]));
}

#[tokio::test]
async fn every_call_is_audited() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    mcp.ok("list_teams", json!({})).await;
    mcp.tool_error("get_conversation", json!({"conversation_id": 987654321})).await;
    let rows = admin().await
        .query("SELECT action, outcome, arguments, duration_ms, client_id, error FROM quarry.audit_log WHERE account_id = $1 ORDER BY id", &[&me])
        .await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].get::<_, String>(0), rows[0].get::<_, String>(1)), ("list_teams".into(), "ok".into()));
    assert_eq!((rows[1].get::<_, String>(0), rows[1].get::<_, String>(1)), ("get_conversation".into(), "error".into()));
    assert_eq!(rows[1].get::<_, Value>(2), json!({"conversation_id": 987654321}));
    assert!(rows[0].get::<_, f64>(3) >= 0.0);
    assert!(rows[0].get::<_, String>(4).starts_with("qci_"));
    assert!(rows[1].get::<_, String>(5).contains("does not exist"));
}

#[tokio::test]
async fn host_origin_and_size_are_checked() {
    let s = Sidecar::start().await;
    let (mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let evil_host = mcp.post(&list).header("host", "evil.example").send().await.unwrap();
    assert_eq!(evil_host.status(), 403);
    let evil_origin = mcp.post(&list).header("origin", "http://evil.example").send().await.unwrap();
    assert_eq!(evil_origin.status(), 403);
    let own_origin = mcp.post(&list).header("origin", &s.base_url).send().await.unwrap();
    assert_eq!(own_origin.status(), 200);
    let huge = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_teams", "arguments": {"x": "y".repeat(2 * 1024 * 1024)}}});
    assert_eq!(mcp.post(&huge).send().await.unwrap().status(), 413);
}

#[tokio::test]
async fn the_stateless_2026_revision_is_served() {
    let s = Sidecar::start().await;
    let (mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let post = |body: Value, method: &str, name: Option<&str>| {
        let mut r = http()
            .post(s.url("/mcp"))
            .bearer_auth(mcp.token.as_deref().unwrap())
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .json(&body);
        if let Some(name) = name {
            r = r.header("mcp-name", name);
        }
        r.send()
    };
    let discover = post(json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}), "server/discover", None).await.unwrap();
    assert_eq!(discover.status(), 200);
    assert!(discover.headers().get("mcp-session-id").is_none(), "stateless");
    let body = discover.text().await.unwrap();
    let answer = messages(&body).into_iter().find(|m| m["id"] == 1).unwrap();
    assert!(answer["result"]["supportedVersions"].as_array().unwrap().iter().any(|v| v == "2026-07-28"), "{answer}");
    let call = post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_teams", "arguments": {}, "_meta": meta}}), "tools/call", Some("list_teams"))
        .await.unwrap();
    assert_eq!(call.status(), 200);
    let body = call.text().await.unwrap();
    let answer = messages(&body).into_iter().find(|m| m["id"] == 2).unwrap();
    assert_eq!(answer["result"]["structuredContent"]["teams"][0]["name"], "Analytics", "{answer}");
}

/// The server declares tools only, and says so consistently: rmcp's client sees only the tools
/// capability, and its prompts, resources, resource templates and completion requests get
/// -32601 (method not found) rather than empty lists; the stateless 2026-07-28 revision's
/// `server/discover` declares the same and answers the same.
#[tokio::test]
async fn only_tools_are_declared_and_the_rest_is_method_not_found() {
    use rmcp::ServiceExt;
    use rmcp::model::{ArgumentInfo, CompleteRequestParams, ErrorCode, GetPromptRequestParams, Reference};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let s = Sidecar::start().await;
    let (mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let token = mcp.token.clone().unwrap();
    let transport = StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(s.url("/mcp")).auth_header(token.clone()));
    let client = ().serve(transport).await.unwrap();
    let declared = client.peer_info().unwrap().capabilities.clone();
    assert!(declared.tools.is_some(), "{declared:?}");
    assert!(declared.prompts.is_none() && declared.resources.is_none() && declared.completions.is_none() && declared.logging.is_none(), "{declared:?}");
    assert!(!client.list_tools(Default::default()).await.unwrap().tools.is_empty());

    let not_found = |result: Result<(), rmcp::ServiceError>, method: &str| match result {
        Err(rmcp::ServiceError::McpError(e)) => assert_eq!(e.code, ErrorCode::METHOD_NOT_FOUND, "{method}: {e:?}"),
        other => panic!("{method}: {other:?}"),
    };
    not_found(client.list_prompts(None).await.map(drop), "prompts/list");
    not_found(client.get_prompt(GetPromptRequestParams::new("anything")).await.map(drop), "prompts/get");
    not_found(client.list_resources(None).await.map(drop), "resources/list");
    not_found(client.list_resource_templates(None).await.map(drop), "resources/templates/list");
    let complete = CompleteRequestParams::new(Reference::for_prompt("anything"), ArgumentInfo::new("q", "x"));
    not_found(client.complete(complete).await.map(drop), "completion/complete");
    // The session still works after the refusals.
    assert!(!client.list_tools(Default::default()).await.unwrap().tools.is_empty());
    client.cancel().await.unwrap();

    // The same in the stateless revision.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let post = |id: i64, method: &str| {
        http()
            .post(s.url("/mcp"))
            .bearer_auth(&token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"_meta": meta}}))
            .send()
    };
    let body = post(1, "server/discover").await.unwrap().text().await.unwrap();
    let discover = messages(&body).into_iter().find(|m| m["id"] == 1).unwrap();
    let capabilities = discover["result"]["capabilities"].as_object().unwrap_or_else(|| panic!("{discover}"));
    assert!(capabilities.contains_key("tools"), "{discover}");
    for other in ["prompts", "resources", "completions", "logging"] {
        assert!(!capabilities.contains_key(other), "{other} declared: {discover}");
    }
    for (id, method) in [(2, "prompts/list"), (3, "resources/list"), (4, "resources/templates/list")] {
        let body = post(id, method).await.unwrap().text().await.unwrap();
        let answer = messages(&body).into_iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("{method}: {body}"));
        assert_eq!(answer["error"]["code"], -32601, "{method}: {answer}");
    }
}
