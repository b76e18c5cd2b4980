//! A reverse proxy for the conformance suite, which cannot authenticate: it forwards every
//! request to a sidecar unchanged (Host and Origin included, so the sidecar's own checks still
//! decide), adding `Authorization: Bearer <token>` once a token is set. Responses stream back
//! (SSE included).

use std::sync::{Arc, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    token: Arc<RwLock<Option<String>>>,
    target: Arc<RwLock<String>>,
}

impl Proxy {
    /// Listens on a free local port; forwards nowhere until [`Proxy::forward_to`].
    pub async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            url: format!("http://{}", listener.local_addr().unwrap()),
            token: Arc::new(RwLock::new(None)),
            target: Arc::new(RwLock::new(String::new())),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        proxy
    }

    pub fn forward_to(&self, base_url: &str) {
        *self.target.write().unwrap() = base_url.to_string();
    }

    pub fn set_token(&self, token: &str) {
        *self.token.write().unwrap() = Some(token.to_string());
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = format!("{}{}", proxy.target.read().unwrap(), parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut outgoing = client.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding") {
            outgoing = outgoing.header(name, value);
        }
    }
    if !parts.headers.contains_key("authorization") {
        if let Some(token) = proxy.token.read().unwrap().clone() {
            outgoing = outgoing.bearer_auth(token);
        }
    }
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let upstream = match outgoing.body(bytes).send().await {
        Ok(r) => r,
        Err(e) => return Response::builder().status(502).body(Body::from(e.to_string())).unwrap(),
    };
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if !matches!(name.as_str(), "connection" | "content-length" | "transfer-encoding") {
            response = response.header(name, value);
        }
    }
    response.body(Body::from_stream(upstream.bytes_stream())).unwrap()
}
