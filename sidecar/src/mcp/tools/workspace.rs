//! Teams (workspaces) and the models they may use.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use serde_json::json;

use super::{Answer, run};
use crate::db::workspace::{ModelList, TeamList};
use crate::mcp::identity::Identity;
use crate::mcp::server::QuarryServer;

#[tool_router(router = workspace_router, vis = "pub(crate)")]
impl QuarryServer {
    #[tool(
        name = "list_teams",
        title = "List teams",
        description = "The teams (workspaces) you belong to, with your role in each and how many members and datasets they have. Team ids are what list_dashboards and create_dashboard take.",
        output_schema = schema_for_output::<TeamList>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_teams(&self, identity: Identity) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "list_teams", &identity, json!({}), async {
            let teams = db.account_teams(identity.account_id).await?;
            let text = if teams.teams.is_empty() {
                "You are not in any team yet; ask your administrator to add you to one.".to_string()
            } else {
                teams
                    .teams
                    .iter()
                    .map(|t| format!("- {} (team {}, you are {}; {} members, {} datasets)", t.name, t.id, t.role, t.members, t.datasets))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Answer::new(&teams, text)
        })
        .await)
    }

    #[tool(
        name = "list_models",
        title = "List models",
        description = "The model configurations your teams may use to answer questions: the built-in offline planner and any OpenAI-compatible or Anthropic models an administrator configured, with whether each can be used now.",
        output_schema = schema_for_output::<ModelList>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_models(&self, identity: Identity) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "list_models", &identity, json!({}), async {
            let mut models = db.account_models(identity.account_id).await?;
            for m in &mut models.models {
                m.available = m.usable_here();
            }
            let text = models
                .models
                .iter()
                .map(|m| {
                    let scope = m.team.as_ref().map(|t| format!("team {}", t.name)).unwrap_or_else(|| "all teams".into());
                    let model = m.model.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                    let default = if m.is_default { ", default" } else { "" };
                    let available = if m.available { "" } else { ", not configured on this server" };
                    format!("- {}: {}{model} for {scope}{default}{available}", m.name, m.provider)
                })
                .collect::<Vec<_>>()
                .join("\n");
            Answer::new(&models, text)
        })
        .await)
    }
}

