//! The operations as plain HTTP POSTs, `/sqlbot/mcp/<operation>` with SQLBot's JSON bodies, as
//! SQLBot serves them beside its MCP server (workflow tools such as Dify and n8n call them so).
//! A JSON answer, or for a question with `stream` (SQLBot's default) server-sent events: one
//! `progress` event per step of the pipeline, then `result` with the same object a JSON answer
//! has, or `error` with SQLBot's `{"success": false, "message"}`. A request that cannot be served
//! (bad input, a bad token) is answered before any stream starts, as SQLBot answers it.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::error::Failure;
use super::MAX_BODY;
use super::ops::{Front, Op};
use crate::mcp::pipeline::Silent;
use crate::error::Error;
use crate::mcp::pipeline::Caller;
use crate::session::ClientIp;

pub async fn operation(State(front): State<Front>, Path(name): Path<String>, request: Request) -> Response {
    let Some(op) = Op::named(&name) else { return Error::NotFound("no such endpoint".into()).into_response() };
    let (parts, body) = request.into_parts();
    let ip = ClientIp::of(&parts, front.trust_forwarded_for).0;
    let mut args = match read_body(body).await {
        Ok(args) => args,
        Err(failure) => return refused(&failure),
    };
    // SQLBot's own mcp_ws_list takes its token in the query string.
    if op == Op::WsList && !args.contains_key("token") {
        let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes());
        if let Some((_, token)) = query.into_iter().find(|(k, _)| k == "token") {
            args.insert("token".into(), Value::String(token.into_owned()));
        }
    }
    match op {
        Op::Question | Op::Assistant => question(front, op, args, ip).await,
        _ => match front.call(op, &args, ip).await {
            Ok(value) => answered(value),
            Err(failure) => refused(&failure),
        },
    }
}

/// A JSON body as SQLBot's operations read it: an object (an empty body is an empty one).
async fn read_body(body: Body) -> Result<Map<String, Value>, Failure> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        Failure::Validation(vec![json!({ "type": "too_long", "loc": ["body"], "msg": "The body may be at most 1 MiB" })])
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::Validation(vec![json!({
            "type": "model_attributes_type", "loc": ["body"],
            "msg": "Input should be a valid dictionary or object to extract fields from",
        })])),
        Err(e) => Err(Failure::Validation(vec![json!({
            "type": "json_invalid", "loc": ["body", e.column()], "msg": "JSON decode error", "ctx": { "error": e.to_string() },
        })])),
    }
}

/// Answers are people's data and tokens: never cached.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn answered(value: Value) -> Response {
    no_store((StatusCode::OK, axum::Json(value)).into_response())
}

fn refused(failure: &Failure) -> Response {
    let (status, body) = failure.answer();
    let mut response = no_store((status, axum::Json(body)).into_response());
    if let Some(seconds) = failure.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// Progress of a streamed answer, as `progress` events.
struct Progress {
    events: tokio::sync::mpsc::Sender<Event>,
}

#[async_trait::async_trait]
impl Caller for Progress {
    async fn report(&self, step: u32, total: u32, message: String) {
        let event = event("progress", &json!({ "type": "progress", "step": step, "total": total, "message": message }));
        // Gone when the client stopped listening; the answer is still finished and kept.
        let _ = self.events.send(event).await;
    }
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

async fn question(front: Front, op: Op, args: Map<String, Value>, ip: Option<IpAddr>) -> Response {
    let prepared = match op {
        Op::Question => front.prepare_question(&args).await,
        _ => front.prepare_assistant(&args, ip).await,
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(failure) => return refused(&failure),
    };
    if !prepared.stream {
        return match front.answer(prepared, &Silent).await {
            Ok(answer) => answered(Value::Object(answer.body)),
            Err(failure) => refused(&failure),
        };
    }
    let (events, received) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let progress = Progress { events: events.clone() };
        let last = match front.answer(prepared, &progress).await {
            Ok(answer) => event("result", &Value::Object(answer.body)),
            Err(failure) => event("error", &failure.answer().1),
        };
        let _ = events.send(last).await;
    });
    let stream = ReceiverStream::new(received).map(Ok::<_, Infallible>);
    let mut response = no_store(Sse::new(stream).keep_alive(KeepAlive::default()).into_response());
    // Proxies that buffer responses would hold the progress back.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
