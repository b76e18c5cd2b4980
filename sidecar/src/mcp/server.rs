//! Quarry's MCP server: its description, its instructions for models, and its tools (collected
//! from the tools modules).
//!
//! It declares tools and nothing else, in `initialize` and in `server/discover` alike, and answers
//! the methods of what it does not declare (prompts, resources, resource templates, completions,
//! logging) with -32601 "method not found", as the specification says, rather than empty lists.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{
    CompleteRequestMethod, CompleteRequestParams, CompleteResult, Implementation, ListPromptsRequestMethod, ListPromptsResult,
    ListResourceTemplatesRequestMethod, ListResourceTemplatesResult, ListResourcesRequestMethod, ListResourcesResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, tool_handler};

use super::pipeline::Pipeline;
use crate::db::Db;
use crate::metrics::Metrics;

/// What a model is told about using Quarry.
pub const INSTRUCTIONS: &str = "\
Quarry answers questions about the user's PostgreSQL data, under the user's own database \
permissions (they may see only some rows or columns).
- Start with list_datasets (detail=names for a quick look at a big catalog) or describe_dataset for \
one dataset's columns, keys, glossary and example questions.
- Ask questions in plain language with run_query; pass the conversation_id it returns to ask \
follow-ups. If you write SQL yourself, use run_sql: one read-only SELECT, schema-qualified names, \
results capped (check `truncated`).
- list_conversations and get_conversation show earlier threads; list_dashboards and \
get_dashboard_pins show pinned answers (rerun=true refreshes them); pin_to_dashboard keeps an answer.
- Tool errors explain what to change; a permission error means the user's role may not see that data.";

#[derive(Clone)]
pub struct QuarryServer {
    /// The extension, for the tools that read and change what it keeps.
    pub(crate) db: Db,
    /// Answers run_query and run_sql (and re-runs pins).
    pub(crate) pipeline: Pipeline,
    /// Where tool calls are counted and timed.
    pub(crate) metrics: Metrics,
    /// This server's public URL, shown to clients as its website.
    issuer: String,
    tool_router: ToolRouter<Self>,
}

impl QuarryServer {
    pub fn new(db: Db, pipeline: Pipeline, issuer: String, metrics: Metrics) -> QuarryServer {
        QuarryServer {
            db,
            pipeline,
            metrics,
            issuer,
            tool_router: Self::workspace_router()
                + Self::datasets_router()
                + Self::questions_router()
                + Self::conversations_router()
                + Self::dashboards_router(),
        }
    }

    /// The names of every tool this server offers.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_router.list_all().into_iter().map(|t| t.name.to_string()).collect()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for QuarryServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("quarry", env!("CARGO_PKG_VERSION"))
                    .with_title("Quarry")
                    .with_description("Plain-language questions over PostgreSQL, answered under your own database role.")
                    .with_website_url(self.issuer.clone()),
            )
            .with_instructions(INSTRUCTIONS)
    }

    // Not declared, so not served (rmcp's defaults answer these with empty lists).

    async fn list_prompts(&self, _: Option<PaginatedRequestParams>, _: RequestContext<RoleServer>) -> Result<ListPromptsResult, McpError> {
        Err(McpError::method_not_found::<ListPromptsRequestMethod>())
    }

    async fn list_resources(&self, _: Option<PaginatedRequestParams>, _: RequestContext<RoleServer>) -> Result<ListResourcesResult, McpError> {
        Err(McpError::method_not_found::<ListResourcesRequestMethod>())
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Err(McpError::method_not_found::<ListResourceTemplatesRequestMethod>())
    }

    async fn complete(&self, _: CompleteRequestParams, _: RequestContext<RoleServer>) -> Result<CompleteResult, McpError> {
        Err(McpError::method_not_found::<CompleteRequestMethod>())
    }
}
