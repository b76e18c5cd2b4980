//! A bound on the MCP sessions held in memory. Every session is a row in PostgreSQL (see
//! [`super::sessions`]); memory only holds the ones in use: rmcp's local session manager, plus
//! a count. When more than `capacity` sessions are live, the least recently used one that has
//! nothing running (no request in progress, no open stream) leaves memory. Its next request
//! brings it back from PostgreSQL, as after a restart, so a client never notices. Memory then
//! stays bounded however many sessions clients keep open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, ServerSseMessage, SessionId, SessionManager};
use tokio_stream::{Stream, StreamExt};

use crate::metrics::Metrics;

/// When a live session was last used, and how many of its requests and streams are open.
struct Use {
    last: Instant,
    open: u32,
}

type Uses = Arc<Mutex<HashMap<SessionId, Use>>>;

/// rmcp's local session manager, holding at most `capacity` idle sessions in memory.
pub struct LiveSessions {
    inner: LocalSessionManager,
    capacity: usize,
    uses: Uses,
    metrics: Metrics,
}

/// Open while a request or stream of a session is: the session is not evicted meanwhile.
struct Open {
    uses: Uses,
    id: SessionId,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(u) = lock(&self.uses).get_mut(&self.id) {
            u.open = u.open.saturating_sub(1);
            u.last = Instant::now();
        }
    }
}

fn lock(uses: &Uses) -> MutexGuard<'_, HashMap<SessionId, Use>> {
    uses.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveSessions {
    pub fn new(inner: LocalSessionManager, capacity: usize, metrics: Metrics) -> LiveSessions {
        LiveSessions { inner, capacity: capacity.max(1), uses: Uses::default(), metrics }
    }

    /// Notes a use of a session now.
    fn touch(&self, id: &SessionId) {
        if let Some(u) = lock(&self.uses).get_mut(id) {
            u.last = Instant::now();
        }
    }

    /// Marks a session in use until the returned value is dropped.
    fn open(&self, id: &SessionId) -> Open {
        if let Some(u) = lock(&self.uses).get_mut(id) {
            u.open += 1;
            u.last = Instant::now();
        }
        Open { uses: self.uses.clone(), id: id.clone() }
    }

    /// Counts a session that just came into memory, then sends the least recently used idle
    /// ones (never `new`) out of memory until at most `capacity` are left.
    async fn admit(&self, new: &SessionId) {
        let evicted: Vec<SessionId> = {
            let mut uses = lock(&self.uses);
            uses.insert(new.clone(), Use { last: Instant::now(), open: 0 });
            let mut idle: Vec<(Instant, SessionId)> =
                uses.iter().filter(|(id, u)| u.open == 0 && *id != new).map(|(id, u)| (u.last, id.clone())).collect();
            let excess = uses.len().saturating_sub(self.capacity).min(idle.len());
            if excess == 0 {
                return;
            }
            idle.select_nth_unstable_by_key(excess - 1, |(last, _)| *last);
            idle.truncate(excess);
            idle.into_iter()
                .map(|(_, id)| {
                    uses.remove(&id);
                    id
                })
                .collect()
        };
        for id in evicted {
            tracing::debug!(session = %id, "an idle MCP session leaves memory (PostgreSQL keeps it)");
            self.metrics.session_evicted();
            if let Err(e) = self.inner.close_session(&id).await {
                tracing::warn!(session = %id, error = %e, "an idle MCP session did not close cleanly");
            }
        }
    }

    /// A stream that keeps its session marked in use (by `open`) while it is open.
    fn held<S>(open: Open, stream: S) -> impl Stream<Item = ServerSseMessage> + Send + Sync + 'static
    where
        S: Stream<Item = ServerSseMessage> + Send + Sync + 'static,
    {
        stream.map(move |message| {
            let _held = &open;
            message
        })
    }
}

impl SessionManager for LiveSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.admit(&id).await;
        Ok((id, transport))
    }

    async fn initialize_session(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<ServerJsonRpcMessage, Self::Error> {
        let _open = self.open(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        lock(&self.uses).remove(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let open = self.open(id);
        let stream = self.inner.create_stream(id, message).await?;
        Ok(Self::held(open, stream))
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(&self, id: &SessionId) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let open = self.open(id);
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(Self::held(open, stream))
    }

    async fn resume(&self, id: &SessionId, last_event_id: String) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let open = self.open(id);
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(Self::held(open, stream))
    }

    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        let outcome = self.inner.restore_session(id.clone()).await?;
        if matches!(outcome, RestoreOutcome::Restored(_)) {
            self.admit(&id).await;
        }
        Ok(outcome)
    }
}
