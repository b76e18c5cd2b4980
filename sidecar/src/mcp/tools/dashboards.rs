//! Dashboards and pins: listing, reading (optionally re-running each pin under your role),
//! creating dashboards, pinning answers and unpinning them.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::Deleted;
use super::{Answer, ToolError, args, run};
use crate::db::Db;
use crate::db::dashboards::{Dashboard, DashboardList, DashboardPins, Pin};
use crate::db::questions::Executor;
use crate::mcp::identity::Identity;
use crate::mcp::pipeline::i18n::Lang;
use crate::mcp::pipeline::{analysis, chart};
use crate::mcp::server::QuarryServer;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDashboardsArgs {
    /// Only this team's dashboards (from list_teams); all your teams' when absent.
    #[serde(default)]
    pub team_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardPinsArgs {
    /// The dashboard (from list_dashboards).
    pub dashboard_id: i64,
    /// Run each pin's SQL again, under your own database role, and include what it returns now
    /// (at most 100 rows each). Default false.
    #[serde(default)]
    pub rerun: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDashboardArgs {
    /// The team it belongs to (from list_teams).
    pub team_id: i64,
    /// Its name, unique in the team (1 to 200 characters).
    pub name: String,
    /// A short label shown with it.
    #[serde(default)]
    pub label: Option<String>,
    /// Its color, like #4f46e5.
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinArgs {
    /// The dashboard to pin to.
    pub dashboard_id: i64,
    /// The conversation whose latest answer (question, SQL, analysis, chart) to pin.
    pub conversation_id: i64,
    /// Where on the dashboard, from 0; at the end when absent.
    #[serde(default)]
    pub position: Option<i32>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnpinArgs {
    /// The pin (from get_dashboard_pins).
    pub pin_id: i64,
}

#[tool_router(router = dashboards_router, vis = "pub(crate)")]
impl QuarryServer {
    #[tool(
        name = "list_dashboards",
        title = "List dashboards",
        description = "The dashboards of your teams (or of one team), with their labels, colors and how many pins each has.",
        output_schema = schema_for_output::<DashboardList>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn list_dashboards(&self, identity: Identity, Parameters(a): Parameters<ListDashboardsArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "list_dashboards", &identity, args(&a), async {
            let list = db.list_dashboards(identity.account_id, a.team_id).await?;
            let text = if list.dashboards.is_empty() {
                "No dashboards yet; create one with create_dashboard.".to_string()
            } else {
                list.dashboards
                    .iter()
                    .map(|d| format!("- {} (dashboard {}, team {}, {} pins, {} {})", d.name, d.id, d.team.name, d.pins, d.color, d.label))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Answer::new(&list, text)
        })
        .await)
    }

    #[tool(
        name = "get_dashboard_pins",
        title = "Get dashboard pins",
        description = "A dashboard's pinned answers in order: question, analysis, SQL and chart configuration. With rerun=true each pin's SQL runs again under your own database role and the current result is included. A pin pinned by someone whose database role differs from yours is always run again under yours (its stored chart and analysis are never shown to you).",
        output_schema = schema_for_output::<DashboardPins>(),
        annotations(read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn get_dashboard_pins(&self, identity: Identity, Parameters(a): Parameters<DashboardPinsArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "get_dashboard_pins", &identity, args(&a), async {
            let mut board = db.dashboard_pins(identity.account_id, a.dashboard_id).await?;
            // A pin whose stored chart and analysis were computed under another role is run
            // again under the caller's, so nobody sees data their own role may not.
            for pin in &mut board.pins {
                if a.rerun == Some(true) || !pin.computed_for_you {
                    rerun(db, &self.pipeline.executor, &identity, pin).await?;
                }
            }
            let mut text = format!("{} (dashboard {}): {} pins\n", board.dashboard.name, board.dashboard.id, board.pins.len());
            for p in &board.pins {
                text.push_str(&format!("{}. {} (pin {}, dataset {})\n", p.position, p.question, p.id, p.dataset.name));
                if !p.analysis.is_empty() {
                    text.push_str(&format!("   {}\n", p.analysis));
                }
                match (&p.result, &p.error) {
                    (Some(r), _) => text.push_str(&format!("   now: {} rows{}\n", r.row_count, if r.truncated { " (truncated)" } else { "" })),
                    (None, Some(e)) => text.push_str(&format!("   could not run: {e}\n")),
                    _ => {}
                }
            }
            Answer::new(&board, text.trim_end().to_string())
        })
        .await)
    }

    #[tool(
        name = "create_dashboard",
        title = "Create a dashboard",
        description = "Creates a dashboard for one of your teams.",
        output_schema = schema_for_output::<Dashboard>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn create_dashboard(&self, identity: Identity, Parameters(a): Parameters<CreateDashboardArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "create_dashboard", &identity, args(&a), async {
            let id = db.create_dashboard(identity.account_id, a.team_id, &a.name, a.label.as_deref(), a.color.as_deref()).await?;
            let list = db.list_dashboards(identity.account_id, Some(a.team_id)).await?;
            let dashboard = list.dashboards.into_iter().find(|d| d.id == id).ok_or(ToolError::Internal)?;
            let text = format!("Created dashboard \"{}\" (dashboard {}) for team {}.", dashboard.name, dashboard.id, dashboard.team.name);
            Answer::new(&dashboard, text)
        })
        .await)
    }

    #[tool(
        name = "pin_to_dashboard",
        title = "Pin an answer",
        description = "Pins a conversation's latest answer (its question, SQL, analysis and chart) to a dashboard of the same team.",
        output_schema = schema_for_output::<Pin>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn pin_to_dashboard(&self, identity: Identity, Parameters(a): Parameters<PinArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "pin_to_dashboard", &identity, args(&a), async {
            let id = db.pin_conversation(identity.account_id, a.dashboard_id, a.conversation_id, a.position).await?;
            let board = db.dashboard_pins(identity.account_id, a.dashboard_id).await?;
            let pin = board.pins.into_iter().find(|p| p.id == id).ok_or(ToolError::Internal)?;
            let text = format!("Pinned \"{}\" to {} (pin {}, position {}).", pin.question, board.dashboard.name, pin.id, pin.position);
            Answer::new(&pin, text)
        })
        .await)
    }

    #[tool(
        name = "unpin",
        title = "Unpin",
        description = "Removes a pin from its dashboard.",
        output_schema = schema_for_output::<Deleted>(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn unpin(&self, identity: Identity, Parameters(a): Parameters<UnpinArgs>) -> Result<CallToolResult, McpError> {
        let db = &self.db;
        Ok(run(self, "unpin", &identity, args(&a), async {
            db.unpin(identity.account_id, a.pin_id).await?;
            Answer::new(&Deleted { deleted: a.pin_id }, format!("Pin {} removed.", a.pin_id))
        })
        .await)
    }
}

/// Runs a pin's SQL under the caller's role and attaches the result (or why it could not run).
async fn rerun(db: &Db, executor: &Executor, identity: &Identity, pin: &mut Pin) -> Result<(), ToolError> {
    let runtime = match db.dataset_runtime(identity.account_id, pin.dataset.id).await.map_err(ToolError::from) {
        Ok(r) => r,
        Err(ToolError::Forbidden(m) | ToolError::NotFound(m)) => {
            pin.error = Some(m);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let limits = executor.limits(runtime.timeout_ms, 100);
    match executor.execute_for(identity.account_id, pin.dataset.id, &pin.sql, limits).await? {
        Ok(result) if !pin.computed_for_you => {
            let chart = chart::choose(&result, &pin.question, Lang::En);
            pin.analysis = analysis::describe(&result, &chart, Lang::En);
            pin.chart = chart.spec;
            pin.result = Some(result);
        }
        Ok(result) => pin.result = Some(result),
        Err(e) => pin.error = Some(e.to_string()),
    }
    Ok(())
}
