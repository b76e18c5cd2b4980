//! A bound on the MCP sessions held in memory. Every session is a row in PostgreSQL (see
//! [`super::sessions`]); memory only holds the ones in use: rmcp's local session manager, plus
//! a count. When more than `capacity` sessions are live, the least recently used one that has
//! nothing running leaves memory. Its next request brings it back from PostgreSQL, as after a
//! restart, so a client never notices. Memory then stays bounded however many sessions clients
//! keep open.
//!
//! "Nothing running" must cover the steps rmcp takes one after another for one HTTP request, or
//! a session could leave memory between two of them and the request fail: so a session is held
//! (never chosen) while any HTTP request naming it is in progress ([`Pins`], taken by the layer
//! [`hold`] around the MCP service, before rmcp looks the session up or restores it), while a
//! stream of it is open, and from the moment it enters memory (created or restored) until its
//! initialize handshake is done.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, ServerSseMessage, SessionId, SessionManager};
use tokio_stream::{Stream, StreamExt};

use crate::metrics::Metrics;

/// When a session was last used, how many things hold it now (requests, streams, its handshake),
/// and whether it is in memory (a request may hold a session before rmcp restores it).
struct Use {
    last: Instant,
    held: u32,
    live: bool,
}

/// What holds the sessions: shared by the session manager and the [`hold`] layer.
#[derive(Clone, Default)]
pub struct Pins(Arc<Mutex<HashMap<SessionId, Use>>>);

/// Holds a session until dropped.
pub struct Pin {
    pins: Pins,
    id: SessionId,
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.pins.release(&self.id);
    }
}

impl Pins {
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Use>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds a session (live or not yet) until the returned value is dropped.
    pub fn pin(&self, id: &str) -> Pin {
        let id: SessionId = id.into();
        let mut uses = self.lock();
        let u = uses.entry(id.clone()).or_insert(Use { last: Instant::now(), held: 0, live: false });
        u.held += 1;
        u.last = Instant::now();
        drop(uses);
        Pin { pins: self.clone(), id }
    }

    fn release(&self, id: &SessionId) {
        let mut uses = self.lock();
        if let Some(u) = uses.get_mut(id) {
            u.held = u.held.saturating_sub(1);
            u.last = Instant::now();
            if u.held == 0 && !u.live {
                uses.remove(id);
            }
        }
    }

    /// Notes a use of a session now.
    fn touch(&self, id: &SessionId) {
        if let Some(u) = self.lock().get_mut(id) {
            u.last = Instant::now();
        }
    }

    /// Counts a session that just came into memory, held until its handshake is done (see
    /// `initialize_session`), and returns the least recently used sessions that hold nothing,
    /// taken out of the count, until at most `capacity` are live.
    fn admit(&self, new: &SessionId, capacity: usize) -> Vec<SessionId> {
        let mut uses = self.lock();
        let u = uses.entry(new.clone()).or_insert(Use { last: Instant::now(), held: 0, live: false });
        u.live = true;
        u.held += 1;
        u.last = Instant::now();
        let live = uses.values().filter(|u| u.live).count();
        let mut idle: Vec<(Instant, SessionId)> =
            uses.iter().filter(|(_, u)| u.live && u.held == 0).map(|(id, u)| (u.last, id.clone())).collect();
        let excess = live.saturating_sub(capacity).min(idle.len());
        if excess == 0 {
            return Vec::new();
        }
        idle.select_nth_unstable_by_key(excess - 1, |(last, _)| *last);
        idle.truncate(excess);
        idle.into_iter()
            .map(|(_, id)| {
                uses.remove(&id);
                id
            })
            .collect()
    }

    /// Forgets a session that left memory (a request still holding it releases nothing then).
    fn forget(&self, id: &SessionId) {
        self.lock().remove(id);
    }
}

/// The layer around the MCP service: an HTTP request naming a session holds it until the
/// response is ready (a response stream then holds it while open).
pub async fn hold(State(pins): State<Pins>, request: Request, next: Next) -> Response {
    let _pin = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(|id| pins.pin(id));
    next.run(request).await
}

/// rmcp's local session manager, holding at most `capacity` idle sessions in memory.
pub struct LiveSessions {
    inner: LocalSessionManager,
    capacity: usize,
    pins: Pins,
    /// Held (written) while sessions chosen to leave are being closed: a request that names one of
    /// them then waits in `has_session` and finds it gone (and restores it) rather than finding it
    /// still there and losing it midway.
    leaving: tokio::sync::RwLock<()>,
    /// Sessions sent out of memory whose old worker has yet to report its end. rmcp closes a
    /// session when its worker ends; by then the session may be back in memory under the same id
    /// (restored for a new request), and that close must not end it.
    gone: Mutex<HashMap<SessionId, u32>>,
    metrics: Metrics,
}

impl LiveSessions {
    pub fn new(inner: LocalSessionManager, capacity: usize, metrics: Metrics) -> LiveSessions {
        LiveSessions { inner, capacity: capacity.max(1), pins: Pins::default(), leaving: Default::default(), gone: Default::default(), metrics }
    }

    /// What holds this manager's sessions, for the [`hold`] layer.
    pub fn pins(&self) -> Pins {
        self.pins.clone()
    }

    /// Counts a session that just came into memory and sends the least recently used idle ones
    /// out of it.
    async fn admit(&self, new: &SessionId) {
        let _closing = self.leaving.write().await;
        for id in self.pins.admit(new, self.capacity) {
            tracing::debug!(session = %id, "an idle MCP session leaves memory (PostgreSQL keeps it)");
            self.metrics.session_evicted();
            *self.gone.lock().unwrap_or_else(|e| e.into_inner()).entry(id.clone()).or_default() += 1;
            if let Err(e) = self.inner.close_session(&id).await {
                tracing::warn!(session = %id, error = %e, "an idle MCP session did not close cleanly");
            }
        }
    }

    /// Whether a close is the late report of a worker this manager sent out of memory (then it is
    /// counted off and ignored: the session may already be back under the same id).
    fn end_of_evicted(&self, id: &SessionId) -> bool {
        let mut gone = self.gone.lock().unwrap_or_else(|e| e.into_inner());
        match gone.get_mut(id) {
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    gone.remove(id);
                }
                true
            }
            None => false,
        }
    }

    /// A stream that holds its session while it is open.
    fn held<S>(pin: Pin, stream: S) -> impl Stream<Item = ServerSseMessage> + Send + Sync + 'static
    where
        S: Stream<Item = ServerSseMessage> + Send + Sync + 'static,
    {
        stream.map(move |message| {
            let _held = &pin;
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
        // Releases the hold `admit` took when the session came into memory.
        let _handshake = Pin { pins: self.pins.clone(), id: id.clone() };
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let _settled = self.leaving.read().await;
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        if self.end_of_evicted(id) {
            return Ok(());
        }
        self.pins.forget(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let pin = self.pins.pin(id);
        let stream = self.inner.create_stream(id, message).await?;
        Ok(Self::held(pin, stream))
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.pins.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(&self, id: &SessionId) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let pin = self.pins.pin(id);
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(Self::held(pin, stream))
    }

    async fn resume(&self, id: &SessionId, last_event_id: String) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let pin = self.pins.pin(id);
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(Self::held(pin, stream))
    }

    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        let outcome = self.inner.restore_session(id.clone()).await?;
        if matches!(outcome, RestoreOutcome::Restored(_)) {
            self.admit(&id).await;
        }
        Ok(outcome)
    }
}
