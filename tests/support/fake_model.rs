//! A scripted stand-in for a remote model API (the one part of the system the tests may fake): a
//! local HTTP server that answers OpenAI chat completions and Anthropic messages requests with the
//! replies a test lines up, in order, and records every request it got.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted reply: an HTTP status, extra headers and a JSON body.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Reply {
    /// An OpenAI chat completion whose message is `text`.
    pub fn openai(text: &str) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "id": "chatcmpl-e2e", "object": "chat.completion", "model": "gpt-e2e",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            }),
        }
    }

    /// An Anthropic message whose text is `text`.
    pub fn anthropic(text: &str) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "id": "msg_e2e", "type": "message", "role": "assistant", "model": "claude-e2e",
                "content": [{ "type": "text", "text": text }], "stop_reason": "end_turn",
            }),
        }
    }

    /// An Anthropic message that calls the tool `name` with `input` (how structured outputs come
    /// back from Anthropic).
    pub fn anthropic_tool(name: &str, input: Value) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "id": "msg_e2e", "type": "message", "role": "assistant", "model": "claude-e2e",
                "content": [{ "type": "tool_use", "id": "toolu_e2e", "name": name, "input": input }], "stop_reason": "tool_use",
            }),
        }
    }

    /// An error status with a provider-style error body.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply { status, headers: Vec::new(), body: json!({ "error": { "type": "e2e", "message": message } }) }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

pub struct FakeModel {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    script: Script,
}

async fn answer(State(script): State<Script>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    script.requests.lock().unwrap().push(Request { path: uri.path().to_string(), headers, body });
    let Some(reply) = script.replies.lock().unwrap().pop_front() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": { "message": "no more scripted replies" } }))).into_response();
    };
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), axum::Json(reply.body)).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

impl FakeModel {
    /// Starts a fake serving `replies` in order, on a free loopback port.
    pub async fn start(replies: Vec<Reply>) -> FakeModel {
        let script = Script { replies: Arc::new(Mutex::new(replies.into())), requests: Arc::default() };
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeModel { url, script }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.script.requests.lock().unwrap().clone()
    }

    /// How many scripted replies are left.
    pub fn unused(&self) -> usize {
        self.script.replies.lock().unwrap().len()
    }
}
