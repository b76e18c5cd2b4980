//! The official MCP conformance suite (@modelcontextprotocol/conformance 0.2, on Node 22) against
//! a real sidecar: the server scenarios that apply to any server, and the authorization-server
//! scenarios with the sign-in and consent pages driven like a person would.
//!
//! The suite cannot send a bearer token, so it talks to the sidecar through a proxy that adds
//! one; the sidecar's public URL is the proxy's, so its Host and Origin checks still decide.

use std::process::Stdio;
use std::time::Duration;

use quarry_e2e::oauth::{Browser, Consent, tokens_for};
use quarry_e2e::proxy::Proxy;
use quarry_e2e::{Sidecar, account, admin, http, required_env};
use tokio::io::{AsyncBufReadExt, BufReader};

fn conformance() -> (String, String) {
    let clients = required_env("QUARRY_E2E_CLIENTS");
    (required_env("QUARRY_E2E_NODE"), format!("{clients}/node_modules/@modelcontextprotocol/conformance/dist/index.js"))
}

/// A sidecar behind a proxy whose URL is the public one, and a token for a fresh analyst.
async fn proxied() -> (Proxy, Sidecar) {
    let proxy = Proxy::start().await;
    let sidecar = Sidecar::start_with(&[("QUARRY_PUBLIC_URL", &proxy.url)]).await;
    proxy.forward_to(&sidecar.base_url);
    (proxy, sidecar)
}

#[tokio::test]
async fn server_scenarios() {
    let (proxy, _sidecar) = proxied().await;
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let (tokens, _) = tokens_for(&proxy.url, &email, &password, None).await;
    proxy.set_token(tokens["access_token"].as_str().unwrap());
    let (node, suite) = conformance();
    for scenario in ["server-initialize", "server-session-lifecycle", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"] {
        let output = tokio::process::Command::new(&node)
            .args([&suite, "server", "--url", &format!("{}/mcp", proxy.url), "--scenario", scenario])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{scenario} failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("Passed:") && stdout.contains(" 0 failed") && !stdout.contains("FAILURE"), "{scenario}:\n{stdout}");
        eprintln!("--- {scenario}\n{stdout}");
    }
}

#[tokio::test]
async fn authorization_server_scenarios() {
    let (proxy, _sidecar) = proxied().await;
    let (_, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    // The suite's callback listens on a port we choose; its client is registered beforehand.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let client: serde_json::Value = admin().await
        .query_one("SELECT quarry.register_client('conformance suite', ARRAY[$1], kind => 'preregistered')", &[&redirect])
        .await.unwrap().get(0);
    let (node, suite) = conformance();
    let mut child = tokio::process::Command::new(&node)
        .args([&suite, "authorization", "--url", &proxy.url, "--client-id", client["client_id"].as_str().unwrap(),
               "--resource", &format!("{}/mcp", proxy.url), "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut transcript = String::new();
    // The suite prints the authorization URL and waits for its callback: be the person.
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await.expect("the suite prints an authorization URL").unwrap()
            .unwrap_or_else(|| panic!("the suite ended early:\n{transcript}"));
        transcript.push_str(&line);
        transcript.push('\n');
        if let Some(at) = line.find(&format!("{}/oauth/authorize?", proxy.url)) {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    let back = Browser::new(&proxy.url).authorize(&url, &email, &password, Consent::All).await;
    assert!(back.starts_with(&redirect), "{back}");
    http().get(&back).send().await.unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        transcript.push_str(&line);
        transcript.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "authorization scenarios failed:\n{transcript}");
    assert!(transcript.contains("authorization-code-grant") && transcript.contains(" 0 failed") && !transcript.contains("FAILURE"), "{transcript}");
}
