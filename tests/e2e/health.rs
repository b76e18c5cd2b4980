//! The sidecar as a process: configuration, /healthz against a real database in its various
//! states, refusing an extension version it was not built for, JSON errors, request ids, and a
//! graceful stop.

use quarry_e2e::mcp::{Mcp, PROTOCOL};
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, admin_conninfo_for, connect, database_url_with, http, sidecar_role};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[tokio::test]
async fn healthy_sidecar_reports_database_and_extension() {
    let sidecar = Sidecar::start().await;
    let response = http().get(sidecar.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"), "every response carries a request id");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["extension"]["installed"], VERSION);
    assert_eq!(body["extension"]["required"], VERSION);
}

#[tokio::test]
async fn unreachable_database_is_503_not_a_crash() {
    let sidecar = Sidecar::start_with(&[("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/nowhere")]).await;
    let response = http().get(sidecar.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "the database is unreachable");
    assert!(!body.to_string().contains("secret"), "no credentials in responses: {body}");
    // Still serving: the next request gets the same clear answer.
    assert_eq!(http().get(sidecar.url("/healthz")).send().await.unwrap().status(), 503);
}

#[tokio::test]
async fn database_without_the_extension_is_reported() {
    let admin = admin().await;
    admin.batch_execute("DROP DATABASE IF EXISTS quarry_e2e_bare WITH (FORCE)").await.unwrap();
    admin.batch_execute("CREATE DATABASE quarry_e2e_bare").await.unwrap();
    let sidecar = Sidecar::start_with(&[("DATABASE_URL", &database_url_with(None, Some("quarry_e2e_bare")))]).await;
    let response = http().get(sidecar.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["extension"]["installed"], Value::Null);
    assert!(body["database"].as_str().unwrap().contains("CREATE EXTENSION quarry"), "{body}");
}

#[tokio::test]
async fn older_extension_is_refused_at_startup_with_the_command_to_run() {
    // A database still on the released 0.1.0, which the sidecar's role may otherwise use.
    let admin = admin().await;
    admin.batch_execute("DROP DATABASE IF EXISTS quarry_e2e_old_extension WITH (FORCE)").await.unwrap();
    admin.batch_execute("CREATE DATABASE quarry_e2e_old_extension").await.unwrap();
    let old = connect(&admin_conninfo_for("quarry_e2e_old_extension")).await;
    old.batch_execute("CREATE EXTENSION quarry VERSION '0.1.0'").await.unwrap();
    old.execute("SELECT quarry.grant_service($1)", &[&sidecar_role()]).await.unwrap();

    let url = database_url_with(None, Some("quarry_e2e_old_extension"));
    let (status, logs) = Sidecar::run_refused(&[("DATABASE_URL", &url)]).await;
    assert!(!status.success(), "exit status {status:?}");
    let stopped = logs.iter().find(|e| e["message"] == "quarry-sidecar stopped").expect("a log line saying why it stopped");
    assert_eq!(stopped["level"], "ERROR");
    assert_eq!(
        stopped["error"],
        format!(
            "the database has quarry 0.1.0; this sidecar needs {VERSION}: run ALTER EXTENSION quarry UPDATE TO '{VERSION}'; \
             in that database as a superuser (the {VERSION} extension must be installed on the server; the upgrade keeps all data)"
        ),
        "{logs:?}"
    );
}

#[tokio::test]
async fn role_without_the_service_grant_is_reported() {
    let admin = admin().await;
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF to_regrole('quarry_e2e_outsider') IS NULL THEN
                 CREATE ROLE quarry_e2e_outsider LOGIN NOINHERIT PASSWORD 'outsider-password';
               END IF;
             END $$;",
        )
        .await
        .unwrap();
    let url = database_url_with(Some(("quarry_e2e_outsider", "outsider-password")), None);
    let sidecar = Sidecar::start_with(&[("DATABASE_URL", &url)]).await;
    let response = http().get(sidecar.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert!(body["database"].as_str().unwrap().contains("grant_service"), "{body}");
}

#[tokio::test]
async fn unknown_paths_and_methods_get_clear_errors() {
    let sidecar = Sidecar::start().await;
    let response = http().get(sidecar.url("/no/such/thing")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let response = http().post(sidecar.url("/healthz")).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn sigterm_stops_gracefully() {
    let sidecar = Sidecar::start().await;
    assert_eq!(http().get(sidecar.url("/healthz")).send().await.unwrap().status(), 200);
    let logs = sidecar.logs();
    let listening = logs.iter().find(|e| e["message"] == "listening").expect("a listening log line");
    assert_eq!(listening["level"], "INFO");
    assert!(listening["public_url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{listening}");
    let status = sidecar.terminate().await;
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn requests_are_logged_with_their_request_id() {
    let sidecar = Sidecar::start().await;
    let response = http().get(sidecar.url("/healthz")).header("x-request-id", "e2e-trace-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "e2e-trace-42", "a caller's request id is kept");
    // The response is sent before the log line is flushed; give the log reader a moment.
    for _ in 0..50 {
        if sidecar.logs().iter().any(|e| e.to_string().contains("e2e-trace-42")) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no log line carries the request id: {:?}", sidecar.logs());
}

/// Reads from `stream` until it ends or `wait` passes: whether the server closed it, and what came.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, wait: std::time::Duration) -> (bool, String) {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (false, String::from_utf8_lossy(&received).into_owned()),
            Ok(Ok(0)) | Ok(Err(_)) => return (true, String::from_utf8_lossy(&received).into_owned()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn connections_waiting_for_a_request_are_closed_but_open_streams_are_not() {
    use tokio::io::AsyncWriteExt;
    let sidecar = Sidecar::start_with(&[("QUARRY_HTTP_IDLE_TIMEOUT_MS", "500")]).await;
    let address = sidecar.base_url.trim_start_matches("http://").to_string();
    // Waiting past the configured bound, so that what is checked is what the server did.
    let past_the_bound = std::time::Duration::from_millis(2000);

    // A keep-alive connection, idle after its answer, is closed.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).await.unwrap();
    let (closed, received) = read_until_closed(&mut idle, past_the_bound).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(closed, "an idle keep-alive connection stays open");

    // So is a client that sends its headers too slowly (or never finishes them).
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n").as_bytes()).await.unwrap();
    let (closed, received) = read_until_closed(&mut slow, past_the_bound).await;
    assert!(closed, "a connection with unfinished headers stays open");
    assert!(!received.contains(" 200 "), "{received}");

    // A response being streamed is not waiting for a request: an MCP session's event stream stays open.
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, _) = tokens_for(&sidecar.base_url, &email, &password, None).await;
    let token = tokens["access_token"].as_str().unwrap();
    let mut mcp = Mcp::new(&sidecar.url("/mcp"), Some(token));
    mcp.initialize().await;
    let session = mcp.session_id.clone().unwrap();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /mcp HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n\
         MCP-Protocol-Version: {PROTOCOL}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (closed, received) = read_until_closed(&mut stream, past_the_bound).await;
    assert!(received.starts_with("HTTP/1.1 200") && received.to_lowercase().contains("text/event-stream"), "{received}");
    assert!(!closed, "the event stream was closed while open: {received}");
    // And the session still answers on a new connection.
    mcp.ok("list_teams", serde_json::json!({})).await;
}
