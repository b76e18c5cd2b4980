//! A reverse proxy: for the conformance suite, which cannot authenticate, and as the load
//! balancer in front of several sidecars. It forwards every request unchanged (Host and Origin
//! included, so the sidecars' own checks still decide) to its targets in turn (round robin),
//! adding `Authorization: Bearer <token>` once a token is set. Responses stream back (SSE
//! included).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    token: Arc<RwLock<Option<String>>>,
    targets: Arc<RwLock<Vec<String>>>,
    next: Arc<AtomicUsize>,
    /// Requests forwarded to each target, in the order of `targets`.
    hits: Arc<Mutex<Vec<usize>>>,
}

impl Proxy {
    /// Listens on a free local port; forwards nowhere until [`Proxy::forward_to`].
    pub async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            url: format!("http://{}", listener.local_addr().unwrap()),
            token: Arc::new(RwLock::new(None)),
            targets: Arc::new(RwLock::new(Vec::new())),
            next: Arc::new(AtomicUsize::new(0)),
            hits: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        proxy
    }

    pub fn forward_to(&self, base_url: &str) {
        self.round_robin(&[base_url]);
    }

    /// Forwards each request to the next of `base_urls`.
    pub fn round_robin(&self, base_urls: &[&str]) {
        *self.targets.write().unwrap() = base_urls.iter().map(|u| u.to_string()).collect();
        *self.hits.lock().unwrap() = vec![0; base_urls.len()];
    }

    /// How many requests went to each target so far.
    pub fn hits(&self) -> Vec<usize> {
        self.hits.lock().unwrap().clone()
    }

    pub fn set_token(&self, token: &str) {
        *self.token.write().unwrap() = Some(token.to_string());
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let base = {
        let targets = proxy.targets.read().unwrap();
        if targets.is_empty() {
            return Response::builder().status(502).body(Body::from("no target")).unwrap();
        }
        let i = proxy.next.fetch_add(1, Ordering::Relaxed) % targets.len();
        proxy.hits.lock().unwrap()[i] += 1;
        targets[i].clone()
    };
    let target = format!("{base}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
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
