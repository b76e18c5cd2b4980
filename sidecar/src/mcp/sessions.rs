//! MCP sessions kept in PostgreSQL: rmcp holds a live session in memory, and when a request names
//! a session this process does not hold (it was opened through another sidecar, or this one
//! restarted), rmcp loads the client's initialize request from here and carries on.

use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};

use crate::db::Db;

pub struct PgSessionStore {
    pub db: Db,
}

#[async_trait::async_trait]
impl SessionStore for PgSessionStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let state = self.db.load_mcp_session(session_id).await?;
        Ok(state.map(serde_json::from_value).transpose()?)
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        self.db.store_mcp_session(session_id, &serde_json::to_value(state)?).await?;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        self.db.end_mcp_session(session_id).await?;
        Ok(())
    }
}
