//! A small MCP client over raw HTTP, for checking status codes, headers and exact JSON: it
//! speaks JSON-RPC over Streamable HTTP (JSON or SSE answers) and keeps the session id.

use serde_json::{Value, json};

pub const PROTOCOL: &str = "2025-11-25";

pub struct Mcp {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
    pub session_id: Option<String>,
    next_id: i64,
}

/// The JSON-RPC message answering `id` in a response body, whether JSON or an SSE stream.
pub fn response_for(body: &str, id: i64) -> Option<Value> {
    let direct = serde_json::from_str::<Value>(body).ok().into_iter();
    let events = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok());
    direct.chain(events).find(|m| m["id"] == id)
}

/// Every JSON-RPC message in a response body (notifications included).
pub fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines().filter_map(|l| l.strip_prefix("data:")).filter_map(|d| serde_json::from_str(d.trim()).ok()).collect()
}

impl Mcp {
    pub fn new(url: &str, token: Option<&str>) -> Mcp {
        Mcp { http: crate::client_builder().build().unwrap(), url: url.to_string(), token: token.map(str::to_string), session_id: None, next_id: 1 }
    }

    /// A POST of one JSON-RPC message with the usual headers (and the session, once there is one).
    pub fn post(&self, message: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", PROTOCOL)
            .json(message);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = &self.session_id {
            request = request.header("mcp-session-id", session);
        }
        request
    }

    /// Sends a request; returns the HTTP status, the JSON-RPC response (if any) and the raw body.
    pub async fn request(&mut self, method: &str, params: Value) -> (u16, Option<Value>, String) {
        let id = self.next_id;
        self.next_id += 1;
        let response = self.post(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).send().await.unwrap();
        let status = response.status().as_u16();
        if let Some(session) = response.headers().get("mcp-session-id") {
            self.session_id = Some(session.to_str().unwrap().to_string());
        }
        let body = response.text().await.unwrap();
        (status, response_for(&body, id), body)
    }

    /// initialize + notifications/initialized; panics unless both succeed.
    pub async fn initialize(&mut self) -> Value {
        let (status, response, body) = self
            .request("initialize", json!({
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": { "name": "quarry-e2e", "version": "1" },
            }))
            .await;
        assert_eq!(status, 200, "initialize: {body}");
        let response = response.expect("an initialize response");
        let notified = self.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).send().await.unwrap();
        assert_eq!(notified.status(), 202);
        response["result"].clone()
    }

    /// tools/call; returns the result object (with isError, content, structuredContent).
    pub async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let (status, response, body) = self.request("tools/call", json!({ "name": tool, "arguments": arguments })).await;
        assert_eq!(status, 200, "{tool}: HTTP {status}: {body}");
        let response = response.unwrap_or_else(|| panic!("{tool}: no response in {body}"));
        assert!(response.get("error").is_none(), "{tool}: JSON-RPC error {response}");
        response["result"].clone()
    }

    /// tools/call that must succeed; returns its structured content.
    pub async fn ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments).await;
        assert_eq!(result["isError"], false, "{tool} failed: {result}");
        result["structuredContent"].clone()
    }

    /// tools/call that must fail as a tool error; returns its message.
    pub async fn tool_error(&mut self, tool: &str, arguments: Value) -> String {
        let result = self.call(tool, arguments).await;
        assert_eq!(result["isError"], true, "{tool} should have failed: {result}");
        result["content"][0]["text"].as_str().unwrap().to_string()
    }
}
