//! MCP sessions kept in PostgreSQL: rmcp holds a live session in memory, and when a request names
//! a session this process does not hold (it was opened through another sidecar, or this one
//! restarted), rmcp loads the client's initialize request from here and carries on.

use deadpool_postgres::Pool;
use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};

pub struct PgSessionStore {
    pub pool: Pool,
}

#[async_trait::async_trait]
impl SessionStore for PgSessionStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let db = self.pool.get().await?;
        let row = db.query_one("SELECT quarry.load_mcp_session($1)", &[&session_id]).await?;
        let state: Option<serde_json::Value> = row.get(0);
        Ok(state.map(serde_json::from_value).transpose()?)
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let db = self.pool.get().await?;
        db.execute("SELECT quarry.store_mcp_session($1, $2)", &[&session_id, &serde_json::to_value(state)?]).await?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let db = self.pool.get().await?;
        db.execute("SELECT quarry.end_mcp_session($1)", &[&session_id]).await?;
        Ok(())
    }
}
