//! Dashboards and the answers pinned to them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datasets::DatasetRef;
use super::questions::QueryResult;
use super::workspace::TeamRef;
use super::{Db, DbError};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Dashboard {
    pub id: i64,
    pub name: String,
    pub label: String,
    /// #rrggbb
    pub color: String,
    pub team: TeamRef,
    /// How many pins it has.
    pub pins: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardList {
    pub dashboards: Vec<Dashboard>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardHeader {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub color: String,
    pub team_id: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Pin {
    pub id: i64,
    pub position: i64,
    pub question: String,
    pub analysis: String,
    pub sql: String,
    /// The chart configuration (a Vega-Lite specification).
    pub chart: Map<String, Value>,
    pub dataset: DatasetRef,
    pub conversation_id: Option<i64>,
    pub created_at: String,
    /// Whether the stored chart and analysis were computed under your database role. When not,
    /// the pin was run again under your role and its chart and analysis are from that run.
    pub computed_for_you: bool,
    /// With rerun (or when not computed for you): what the pin's SQL returns now, under your role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<QueryResult>,
    /// With rerun: why the SQL could not run for you.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DashboardPins {
    pub dashboard: DashboardHeader,
    pub pins: Vec<Pin>,
}

impl Db {
    /// The dashboards of an account's teams (or of one team).
    pub async fn list_dashboards(&self, account_id: i64, team_id: Option<i64>) -> Result<DashboardList, DbError> {
        self.json("list_dashboards", "SELECT quarry.list_dashboards($1, $2)", &[&account_id, &team_id]).await
    }

    /// A dashboard and its pins in order.
    pub async fn dashboard_pins(&self, account_id: i64, dashboard_id: i64) -> Result<DashboardPins, DbError> {
        self.json("dashboard_pins", "SELECT quarry.dashboard_pins($1, $2)", &[&account_id, &dashboard_id]).await
    }

    /// Creates a dashboard (no label and Quarry's indigo unless given) and returns its id.
    pub async fn create_dashboard(&self, account_id: i64, team_id: i64, name: &str, label: Option<&str>, color: Option<&str>) -> Result<i64, DbError> {
        let row = self
            .query_one(
                "SELECT quarry.create_dashboard($1, $2, $3, coalesce($4, ''), coalesce($5, '#4f46e5'))",
                &[&account_id, &team_id, &name, &label, &color],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Pins a conversation's latest answer to a dashboard and returns the pin's id.
    pub async fn pin_conversation(&self, account_id: i64, dashboard_id: i64, conversation_id: i64, position: Option<i32>) -> Result<i64, DbError> {
        let row = self
            .query_one(
                "SELECT quarry.pin_conversation($1, $2, $3, $4)",
                &[&account_id, &dashboard_id, &conversation_id, &position],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn unpin(&self, account_id: i64, pin_id: i64) -> Result<(), DbError> {
        self.execute("SELECT quarry.unpin($1, $2)", &[&account_id, &pin_id]).await
    }
}
