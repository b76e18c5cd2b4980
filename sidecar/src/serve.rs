//! The connection loop under the server: each accepted connection is served over HTTP/1.1 (the
//! sidecar speaks no HTTP/2), with a bound on how long it may wait for a request's head. A
//! keep-alive connection left idle that long, or a client sending its headers that slowly, is
//! closed; a response being streamed (SSE) is not waiting for a head and is never cut by it.
//! (axum::serve has no such bound: idle clients held their connections, and the memory behind
//! them, for as long as they liked.) Stopping stops accepting, lets requests in flight finish and
//! closes idle connections.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::Service;

/// Serves `app` on the connections `listener` accepts until `stopped` resolves, then waits for
/// the connections' requests in flight (the caller bounds that wait). Handlers see the peer's
/// address as `ConnectInfo<SocketAddr>`, as with axum's own serve.
pub async fn serve<L>(mut listener: L, app: Router, head_timeout: Duration, stopped: impl Future<Output = ()>)
where
    L: Listener<Addr = SocketAddr>,
{
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(head_timeout);
    tokio::pin!(stopped);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stopped => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { app.call(request.map(Body::new)).await }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
