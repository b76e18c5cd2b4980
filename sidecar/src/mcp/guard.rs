//! The resource server in front of `/mcp` (RFC 6750, RFC 9728, MCP authorization). For every
//! request, one call into the extension checks the bearer token for this resource and, when the
//! request names an MCP session, that the session is this account's and this client's. Then:
//! - no token: 401 with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`;
//! - a bad token: the same, with `error="invalid_token"`;
//! - a session that is not theirs (or unknown, or ended): 404, like any unknown session;
//! - a tool call needing a scope the token lacks: 403 `insufficient_scope` naming the scopes
//!   granted and needed, so the client can re-authorize for all of them.
//!
//! Only then does the MCP layer see the request, with the caller's [`Identity`] attached.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::identity::Identity;
use super::scopes;
use crate::db::Db;
use crate::db::DbError;
use crate::db::error::RETRY_AFTER_SECONDS;
use crate::db::oauth::SCOPES;
use crate::metrics::{Metrics, TokenCheck};
use crate::urls::PublicUrls;

/// What the guard needs: the extension (to check tokens and record sessions), the public URLs
/// (the resource tokens must be for, and where its metadata lives), and where its decisions are
/// counted.
#[derive(Clone)]
pub struct Guard {
    pub db: Db,
    pub urls: Arc<PublicUrls>,
    pub metrics: Metrics,
}

/// Largest MCP request body read.
pub const MAX_BODY: usize = 1024 * 1024;

fn challenge(state: &Guard, status: StatusCode, error: Option<(&str, &str)>, scope: &str) -> Response {
    let mut value = String::from("Bearer ");
    if let Some((code, description)) = error {
        value.push_str(&format!("error=\"{code}\", error_description=\"{description}\", "));
    }
    value.push_str(&format!("resource_metadata=\"{}\", scope=\"{scope}\"", state.urls.resource_metadata));
    let body = match error {
        Some((code, description)) => json!({ "error": code, "error_description": description }),
        None => json!({ "error": "unauthorized", "error_description": "this server needs an OAuth access token" }),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&value).expect("ASCII header"));
    response
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    let mut response = (status, message).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The database is restarting or every connection is busy: worth trying again soon.
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// The tools a JSON-RPC body calls (a message or a batch of them).
fn called_tools(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    let messages = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    messages
        .iter()
        .filter(|m| m["method"] == "tools/call")
        .filter_map(|m| m["params"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The bearer token of an `Authorization` header (RFC 6750 §2.1), if it carries a plausible one.
fn bearer_token(header: Option<&HeaderValue>) -> Option<String> {
    let value = header?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty() && token.len() <= 512).then(|| token.to_string())
}

pub async fn guard(State(state): State<Guard>, request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let all_scopes = SCOPES.join(" ");
    // The body is read before any answer, even a 401: a response sent while the request body is
    // still unread makes the HTTP server close the connection afterwards, and a client that put
    // it back in its pool meanwhile fails its next request with "server disconnected".
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        let mut response = plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large: an MCP request may be at most 1 MiB");
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    let Some(token) = bearer_token(parts.headers.get(header::AUTHORIZATION)) else {
        state.metrics.token_check(TokenCheck::Missing);
        return challenge(&state, StatusCode::UNAUTHORIZED, None, &all_scopes);
    };
    let session_id = parts.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);

    let checked = state.db.check_mcp_request(&token, &state.urls.resource, session_id.as_deref()).await;
    let caller = match checked {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            state.metrics.token_check(TokenCheck::Invalid);
            return challenge(
                &state,
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", "the access token is unknown, expired, revoked or for another resource")),
                &all_scopes,
            );
        }
        Err(DbError::Unavailable) => {
            state.metrics.token_check(TokenCheck::Unavailable);
            return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable: the database is unavailable right now");
        }
        Err(e) => {
            state.metrics.token_check(TokenCheck::Unavailable);
            tracing::error!(error = %e, "token check failed");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable: the token could not be checked");
        }
    };
    if caller.session_status == "unknown" {
        state.metrics.token_check(TokenCheck::UnknownSession);
        return plain(StatusCode::NOT_FOUND, "Not Found: Session not found");
    }
    let identity = Identity { account_id: caller.account_id, client_id: caller.client_id, scopes: caller.scopes, session_id: session_id.clone() };

    for tool in called_tools(&bytes) {
        let Some(needed) = scopes::required(&tool) else { continue };
        if needed.iter().any(|s| !identity.scopes.iter().any(|g| g == s)) {
            let wanted: Vec<&str> =
                SCOPES.iter().copied().filter(|s| needed.contains(s) || identity.scopes.iter().any(|g| g == s)).collect();
            tracing::info!(account_id = identity.account_id, tool, ?needed, "insufficient scope");
            state.metrics.token_check(TokenCheck::InsufficientScope);
            return challenge(
                &state,
                StatusCode::FORBIDDEN,
                Some(("insufficient_scope", &format!("{tool} needs the {} scope", needed.join(" and ")))),
                &wanted.join(" "),
            );
        }
    }

    state.metrics.token_check(TokenCheck::Accepted);
    let method = parts.method.clone();
    parts.extensions.insert(identity.clone());
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    // A session ended by DELETE: 200, which every client reads as success (some treat rmcp's
    // 202 as a failed termination).
    if method == Method::DELETE && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }

    // Record who opened a new session; forget a session its owner ended.
    let new_session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let recorded = match (&session_id, &new_session) {
        (None, Some(id)) => state.db.open_mcp_session(id, identity.account_id, &identity.client_id).await,
        (Some(id), new) if method == Method::DELETE && response.status().is_success() => {
            state.db.end_mcp_session(new.as_ref().unwrap_or(id)).await
        }
        _ => Ok(()),
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record an MCP session");
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable: the session could not be recorded");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_come_from_tools_call_messages() {
        let one = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_sql","arguments":{}}}"#;
        assert_eq!(called_tools(one), ["run_sql"]);
        let batch = br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"list_teams"}}]"#;
        assert_eq!(called_tools(batch), ["list_teams"]);
        assert!(called_tools(b"not json").is_empty());
    }

    #[test]
    fn every_scope_named_exists() {
        for tool in ["run_query", "run_sql", "list_datasets", "describe_dataset", "list_conversations", "get_conversation",
                     "rename_conversation", "delete_conversation", "list_dashboards", "get_dashboard_pins", "list_teams",
                     "list_models", "create_dashboard", "pin_to_dashboard", "unpin"] {
            for scope in scopes::required(tool).unwrap() {
                assert!(SCOPES.contains(scope), "{tool}: {scope}");
            }
        }
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert_eq!(bearer_token(Some(&header("Bearer qat_abc"))).as_deref(), Some("qat_abc"));
        assert_eq!(bearer_token(Some(&header("bearer  qat_abc "))).as_deref(), Some("qat_abc"));
        assert_eq!(bearer_token(Some(&header("Basic qat_abc"))), None);
        assert_eq!(bearer_token(Some(&header("Bearer "))), None);
        assert_eq!(bearer_token(Some(&header(&format!("Bearer {}", "x".repeat(513))))), None);
        assert_eq!(bearer_token(None), None);
    }

    // Fuzzing: any body and any Authorization header are read or ignored, never a panic; a tool
    // named in a body is always found (so its scope is always checked).
    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        #[test]
        fn any_body_is_read_or_ignored(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = called_tools(&bytes);
        }

        #[test]
        fn any_header_is_read_or_ignored(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes)
                && let Some(token) = bearer_token(Some(&value))
            {
                proptest::prop_assert!(!token.is_empty() && token.len() <= 512);
            }
        }

        #[test]
        fn every_called_tool_is_seen(names in proptest::collection::vec("[a-z_]{1,20}", 1..6), batch in proptest::bool::ANY, id in proptest::num::i64::ANY) {
            let messages: Vec<Value> = names
                .iter()
                .map(|n| json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": n, "arguments": {"x": [1, 2]}}}))
                .collect();
            let body = if batch || messages.len() > 1 { Value::Array(messages) } else { messages[0].clone() };
            proptest::prop_assert_eq!(called_tools(body.to_string().as_bytes()), names);
        }
    }
}
