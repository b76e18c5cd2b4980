//! The SQLBot-compatible front (`QUARRY_SQLBOT_COMPAT=true`): every example of SQLBot's MCP page
//! replayed with the demo's credentials, over MCP with the official Python SDK and as plain HTTP
//! POSTs, streamed and not, with and without the chart image; the token a real, listed and
//! revocable Quarry token; assistants answered only for their URL and secret; and each error case
//! in SQLBot's shape, changing nothing. Off (the default), none of its paths exists.

use std::process::Stdio;

use quarry_e2e::{Sidecar, account, admin, http, required_env};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOOLS: [&str; 6] = ["mcp_start", "mcp_question", "mcp_ws_list", "mcp_datasource_list", "mcp_assistant", "get_model_list"];
/// The question of SQLBot's page.
const QUESTION: &str = "What were total sales by region last month?";

/// Turning the front off in the database (`quarry.configure_sqlbot`) affects every test of this
/// file: that test holds this for writing, the others for reading.
static SETTINGS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn front() -> Sidecar {
    Sidecar::start_with(&[("QUARRY_SQLBOT_COMPAT", "true")]).await
}

fn demo() -> (String, String) {
    ("demo@quarry.local".to_string(), required_env("QUARRY_DEMO_PASSWORD"))
}

/// (Analytics team id, Finance team id, Retail dataset id)
async fn ids() -> (i64, i64, i64) {
    let row = admin()
        .await
        .query_one(
            "SELECT quarry.team_id('Analytics'), quarry.team_id('Finance'), quarry.dataset_id(quarry.team_id('Analytics'), 'Retail')",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// A new assistant of Analytics for Retail: (url, secret).
async fn assistant(retail: i64) -> (String, String) {
    let tag = quarry_e2e::random_hex(6);
    let url = format!("https://crm-{tag}.example.com/embed");
    let secret = format!("assistant secret {tag}");
    admin()
        .await
        .execute(
            "SELECT quarry.create_assistant($1, quarry.team_id('Analytics'), ARRAY[$2::bigint], 'retail_analyst', $3, $4, NULL, 'en')",
            &[&format!("CRM {tag}"), &retail, &url, &secret],
        )
        .await
        .unwrap();
    (url, secret)
}

/// The client address this test process claims (a sidecar that trusts X-Forwarded-For counts
/// failures against it, so that this file's failures leave 127.0.0.1's count to other tests).
fn address() -> &'static str {
    static ADDRESS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDRESS.get_or_init(|| {
        let mut b = [0u8; 3];
        getrandom::fill(&mut b).unwrap();
        format!("10.{}.{}.{}", b[0], b[1], b[2].max(1))
    })
}

async fn post(s: &Sidecar, op: &str, body: Value) -> (StatusCode, Value) {
    let r = http().post(s.url(&format!("/sqlbot/mcp/{op}"))).header("x-forwarded-for", address()).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{op} answered {status} with {text}")))
}

/// A streamed answer: its content type, and its events (name, data).
async fn post_stream(s: &Sidecar, op: &str, body: Value) -> (StatusCode, String, Vec<(String, Value)>) {
    let r = http().post(s.url(&format!("/sqlbot/mcp/{op}"))).json(&body).send().await.unwrap();
    let status = r.status();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = r.text().await.unwrap();
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if !data.is_empty() {
            events.push((name, serde_json::from_str(&data).unwrap()));
        }
    }
    (status, kind, events)
}

fn is_png_data_url(v: &Value) -> bool {
    use base64::Engine;
    let Some(rest) = v.as_str().and_then(|s| s.strip_prefix("data:image/png;base64,")) else { return false };
    base64::engine::general_purpose::STANDARD.decode(rest).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

/// What the front keeps of these accounts: tokens of the front, chats, conversations.
async fn counts(accounts: &[i64]) -> (i64, i64, i64) {
    let row = admin()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM quarry.oauth_tokens WHERE client_id = 'sqlbot' AND account_id = ANY ($1)),
                    (SELECT count(*) FROM quarry.sqlbot_chats WHERE account_id = ANY ($1)),
                    (SELECT count(*) FROM quarry.conversations WHERE account_id = ANY ($1))",
            &[&accounts],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn python_sdk_replays_the_seed_over_mcp() {
    let _settings = SETTINGS.read().await;
    let s = front().await;
    let (analytics, _, retail) = ids().await;
    let (url, secret) = assistant(retail).await;
    let (email, password) = demo();
    let clients = required_env("QUARRY_E2E_CLIENTS");
    let python = required_env("QUARRY_E2E_PYTHON");
    let args = [
        "sqlbot.py".to_string(), s.url("/sqlbot/mcp"), email, password, retail.to_string(), analytics.to_string(), url, secret,
    ];
    let output = tokio::process::Command::new(&python).args(&args).current_dir(&clients).stdin(Stdio::null()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "sqlbot.py failed\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_str(stdout.lines().rev().find(|l| l.starts_with('{')).unwrap()).unwrap();

    assert_eq!(seen["server"], "SQLBot MCP Server");
    assert_eq!(seen["tools"], json!(TOOLS));
    let schema = &seen["question_schema"];
    assert_eq!(schema["required"], json!(["token", "chat_id", "question"]));
    assert_eq!(schema["properties"]["stream"]["default"], true);
    assert_eq!(schema["properties"]["return_img"]["default"], true);
    assert_eq!(schema["properties"]["lang"]["default"], "zh-CN");

    let start = &seen["start"]["body"];
    assert_eq!(seen["start"]["error"], false);
    assert!(start["access_token"].as_str().unwrap().starts_with("qat_"), "{start}");
    assert!(start["chat_id"].is_i64(), "{start}");
    let workspaces = seen["ws_list"]["body"].as_array().unwrap();
    assert!(workspaces.contains(&json!({ "id": analytics, "name": "Analytics" })), "{workspaces:?}");
    let datasources = seen["datasource_list"]["body"].as_array().unwrap();
    assert!(datasources.iter().all(|d| d["oid"] == analytics), "{datasources:?}");
    assert!(datasources.iter().any(|d| d["id"] == retail && d["name"] == "Retail"), "{datasources:?}");

    // The page's body (stream false, return_img false): data, no image.
    let q = &seen["question"];
    assert_eq!(q["error"], false, "{q}");
    assert_eq!(q["body"]["success"], true, "{q}");
    assert_eq!(q["body"]["chat_id"], start["chat_id"]);
    assert_eq!(q["body"]["datasource_id"], retail);
    assert!(q["body"]["sql"].as_str().unwrap().to_lowercase().contains("select"), "{q}");
    assert!(!q["body"]["data"]["fields"].as_array().unwrap().is_empty(), "{q}");
    assert!(q["body"].get("image_url").is_none(), "{q}");
    assert_eq!(q["content"], json!(["text"]));

    // The defaults: progress while it works, and the chart as a PNG (a block and a data: URL).
    let st = &seen["streamed"];
    assert_eq!(st["body"]["success"], true, "{st}");
    assert!(!seen["progress"].as_array().unwrap().is_empty(), "no progress notification: {seen}");
    assert_eq!(seen["streamed_png"], true, "{st}");
    assert!(is_png_data_url(&st["body"]["image_url"]));
    assert_eq!(st["content"], json!(["text", "image"]));
    // Both questions in one chat: one conversation.
    assert_eq!(st["body"]["conversation_id"], q["body"]["conversation_id"]);

    let models = seen["models"]["body"].as_array().unwrap();
    assert!(models.iter().any(|m| m["supplier"] == "builtin"), "{models:?}");
    assert!(models.iter().all(|m| m.get("api_key").is_none() && m.get("api_key_env").is_none()));

    let a = &seen["assistant"];
    assert_eq!(a["error"], false, "{a}");
    assert_eq!(a["body"]["success"], true, "{a}");
    assert_eq!(a["body"]["datasource_id"], retail);

    for failed in ["bad_token", "wrong_secret"] {
        assert_eq!(seen[failed]["error"], true, "{failed}: {}", seen[failed]);
        assert_eq!(seen[failed]["body"], json!({ "detail": "Could not validate credentials" }));
        assert!(seen[failed]["text"].as_str().unwrap().contains("Status code: 403"), "{}", seen[failed]);
    }

    // The token is the demo account's grant to the SQLBot-compatible client, with live tokens.
    let listed = admin()
        .await
        .query_one(
            "SELECT client_name, active_tokens FROM quarry.account_grants(quarry.account_id('demo@quarry.local')) WHERE client_id = 'sqlbot'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(listed.get::<_, String>(0), "SQLBot-compatible clients");
    assert!(listed.get::<_, i64>(1) >= 1);
}

#[tokio::test]
async fn plain_http_replays_the_seed() {
    let _settings = SETTINGS.read().await;
    let s = front().await;
    let (analytics, _, retail) = ids().await;
    let (email, password) = demo();

    // Step 1.
    let (status, start) = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    assert_eq!(status, 200, "{start}");
    let token = start["access_token"].as_str().unwrap().to_string();
    let chat_id = start["chat_id"].as_i64().unwrap();

    // Steps 2 and 3.
    let (status, workspaces) = post(&s, "mcp_ws_list", json!({ "token": token })).await;
    assert_eq!(status, 200);
    assert!(workspaces.as_array().unwrap().contains(&json!({ "id": analytics, "name": "Analytics" })), "{workspaces}");
    let (status, datasources) = post(&s, "mcp_datasource_list", json!({ "token": token, "oid": analytics.to_string() })).await;
    assert_eq!(status, 200);
    let retail_entry = datasources.as_array().unwrap().iter().find(|d| d["id"] == retail).expect("Retail listed");
    for sensitive in ["embedding", "table_relation", "configuration", "semantic_model", "collections"] {
        assert!(retail_entry.get(sensitive).is_none(), "{sensitive} in {retail_entry}");
    }

    // Step 4: the page's body, as JSON.
    let (status, answer) = post(
        &s,
        "mcp_question",
        json!({
            "token": token, "chat_id": chat_id, "question": QUESTION, "datasource_id": retail,
            "lang": "en", "oid": analytics.to_string(), "stream": false, "return_img": false,
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true);
    assert!(answer["sql"].is_string() && answer["data"]["data"].is_array(), "{answer}");
    assert!(answer.get("image_url").is_none());

    // JSON with the image.
    let (status, imaged) = post(
        &s,
        "mcp_question",
        json!({ "token": token, "chat_id": chat_id, "question": "How many orders by region?", "stream": false }),
    )
    .await;
    assert_eq!(status, 200, "{imaged}");
    assert!(is_png_data_url(&imaged["image_url"]), "{imaged}");
    assert_eq!(imaged["conversation_id"], answer["conversation_id"], "the chat keeps its conversation");

    // SQLBot's defaults: a stream of progress events, then the result with the image.
    let (status, kind, events) =
        post_stream(&s, "mcp_question", json!({ "token": token, "chat_id": chat_id, "question": "Top 5 products by quantity sold" })).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let (last, progress) = events.split_last().expect("events");
    assert!(!progress.is_empty() && progress.iter().all(|(name, e)| name == "progress" && e["type"] == "progress"), "{events:?}");
    assert_eq!(last.0, "result", "{events:?}");
    assert_eq!(last.1["success"], true);
    assert!(is_png_data_url(&last.1["image_url"]));

    // Streamed without the image.
    let (_, _, events) = post_stream(
        &s,
        "mcp_question",
        json!({ "token": token, "chat_id": chat_id, "question": "How many orders by region?", "return_img": false }),
    )
    .await;
    let result = &events.last().unwrap().1;
    assert_eq!(result["success"], true);
    assert!(result.get("image_url").is_none());

    let (status, models) = post(&s, "get_model_list", json!({ "token": token })).await;
    assert_eq!(status, 200);
    assert!(models.as_array().unwrap().iter().all(|m| m.get("api_key_env").is_none()));

    // An assistant, answered as JSON and as a stream.
    let (url, secret) = assistant(retail).await;
    let (status, a) = post(&s, "mcp_assistant", json!({ "question": "How many orders?", "url": url, "authorization": secret, "stream": false })).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["success"], true);
    let (_, kind, events) = post_stream(&s, "mcp_assistant", json!({ "question": "How many orders?", "url": url, "authorization": secret })).await;
    assert!(kind.starts_with("text/event-stream"));
    assert_eq!(events.last().unwrap().0, "result");

    // Revoked like any grant (a fresh account's, so that other tests keep the demo's): then
    // SQLBot's 403, after which its clients sign in again.
    let (fresh, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (_, started) = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    let token = started["access_token"].as_str().unwrap().to_string();
    assert_eq!(post(&s, "mcp_ws_list", json!({ "token": token })).await.0, 200);
    admin().await.execute("SELECT quarry.revoke_grant($1, 'sqlbot')", &[&fresh]).await.unwrap();
    let (status, body) = post(&s, "mcp_ws_list", json!({ "token": token })).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({ "detail": "Could not validate credentials" })));
    // Every answered call has its audit row, under the front's client.
    let audited: Vec<String> = admin()
        .await
        .query("SELECT action || ' ' || outcome FROM quarry.audit_log WHERE account_id = $1 AND client_id = 'sqlbot' ORDER BY id", &[&fresh])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audited, ["mcp_start ok", "mcp_ws_list ok"]);

    // The front's token opens nothing else: /mcp refuses it.
    let r = http().post(s.url("/mcp")).bearer_auth(&token).header("accept", "application/json, text/event-stream").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn errors_have_sqlbots_shape_and_change_nothing() {
    let _settings = SETTINGS.read().await;
    let s = Sidecar::start_with(&[("QUARRY_SQLBOT_COMPAT", "true"), ("QUARRY_TRUST_FORWARDED_FOR", "true")]).await;
    let (analytics, finance, retail) = ids().await;
    let (id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (_, start) = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    let token = start["access_token"].as_str().unwrap().to_string();
    let chat_id = start["chat_id"].as_i64().unwrap();
    let (url, secret) = assistant(retail).await;
    let assistant_account: i64 =
        admin().await.query_one("SELECT account_id FROM quarry.assistants WHERE url = $1", &[&url]).await.unwrap().get(0);
    let (id2, email2, password2) = account(Some("retail_analyst"), &["Analytics"]).await;
    let accounts = [id, assistant_account, id2];
    let before = counts(&accounts).await;
    let credentials = json!({ "detail": "Could not validate credentials" });

    // A bad (or missing) token, on every operation that takes one.
    for (op, body) in [
        ("mcp_ws_list", json!({ "token": "qat_not-a-token" })),
        ("mcp_datasource_list", json!({ "token": "qat_not-a-token", "oid": analytics.to_string() })),
        ("get_model_list", json!({})),
        ("mcp_question", json!({ "token": "nope", "chat_id": chat_id, "question": "How many orders?", "stream": false })),
        ("mcp_question", json!({ "token": "nope", "chat_id": chat_id, "question": "How many orders?" })),
    ] {
        assert_eq!(post(&s, op, body.clone()).await, (StatusCode::FORBIDDEN, credentials.clone()), "{op} {body}");
    }

    // An unknown datasource: the question is refused in SQLBot's {success: false, message}.
    let (status, body) = post(
        &s,
        "mcp_question",
        json!({ "token": token, "chat_id": chat_id, "question": "How many orders?", "datasource_id": 987654321, "stream": false }),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("987654321"), "{body}");
    let (status, body) = post(
        &s,
        "mcp_question",
        json!({ "token": token, "chat_id": chat_id, "question": "How many orders?", "datasource_id": "three", "stream": false }),
    )
    .await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({ "detail": "Invalid datasource ID" })));

    // Another team's workspace.
    let not_member = json!({ "detail": "The current user is not in the selected workspace" });
    assert_eq!(
        post(&s, "mcp_datasource_list", json!({ "token": token, "oid": finance.to_string() })).await,
        (StatusCode::BAD_REQUEST, not_member.clone())
    );
    assert_eq!(
        post(&s, "mcp_question", json!({ "token": token, "chat_id": chat_id, "question": "How many orders?", "oid": finance, "stream": false }))
            .await,
        (StatusCode::BAD_REQUEST, not_member)
    );

    // Another account's chat is unknown.
    let (_, other) = post(&s, "mcp_start", json!({ "username": "demo@quarry.local", "password": required_env("QUARRY_DEMO_PASSWORD") })).await;
    let (status, body) =
        post(&s, "mcp_question", json!({ "token": token, "chat_id": other["chat_id"], "question": "How many orders?", "stream": false })).await;
    assert_eq!(status, 404, "{body}");

    // An assistant with a wrong secret, or a URL nobody registered.
    for body in [
        json!({ "question": "How many orders?", "url": url, "authorization": "wrong secret, quite long", "stream": false }),
        json!({ "question": "How many orders?", "url": "https://elsewhere.example.com/embed", "authorization": secret, "stream": false }),
    ] {
        assert_eq!(post(&s, "mcp_assistant", body).await, (StatusCode::FORBIDDEN, credentials.clone()));
    }

    // Wrong passwords: SQLBot's 400, then throttled like the sign-in page, even the right one.
    for _ in 0..5 {
        let answer = post(&s, "mcp_start", json!({ "username": email2, "password": "wrong password 1234" })).await;
        assert_eq!(answer, (StatusCode::BAD_REQUEST, json!({ "detail": "Incorrect account or password" })));
    }
    let r = http()
        .post(s.url("/sqlbot/mcp/mcp_start"))
        .header("x-forwarded-for", address())
        .json(&json!({ "username": email2, "password": password2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().starts_with("Too many failed attempts"), "{body}");

    // Bad input: FastAPI's 422, field by field.
    let (status, body) = post(&s, "mcp_question", json!({ "token": token, "chat_id": "seven", "stream": "maybe" })).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["detail"].as_array().unwrap().iter().map(|p| p["loc"][1].as_str().unwrap()).collect();
    assert_eq!(fields, ["chat_id", "question", "stream"], "{body}");

    // The address's failures: the wrong passwords and the assistant's wrong secret and URL.
    let failures: i32 = admin()
        .await
        .query_one("SELECT failures FROM quarry.sign_in_throttle WHERE key = 'ip:' || $1", &[&address()])
        .await
        .unwrap()
        .get(0);
    assert!(failures >= 7, "{failures}");

    // Nothing was issued, opened or asked.
    assert_eq!(counts(&accounts).await, before, "tokens, chats, conversations");
}

#[tokio::test]
async fn off_by_default_the_front_does_not_exist() {
    let s = Sidecar::start().await;
    let (email, password) = demo();
    let r = http().post(s.url("/sqlbot/mcp/mcp_start")).json(&json!({ "username": email, "password": password })).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http()
        .post(s.url("/sqlbot/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // And /mcp still asks for OAuth.
    let r = http().post(s.url("/mcp")).header("accept", "application/json, text/event-stream").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn tokens_live_as_configured_and_expired_ones_are_refused() {
    let _settings = SETTINGS.read().await;
    let s = Sidecar::start_with(&[("QUARRY_SQLBOT_COMPAT", "true"), ("QUARRY_SQLBOT_TOKEN_TTL", "120")]).await;
    let (id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (status, start) = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["expires_in"], 120);
    assert_eq!(start["token_type"], "bearer");
    assert_eq!(start["scope"], "read write");
    let token = start["access_token"].as_str().unwrap();
    let lifetime: f64 = admin()
        .await
        .query_one(
            "SELECT extract(epoch FROM expires_at - issued_at)::float8 FROM quarry.oauth_tokens WHERE client_id = 'sqlbot' AND account_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!((119.0..=121.0).contains(&lifetime), "{lifetime}");
    assert_eq!(post(&s, "mcp_ws_list", json!({ "token": token })).await.0, 200);
    // Expired: SQLBot's 403, as for any token it cannot use.
    admin()
        .await
        .execute("UPDATE quarry.oauth_tokens SET expires_at = now() - interval '1 second' WHERE client_id = 'sqlbot' AND account_id = $1", &[&id])
        .await
        .unwrap();
    assert_eq!(
        post(&s, "mcp_ws_list", json!({ "token": token })).await,
        (StatusCode::FORBIDDEN, json!({ "detail": "Could not validate credentials" }))
    );
}

#[tokio::test]
async fn turned_off_by_the_dba_it_refuses_in_sqlbots_shape() {
    let _settings = SETTINGS.write().await;
    let s = front().await;
    let (id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (_, start) = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    let token = start["access_token"].as_str().unwrap().to_string();
    let db = admin().await;
    db.execute("SELECT quarry.configure_sqlbot(enabled => false)", &[]).await.unwrap();
    let listed = post(&s, "mcp_ws_list", json!({ "token": token })).await;
    let started = post(&s, "mcp_start", json!({ "username": email, "password": password })).await;
    let live: i64 = db
        .query_one("SELECT count(*) FROM quarry.oauth_tokens WHERE client_id = 'sqlbot' AND account_id = $1 AND revoked_at IS NULL", &[&id])
        .await
        .unwrap()
        .get(0);
    // On again before asserting, so that a failure here leaves the other tests a working front.
    db.execute("SELECT quarry.configure_sqlbot(enabled => true)", &[]).await.unwrap();
    assert_eq!(listed, (StatusCode::FORBIDDEN, json!({ "detail": "Could not validate credentials" })));
    assert_eq!(started, (StatusCode::FORBIDDEN, json!({ "detail": "The SQLBot-compatible front is turned off on this server" })));
    assert_eq!(live, 0, "turning the front off ends its tokens");
    // Its old tokens stay ended once it is back on.
    assert_eq!(post(&s, "mcp_ws_list", json!({ "token": token })).await.0, StatusCode::FORBIDDEN);
}
