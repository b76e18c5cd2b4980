//! Model providers behind one interface: a model configuration (a row of `quarry.model_configs`)
//! becomes a [`Model`] that completes a conversation. OpenAI-compatible chat completions (OpenAI,
//! Ollama, vLLM, llama.cpp, LM Studio) and Anthropic's Messages API are spoken here; the built-in
//! planner needs none of this. API keys come from the environment variable a configuration names,
//! never from the database. Requests time out, and HTTP 429, 5xx and network failures are retried
//! with exponential backoff (honouring `Retry-After`).

pub mod anthropic;
pub mod openai;
pub mod prompt;
pub mod sampling;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::QuestionsConfig;
use crate::db::workspace::ModelConfig;
use crate::metrics::{Metrics, ModelOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Message {
        Message { role: Role::User, content: content.into() }
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// The shape a reply must have.
#[derive(Debug, Clone, Copy)]
pub enum Format<'a> {
    /// Free text (an analysis).
    Text,
    /// A JSON object valid against this schema, through the provider's structured outputs where
    /// it has them (OpenAI's `response_format`, Anthropic's forced tool), else asked for in words.
    Json(&'a Value),
}

/// Something that completes a conversation: a configured provider, or the asking client's own
/// model through MCP sampling.
#[async_trait::async_trait]
pub trait Complete: Send + Sync {
    async fn complete(&self, system: &str, messages: &[Message], format: Format<'_>) -> Result<String, ProviderError>;
    /// How the model is named in blocks and messages.
    fn label(&self) -> String;
    /// The configuration's name, for messages.
    fn name(&self) -> &str;
    /// Whether it also writes the analysis of a result (else the built-in one is used).
    fn writes_analysis(&self) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The configuration cannot work on this sidecar (no key in the environment, no model name).
    #[error("{0}")]
    Misconfigured(String),
    /// The provider refused, failed or could not be reached.
    #[error("{0}")]
    Failed(String),
}

/// Largest reply body read from a provider.
const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// Longest wait between retries, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A configured model, ready to be asked.
pub struct Model {
    pub config: ModelConfig,
    key: Option<String>,
    http: reqwest::Client,
    timeout: Duration,
    retries: u32,
    /// Where each request is counted and timed, by provider.
    metrics: Metrics,
}

impl Model {
    /// Checks that a configuration can work here and reads its API key from the environment.
    pub fn new(config: ModelConfig, http: &reqwest::Client, defaults: &QuestionsConfig, metrics: &Metrics) -> Result<Model, ProviderError> {
        if !matches!(config.provider.as_str(), "openai" | "anthropic") {
            return Err(ProviderError::Misconfigured(format!("provider {:?} is not one Quarry speaks", config.provider)));
        }
        if config.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Err(ProviderError::Misconfigured("it names no model".into()));
        }
        let key = match &config.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
                _ => {
                    return Err(ProviderError::Misconfigured(format!(
                        "its API key belongs in the environment variable {var}, which this server does not have"
                    )));
                }
            },
            None => None,
        };
        if key.is_none() && config.base_url.is_none() {
            return Err(ProviderError::Misconfigured(
                "it has neither an API key (api_key_env) nor a base URL of a local server".into(),
            ));
        }
        let timeout = config.options.get("timeout_ms").and_then(Value::as_u64).map(Duration::from_millis).unwrap_or(defaults.model_timeout);
        let retries = config.options.get("max_retries").and_then(Value::as_u64).map(|n| n.min(5) as u32).unwrap_or(defaults.model_retries);
        Ok(Model {
            config,
            key,
            http: http.clone(),
            timeout: timeout.clamp(Duration::from_secs(1), Duration::from_secs(600)),
            retries,
            metrics: metrics.clone(),
        })
    }

    /// How the model is named in blocks and messages: the configuration's name and model.
    pub fn label(&self) -> String {
        format!("{} ({})", self.config.name, self.config.model.as_deref().unwrap_or_default())
    }

    fn model_name(&self) -> &str {
        self.config.model.as_deref().unwrap_or_default()
    }

    fn temperature(&self) -> f64 {
        self.config.options.get("temperature").and_then(Value::as_f64).unwrap_or(0.0)
    }

    fn max_tokens(&self) -> Option<u64> {
        self.config.options.get("max_tokens").and_then(Value::as_u64)
    }

    /// Whether to ask the provider for structured outputs (`options.structured_outputs`, on by
    /// default; some local servers do not have them).
    fn structured(&self) -> bool {
        self.config.options.get("structured_outputs").and_then(Value::as_bool).unwrap_or(true)
    }

    /// Counts one request to the provider.
    fn counted(&self, outcome: ModelOutcome, started: Instant) {
        self.metrics.model_request(&self.config.provider, outcome, started.elapsed());
    }

    /// POSTs JSON and returns the JSON reply, retrying what is worth retrying.
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &Value) -> Result<Value, ProviderError> {
        let mut last = String::new();
        for attempt in 0..=self.retries {
            let mut request = self.http.post(url).timeout(self.timeout).json(body);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let started = Instant::now();
            let wait = match request.send().await {
                Err(e) => {
                    last = if e.is_timeout() {
                        self.counted(ModelOutcome::Timeout, started);
                        format!("no answer within {} s", self.timeout.as_secs())
                    } else if e.is_connect() {
                        self.counted(ModelOutcome::Network, started);
                        "could not connect".to_string()
                    } else {
                        self.counted(ModelOutcome::Network, started);
                        "the request failed".to_string()
                    };
                    backoff(attempt)
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = read_limited(response).await.inspect_err(|_| self.counted(ModelOutcome::InvalidReply, started))?;
                    if status.is_success() {
                        let reply = serde_json::from_slice(&body);
                        self.counted(if reply.is_ok() { ModelOutcome::Ok } else { ModelOutcome::InvalidReply }, started);
                        return reply.map_err(|_| ProviderError::Failed("the model's reply was not JSON".into()));
                    }
                    let message = error_message(&body);
                    if status.as_u16() != 429 && !status.is_server_error() {
                        self.counted(ModelOutcome::ClientError, started);
                        return Err(ProviderError::Failed(format!("HTTP {}: {message}", status.as_u16())));
                    }
                    self.counted(if status.as_u16() == 429 { ModelOutcome::RateLimited } else { ModelOutcome::ServerError }, started);
                    last = format!("HTTP {}: {message}", status.as_u16());
                    retry_after.unwrap_or_else(|| backoff(attempt))
                }
            };
            if attempt < self.retries {
                tracing::warn!(model = %self.config.name, attempt, reason = %last, "model request failed; retrying");
                tokio::time::sleep(wait.min(MAX_BACKOFF)).await;
            }
        }
        let tries = if self.retries == 0 { String::new() } else { format!(" (tried {} times)", self.retries + 1) };
        Err(ProviderError::Failed(format!("{last}{tries}")))
    }
}

#[async_trait::async_trait]
impl Complete for Model {
    /// The model's reply to a system prompt and a conversation.
    async fn complete(&self, system: &str, messages: &[Message], format: Format<'_>) -> Result<String, ProviderError> {
        let schema = match format {
            Format::Json(schema) if self.structured() => Some(schema),
            _ => None,
        };
        let reply = match self.config.provider.as_str() {
            "anthropic" => anthropic::complete(self, system, messages, schema).await,
            _ => openai::complete(self, system, messages, schema).await,
        };
        let reply = reply.and_then(|reply| match reply.trim().is_empty() {
            true => Err(ProviderError::Failed("the model replied with nothing".into())),
            false => Ok(reply),
        });
        if reply.is_err() {
            self.metrics.model_failure(&self.config.provider);
        }
        reply
    }

    fn label(&self) -> String {
        Model::label(self)
    }

    fn name(&self) -> &str {
        &self.config.name
    }
}

/// 0.5 s, 1 s, 2 s, … between tries.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.min(5)))
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ProviderError::Failed("the reply was cut off".into()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_REPLY_BYTES {
            return Err(ProviderError::Failed("the reply was larger than 4 MB".into()));
        }
    }
    Ok(body)
}

/// The error message in an OpenAI- or Anthropic-style error body, or the start of the body.
fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("error")).or_else(|| v.get("message")))
        .and_then(|m| m.as_str().map(str::to_string))
        .unwrap_or_else(|| text.trim().to_string());
    let message: String = message.chars().take(300).collect();
    if message.is_empty() { "no details".into() } else { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_read_from_either_shape() {
        assert_eq!(error_message(br#"{"error": {"message": "bad key", "type": "auth"}}"#), "bad key");
        assert_eq!(error_message(br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#), "Overloaded");
        assert_eq!(error_message(br#"{"error": "model not found"}"#), "model not found");
        assert_eq!(error_message(b"Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(b""), "no details");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert!(backoff(30) <= Duration::from_secs(16));
    }
}
