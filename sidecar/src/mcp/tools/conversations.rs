//! Conversation threads: listing, reading, renaming and deleting them.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{Deleted, Renamed};
use super::{Answer, args, page_offset, page_size, run};
use crate::db::conversations::{Conversation, ConversationList};
use crate::mcp::identity::Identity;
use crate::mcp::server::QuarryServer;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversationsArgs {
    /// Only this dataset's conversations (from list_datasets); all of yours when absent.
    #[serde(default)]
    pub dataset_id: Option<i64>,
    /// Conversations on this page (1 to 200, default 20), newest first.
    #[serde(default)]
    pub page_size: Option<i64>,
    /// How many to skip (default 0).
    #[serde(default)]
    pub page_offset: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationArgs {
    /// The conversation (from list_conversations or run_query).
    pub conversation_id: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameArgs {
    pub conversation_id: i64,
    /// The new title (1 to 300 characters).
    pub title: String,
}

/// A block as a readable line.
fn block_text(kind: &str, content: &serde_json::Map<String, serde_json::Value>) -> String {
    let s = |k: &str| content.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    match kind {
        "question" => format!("Q: {}", s("text")),
        "sql" => format!("SQL:\n{}", s("sql")),
        "result" => format!(
            "Result: {} rows{}",
            content.get("row_count").and_then(|v| v.as_i64()).unwrap_or(0),
            if content.get("truncated").and_then(|v| v.as_bool()) == Some(true) { " (truncated)" } else { "" }
        ),
        "chart" => format!("Chart: {}", s("type")),
        "analysis" => format!("Analysis: {}", s("text")),
        "error" => format!("Error ({}): {}", s("stage"), s("message")),
        other => other.to_string(),
    }
}

#[tool_router(router = conversations_router, vis = "pub(crate)")]
impl QuarryServer {
    #[tool(
        name = "list_conversations",
        title = "List conversations",
        description = "Your conversation threads, newest first, optionally of one dataset: topic, when each started and was last updated, and how many questions it holds.",
        output_schema = schema_for_output::<ConversationList>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_conversations(
        &self,
        identity: Identity,
        Parameters(a): Parameters<ListConversationsArgs>,
    ) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "list_conversations", &identity, args(&a), async {
            let size = page_size(a.page_size, 20, 200)?;
            let offset = page_offset(a.page_offset)?;
            let list = db.list_conversations(identity.account_id, a.dataset_id, size, offset).await?;
            let mut lines: Vec<String> = list
                .conversations
                .iter()
                .map(|c| format!("- {} (conversation {}, {}, {} questions, updated {})", c.title, c.id, c.dataset.name, c.questions, c.updated_at))
                .collect();
            if lines.is_empty() {
                lines.push("No conversations yet.".into());
            }
            lines.push(format!("{} of {} shown.", list.conversations.len(), list.total));
            Answer::new(&list, lines.join("\n"))
        })
        .await)
    }

    #[tool(
        name = "get_conversation",
        title = "Get a conversation",
        description = "One conversation with every block in order: the questions, the SQL that answered them, result previews, chart data, analyses and errors.",
        output_schema = schema_for_output::<Conversation>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_conversation(&self, identity: Identity, Parameters(a): Parameters<ConversationArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "get_conversation", &identity, args(&a), async {
            let c = db.get_conversation(identity.account_id, a.conversation_id).await?;
            let mut text = format!("{} (conversation {}, dataset {})\n", c.title, c.id, c.dataset.name);
            for b in &c.blocks {
                text.push_str(&block_text(&b.kind, &b.content));
                text.push('\n');
            }
            Answer::new(&c, text.trim_end().to_string())
        })
        .await)
    }

    #[tool(
        name = "rename_conversation",
        title = "Rename a conversation",
        description = "Gives one of your conversations a new title.",
        output_schema = schema_for_output::<Renamed>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn rename_conversation(&self, identity: Identity, Parameters(a): Parameters<RenameArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "rename_conversation", &identity, args(&a), async {
            db.rename_conversation(identity.account_id, a.conversation_id, &a.title).await?;
            let renamed = Renamed { id: a.conversation_id, title: a.title.trim().to_string() };
            let text = format!("Conversation {} is now called \"{}\".", renamed.id, renamed.title);
            Answer::new(&renamed, text)
        })
        .await)
    }

    #[tool(
        name = "delete_conversation",
        title = "Delete a conversation",
        description = "Deletes one of your conversations and all its blocks. Pins made from it stay on their dashboards.",
        output_schema = schema_for_output::<Deleted>(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn delete_conversation(&self, identity: Identity, Parameters(a): Parameters<ConversationArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "delete_conversation", &identity, args(&a), async {
            db.delete_conversation(identity.account_id, a.conversation_id).await?;
            Answer::new(&Deleted { deleted: a.conversation_id }, format!("Conversation {} deleted.", a.conversation_id))
        })
        .await)
    }
}
