//! Questions over MCP: the built-in planner's answers checked against SQL written by hand, follow-ups,
//! rows that differ by role (row-level security), progress notifications, chart images and
//! languages, and everything the guarded executor must refuse or stop.

use base64::Engine;
use quarry_e2e::fake_model::{FakeModel, Reply};
use quarry_e2e::mcp::{Mcp, messages};
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, own_retail_dataset, random_hex};
use serde_json::{Value, json};

/// A unique name for fixtures of one test.
fn unique(prefix: &str) -> String {
    format!("{prefix} {}", random_hex(4))
}

/// A retail dataset of a team of its own ([`own_retail_dataset`]), with this timeout if given.
async fn own_dataset(timeout_ms: Option<i32>) -> (String, i64) {
    let (team, dataset) = own_retail_dataset("E2E team").await;
    if let Some(ms) = timeout_ms {
        admin().await.execute("SELECT quarry.update_dataset($1, timeout_ms => $2)", &[&dataset, &ms]).await.unwrap();
    }
    (team, dataset)
}

/// Makes a model configuration named after its provider the dataset's model.
async fn use_model(dataset: i64, provider: &str, model: &str, base_url: &str, key_env: Option<&str>, options: Value) {
    quarry_e2e::use_model(dataset, &format!("E2E {provider}"), provider, model, base_url, key_env, &options).await;
}

/// The kinds of a conversation's blocks, in order.
async fn block_kinds(mcp: &mut Mcp, conversation: &Value) -> Vec<String> {
    let thread = mcp.ok("get_conversation", json!({ "conversation_id": conversation })).await;
    thread["blocks"].as_array().unwrap().iter().map(|b| b["kind"].as_str().unwrap().to_string()).collect()
}

async fn order_count() -> i64 {
    admin().await.query_one("SELECT count(*) FROM retail.orders", &[]).await.unwrap().get(0)
}

async fn session(s: &Sidecar, role: Option<&str>, teams: &[&str]) -> (Mcp, i64) {
    let (id, email, password) = account(role, teams).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    let mut mcp = Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
    mcp.initialize().await;
    (mcp, id)
}

/// Rows of hand-written SQL, run for an account through the same executor (its role, its RLS).
async fn rows_for(account_id: i64, sql: &str) -> Vec<Value> {
    let mut admin = admin().await;
    let tx = admin.build_transaction().read_only(true).start().await.unwrap();
    let value: Value = tx
        .query_one("SELECT quarry.execute_as($1, $2, 100000, 67108864, 'retail')", &[&account_id, &sql])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0);
    tx.rollback().await.unwrap();
    value["rows"].as_array().unwrap().clone()
}

fn sorted(rows: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_planner_answers_like_hand_written_sql() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    // (question, hand-written SQL, whether row order matters)
    let cases: &[(&str, &str, bool)] = &[
        ("How many orders are there?", "SELECT count(*) FROM retail.orders", false),
        ("How many customers are there in each segment?", "SELECT segment, count(*) FROM retail.customers GROUP BY 1", false),
        (
            "What is the total amount of orders by region?",
            "SELECT r.name, sum(o.total_amount) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id GROUP BY 1 ORDER BY 2 DESC",
            true,
        ),
        ("Average total amount of orders by channel", "SELECT channel, avg(total_amount) FROM retail.orders GROUP BY 1", false),
        (
            "Top 5 products by quantity sold",
            "SELECT p.name, sum(l.quantity) FROM retail.order_lines l JOIN retail.products p ON p.id = l.product_id GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
            true,
        ),
        (
            "How many orders were placed last month?",
            "SELECT count(*) FROM retail.orders WHERE ordered_at >= date_trunc('month', now()) - interval '1 month' AND ordered_at < date_trunc('month', now())",
            false,
        ),
        (
            "Orders by month in 2025",
            "SELECT date_trunc('month', ordered_at)::date, count(*) FROM retail.orders WHERE ordered_at >= '2025-01-01' AND ordered_at < '2026-01-01' GROUP BY 1 ORDER BY 1",
            true,
        ),
        (
            "Total quantity by category",
            "SELECT c.name, sum(l.quantity) FROM retail.order_lines l JOIN retail.products p ON p.id = l.product_id JOIN retail.categories c ON c.id = p.category_id GROUP BY 1",
            false,
        ),
        (
            "How many orders in EMEA?",
            "SELECT count(*) FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id WHERE r.code = 'EMEA'",
            false,
        ),
        ("Which channel has the most orders?", "SELECT channel, count(*) FROM retail.orders GROUP BY 1 ORDER BY 2 DESC LIMIT 1", true),
        (
            "How many web orders were cancelled in the last 30 days?",
            "SELECT count(*) FROM retail.orders WHERE channel = 'web' AND status = 'cancelled' AND ordered_at >= now() - interval '30 days'",
            false,
        ),
        (
            "Maximum unit price of products by category",
            "SELECT c.name, max(p.unit_price) FROM retail.products p JOIN retail.categories c ON c.id = p.category_id GROUP BY 1",
            false,
        ),
        (
            "Daily orders in the last 7 days",
            "SELECT date_trunc('day', ordered_at)::date, count(*) FROM retail.orders WHERE ordered_at >= now() - interval '7 days' GROUP BY 1 ORDER BY 1",
            true,
        ),
        (
            "Revenue by region last month",
            "SELECT r.name AS region, sum(o.total_amount) AS revenue FROM retail.orders o JOIN retail.regions r ON r.id = o.region_id \
             WHERE o.status NOT IN ('cancelled', 'returned') AND o.ordered_at >= date_trunc('month', now()) - interval '1 month' \
             AND o.ordered_at < date_trunc('month', now()) GROUP BY r.name ORDER BY revenue DESC",
            true,
        ),
    ];
    let mut wrong = Vec::new();
    for (question, hand, ordered) in cases {
        let answer = mcp.call("run_query", json!({ "question": question })).await;
        let structured = &answer["structuredContent"];
        if structured["status"] != "answered" {
            wrong.push(format!("{question}: {} {}", structured["status"], structured["analysis"]));
            continue;
        }
        let got = structured["result"]["rows"].as_array().unwrap().clone();
        let expected = rows_for(me, hand).await;
        let same = if *ordered { got == expected } else { sorted(&got) == sorted(&expected) };
        if !same || got.is_empty() {
            wrong.push(format!("{question}:\n{}\n got {:?}\n expected {:?}", structured["sql"].as_str().unwrap_or(""), &got[..got.len().min(5)], &expected[..expected.len().min(5)]));
        }
        assert_eq!(structured["dataset"]["name"], "Retail");
        assert_eq!(structured["dataset_choice"], "only");
        assert_eq!(structured["model"]["provider"], "builtin");
        assert!(!structured["analysis"].as_str().unwrap().is_empty());
    }
    assert!(wrong.is_empty(), "{} of {} questions answered wrongly:\n{}", wrong.len(), cases.len(), wrong.join("\n\n"));
}

#[tokio::test]
async fn follow_ups_continue_the_conversation_and_unknowns_are_not_guessed() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    let first = mcp.ok("run_query", json!({ "question": "How many orders are there?" })).await;
    let conversation = first["conversation_id"].clone();
    let follow_up = mcp.ok("run_query", json!({ "question": "and by channel?", "conversation_id": conversation })).await;
    assert_eq!(follow_up["status"], "answered", "{follow_up}");
    assert_eq!(follow_up["conversation_id"], conversation);
    assert_eq!(follow_up["dataset_choice"], "conversation");
    assert_eq!(
        sorted(follow_up["result"]["rows"].as_array().unwrap()),
        sorted(&rows_for(me, "SELECT channel, count(*) FROM retail.orders GROUP BY 1").await)
    );
    assert_eq!(
        block_kinds(&mut mcp, &conversation).await,
        ["question", "sql", "result", "chart", "analysis", "question", "sql", "result", "chart", "analysis"]
    );
    let listed = mcp.ok("list_conversations", json!({})).await;
    let mine = listed["conversations"].as_array().unwrap().iter().find(|c| c["id"] == conversation).unwrap();
    assert_eq!(mine["title"], "How many orders are there?");
    assert_eq!(mine["questions"], 2);

    // The stored answer can be pinned: the chart specification goes with it.
    let team: i64 = admin().await.query_one("SELECT quarry.team_id('Analytics')", &[]).await.unwrap().get(0);
    let board = mcp.ok("create_dashboard", json!({ "team_id": team, "name": format!("Questions {me}") })).await;
    let pin = mcp.ok("pin_to_dashboard", json!({ "dashboard_id": board["id"], "conversation_id": conversation })).await;
    assert_eq!(pin["question"], "and by channel?");
    assert_eq!(pin["chart"]["mark"]["type"], "bar");
    assert_eq!(pin["chart"]["data"]["values"].as_array().unwrap().len(), 3);

    // A question about something the data does not hold gets no made-up answer.
    for question in ["What is the weather in Paris?", "How many orders did Bob's cat place?"] {
        let unsure = mcp.ok("run_query", json!({ "question": question })).await;
        assert_eq!(unsure["status"], "not_confident", "{question}: {unsure}");
        assert!(unsure.get("sql").is_none() && unsure.get("result").is_none(), "{unsure}");
        assert!(unsure["analysis"].as_str().unwrap().contains("can't answer"), "{unsure}");
        assert!(!unsure["suggestions"].as_array().unwrap().is_empty());
        assert_eq!(block_kinds(&mut mcp, &unsure["conversation_id"]).await, ["question", "error", "analysis"]);
    }

    // Every question is audited with its SQL and row count.
    let audited = admin()
        .await
        .query_one(
            "SELECT question, sql, row_count FROM quarry.audit_log WHERE account_id = $1 AND action = 'run_query' AND outcome = 'ok' ORDER BY id LIMIT 1",
            &[&me],
        )
        .await
        .unwrap();
    assert_eq!(audited.get::<_, Option<String>>(0).as_deref(), Some("How many orders are there?"));
    assert!(audited.get::<_, Option<String>>(1).unwrap().contains("count(*)"));
    assert_eq!(audited.get::<_, Option<i64>>(2), Some(1));
    // ... in the transaction that saved its turn: both were committed together, or neither.
    let together: bool = admin()
        .await
        .query_one(
            "SELECT b.xmin::text = a.xmin::text
               FROM quarry.conversation_blocks b,
                    (SELECT xmin FROM quarry.audit_log WHERE account_id = $1 AND action = 'run_query' ORDER BY id LIMIT 1) a
              WHERE b.conversation_id = $2 AND b.seq = 1",
            &[&me, &first["conversation_id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(together, "the first question's audit row and its question block are one transaction's");
}

#[tokio::test]
async fn two_roles_see_different_rows_for_the_same_question() {
    let s = Sidecar::start().await;
    let (mut analyst, analyst_id) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    let (mut manager, manager_id) = session(&s, Some("retail_emea_manager"), &["Analytics"]).await;
    let question = json!({ "question": "How many orders by region?" });
    let everyone = analyst.ok("run_query", question.clone()).await;
    let emea_only = manager.ok("run_query", question).await;
    assert_eq!(everyone["sql"], emea_only["sql"], "the same question, the same SQL");
    let all_rows = everyone["result"]["rows"].as_array().unwrap();
    let emea_rows = emea_only["result"]["rows"].as_array().unwrap();
    assert_eq!(all_rows.len(), 4);
    assert_eq!(emea_rows.len(), 1);
    assert_eq!(emea_rows[0][0], "Europe, Middle East and Africa");
    assert!(all_rows.contains(&emea_rows[0]), "the manager's row is the analyst's EMEA row");
    let sql = everyone["sql"].as_str().unwrap();
    assert_eq!(sorted(all_rows), sorted(&rows_for(analyst_id, sql).await));
    assert_eq!(sorted(emea_rows), sorted(&rows_for(manager_id, sql).await));

    // Sample values come from rows the asker may see: the manager cannot filter on other regions'
    // cities, so a question about Tokyo is not answered from data it cannot see.
    let tokyo = json!({ "question": "How many customers in Tokyo?" });
    let seen = analyst.ok("run_query", tokyo.clone()).await;
    assert_eq!(seen["status"], "answered", "{seen}");
    assert!(seen["result"]["rows"][0][0].as_i64().unwrap() > 0);
    let unseen = manager.ok("run_query", tokyo).await;
    assert_ne!(unseen["status"], "answered", "{unseen}");
}

#[tokio::test]
async fn the_dataset_is_given_matched_or_asked_for() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics", "Finance"]).await;
    let customers = mcp.ok("run_query", json!({ "question": "How many customers are there in each segment?" })).await;
    assert_eq!((&customers["dataset"]["name"], &customers["dataset_choice"]), (&json!("Retail"), &json!("matched")));
    let monthly = mcp.ok("run_query", json!({ "question": "Monthly revenue by region" })).await;
    assert_eq!((&monthly["dataset"]["name"], &monthly["dataset_choice"]), (&json!("Revenue"), &json!("matched")));
    let given = mcp.ok("run_query", json!({ "question": "How many regions are there?", "dataset_id": monthly["dataset"]["id"] })).await;
    assert_eq!((&given["dataset_choice"], &given["result"]["rows"][0][0]), (&json!("given"), &json!(4)));
    let unclear = mcp.tool_error("run_query", json!({ "question": "What is the weather?" })).await;
    assert!(unclear.contains("pass dataset_id") && unclear.contains("Retail") && unclear.contains("Revenue"), "{unclear}");
    let mismatch = mcp
        .tool_error("run_query", json!({ "question": "orders", "conversation_id": customers["conversation_id"], "dataset_id": monthly["dataset"]["id"] }))
        .await;
    assert!(mismatch.contains("conversation is about dataset"), "{mismatch}");
    // run_sql: one call of the extension when it names its dataset (or the account has only one);
    // with several and none named, its SQL picks one, as a question does.
    let by_sql = mcp.ok("run_sql", json!({ "sql": "SELECT segment, count(*) FROM retail.customers GROUP BY 1" })).await;
    assert_eq!((&by_sql["dataset"]["name"], &by_sql["dataset_choice"]), (&json!("Retail"), &json!("matched")), "{by_sql}");
    let named = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM retail.regions", "dataset_id": monthly["dataset"]["id"], "max_rows": 5 })).await;
    assert_eq!((&named["dataset"]["name"], &named["dataset_choice"], &named["result"]["rows"][0][0]), (&json!("Revenue"), &json!("given"), &json!(4)));
    let unknown = mcp.tool_error("run_sql", json!({ "sql": "SELECT 1", "dataset_id": 987654 })).await;
    assert!(unknown.contains("does not exist"), "{unknown}");
    for (arguments, expected) in [
        (json!({ "question": "" }), "question must be"),
        (json!({ "question": "x".repeat(2001) }), "question must be"),
        (json!({ "question": "How many orders?", "max_rows": 0 }), "max_rows"),
        (json!({ "question": "How many orders?", "lang": "fr" }), "unknown variant"),
        (json!({ "question": "How many orders?", "dataset_id": 987654 }), "does not exist"),
        (json!({ "question": "How many orders?", "conversation_id": 987654 }), "does not exist"),
        (json!({ "question": "How many orders?", "surprise": 1 }), "unknown field"),
    ] {
        let message = mcp.tool_error("run_query", arguments.clone()).await;
        assert!(message.contains(expected), "{arguments}: {message}");
    }
}

/// The progress steps a tools/call reported, in order.
async fn progress_of(mcp: &mut Mcp, tool: &str, arguments: Value) -> Vec<f64> {
    let (status, response, body) = mcp.request("tools/call", json!({ "name": tool, "arguments": arguments, "_meta": { "progressToken": "p" } })).await;
    assert_eq!(status, 200);
    assert_eq!(response.unwrap()["result"]["isError"], false, "{body}");
    messages(&body)
        .into_iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == "p")
        .map(|p| p["params"]["progress"].as_f64().unwrap())
        .collect()
}

/// run_sql reports progress that only goes up (as MCP requires), whether it ran in one call of the
/// extension (its dataset named) or first had to pick among the account's datasets.
#[tokio::test]
async fn run_sql_progress_only_goes_up() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics", "Finance"]).await;
    let picked = progress_of(&mut mcp, "run_sql", json!({ "sql": "SELECT count(*) FROM retail.customers" })).await;
    assert_eq!(picked, [1.0, 4.0, 5.0, 6.0]);
    let teams = mcp.ok("list_datasets", json!({ "detail": "names" })).await;
    let retail = teams["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "Retail").unwrap()["id"].clone();
    let at_once = progress_of(&mut mcp, "run_sql", json!({ "sql": "SELECT count(*) FROM retail.customers", "dataset_id": retail })).await;
    assert_eq!(at_once, [1.0, 5.0, 6.0]);
}

#[tokio::test]
async fn progress_images_and_languages() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    let (status, response, body) = mcp
        .request(
            "tools/call",
            json!({
                "name": "run_query",
                "arguments": { "question": "How many orders by channel?", "lang": "zh-CN", "return_image": true },
                "_meta": { "progressToken": "q-1" },
            }),
        )
        .await;
    assert_eq!(status, 200);
    let progress: Vec<Value> = messages(&body)
        .into_iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == "q-1")
        .collect();
    let steps: Vec<f64> = progress.iter().map(|p| p["params"]["progress"].as_f64().unwrap()).collect();
    assert_eq!(steps, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "{body}");
    assert!(progress.iter().all(|p| p["params"]["total"] == 6.0));
    assert_eq!(progress[0]["params"]["message"], "选择数据集");

    let result = &response.unwrap()["result"];
    assert_eq!(result["isError"], false);
    let analysis = result["structuredContent"]["analysis"].as_str().unwrap();
    assert!(analysis.contains("按 channel 共 3 组"), "{analysis}");
    let image = result["content"].as_array().unwrap().iter().find(|c| c["type"] == "image").expect("an image");
    assert_eq!(image["mimeType"], "image/png");
    let png = base64::engine::general_purpose::STANDARD.decode(image["data"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 2000, "a drawn chart, not an empty image");

    // Without return_image there is no image; other languages label their answers too.
    for (lang, words) in [("en", "3 groups by channel"), ("zh-TW", "按 channel 共 3 組"), ("ko-KR", "channel별 3개 그룹")] {
        let result = mcp.call("run_query", json!({ "question": "How many orders by channel?", "lang": lang })).await;
        assert!(result["content"].as_array().unwrap().iter().all(|c| c["type"] == "text"));
        let analysis = result["structuredContent"]["analysis"].as_str().unwrap();
        assert!(analysis.contains(words), "{lang}: {analysis}");
    }

    // Charts read at a glance: a monthly series has month ticks written in the asker's language,
    // and SQL without a question gets a title in that language rather than the SQL.
    let sql = "SELECT date_trunc('month', ordered_at)::date AS month, sum(total_amount) AS revenue FROM retail.orders GROUP BY 1 ORDER BY 1";
    for (lang, format, title) in [("en", "%b %Y", "Revenue by month"), ("ko-KR", "%Y년 %-m월", "Month별 Revenue")] {
        let answer = mcp.ok("run_sql", json!({ "sql": sql, "lang": lang })).await;
        let chart = &answer["chart"];
        assert_eq!(chart["type"], "line", "{answer}");
        assert_eq!(chart["spec"]["encoding"]["x"]["timeUnit"], "yearmonth", "{chart}");
        assert_eq!(chart["spec"]["encoding"]["x"]["axis"]["format"], format, "{chart}");
        assert_eq!(chart["spec"]["title"], title, "{chart}");
    }
}

#[tokio::test]
async fn run_sql_refuses_what_is_not_one_read_only_query_and_changes_nothing() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    let before = order_count().await;
    for (sql, expected) in [
        ("DELETE FROM retail.orders", "must be a SELECT"),
        ("UPDATE retail.orders SET status = 'cancelled'", "must be a SELECT"),
        ("INSERT INTO retail.regions VALUES (9, 'XX', 'Nowhere')", "must be a SELECT"),
        ("DROP TABLE retail.orders", "must be a SELECT"),
        ("CREATE TABLE retail.evil (id int)", "must be a SELECT"),
        ("TRUNCATE retail.order_lines", "must be a SELECT"),
        ("WITH gone AS (DELETE FROM retail.orders RETURNING *) SELECT count(*) FROM gone", "modifies data"),
        ("SELECT 1; DELETE FROM retail.orders", "single statement"),
        ("SELECT * INTO retail.copy FROM retail.orders", "SELECT INTO"),
        ("SELECT * FROM retail.orders FOR UPDATE", "lock rows"),
        ("SET ROLE postgres", "must be a SELECT"),
        ("RESET ROLE", "must be a SELECT"),
        ("SELECT set_config('role', 'postgres', true)", "set_config(text,text,boolean) is not allowed"),
        ("SELECT set_config('quarry.account_id', '1', true)", "set_config(text,text,boolean) is not allowed"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file(text) is not allowed"),
        ("SELECT pg_ls_dir('.')", "pg_ls_dir(text) is not allowed"),
        ("SELECT lo_import('/etc/passwd')", "lo_import(text) is not allowed"),
        ("COPY retail.orders TO STDOUT", "must be a SELECT"),
        ("COPY (SELECT 1) TO PROGRAM 'id'", "must be a SELECT"),
        ("SELECT * FROM quarry.accounts", "permission denied"),
        ("SELECT nextval('retail.evil_seq')", "does not exist"),
        ("SELEC 1", "syntax error"),
    ] {
        let result = mcp.call("run_sql", json!({ "sql": sql })).await;
        assert_eq!(result["isError"], true, "{sql} should be refused: {result}");
        let message = result["content"][0]["text"].as_str().unwrap();
        assert!(message.contains(expected), "{sql}: {message}");
        assert!(!message.contains("panicked") && !message.contains(".rs:"), "{message}");
        assert_eq!(result["structuredContent"]["status"], "failed");
    }
    assert_eq!(order_count().await, before);
    let admin = admin().await;
    let evil: Option<String> = admin.query_one("SELECT to_regclass('retail.evil')::text", &[]).await.unwrap().get(0);
    let copy: Option<String> = admin.query_one("SELECT to_regclass('retail.copy')::text", &[]).await.unwrap().get(0);
    assert_eq!((evil, copy), (None, None));
    let regions: i64 = admin.query_one("SELECT count(*) FROM retail.regions", &[]).await.unwrap().get(0);
    assert_eq!(regions, 4);

    // Afterwards the account still answers as its own role, with its own identity.
    let me_now = mcp
        .ok("run_sql", json!({ "sql": "SELECT current_user::text, current_setting('quarry.account_id') AS account" }))
        .await;
    assert_eq!(me_now["result"]["rows"][0], json!(["retail_analyst", me.to_string()]));
    let refused = admin
        .query_one("SELECT count(*) FROM quarry.audit_log WHERE account_id = $1 AND action = 'run_sql' AND outcome = 'error'", &[&me])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(refused, 22, "every refusal is audited");
}

#[tokio::test]
async fn timeouts_and_caps_stop_what_runs_too_long_or_returns_too_much() {
    let s = Sidecar::start_with(&[("QUARRY_MAX_RESULT_BYTES", "65536")]).await;
    let (team, dataset) = own_dataset(Some(300)).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let slow = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b";
    let slept = mcp.call("run_sql", json!({ "sql": slow })).await;
    assert_eq!(slept["isError"], true);
    assert!(slept["content"][0]["text"].as_str().unwrap().contains("statement timeout"), "{slept}");
    // The caps below stop queries that would otherwise run long: a generous timeout keeps them
    // from racing it on a busy machine.
    admin().await.execute("SELECT quarry.update_dataset($1, timeout_ms => 60000)", &[&dataset]).await.unwrap();

    let cross = "SELECT a.g AS a, b.g AS b FROM generate_series(1, 100000) a(g), generate_series(1, 100000) b(g)";
    let capped = mcp.ok("run_sql", json!({ "sql": cross, "max_rows": 100 })).await;
    let result = &capped["result"];
    assert_eq!((&result["row_count"], &result["truncated"], &result["truncated_by"]), (&json!(100), &json!(true), &json!("rows")));
    assert_eq!(capped["dataset"]["id"], dataset);
    let wide = mcp.ok("run_sql", json!({ "sql": "SELECT repeat('x', 1000) AS filler FROM generate_series(1, 100000)" })).await;
    assert_eq!((&wide["result"]["truncated"], &wide["result"]["truncated_by"]), (&json!(true), &json!("bytes")));
    assert!(wide["result"]["row_count"].as_i64().unwrap() < 70);
    // The dataset's row limit bounds what a caller may ask for.
    let limited = mcp.ok("run_sql", json!({ "sql": cross, "max_rows": 100000 })).await;
    assert_eq!(limited["result"]["row_count"], 1000);
}

#[tokio::test]
async fn roles_that_bypass_security_are_refused_even_after_mapping() {
    let s = Sidecar::start().await;
    let admin = admin().await;
    let role = unique("e2e_role").replace(' ', "_");
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} NOLOGIN; GRANT USAGE ON SCHEMA retail TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA retail TO {role};"
        ))
        .await
        .unwrap();
    let (mut mcp, me) = session(&s, Some(&role), &["Analytics"]).await;
    let fine = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) FROM retail.regions" })).await;
    assert_eq!(fine["result"]["rows"][0][0], 4);

    for (attribute, expected) in [("BYPASSRLS", "BYPASSRLS"), ("SUPERUSER", "superuser")] {
        admin.batch_execute(&format!("ALTER ROLE {role} {attribute}")).await.unwrap();
        for (tool, arguments) in [("run_sql", json!({ "sql": "SELECT count(*) FROM retail.orders" })), ("run_query", json!({ "question": "How many orders are there?" }))] {
            let message = mcp.tool_error(tool, arguments).await;
            assert!(message.contains("cannot answer questions") && message.contains(expected), "{attribute} {tool}: {message}");
        }
        admin.batch_execute(&format!("ALTER ROLE {role} NO{attribute}")).await.unwrap();
    }
    // Mapping an account to such a role is refused from the start.
    let err = admin.execute("SELECT quarry.set_account_role($1, 'postgres')", &[&me]).await.unwrap_err();
    assert_eq!(quarry_e2e::sqlstate(&err), "42501");
    admin.batch_execute(&format!("SELECT quarry.set_account_role({me}, NULL); DROP OWNED BY {role}; DROP ROLE {role}")).await.unwrap();
}

#[tokio::test]
async fn an_openai_compatible_model_writes_sql_and_corrects_it() {
    let fake = FakeModel::start(vec![
        Reply::openai("```sql\nSELECT count(*) AS orders FROM retail.order\n```"),
        Reply::openai("You are right, the table is orders:\n```sql\nSELECT count(*) AS orders FROM retail.orders;\n```"),
        Reply::openai("There are 120,000 orders in all."),
    ])
    .await;
    let s = Sidecar::start_with(&[("QUARRY_E2E_MODEL_KEY", "sk-e2e-openai")]).await;
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "openai", "gpt-e2e", &format!("{}/v1", fake.url), Some("QUARRY_E2E_MODEL_KEY"), json!({ "temperature": 0.1 })).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;

    let answer = mcp.ok("run_query", json!({ "question": "How many orders are there?", "lang": "ko-KR" })).await;
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(answer["model"]["provider"], "openai");
    assert_eq!(answer["result"]["rows"], json!([[120000]]));
    assert_eq!(answer["analysis"], "There are 120,000 orders in all.");
    let attempts = answer["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0]["error"].as_str().unwrap().contains("relation \"retail.order\" does not exist"), "{attempts:?}");
    assert_eq!(attempts[0]["stage"], "run");
    assert_eq!(answer["sql"], "SELECT count(*) AS orders FROM retail.orders");
    assert_eq!(
        block_kinds(&mut mcp, &answer["conversation_id"]).await,
        ["question", "sql", "error", "sql", "result", "chart", "analysis"]
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.headers["authorization"], "Bearer sk-e2e-openai");
        assert_eq!(r.body["model"], "gpt-e2e");
        assert_eq!(r.body["temperature"], 0.1);
    }
    let first = requests[0].body["messages"].as_array().unwrap();
    assert_eq!(first[0]["role"], "system");
    let system = first[0]["content"].as_str().unwrap();
    assert!(system.contains("retail.orders") && system.contains("total_amount") && system.contains("Korean"), "{system}");
    assert!(system.contains("'cancelled'"), "sample values are in the prompt: {system}");
    assert_eq!(first.last().unwrap()["content"], "How many orders are there?");
    let second = requests[1].body["messages"].as_array().unwrap();
    let correction = second.last().unwrap()["content"].as_str().unwrap();
    assert!(correction.contains("relation \"retail.order\" does not exist"), "{correction}");
    let analysis_prompt = requests[2].body["messages"][1]["content"].as_str().unwrap();
    assert!(analysis_prompt.contains("120000"), "{analysis_prompt}");
}

#[tokio::test]
async fn an_anthropic_model_is_retried_after_429_and_corrected_after_a_refusal() {
    let fake = FakeModel::start(vec![
        Reply::error(429, "rate limited").with_header("retry-after", "0"),
        Reply::anthropic("```sql\nDELETE FROM retail.orders\n```"),
        Reply::anthropic("```sql\nSELECT status, count(*) AS orders FROM retail.orders GROUP BY status ORDER BY 2 DESC\n```"),
        Reply::anthropic("Most orders were delivered."),
    ])
    .await;
    let s = Sidecar::start_with(&[("QUARRY_E2E_ANTHROPIC_KEY", "sk-ant-e2e")]).await;
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "anthropic", "claude-e2e", &fake.url, Some("QUARRY_E2E_ANTHROPIC_KEY"), json!({ "max_tokens": 500 })).await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &[&team]).await;
    let before = order_count().await;

    let answer = mcp.ok("run_query", json!({ "question": "How many orders are in each status?" })).await;
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(answer["model"]["provider"], "anthropic");
    assert_eq!(answer["attempts"][0]["stage"], "check");
    assert!(answer["attempts"][0]["error"].as_str().unwrap().contains("must be a SELECT"));
    assert_eq!(
        sorted(answer["result"]["rows"].as_array().unwrap()),
        sorted(&rows_for(me, "SELECT status, count(*) FROM retail.orders GROUP BY 1").await)
    );
    assert_eq!(answer["analysis"], "Most orders were delivered.");
    assert_eq!(order_count().await, before, "the refused DELETE never ran");

    let requests = fake.requests();
    assert_eq!(requests.len(), 4, "the 429 was retried");
    for r in &requests {
        assert_eq!(r.path, "/v1/messages");
        assert_eq!(r.headers["x-api-key"], "sk-ant-e2e");
        assert_eq!(r.headers["anthropic-version"], "2023-06-01");
        assert_eq!(r.body["max_tokens"], 500);
    }
    assert!(requests[1].body["system"].as_str().unwrap().contains("retail.orders"));
    let retry = requests[2].body["messages"].as_array().unwrap();
    assert_eq!(retry.len(), 3, "question, refused SQL, the reason");
    assert!(retry[2]["content"].as_str().unwrap().contains("must be a SELECT"));
}

#[tokio::test]
async fn model_failures_are_clear_tool_errors() {
    let s = Sidecar::start_with(&[("QUARRY_E2E_MODEL_KEY", "sk-e2e")]).await;

    // Down: nothing listens there.
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "openai", "gpt-e2e", "http://127.0.0.1:9/v1", Some("QUARRY_E2E_MODEL_KEY"), json!({ "max_retries": 0 })).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let down = mcp.tool_error("run_query", json!({ "question": "How many orders are there?" })).await;
    assert!(down.contains("did not answer") && down.contains("could not connect"), "{down}");

    // Misconfigured: its key is not in this sidecar's environment.
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "anthropic", "claude-e2e", "http://127.0.0.1:9", Some("QUARRY_E2E_NO_SUCH_KEY"), json!({})).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let missing = mcp.tool_error("run_query", json!({ "question": "How many orders are there?" })).await;
    assert!(missing.contains("QUARRY_E2E_NO_SUCH_KEY") && missing.contains("administrator"), "{missing}");

    // Refusing (401) is not retried; failing every time (5xx) is, then reported.
    let fake = FakeModel::start(vec![Reply::error(401, "invalid api key")]).await;
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "openai", "gpt-e2e", &fake.url, Some("QUARRY_E2E_MODEL_KEY"), json!({})).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let refused = mcp.tool_error("run_query", json!({ "question": "How many orders are there?" })).await;
    assert!(refused.contains("HTTP 401: invalid api key"), "{refused}");
    assert_eq!(fake.requests().len(), 1);

    let fake = FakeModel::start(vec![Reply::error(503, "overloaded"), Reply::error(503, "overloaded")]).await;
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "openai", "gpt-e2e", &fake.url, Some("QUARRY_E2E_MODEL_KEY"), json!({ "max_retries": 1 })).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let overloaded = mcp.tool_error("run_query", json!({ "question": "How many orders are there?" })).await;
    assert!(overloaded.contains("HTTP 503: overloaded") && overloaded.contains("tried 2 times"), "{overloaded}");
    assert_eq!(fake.requests().len(), 2);

    // A model that says it cannot answer is taken at its word; one that keeps writing broken SQL
    // gets the configured number of corrections, then the attempts come back as a tool error.
    let fake = FakeModel::start(vec![
        Reply::openai("NO_SQL: there is no weather data in these tables."),
        Reply::openai("```sql\nSELECT nope FROM retail.orders\n```"),
        Reply::openai("```sql\nSELECT still_nope FROM retail.orders\n```"),
        Reply::openai("```sql\nSELECT never FROM retail.orders\n```"),
    ])
    .await;
    let (team, dataset) = own_dataset(None).await;
    use_model(dataset, "openai", "gpt-e2e", &fake.url, Some("QUARRY_E2E_MODEL_KEY"), json!({})).await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;
    let unsure = mcp.ok("run_query", json!({ "question": "What is the weather in Paris?" })).await;
    assert_eq!(unsure["status"], "not_confident");
    assert_eq!(unsure["analysis"], "there is no weather data in these tables.");
    let failed = mcp.call("run_query", json!({ "question": "How many orders are there?" })).await;
    assert_eq!(failed["isError"], true);
    assert_eq!(failed["structuredContent"]["status"], "failed");
    assert_eq!(failed["structuredContent"]["attempts"].as_array().unwrap().len(), 3);
    assert!(failed["content"][0]["text"].as_str().unwrap().contains("column \"never\" does not exist"), "{failed}");
    assert_eq!(fake.unused(), 0);
}

#[tokio::test]
async fn a_big_dataset_gives_a_small_context_that_still_reaches_what_it_needs() {
    let admin = admin().await;
    let schema = unique("wide").replace(' ', "_");
    let mut ddl = format!("CREATE SCHEMA {schema};");
    for i in 0..30 {
        ddl.push_str(&format!("CREATE TABLE {schema}.filler_{i:02} (id int PRIMARY KEY, label text, amount numeric);"));
    }
    ddl.push_str(&format!(
        "CREATE TABLE {schema}.families (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE {schema}.items (id int PRIMARY KEY, family_id int NOT NULL REFERENCES {schema}.families, title text);
         CREATE TABLE {schema}.sales (id int PRIMARY KEY, item_id int NOT NULL REFERENCES {schema}.items, amount numeric NOT NULL);
         INSERT INTO {schema}.families VALUES (1, 'Tools'), (2, 'Toys'), (3, 'Food');
         INSERT INTO {schema}.items SELECT i, 1 + i % 3, 'item ' || i FROM generate_series(1, 6) i;
         INSERT INTO {schema}.sales SELECT s, 1 + s % 6, s * 1.5 FROM generate_series(1, 60) s;
         GRANT USAGE ON SCHEMA {schema} TO retail_analyst;
         GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO retail_analyst;
         ANALYZE {schema}.families, {schema}.items, {schema}.sales;"
    ));
    admin.batch_execute(&ddl).await.unwrap();
    let team = unique("E2E wide");
    let team_id: i64 = admin.query_one("SELECT quarry.create_team($1)", &[&team]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one("SELECT quarry.create_dataset($1, 'Wide', ARRAY[$2])", &[&team_id, &schema])
        .await
        .unwrap()
        .get(0);
    let s = Sidecar::start_with(&[("QUARRY_E2E_MODEL_KEY", "sk-e2e")]).await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &[&team]).await;

    // Items are named nowhere in the question, but sales reach families only through them.
    let question = json!({ "question": "Total amount of sales by families" });
    let answer = mcp.ok("run_query", question.clone()).await;
    assert_eq!(answer["status"], "answered", "{answer}");
    let hand = format!(
        "SELECT f.name, sum(s.amount) FROM {schema}.sales s JOIN {schema}.items i ON i.id = s.item_id \
         JOIN {schema}.families f ON f.id = i.family_id GROUP BY 1"
    );
    assert_eq!(sorted(answer["result"]["rows"].as_array().unwrap()), sorted(&rows_for(me, &hand).await));

    // A model is shown the relevant tables and their neighbours, not all thirty-three.
    let fake = FakeModel::start(vec![Reply::openai(&format!("```sql\n{hand}\n```")), Reply::openai("Tools lead.")]).await;
    use_model(dataset, "openai", "gpt-e2e", &fake.url, Some("QUARRY_E2E_MODEL_KEY"), json!({})).await;
    let answer = mcp.ok("run_query", question).await;
    assert_eq!(answer["status"], "answered", "{answer}");
    let system = fake.requests()[0].body["messages"][0]["content"].as_str().unwrap().to_string();
    for table in ["sales", "items", "families"] {
        assert!(system.contains(&format!("{schema}.{table} (table")), "{table} is described:\n{system}");
    }
    // (A table shown appears twice: in the semantic model and in the schema.)
    let fillers = (0..30).filter(|i| system.contains(&format!("{schema}.filler_{i:02}"))).count();
    assert!((1..=10).contains(&fillers), "{fillers} filler tables in the prompt:\n{system}");
}

/// The first and last day of last month, as the interpretation states them.
fn last_month() -> (String, String) {
    use chrono::{Datelike, Duration, Utc};
    let today = Utc::now().date_naive();
    let first_this = today.with_day(1).unwrap();
    let first_last = (first_this - Duration::days(1)).with_day(1).unwrap();
    (first_last.format("%Y-%m-%d").to_string(), first_this.format("%Y-%m-%d").to_string())
}

#[tokio::test]
async fn answers_state_their_interpretation_and_follow_ups_change_the_semantic_query() {
    let s = Sidecar::start().await;
    let (mut mcp, me) = session(&s, Some("retail_analyst"), &["Analytics"]).await;
    let revenue_by_channel = "SELECT o.channel, sum(l.quantity * l.unit_price * (1 - l.discount)) FROM retail.order_lines l \
        JOIN retail.orders o ON o.id = l.order_id WHERE o.status NOT IN ('cancelled', 'returned') \
        AND o.ordered_at >= date_trunc('month', now()) - interval '1 month' AND o.ordered_at < date_trunc('month', now()) GROUP BY 1";
    let first = mcp.call("run_query", json!({ "question": "Revenue by channel last month" })).await;
    let answer = &first["structuredContent"];
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(sorted(answer["result"]["rows"].as_array().unwrap()), sorted(&rows_for(me, revenue_by_channel).await));
    // The semantic query is in the structured content, in the model's terms.
    assert_eq!(answer["semantic_query"]["measures"][0]["measure"], "order_lines.revenue", "{answer}");
    assert_eq!(answer["semantic_query"]["group_by"], json!(["orders.channel"]));
    // The interpretation names the measure's definition (the glossary's rule) and the exact dates,
    // and comes before any number in the text.
    let interpretation = answer["interpretation"].as_str().unwrap();
    let (start, end) = last_month();
    assert!(interpretation.contains("cancelled") && interpretation.contains(&start), "{interpretation}");
    let text = first["content"][0]["text"].as_str().unwrap();
    let said = text.find("Interpretation:").expect("the text states the interpretation");
    assert!(said < text.find("```sql").unwrap() && said < text.find("| channel").unwrap(), "{text}");
    assert!(!interpretation.contains(&end) || interpretation.contains(&start));

    // Follow-ups change the previous semantic query: a filter, then another value of it, then the
    // limit and the period.
    let conversation = answer["conversation_id"].clone();
    let web = mcp.ok("run_query", json!({ "question": "only web", "conversation_id": conversation })).await;
    assert_eq!(web["result"]["rows"].as_array().unwrap().len(), 1, "{web}");
    assert_eq!(web["result"]["rows"][0][0], "web");
    let store = mcp.ok("run_query", json!({ "question": "what about the store?", "conversation_id": conversation })).await;
    assert_eq!(store["result"]["rows"].as_array().unwrap().len(), 1, "{store}");
    assert_eq!(store["result"]["rows"][0][0], "store");
    assert_eq!(store["semantic_query"]["measures"][0]["measure"], "order_lines.revenue");
    let by_category = mcp.ok("run_query", json!({ "question": "and by category?", "conversation_id": conversation })).await;
    assert!(by_category["semantic_query"]["group_by"].as_array().unwrap().len() >= 2, "{by_category}");
    // A follow-up the conversation stores with its semantic query.
    let thread = mcp.ok("get_conversation", json!({ "conversation_id": conversation })).await;
    let sql_blocks: Vec<&Value> = thread["blocks"].as_array().unwrap().iter().filter(|b| b["kind"] == "sql").collect();
    assert_eq!(sql_blocks.len(), 4);
    assert!(sql_blocks.iter().all(|b| b["content"]["semantic_query"]["measures"].is_array() && b["content"]["interpretation"].is_string()));

    // The same question in Chinese and Korean: the same rows, the interpretation in their language.
    for (question, word) in [("上个月各渠道的收入是多少？", "指标"), ("지난달 채널별 매출은?", "지표")] {
        let asked = mcp.ok("run_query", json!({ "question": question })).await;
        assert_eq!(asked["status"], "answered", "{question}: {asked}");
        assert_eq!(sorted(asked["result"]["rows"].as_array().unwrap()), sorted(&rows_for(me, revenue_by_channel).await), "{question}");
        assert!(asked["interpretation"].as_str().unwrap().contains(word), "{question}: {asked}");
        assert_ne!(asked["lang"], "en");
    }

    // A percentage question is answered with a percentage.
    let share = mcp.ok("run_query", json!({ "question": "What percentage of orders were cancelled?" })).await;
    assert_eq!(share["status"], "answered", "{share}");
    let expected = rows_for(me, "SELECT 100.0 * count(*) FILTER (WHERE status = 'cancelled') / count(*) FROM retail.orders").await;
    let got = share["result"]["rows"][0][0].as_f64().unwrap_or_else(|| share["result"]["rows"][0][0].as_str().unwrap().parse().unwrap());
    let want = expected[0][0].as_f64().unwrap_or_else(|| expected[0][0].as_str().unwrap().parse().unwrap());
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");

    // describe_dataset shows the semantic model the answers come from.
    let retail: i64 = admin().await.query_one("SELECT id FROM quarry.datasets WHERE name = 'Retail'", &[]).await.unwrap().get(0);
    let described = mcp.ok("describe_dataset", json!({ "dataset_id": retail })).await;
    let tables = described["semantic_model"]["tables"].as_array().unwrap();
    let lines = tables.iter().find(|t| t["name"] == "order_lines").unwrap();
    assert!(lines["measures"].as_array().unwrap().iter().any(|m| m["name"] == "revenue"), "{lines}");
}

#[tokio::test]
async fn chinese_and_korean_questions_find_their_dataset() {
    let s = Sidecar::start().await;
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &["Analytics", "Finance"]).await;
    for question in ["每个客户细分有多少客户？", "고객 세그먼트별 고객 수는?"] {
        let answer = mcp.ok("run_query", json!({ "question": question })).await;
        assert_eq!((&answer["dataset"]["name"], &answer["dataset_choice"]), (&json!("Retail"), &json!("matched")), "{question}: {answer}");
    }
    for question in ["各地区每月的收入", "지역별 월별 매출"] {
        let answer = mcp.ok("run_query", json!({ "question": question })).await;
        assert_eq!((&answer["dataset"]["name"], &answer["dataset_choice"]), (&json!("Revenue"), &json!("matched")), "{question}: {answer}");
    }
}

#[tokio::test]
async fn models_answer_with_semantic_queries_through_structured_outputs() {
    let s = Sidecar::start_with(&[("QUARRY_E2E_MODEL_KEY", "sk-e2e")]).await;
    let by_channel = json!({ "measures": [{ "measure": "order_lines.revenue" }], "group_by": ["orders.channel"] });
    let hand = "SELECT o.channel, sum(l.quantity * l.unit_price * (1 - l.discount)) FROM retail.order_lines l \
        JOIN retail.orders o ON o.id = l.order_id WHERE o.status NOT IN ('cancelled', 'returned') GROUP BY 1";
    for provider in ["openai", "anthropic"] {
        let (team, dataset) = own_dataset(None).await;
        admin()
            .await
            .execute(
                "SELECT quarry.import_semantic_model($1, quarry.export_semantic_model((SELECT id FROM quarry.datasets WHERE name = 'Retail')))",
                &[&dataset],
            )
            .await
            .unwrap();
        // First a semantic query naming what the model does not have (sent back with the reason),
        // then a right one.
        let wrong = json!({ "semantic_query": { "measures": [{ "measure": "orders.profit" }] } });
        let right = json!({ "semantic_query": by_channel });
        let replies = match provider {
            "openai" => vec![Reply::openai(&wrong.to_string()), Reply::openai(&right.to_string()), Reply::openai("Web leads.")],
            _ => vec![Reply::anthropic_tool("answer", wrong), Reply::anthropic_tool("answer", right), Reply::anthropic("Web leads.")],
        };
        let fake = FakeModel::start(replies).await;
        use_model(dataset, provider, "m-e2e", &fake.url, Some("QUARRY_E2E_MODEL_KEY"), json!({})).await;
        let (mut mcp, me) = session(&s, Some("retail_analyst"), &[&team]).await;
        let answer = mcp.ok("run_query", json!({ "question": "How much revenue did each channel bring in?" })).await;
        assert_eq!(answer["status"], "answered", "{provider}: {answer}");
        assert_eq!(answer["semantic_query"]["measures"], by_channel["measures"], "{provider}");
        assert_eq!(answer["semantic_query"]["group_by"], by_channel["group_by"], "{provider}");
        assert_eq!(sorted(answer["result"]["rows"].as_array().unwrap()), sorted(&rows_for(me, hand).await), "{provider}");
        assert!(answer["interpretation"].as_str().unwrap().contains("cancelled"), "{provider}: {answer}");
        let attempts = answer["attempts"].as_array().unwrap();
        assert_eq!(attempts[0]["stage"], "semantic_query", "{provider}: {answer}");
        assert!(attempts[0]["error"].as_str().unwrap().contains("profit"), "{provider}: {answer}");
        assert_eq!(answer["analysis"], "Web leads.");

        let requests = fake.requests();
        assert_eq!(requests.len(), 3);
        let first = &requests[0].body;
        // The semantic model is in the prompt, and the answer's schema goes to structured outputs.
        let system = match provider {
            "openai" => first["messages"][0]["content"].as_str().unwrap().to_string(),
            _ => first["system"].as_str().unwrap().to_string(),
        };
        assert!(system.contains("measure order_lines.revenue ="), "{system}");
        match provider {
            "openai" => {
                assert_eq!(first["response_format"]["type"], "json_schema");
                assert!(first["response_format"]["json_schema"]["schema"]["properties"]["semantic_query"].is_object());
            }
            _ => {
                assert_eq!(first["tool_choice"], json!({ "type": "tool", "name": "answer" }));
                assert!(first["tools"][0]["input_schema"]["properties"]["semantic_query"].is_object());
            }
        }
        // The correction names what was wrong; the analysis request asks for text, not JSON.
        assert!(requests[1].body.to_string().contains("cannot be compiled"), "{provider}");
        assert!(requests[2].body.get("response_format").is_none() && requests[2].body.get("tools").is_none());
    }
}

#[tokio::test]
async fn run_sql_calls_of_one_session_make_one_conversation() {
    let s = Sidecar::start().await;
    let (id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, _) = tokens_for(&s.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str();
    let mut first = Mcp::new(&s.url("/mcp"), token);
    first.initialize().await;
    let a = first.ok("run_sql", json!({ "sql": "SELECT 1 AS one" })).await;
    let b = first.ok("run_sql", json!({ "sql": "SELECT 2 AS two", "question": "Two" })).await;
    assert_eq!(a["conversation_id"], b["conversation_id"]);
    let thread = first.ok("get_conversation", json!({ "conversation_id": a["conversation_id"] })).await;
    let questions: Vec<&str> = thread["blocks"].as_array().unwrap().iter().filter(|b| b["kind"] == "question").map(|b| b["content"]["text"].as_str().unwrap()).collect();
    assert_eq!(questions, ["SELECT 1 AS one", "Two"]);
    assert_eq!(thread["title"], "SELECT 1 AS one");

    // Another session of the same account starts its own; a conversation_id still chooses; a
    // question through run_query starts a new one.
    let mut second = Mcp::new(&s.url("/mcp"), token);
    second.initialize().await;
    let c = second.ok("run_sql", json!({ "sql": "SELECT 3" })).await;
    assert_ne!(c["conversation_id"], a["conversation_id"]);
    let d = second.ok("run_sql", json!({ "sql": "SELECT 4", "conversation_id": a["conversation_id"] })).await;
    assert_eq!(d["conversation_id"], a["conversation_id"]);
    let e = second.ok("run_query", json!({ "question": "How many orders are there?" })).await;
    assert!(e["conversation_id"] != a["conversation_id"] && e["conversation_id"] != c["conversation_id"]);
    let count: i64 = admin()
        .await
        .query_one("SELECT count(*) FROM quarry.conversations WHERE account_id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 3);
    // The second call's audit row was committed with its turn, in one transaction.
    let together: bool = admin()
        .await
        .query_one(
            "SELECT (SELECT b.xmin::text FROM quarry.conversation_blocks b
                      WHERE b.conversation_id = $2 AND b.kind = 'question' AND b.content->>'text' = 'Two')
                  = (SELECT a.xmin::text FROM quarry.audit_log a
                      WHERE a.account_id = $1 AND a.action = 'run_sql' ORDER BY a.id OFFSET 1 LIMIT 1)",
            &[&id, &a["conversation_id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(together, "the second run_sql call's audit row and its turn are one transaction's");
}

#[tokio::test]
async fn the_cost_gate_refuses_plans_over_the_datasets_limits_before_they_run() {
    let s = Sidecar::start().await;
    let (team, dataset) = own_dataset(None).await;
    let admin = admin().await;
    admin.execute("SELECT quarry.update_dataset($1, max_cost => 1000)", &[&dataset]).await.unwrap();
    let (mut mcp, _) = session(&s, Some("retail_analyst"), &[&team]).await;

    // A scan of every order is over the limit: refused by the check, naming what costs.
    let refused = mcp.call("run_sql", json!({ "sql": "SELECT channel, sum(total_amount) FROM retail.orders GROUP BY 1" })).await;
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(refused["structuredContent"]["attempts"][0]["stage"], "check");
    let message = refused["content"][0]["text"].as_str().unwrap();
    assert!(message.contains("over this dataset's limit of 1000") && message.contains("retail.orders"), "{message}");
    assert!(refused["structuredContent"].get("result").is_none());
    // A lookup by key is cheap and runs.
    let cheap = mcp.ok("run_sql", json!({ "sql": "SELECT name FROM retail.regions WHERE id = 1" })).await;
    assert_eq!(cheap["status"], "answered");
    // A question the planner answers goes through the same gate.
    let asked = mcp.call("run_query", json!({ "question": "How many orders by channel?", "dataset_id": dataset })).await;
    assert_eq!(asked["structuredContent"]["status"], "failed", "{asked}");
    assert!(asked["content"][0]["text"].as_str().unwrap().contains("over this dataset's limit"), "{asked}");

    // The rows limit names the table read, and 0 removes a limit.
    admin.execute("SELECT quarry.update_dataset($1, max_cost => 0, max_rows_scanned => 500)", &[&dataset]).await.unwrap();
    let rows = mcp.tool_error("run_sql", json!({ "sql": "SELECT count(*) FROM retail.order_lines" })).await;
    assert!(rows.contains("estimated to read") && rows.contains("retail.order_lines"), "{rows}");
    admin.execute("SELECT quarry.update_dataset($1, max_rows_scanned => 0)", &[&dataset]).await.unwrap();
    mcp.ok("run_sql", json!({ "sql": "SELECT count(*) FROM retail.order_lines" })).await;
    let bad = admin.execute("SELECT quarry.update_dataset($1, max_cost => -5)", &[&dataset]).await.unwrap_err();
    assert!(bad.to_string().contains("positive") || bad.as_db_error().is_some_and(|e| e.message().contains("positive")), "{bad}");
}
