//! What the sidecar counts and times, for Prometheus: HTTP requests by route and status, tool calls
//! by tool and outcome, the question pipeline's steps, model requests by provider, token checks,
//! and both connection pools. Served at `/metrics` in the Prometheus text format (0.0.4), never to
//! the public: only on its own address (`QUARRY_METRICS_BIND`), or behind a bearer token
//! (`QUARRY_METRICS_TOKEN`), or both (see [`crate::config::MetricsConfig`]).
//!
//! Every label takes its values from a closed set (route templates, tool names, fixed outcome
//! words), so the number of series stays bounded whatever clients send.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::error::Error;

/// A connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// The most connections it may open.
    pub max_size: usize,
    /// Connections open now.
    pub size: usize,
    /// Open connections no request holds.
    pub available: usize,
    /// Requests waiting for a connection now.
    pub waiting: usize,
    /// Requests that waited for a connection in vain, since the start.
    pub timeouts: u64,
}

/// Seconds, for requests and tool calls: from a few milliseconds to a minute.
const FAST_BUCKETS: [f64; 13] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Seconds, for model requests: from a tenth of a second to the longest timeout allowed.
const MODEL_BUCKETS: [f64; 11] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
/// Seconds, for the pipeline's steps: most take milliseconds, a model's can take a minute.
const STEP_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: Cow<'static, str>,
    method: &'static str,
    status: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolNameLabels {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    provider: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// How one model request ended (one HTTP request to a provider, retries counted one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelOutcome {
    Ok,
    /// HTTP 429.
    RateLimited,
    /// HTTP 5xx.
    ServerError,
    /// Any other refusal (a bad key, a bad request).
    ClientError,
    /// No answer within the timeout.
    Timeout,
    /// No connection, or the connection failed.
    Network,
    /// An answer that could not be read (not JSON, too big, cut off, empty).
    InvalidReply,
    /// A client asked to sample did not (it refused, or its model failed).
    Failed,
}

impl ModelOutcome {
    fn label(self) -> &'static str {
        match self {
            ModelOutcome::Ok => "ok",
            ModelOutcome::RateLimited => "rate_limited",
            ModelOutcome::ServerError => "server_error",
            ModelOutcome::ClientError => "client_error",
            ModelOutcome::Timeout => "timeout",
            ModelOutcome::Network => "network",
            ModelOutcome::InvalidReply => "invalid_reply",
            ModelOutcome::Failed => "failed",
        }
    }
}

/// What the resource server's guard decided about a request's bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// A valid token with the scopes the request needs.
    Accepted,
    /// No bearer token at all.
    Missing,
    /// Unknown, expired, revoked or for another resource.
    Invalid,
    /// Valid, but the request names an MCP session that is not this caller's.
    UnknownSession,
    /// Valid, but without a scope a called tool needs.
    InsufficientScope,
    /// The database could not check it.
    Unavailable,
}

impl TokenCheck {
    fn label(self) -> &'static str {
        match self {
            TokenCheck::Accepted => "accepted",
            TokenCheck::Missing => "missing",
            TokenCheck::Invalid => "invalid",
            TokenCheck::UnknownSession => "unknown_session",
            TokenCheck::InsufficientScope => "insufficient_scope",
            TokenCheck::Unavailable => "unavailable",
        }
    }
}

/// The sidecar's metrics. Cheap to clone; every clone records into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    tool_calls: Family<ToolLabels, Counter>,
    tool_duration: Histograms<ToolNameLabels>,
    steps: Histograms<StepLabels>,
    model_requests: Family<ModelLabels, Counter>,
    model_duration: Histograms<ProviderLabels>,
    model_failures: Family<ProviderLabels, Counter>,
    token_checks: Family<OutcomeLabels, Counter>,
    sessions_evicted: Counter,
}

/// Reads a connection pool's state when metrics are scraped.
pub type PoolReader = Box<dyn Fn() -> PoolStats + Send + Sync>;

impl Default for Metrics {
    /// Metrics without pools (tests of the parts that record).
    fn default() -> Metrics {
        Metrics::new(Vec::new())
    }
}

impl Metrics {
    /// A registry with every series described, and `pools` (a name and how to read it) read at
    /// each scrape.
    pub fn new(pools: Vec<(&'static str, PoolReader)>) -> Metrics {
        let mut registry = Registry::with_prefix("quarry");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template (\"unmatched\" for unknown paths), method and status",
            http_requests.clone(),
        );
        let http_duration: Histograms<RouteLabels> = Family::new_with_constructor(|| Histogram::new(FAST_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head, by route template (a streamed response may go on after it)",
            http_duration.clone(),
        );
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register("tool_calls", "MCP tool calls, by tool and outcome (ok, error, denied)", tool_calls.clone());
        let tool_duration: Histograms<ToolNameLabels> = Family::new_with_constructor(|| Histogram::new(FAST_BUCKETS));
        registry.register("tool_call_duration_seconds", "How long MCP tool calls take, by tool", tool_duration.clone());
        let steps: Histograms<StepLabels> = Family::new_with_constructor(|| Histogram::new(STEP_BUCKETS));
        registry.register(
            "question_step_duration_seconds",
            "How long each step of answering a question takes (dataset, schema, sql, run, chart, analysis, save); sql and run once per attempt",
            steps.clone(),
        );
        let model_requests = Family::<ModelLabels, Counter>::default();
        registry.register(
            "model_requests",
            "Requests to model providers (each retry counted), by provider and outcome",
            model_requests.clone(),
        );
        let model_duration: Histograms<ProviderLabels> = Family::new_with_constructor(|| Histogram::new(MODEL_BUCKETS));
        registry.register("model_request_duration_seconds", "How long model requests take, by provider", model_duration.clone());
        let model_failures = Family::<ProviderLabels, Counter>::default();
        registry.register(
            "model_failures",
            "Completions a provider could not give after every retry, by provider",
            model_failures.clone(),
        );
        let token_checks = Family::<OutcomeLabels, Counter>::default();
        registry.register("token_checks", "Bearer token checks of MCP requests, by outcome", token_checks.clone());
        let sessions_evicted = Counter::default();
        registry.register(
            "mcp_sessions_evicted",
            "Idle MCP sessions sent out of memory to make room (PostgreSQL keeps them; their next request brings them back)",
            sessions_evicted.clone(),
        );
        registry.register("build", "The running sidecar's version", Info::new(VersionLabels { version: env!("CARGO_PKG_VERSION") }));
        registry.register_collector(Box::new(Pools { pools }));
        Metrics {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_duration,
                tool_calls,
                tool_duration,
                steps,
                model_requests,
                model_duration,
                model_failures,
                token_checks,
                sessions_evicted,
            }),
        }
    }

    /// An HTTP request answered on `route` (a template, never a raw path).
    pub fn http_request(&self, route: Cow<'static, str>, method: &Method, status: u16, elapsed: Duration) {
        let status = Cow::Owned(status.to_string());
        self.inner.http_requests.get_or_create(&HttpLabels { route: route.clone(), method: method_label(method), status }).inc();
        self.inner.http_duration.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
    }

    /// A tool call that ended with `outcome` (ok, error or denied).
    pub fn tool_call(&self, tool: &str, outcome: &'static str, elapsed: Duration) {
        self.inner.tool_calls.get_or_create(&ToolLabels { tool: tool.to_string(), outcome }).inc();
        self.inner.tool_duration.get_or_create(&ToolNameLabels { tool: tool.to_string() }).observe(elapsed.as_secs_f64());
    }

    /// A step of the question pipeline, timed from `started`.
    pub fn step(&self, step: &'static str, started: Instant) {
        self.inner.steps.get_or_create(&StepLabels { step }).observe(started.elapsed().as_secs_f64());
    }

    /// One request to a model provider.
    pub fn model_request(&self, provider: &str, outcome: ModelOutcome, elapsed: Duration) {
        let provider = provider.to_string();
        self.inner.model_requests.get_or_create(&ModelLabels { provider: provider.clone(), outcome: outcome.label() }).inc();
        self.inner.model_duration.get_or_create(&ProviderLabels { provider }).observe(elapsed.as_secs_f64());
    }

    /// A completion that failed for good (after its retries).
    pub fn model_failure(&self, provider: &str) {
        self.inner.model_failures.get_or_create(&ProviderLabels { provider: provider.to_string() }).inc();
    }

    pub fn token_check(&self, outcome: TokenCheck) {
        self.inner.token_checks.get_or_create(&OutcomeLabels { outcome: outcome.label() }).inc();
    }

    /// An idle MCP session left memory to make room.
    pub fn session_evicted(&self) {
        self.inner.sessions_evicted.inc();
    }

    /// Everything, in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)?;
        Ok(text)
    }
}

/// A method as a label: the usual ones by name, anything else as "other" (methods are free text
/// in HTTP, and a label must not be).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Both connection pools, read at each scrape.
struct Pools {
    pools: Vec<(&'static str, PoolReader)>,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pools.iter().map(|(name, _)| name)).finish()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

/// A gauge of a pool: its name, its help, and how to read it from a pool's state.
type Gauge = (&'static str, &'static str, fn(&PoolStats) -> i64);

impl Collector for Pools {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats: Vec<(PoolLabels, PoolStats)> = self.pools.iter().map(|(pool, read)| (PoolLabels { pool }, read())).collect();
        let gauges: [Gauge; 4] = [
            ("db_pool_max_connections", "The most connections a pool may open", |s| s.max_size as i64),
            ("db_pool_connections", "Connections a pool has open", |s| s.size as i64),
            ("db_pool_in_use", "Connections of a pool taken by requests now", |s| s.size.saturating_sub(s.available) as i64),
            ("db_pool_waiting", "Requests waiting for a connection of a pool now", |s| s.waiting as i64),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(0i64);
            let mut family = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            for (labels, s) in &stats {
                ConstGauge::new(value(s)).encode(family.encode_family(labels)?)?;
            }
        }
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "db_pool_timeouts",
            "Requests that waited for a connection of a pool in vain (answered 503, or a tool error saying to try again)",
            None,
            counter.metric_type(),
        )?;
        for (labels, s) in &stats {
            ConstCounter::new(s.timeouts).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
}

/// Counts and times every request by the route that took it. Added as a layer of the whole
/// router, so the matched route template is known; a path no route took is "unmatched".
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => Cow::Owned(path.as_str().to_string()),
        None => Cow::Borrowed("unmatched"),
    };
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http_request(route, &method, response.status().as_u16(), started.elapsed());
    response
}

/// What `/metrics` needs: the metrics, and the token its callers must bear, if any.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Metrics,
    pub token: Option<Arc<str>>,
}

/// Whether the request bears `expected` as its bearer token, compared in constant time (only the
/// length can be learnt from timing, and a token is long and random).
fn bears(headers: &HeaderMap, expected: &str) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
    else {
        return false;
    };
    presented.trim().as_bytes().ct_eq(expected.as_bytes()).into()
}

/// `GET /metrics`.
pub async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Result<Response, Error> {
    if let Some(token) = &scrape.token
        && !bears(&headers, token)
    {
        return Err(Error::Unauthorized("metrics need the bearer token set in QUARRY_METRICS_TOKEN".into()));
    }
    let text = scrape.metrics.encode().map_err(|_| Error::Internal("the metrics could not be encoded".into()))?;
    Ok(([(header::CONTENT_TYPE, prometheus_client::encoding::prometheus_text::CONTENT_TYPE)], text).into_response())
}

/// The router of a metrics address of its own: `/metrics`, and 404 for anything else.
pub fn router(scrape: Scrape) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(self::scrape))
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .with_state(scrape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(size: usize, available: usize, waiting: usize, timeouts: u64) -> PoolStats {
        PoolStats { max_size: 16, size, available, waiting, timeouts }
    }

    #[test]
    fn series_are_written_with_their_labels() {
        let metrics = Metrics::new(vec![("main", Box::new(|| stats(3, 1, 2, 5))), ("queries", Box::new(|| stats(0, 0, 0, 0)))]);
        metrics.http_request(Cow::Borrowed("/mcp"), &Method::POST, 200, Duration::from_millis(3));
        metrics.http_request(Cow::Borrowed("unmatched"), &Method::from_bytes(b"BREW").unwrap(), 404, Duration::from_millis(1));
        metrics.tool_call("list_teams", "ok", Duration::from_millis(20));
        metrics.tool_call("list_teams", "ok", Duration::from_millis(30));
        metrics.step("run", Instant::now());
        metrics.model_request("openai", ModelOutcome::ServerError, Duration::from_millis(100));
        metrics.model_failure("openai");
        metrics.token_check(TokenCheck::Missing);
        let text = metrics.encode().unwrap();
        for line in [
            "quarry_http_requests_total{route=\"/mcp\",method=\"POST\",status=\"200\"} 1",
            "quarry_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1",
            "quarry_tool_calls_total{tool=\"list_teams\",outcome=\"ok\"} 2",
            "quarry_tool_call_duration_seconds_count{tool=\"list_teams\"} 2",
            "quarry_tool_call_duration_seconds_bucket{tool=\"list_teams\",le=\"0.025\"} 1",
            "quarry_question_step_duration_seconds_count{step=\"run\"} 1",
            "quarry_model_requests_total{provider=\"openai\",outcome=\"server_error\"} 1",
            "quarry_model_failures_total{provider=\"openai\"} 1",
            "quarry_token_checks_total{outcome=\"missing\"} 1",
            "quarry_db_pool_in_use{pool=\"main\"} 2",
            "quarry_db_pool_waiting{pool=\"main\"} 2",
            "quarry_db_pool_connections{pool=\"queries\"} 0",
            "quarry_db_pool_max_connections{pool=\"queries\"} 16",
            "quarry_db_pool_timeouts_total{pool=\"main\"} 5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} is not in\n{text}");
        }
        assert!(text.contains("# TYPE quarry_tool_call_duration_seconds histogram"), "{text}");
        assert!(text.contains("quarry_build_info{version=\""), "{text}");
    }

    #[test]
    fn tokens_are_compared_whole() {
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            h
        };
        let token = "s3cret-metrics-token";
        assert!(bears(&headers("Bearer s3cret-metrics-token"), token));
        assert!(!bears(&headers("Bearer s3cret-metrics-toke"), token));
        assert!(!bears(&headers("Bearer s3cret-metrics-tokenX"), token));
        assert!(!bears(&headers("Basic s3cret-metrics-token"), token));
        assert!(!bears(&HeaderMap::new(), token));
    }
}
