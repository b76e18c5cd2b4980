//! The sidecar as a process: configuration, /healthz against a real database in its various
//! states, refusing an extension version it was not built for, JSON errors, request ids, and a
//! graceful stop.

use quarry_e2e::{Sidecar, admin, admin_conninfo_for, connect, database_url_with, http, sidecar_role};
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
