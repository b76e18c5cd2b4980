//! Who is calling: set by the guard from the bearer token, read by every tool.

use rmcp::ErrorData as McpError;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};

/// The account and client behind a request's access token, with the scopes it was granted.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account_id: i64,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The MCP session the request belongs to (none on the request that opens one).
    pub session_id: Option<String>,
}

/// Lets a tool take `identity: Identity` as an argument: the guard put it in the HTTP request's
/// extensions, and rmcp hands each MCP request the HTTP request's parts.
impl<C: AsRequestContext> FromContextPart<C> for Identity {
    fn from_context_part(context: &mut C) -> Result<Self, McpError> {
        context
            .as_request_context()
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Identity>())
            .cloned()
            .ok_or_else(|| McpError::internal_error("the request was not authenticated", None))
    }
}
