//! The SQLBot-compatible front (opt-in, `QUARRY_SQLBOT_COMPAT=true`): SQLBot's six MCP
//! operations (`mcp_start`, `mcp_question`, `mcp_ws_list`, `mcp_datasource_list`,
//! `mcp_assistant`, `get_model_list`) with its argument names, defaults and answer shapes, as MCP
//! tools at `/sqlbot/mcp` (Streamable HTTP) and as plain POSTs at `/sqlbot/mcp/<operation>`.
//! SQLBot's clients carry the token in the arguments; here it is a Quarry access token of the
//! built-in client `sqlbot`, bound to the front's URL, so it opens nothing else. `/mcp` stays
//! OAuth-only. Turned off, none of these paths exists.

pub mod answer;
pub mod error;
pub mod fields;
pub mod http;
pub mod ops;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use self::error::Failure;
use self::ops::{Front, Op};
use crate::mcp::pipeline::Silent;
use crate::mcp::tools::questions::McpCaller;
use crate::session::ClientIp;

/// Where the front lives.
pub const PATH: &str = "/sqlbot/mcp";

/// Largest request body of the front (the server's own limit, 1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// What a model is told about the front's tools.
const INSTRUCTIONS: &str = "\
SQLBot-compatible tools of Quarry. Call mcp_start with the username (the account's email) and \
password first: it returns access_token and chat_id. Pass access_token as `token` to every other \
tool, and chat_id to mcp_question to keep asking in the same chat. mcp_ws_list lists workspaces \
(their id is `oid`), mcp_datasource_list a workspace's datasources (their id is `datasource_id`). \
A 403 'Could not validate credentials' means: call mcp_start again.";

/// `/sqlbot/mcp` (MCP) and `/sqlbot/mcp/<operation>` (plain POSTs).
pub fn router<S: Clone + Send + Sync + 'static>(front: Front) -> Router<S> {
    let public = url::Url::parse(&front.urls.issuer).expect("the issuer is a URL");
    let origins: Vec<String> = public
        .host_str()
        .zip(public.port_or_known_default())
        .map(|(host, port)| format!("{}://{host}:{port}", public.scheme()))
        .into_iter()
        .collect();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts([front.urls.authority.clone()])
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(MAX_BODY)
        .with_sse_keep_alive(Some(Duration::from_secs(15)));
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(Duration::from_secs(600));
    let server = SqlBotServer { front: front.clone() };
    let service = StreamableHttpService::new(move || Ok(server.clone()), Arc::new(sessions), config);
    Router::new()
        .route_service(PATH, service)
        .route(&format!("{PATH}/{{operation}}"), post(http::operation))
        .with_state(front)
}

/// The front's MCP server: six tools with SQLBot's names and arguments.
#[derive(Clone)]
pub struct SqlBotServer {
    front: Front,
}

fn schema(properties: Value, required: &[&str]) -> Arc<Map<String, Value>> {
    let schema = json!({ "type": "object", "properties": properties, "required": required });
    Arc::new(schema.as_object().cloned().unwrap_or_default())
}

/// The tools, with the arguments SQLBot's pydantic models declare.
pub fn tools() -> Vec<Tool> {
    let token = json!({ "type": "string", "description": "access_token from mcp_start" });
    let id = |what: &str| json!({ "anyOf": [{ "type": "integer" }, { "type": "string" }], "description": what });
    let read_only = ToolAnnotations::new().read_only(true).destructive(false).idempotent(true).open_world(false);
    let asks = ToolAnnotations::new().read_only(false).destructive(false).idempotent(false).open_world(false);
    let tool = |op: Op, description: &'static str, schema: Arc<Map<String, Value>>, annotations: &ToolAnnotations| {
        Tool::new_with_raw(op.name(), Some(Cow::Borrowed(description)), schema).with_annotations(annotations.clone())
    };
    vec![
        tool(
            Op::Start,
            "Sign in with username (the account's email) and password. Returns access_token (pass it as `token` to the other tools) and chat_id (a new chat for mcp_question).",
            schema(json!({ "username": { "type": "string" }, "password": { "type": "string" } }), &["username", "password"]),
            &asks,
        ),
        tool(
            Op::Question,
            "Ask a question in plain language in chat chat_id. Returns the SQL, the data, the chart and (with return_img) the chart as a base64 PNG. stream (default true) reports progress while it works.",
            schema(
                json!({
                    "token": token,
                    "chat_id": { "type": "integer", "description": "chat_id from mcp_start" },
                    "question": { "type": "string" },
                    "datasource_id": id("Pin the question to this datasource (mcp_datasource_list); else the chat's, or the best match"),
                    "lang": { "type": "string", "enum": ["zh-CN", "zh-TW", "en", "ko-KR"], "default": "zh-CN" },
                    "oid": { "type": "string", "description": "Workspace id (mcp_ws_list), used only without datasource_id" },
                    "stream": { "type": "boolean", "default": true },
                    "return_img": { "type": "boolean", "default": true },
                }),
                &["token", "chat_id", "question"],
            ),
            &asks,
        ),
        tool(Op::WsList, "The workspaces (teams) you belong to: [{id, name}].", schema(json!({ "token": token }), &["token"]), &read_only),
        tool(
            Op::DatasourceList,
            "The datasources (datasets) of a workspace, without sensitive fields.",
            schema(json!({ "token": token, "oid": id("Workspace id (mcp_ws_list); all of yours without it") }), &["token"]),
            &read_only,
        ),
        tool(
            Op::Assistant,
            "Ask as an assistant an administrator registered: url is the URL it was registered for, authorization its secret.",
            schema(
                json!({
                    "question": { "type": "string" },
                    "url": { "type": "string" },
                    "authorization": { "type": "string" },
                    "stream": { "type": "boolean", "default": true },
                }),
                &["question", "url", "authorization"],
            ),
            &asks,
        ),
        tool(
            Op::ModelList,
            "The model configurations your workspaces may use (never a key).",
            schema(json!({ "token": token }), &["token"]),
            &read_only,
        ),
    ]
}

/// A failure as a tool error, the way fastapi-mcp (SQLBot's MCP layer) reports an HTTP error:
/// the status and SQLBot's body in the text, the body as structured content.
fn failed(op: Op, failure: &Failure) -> CallToolResult {
    let (status, body) = failure.answer();
    let text = format!("Error calling {}. Status code: {}. Response: {}", op.name(), status.as_u16(), body);
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    if body.is_object() {
        result.structured_content = Some(body);
    }
    result
}

/// A JSON answer: its text, and the answer itself as structured content when it is an object.
fn succeeded(value: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
    if value.is_object() {
        result.structured_content = Some(value);
    }
    result
}

impl SqlBotServer {
    async fn call(&self, op: Op, args: Map<String, Value>, context: &RequestContext<RoleServer>) -> CallToolResult {
        let ip = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| ClientIp::of(parts, self.front.trust_forwarded_for).0);
        let prepared = match op {
            Op::Question => self.front.prepare_question(&args).await,
            Op::Assistant => self.front.prepare_assistant(&args, ip).await,
            _ => {
                return match self.front.call(op, &args, ip).await {
                    Ok(value) => succeeded(value),
                    Err(failure) => failed(op, &failure),
                };
            }
        };
        let prepared = match prepared {
            Ok(prepared) => prepared,
            Err(failure) => return failed(op, &failure),
        };
        let answered = if prepared.stream {
            self.front.answer(prepared, &McpCaller::new(context)).await
        } else {
            self.front.answer(prepared, &Silent).await
        };
        match answered {
            Ok(answered) => {
                let mut content = vec![ContentBlock::text(answered.markdown)];
                if let Some(png) = &answered.image {
                    use base64::Engine;
                    content.push(ContentBlock::image(base64::engine::general_purpose::STANDARD.encode(png), "image/png"));
                }
                let mut result = CallToolResult::success(content);
                result.structured_content = Some(Value::Object(answered.body));
                result
            }
            Err(failure) => failed(op, &failure),
        }
    }
}

impl ServerHandler for SqlBotServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("SQLBot MCP Server", env!("CARGO_PKG_VERSION"))
                    .with_title("Quarry (SQLBot-compatible)")
                    .with_description("SQLBot's MCP operations, answered by Quarry")
                    .with_website_url(self.front.urls.issuer.clone()),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, McpError> {
        // Only the six names: SQLBot's other path (mcp_ds_list) is not a tool.
        let Some(op) = Op::ALL.into_iter().find(|op| op.name() == request.name) else {
            return Err(McpError::invalid_params(format!("no tool named {}", request.name), None));
        };
        Ok(self.call(op, request.arguments.unwrap_or_default(), &context).await.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_tools_with_sqlbots_names_and_arguments() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["mcp_start", "mcp_question", "mcp_ws_list", "mcp_datasource_list", "mcp_assistant", "get_model_list"]);
        let question = &tools[1].input_schema;
        assert_eq!(question["properties"]["stream"]["default"], true);
        assert_eq!(question["properties"]["return_img"]["default"], true);
        assert_eq!(question["properties"]["lang"]["default"], "zh-CN");
        assert_eq!(question["required"], json!(["token", "chat_id", "question"]));
    }

    #[test]
    fn a_failure_is_a_tool_error_with_sqlbots_body() {
        let r = failed(Op::WsList, &Failure::Credentials);
        assert_eq!(r.is_error, Some(true));
        assert_eq!(r.structured_content, Some(json!({ "detail": "Could not validate credentials" })));
    }
}
