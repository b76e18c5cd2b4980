//! Which scopes each tool needs. The guard checks them before the MCP layer sees a request, so a
//! missing scope is an HTTP 403 `insufficient_scope` the client can act on (re-authorize), not a
//! tool error the model cannot.

/// The scopes a tool needs, all of them; `None` for a tool Quarry does not have.
pub fn required(tool: &str) -> Option<&'static [&'static str]> {
    Some(match tool {
        "run_query" | "run_sql" => &["write"],
        "list_datasets" | "describe_dataset" => &["datasets"],
        "list_conversations" | "get_conversation" => &["conversations"],
        "rename_conversation" | "delete_conversation" => &["conversations", "write"],
        "list_dashboards" | "get_dashboard_pins" | "list_teams" | "list_models" => &["read"],
        "create_dashboard" | "pin_to_dashboard" | "unpin" => &["write"],
        _ => return None,
    })
}
