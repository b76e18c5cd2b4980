//! The pages in a real browser: headless Chromium (the system's, driven through the DevTools
//! protocol by tests/clients/browser.mjs) does what a person does on the sign-in, consent and
//! settings pages, while this test plays the app: it registers, builds the authorization URL,
//! takes the code from the redirect, exchanges it, and calls MCP with the tokens. Every step is
//! kept as screenshots at a desktop and a phone width, under `QUARRY_E2E_SCREENSHOTS/<test>/`.

use std::path::PathBuf;
use std::process::Stdio;

use quarry_e2e::mcp::Mcp;
use quarry_e2e::oauth::{Client, Pkce, authorization_url, query_param, register_named, token_request};
use quarry_e2e::{Sidecar, account, admin, required_env};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The browser, with a person in front of it: one command at a time, one answer each.
struct Person {
    child: Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
    shots: PathBuf,
    /// Screenshots taken so far, numbered in the order of the steps.
    taken: usize,
}

impl Person {
    /// Starts Chromium for pages of this sidecar; screenshots go to a fresh folder for `test`.
    async fn at(s: &Sidecar, test: &str) -> Person {
        let shots = PathBuf::from(required_env("QUARRY_E2E_SCREENSHOTS")).join(test);
        // A folder per test, emptied first: what it holds is this run's steps.
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("cannot create {}: {e}", shots.display()));
        let mut child = Command::new(required_env("QUARRY_E2E_NODE"))
            .arg("browser.mjs")
            .arg(required_env("QUARRY_E2E_CHROMIUM"))
            .arg(&s.base_url)
            .arg(&shots)
            .current_dir(required_env("QUARRY_E2E_CLIENTS"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the browser driver (node browser.mjs)");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap()).lines();
        Person { child, input, output, shots, taken: 0 }
    }

    /// Sends one command and returns its answer; a command the browser could not carry out fails
    /// the test with what it said and where its screenshot of the moment is.
    async fn ask(&mut self, command: Value) -> Value {
        let mut line = command.to_string();
        line.push('\n');
        self.input.write_all(line.as_bytes()).await.expect("write to the browser driver");
        self.input.flush().await.unwrap();
        let answer = match self.output.next_line().await {
            Ok(Some(answer)) => answer,
            other => panic!("the browser driver ended without answering {command} ({other:?}; its errors are above)"),
        };
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("the browser driver said {answer:?}: {e}"));
        assert_eq!(answer["ok"], true, "the browser could not do {command}: {answer}");
        answer
    }

    /// Screenshots of the page as it is, at both widths; checks that a phone shows it without
    /// scrolling sideways.
    async fn shot(&mut self, step: &str) -> Value {
        self.taken += 1;
        let name = format!("{:02}-{step}", self.taken);
        let answer = self.ask(json!({"do": "shot", "name": name})).await;
        assert_eq!(answer["phone_overflow_px"], 0, "{step}: the page is wider than a phone's screen: {answer}");
        answer
    }

    async fn open(&mut self, url: &str) -> Value {
        self.ask(json!({"do": "open", "url": url})).await["page"].clone()
    }

    /// The consent page: untick these, take screenshots, press "Allow". Returns the answer (the
    /// scopes offered and left ticked, and the page the browser landed on).
    async fn allow_except(&mut self, untick: &[&str], step: &str) -> Value {
        self.taken += 1;
        let name = format!("{:02}-{step}", self.taken);
        let answer = self.ask(json!({"do": "consent", "untick": untick, "shot": name})).await;
        assert_eq!(answer["shot"]["phone_overflow_px"], 0, "{step}: the page is wider than a phone's screen: {answer}");
        answer
    }

    async fn close(mut self) {
        self.ask(json!({"do": "close"})).await;
        // The end of its input is the driver's cue to exit.
        self.input.shutdown().await.expect("close the browser driver's input");
        let status = self.child.wait().await.expect("wait for the browser driver");
        assert!(status.success(), "the browser driver exited with {status}");
        eprintln!("screenshots: {}", self.shots.display());
    }
}

impl Drop for Person {
    /// A test that failed midway leaves no browser behind: SIGTERM (not the SIGKILL of
    /// `kill_on_drop`) lets puppeteer end the Chromium it started before the driver exits.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait()
            && let Some(pid) = self.child.id()
        {
            // SAFETY: kill(2) with our own child's pid, which `try_wait` just saw running.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
    }
}

/// A dynamically registered client under `name`, and a PKCE authorization URL for all scopes.
async fn app(s: &Sidecar, name: &str, redirect_uri: &str) -> (Client, Pkce, String, String) {
    let client = register_named(&s.base_url, name, redirect_uri).await;
    let pkce = Pkce::new();
    let state = quarry_e2e::random_hex(12);
    let url = authorization_url(&s.base_url, &client, &pkce, Some("read write datasets conversations"), &state, &s.url("/mcp"));
    (client, pkce, state, url)
}

/// The status of an MCP `initialize` with this token.
async fn mcp_status(s: &Sidecar, access_token: &str) -> u16 {
    let mut mcp = Mcp::new(&s.url("/mcp"), Some(access_token));
    mcp.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "browser e2e", "version": "1"}}))
        .await
        .0
}

/// A person connects an app: signs in, unticks one permission, allows the rest; the app gets
/// exactly what was left ticked. Then the person revokes the app in settings, and its access and
/// refresh tokens stop working.
#[tokio::test]
async fn a_person_connects_an_app_with_less_and_revokes_it() {
    let s = Sidecar::start().await;
    let (account_id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    // A loopback redirect nobody serves: the browser stops there, as a person's would at the app.
    let redirect_uri = "http://127.0.0.1:39874/callback";
    let (client, pkce, state, url) = app(&s, "Browser Test App", redirect_uri).await;
    let mut person = Person::at(&s, "connect-and-revoke").await;

    // The app sends the person to Quarry, who is not signed in yet.
    let page = person.open(&url).await;
    assert_eq!(page["heading"], "Sign in to Quarry", "{page}");
    person.shot("sign-in").await;
    let signed_in = person.ask(json!({"do": "sign_in", "email": email, "password": password})).await;
    assert_eq!(signed_in["page"]["heading"], "Allow Browser Test App to use your Quarry account?", "{signed_in}");
    person.shot("consent").await;

    // Unticks "See conversations" and allows the rest.
    let consent = person.allow_except(&["conversations"], "consent-unticked").await;
    assert_eq!(consent["offered"], json!(["read", "write", "datasets", "conversations"]));
    assert_eq!(consent["left"], json!(["read", "write", "datasets"]));
    let back = consent["page"]["url"].as_str().unwrap().to_string();
    assert!(back.starts_with(&format!("{redirect_uri}?")), "the browser ended at {back}");
    person.shot("back-in-the-app").await;

    // The app: state and issuer as sent, then the code for tokens.
    assert_eq!(query_param(&back, "state").as_deref(), Some(state.as_str()), "{back}");
    assert_eq!(query_param(&back, "iss").as_deref(), Some(s.base_url.as_str()), "{back}");
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let (status, tokens, _) = token_request(&s.base_url, &[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &client.client_id),
        ("redirect_uri", redirect_uri),
        ("code_verifier", &pkce.verifier),
        ("resource", &s.url("/mcp")),
    ])
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "read write datasets", "the unticked scope is not granted: {tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let consented: Vec<String> = admin()
        .await
        .query_one("SELECT scopes FROM quarry.oauth_consents WHERE account_id = $1 AND client_id = $2", &[&account_id, &client.client_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(consented, ["read", "write", "datasets"]);

    // What the grant allows works; what was unticked is refused for want of its scope.
    let mut mcp = Mcp::new(&s.url("/mcp"), Some(&access));
    mcp.initialize().await;
    assert_eq!(mcp.ok("list_datasets", json!({})).await["datasets"][0]["name"], "Retail");
    let (status, _, body) = mcp.request("tools/call", json!({"name": "list_conversations", "arguments": {}})).await;
    assert_eq!(status, 403, "list_conversations needs the unticked scope: {body}");

    // Settings lists the app with what it may do.
    let page = person.open(&s.url("/settings")).await;
    assert_eq!(page["heading"], "E2E person", "{page}");
    person.shot("settings").await;
    let listed = person.ask(json!({"do": "apps"})).await;
    assert_eq!(listed["apps"].as_array().unwrap().len(), 1, "{listed}");
    let listed_app = &listed["apps"][0];
    assert_eq!(listed_app["name"], "Browser Test App", "{listed}");
    assert_eq!(listed_app["scopes"], json!(["read", "write", "datasets"]), "{listed}");
    assert_eq!(listed_app["revoke"], "Revoke", "{listed}");
    assert_eq!(listed_app["count"], Value::Null, "one registration is not counted: {listed}");

    // Revokes it.
    person.ask(json!({"do": "revoke", "app": "Browser Test App"})).await;
    let after = person.ask(json!({"do": "apps"})).await;
    assert_eq!(after["none"], true, "{after}");
    assert_eq!(after["notice"], "Access revoked. The app's tokens stopped working at once.", "{after}");
    person.shot("revoked").await;
    person.close().await;

    // The app's tokens stopped working: MCP answers 401, the refresh token refreshes nothing.
    let (status, _, body) = mcp.request("tools/call", json!({"name": "list_datasets", "arguments": {}})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(mcp_status(&s, &access).await, 401);
    let (status, refreshed, _) = token_request(&s.base_url, &[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("client_id", &client.client_id),
    ])
    .await;
    assert_eq!(status, 400, "{refreshed}");
    assert_eq!(refreshed["error"], "invalid_grant", "{refreshed}");
}

/// One program that registered again and again (a new client_id each time, a new loopback port
/// each time) is listed once in settings, its registrations folded under it, beside another app;
/// "Revoke all" ends every registration's grant and leaves the other app alone.
#[tokio::test]
async fn settings_groups_the_registrations_of_one_app() {
    const REGISTRATIONS: usize = 4;
    let s = Sidecar::start().await;
    let (account_id, email, password) = account(Some("retail_analyst"), &["Analytics"]).await;
    let mut person = Person::at(&s, "grouped-registrations").await;

    let mut grouped = Vec::new();
    for i in 0..REGISTRATIONS {
        let redirect_uri = format!("http://127.0.0.1:{}/callback", 39880 + i);
        let (client, _, _, url) = app(&s, "Grouped App", &redirect_uri).await;
        let page = person.open(&url).await;
        if i == 0 {
            assert_eq!(page["heading"], "Sign in to Quarry", "{page}");
            person.ask(json!({"do": "sign_in", "email": email, "password": password})).await;
        }
        // The first grant leaves out "conversations"; the app as a whole still may see them,
        // through the others.
        let untick: &[&str] = if i == 0 { &["conversations"] } else { &[] };
        let consent = person.ask(json!({"do": "consent", "untick": untick})).await;
        let back = consent["page"]["url"].as_str().unwrap();
        assert!(back.starts_with(&format!("{redirect_uri}?code=")), "registration {i}: the browser ended at {back}");
        grouped.push(client.client_id);
    }
    let (other, _, _, url) = app(&s, "Other App", "http://127.0.0.1:39890/callback").await;
    person.open(&url).await;
    let consent = person.ask(json!({"do": "consent", "untick": ["write", "conversations"]})).await;
    assert!(consent["page"]["url"].as_str().unwrap().starts_with("http://127.0.0.1:39890/callback?code="), "{consent}");

    person.open(&s.url("/settings")).await;
    person.shot("settings-grouped").await;
    let listed = person.ask(json!({"do": "apps"})).await;
    let apps = listed["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "one entry per app: {listed}");
    // The newest grant first: the other app, then the grouped one.
    assert_eq!(apps[0]["name"], "Other App", "{listed}");
    assert_eq!(apps[0]["count"], Value::Null, "{listed}");
    assert_eq!(apps[0]["scopes"], json!(["read", "datasets"]), "{listed}");
    assert_eq!(apps[0]["revoke"], "Revoke", "{listed}");
    assert_eq!(apps[0]["registrations"], json!([]), "{listed}");
    let group = &apps[1];
    assert_eq!(group["name"], "Grouped App", "{listed}");
    assert_eq!(group["count"], format!("{REGISTRATIONS} registrations"), "{listed}");
    assert_eq!(group["scopes"], json!(["read", "write", "datasets", "conversations"]), "{listed}");
    assert_eq!(group["revoke"], "Revoke all", "{listed}");
    let registrations = group["registrations"].as_array().unwrap();
    assert_eq!(registrations.len(), REGISTRATIONS, "{listed}");
    assert!(registrations.iter().all(|r| r["visible"] == false), "folded until opened: {listed}");
    // Newest first: the registration that left out "conversations" is the last.
    assert_eq!(registrations[REGISTRATIONS - 1]["scopes"], json!(["read", "write", "datasets"]), "{listed}");

    person.ask(json!({"do": "expand", "app": "Grouped App"})).await;
    person.shot("settings-registrations-open").await;
    let opened = person.ask(json!({"do": "apps"})).await;
    assert!(opened["apps"][1]["registrations"].as_array().unwrap().iter().all(|r| r["visible"] == true), "{opened}");

    person.ask(json!({"do": "revoke", "app": "Grouped App"})).await;
    let after = person.ask(json!({"do": "apps"})).await;
    person.shot("grouped-app-revoked").await;
    person.close().await;
    assert_eq!(after["notice"], "Access revoked. The app's tokens stopped working at once.", "{after}");
    let names: Vec<&str> = after["apps"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Other App"], "{after}");
    let left: Vec<String> = admin()
        .await
        .query("SELECT client_id FROM quarry.oauth_consents WHERE account_id = $1 ORDER BY client_id", &[&account_id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, [other.client_id], "every registration of the grouped app lost its grant, the other app kept its own");
    assert_eq!(grouped.len(), REGISTRATIONS);
}
