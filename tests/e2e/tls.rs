//! TLS on every connection: the sidecar reaches PostgreSQL with TLS as libpq's `sslmode` and
//! `sslrootcert` say (the private cluster of `./dev test` has a local CA and `ssl = on`, and the
//! URL every test uses is `sslmode=verify-full` against that CA), refuses to start when the
//! server's certificate is not what the settings demand, and can serve HTTPS itself.

use std::path::PathBuf;
use std::process::Command;

use quarry_e2e::{Sidecar, admin, http, local_ca, mcp_session, required_env, sidecar_database_url};
use serde_json::json;

/// The test URL with `sslmode` and `sslrootcert` replaced (None drops it).
fn url_with(mode: &str, root: Option<&str>, host: Option<&str>) -> String {
    let url = sidecar_database_url();
    let (base, query) = url.split_once('?').expect("the test URL has TLS options");
    assert!(query.contains("sslmode=verify-full"), "./dev test gives sidecars verify-full: {query}");
    let mut base = base.to_string();
    let mut extra = String::new();
    if let Some(host) = host {
        // libpq's hostaddr: connect to the real address, check the certificate against `host`.
        base = base.replace("@127.0.0.1:", &format!("@{host}:"));
        extra = "&hostaddr=127.0.0.1".into();
    }
    match root {
        Some(root) => format!("{base}?sslmode={mode}&sslrootcert={root}{extra}"),
        None => format!("{base}?sslmode={mode}{extra}"),
    }
}

/// A certificate authority that signed nothing the cluster uses.
fn other_ca() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quarry-e2e-other-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("ca.crt");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-days", "2"])
        .args(["-subj", "/CN=Another CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        .arg("-keyout")
        .arg(dir.join("ca.key"))
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make a CA");
    cert
}

/// What the stopped sidecar said about why, from its log.
async fn refusal(url: &str) -> String {
    let (status, logs) = Sidecar::run_refused(&[("DATABASE_URL", url)]).await;
    assert!(!status.success(), "exit status {status:?}");
    let stopped = logs.iter().find(|e| e["message"] == "quarry-sidecar stopped").expect("a log line saying why it stopped");
    assert_eq!(stopped["level"], "ERROR");
    stopped["error"].as_str().unwrap().to_string()
}

/// (application_name, ssl) of the sidecars' backends now.
async fn backends() -> Vec<(String, bool)> {
    let admin = admin().await;
    admin
        .query(
            "SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
              WHERE a.application_name LIKE 'quarry-%' AND a.client_port IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn verify_full_connects_and_every_backend_is_encrypted() {
    let s = Sidecar::start().await;
    let health = http().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A question opens the question pool's connection too.
    let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let answer = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM retail.orders" })).await;
    assert_eq!(answer["status"], "answered", "{answer}");

    let seen = backends().await;
    for name in ["quarry-sidecar", "quarry-sidecar (questions)"] {
        assert!(seen.iter().any(|(n, _)| n == name), "no backend named {name:?}: {seen:?}");
    }
    let plain: Vec<_> = seen.iter().filter(|(_, ssl)| !ssl).collect();
    assert!(plain.is_empty(), "backends without TLS: {plain:?}");
}

#[tokio::test]
async fn sslmode_disable_is_plain_so_pg_stat_ssl_tells_them_apart() {
    let url = format!("{}&application_name=quarry-e2e-plain", url_with("disable", None, None));
    let s = Sidecar::start_with(&[("DATABASE_URL", &url)]).await;
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status(), 200);
    let seen = backends().await;
    assert!(seen.iter().any(|(n, ssl)| n == "quarry-e2e-plain" && !ssl), "{seen:?}");
}

#[tokio::test]
async fn verify_full_with_another_ca_refuses_to_start() {
    let other = other_ca();
    let error = refusal(&url_with("verify-full", Some(other.to_str().unwrap()), None)).await;
    assert!(error.starts_with("TLS to DATABASE_URL failed: invalid peer certificate"), "{error}");
    assert!(error.contains("UnknownIssuer") || error.contains("unknown issuer"), "{error}");
    // verify-ca checks the chain as well.
    let error = refusal(&url_with("verify-ca", Some(other.to_str().unwrap()), None)).await;
    assert!(error.contains("invalid peer certificate"), "{error}");
}

#[tokio::test]
async fn verify_full_with_another_host_name_refuses_to_start_but_verify_ca_does_not_check_names() {
    let ca = local_ca().expect("QUARRY_E2E_TLS_DIR");
    let ca = ca.to_str().unwrap();
    let error = refusal(&url_with("verify-full", Some(ca), Some("db.wrong-name.test"))).await;
    assert!(error.starts_with("TLS to DATABASE_URL failed: invalid peer certificate"), "{error}");
    assert!(error.contains("not valid for name") && error.contains("db.wrong-name.test"), "{error}");

    let s = Sidecar::start_with(&[("DATABASE_URL", &url_with("verify-ca", Some(ca), Some("db.wrong-name.test")))]).await;
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    let url = format!("{}&application_name=quarry-e2e-require", url_with("require", None, None));
    let s = Sidecar::start_with(&[("DATABASE_URL", &url)]).await;
    assert_eq!(http().get(s.url("/healthz")).send().await.unwrap().status(), 200);
    let seen = backends().await;
    assert!(seen.iter().any(|(n, ssl)| n == "quarry-e2e-require" && *ssl), "{seen:?}");
}

#[tokio::test]
async fn a_missing_root_certificate_is_a_clear_configuration_error() {
    let (status, _) = Sidecar::run_refused(&[("DATABASE_URL", &url_with("verify-full", Some("/nonexistent/ca.crt"), None))]).await;
    // Configuration errors exit with 2 before logging is set up (stderr says which variable).
    assert_eq!(status.code(), Some(2), "{status:?}");
}

#[tokio::test]
async fn the_sidecar_serves_https_and_a_real_mcp_call_completes_over_it() {
    let dir = PathBuf::from(required_env("QUARRY_E2E_TLS_DIR"));
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let s = Sidecar::start_with(&[("QUARRY_TLS_CERT", cert.to_str().unwrap()), ("QUARRY_TLS_KEY", key.to_str().unwrap())]).await;
    assert!(s.base_url.starts_with("https://127.0.0.1:"), "{}", s.base_url);

    // The discovery documents name https URLs.
    let metadata: serde_json::Value =
        http().get(s.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert!(metadata["issuer"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{metadata}");

    // OAuth (registration, sign-in, consent, token) and an MCP tool call, all over TLS.
    let (mut mcp, _) = mcp_session(&s, Some("retail_analyst"), &["Analytics"], None).await;
    let answer = mcp.ok("run_sql", json!({ "sql": "SELECT count(*) AS n FROM retail.orders" })).await;
    assert_eq!(answer["status"], "answered", "{answer}");

    // A client that does not trust the local CA is refused at the handshake.
    let untrusting = reqwest::Client::new();
    let refused = untrusting.get(s.url("/healthz")).send().await;
    assert!(refused.is_err(), "{refused:?}");
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = reqwest::get(s.url("/healthz").replacen("https://", "http://", 1)).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}
