//! The MCP server's state: the check of every request's bearer token (and MCP session), the
//! sessions themselves, and the audit log of tool calls.

use serde_json::Value;
use tokio_postgres::types::Json;

use super::conversations::NewTurn;
use super::{Db, DbError};

/// Who a request to `/mcp` comes from, as `quarry.check_mcp_request` found it.
#[derive(Debug)]
pub struct CheckedCaller {
    pub account_id: i64,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// What became of the MCP session the request names: `unknown` when it is not this account's
    /// and client's (or does not exist, or ended).
    pub session_status: String,
}

/// One row of `quarry.audit_log`: who called which tool, through which client, how it ended.
pub struct AuditEntry<'a> {
    pub account_id: i64,
    pub client_id: &'a str,
    pub tool: &'a str,
    pub arguments: &'a Value,
    /// ok, error or denied.
    pub outcome: &'a str,
    pub duration_ms: f64,
    pub error: Option<&'a str>,
    pub question: Option<&'a str>,
    pub sql: Option<&'a str>,
    pub row_count: Option<i64>,
}

impl Db {
    /// Checks a bearer token for this resource and, when the request names one, that the MCP
    /// session is the token's account's and client's. `None` for a token that is unknown, expired,
    /// revoked or for another resource.
    pub async fn check_mcp_request(&self, token: &str, resource: &str, session_id: Option<&str>) -> Result<Option<CheckedCaller>, DbError> {
        let row = self
            .query_opt(
                "SELECT account_id, client_id, scopes, session_status FROM quarry.check_mcp_request($1, $2, $3)",
                &[&token, &resource, &session_id],
            )
            .await?;
        Ok(row.map(|row| CheckedCaller { account_id: row.get(0), client_id: row.get(1), scopes: row.get(2), session_status: row.get(3) }))
    }

    /// Records who opened a new MCP session.
    pub async fn open_mcp_session(&self, session_id: &str, account_id: i64, client_id: &str) -> Result<(), DbError> {
        self.execute("SELECT quarry.open_mcp_session($1, $2, $3)", &[&session_id, &account_id, &client_id]).await
    }

    pub async fn end_mcp_session(&self, session_id: &str) -> Result<(), DbError> {
        self.execute("SELECT quarry.end_mcp_session($1)", &[&session_id]).await
    }

    /// The stored state of an MCP session (its client's initialize request), if there is one.
    pub async fn load_mcp_session(&self, session_id: &str) -> Result<Option<Value>, DbError> {
        let row = self.query_one("SELECT quarry.load_mcp_session($1)", &[&session_id]).await?;
        Ok(row.get(0))
    }

    pub async fn store_mcp_session(&self, session_id: &str, state: &Value) -> Result<(), DbError> {
        self.execute("SELECT quarry.store_mcp_session($1, $2)", &[&session_id, &state]).await
    }

    async fn audit(&self, e: &AuditEntry<'_>) -> Result<(), DbError> {
        self.execute(
            "SELECT quarry.audit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&e.account_id, &e.client_id, &e.tool, &e.arguments, &e.outcome, &e.duration_ms, &e.error, &e.question, &e.sql, &e.row_count],
        )
        .await
    }

    /// Records a call and the turn it produced in one transaction (the audit row committed with
    /// the call's own writes) and returns the turn's conversation; without a turn, only the audit
    /// row. When the turn cannot be saved nothing is written, and the error says why.
    pub async fn record_call(&self, e: &AuditEntry<'_>, turn: Option<&NewTurn>) -> Result<Option<i64>, DbError> {
        let Some(turn) = turn else {
            return self.audit(e).await.map(|()| None);
        };
        // Serialized straight into the request: the blocks are not copied on the way.
        let turn = Json(turn);
        let row = self
            .query_one(
                "SELECT quarry.record_call($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &e.account_id, &e.client_id, &e.tool, &e.arguments, &e.outcome, &e.duration_ms, &e.error, &e.question, &e.sql,
                    &e.row_count, &turn,
                ],
            )
            .await?;
        Ok(row.get(0))
    }
}
