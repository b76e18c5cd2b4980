//! The asking client's own model, through MCP sampling (`sampling/createMessage`): the sidecar
//! holds no key and makes no network call; the client runs its model (usually after asking its
//! user) and returns the reply. A dataset uses it when its model configuration's provider is
//! `sampling` and the connected client declared the sampling capability; otherwise the
//! configuration's fallback answers (`options.fallback`: the built-in planner, or none).

use std::time::Instant;

use serde_json::Value;

use super::{Complete, Format, Message, ProviderError};
use crate::db::workspace::ModelConfig;
use crate::metrics::{Metrics, ModelOutcome};

/// Most tokens asked of the client's model when the configuration does not say.
const DEFAULT_MAX_TOKENS: u32 = 2048;

/// What the pipeline needs of a client that offers sampling; the MCP edge implements it.
#[async_trait::async_trait]
pub trait Sampler: Send + Sync {
    /// The client model's text reply to a system prompt and a conversation, or why there is none.
    async fn sample(&self, system: &str, messages: &[Message], max_tokens: u32, hint: Option<&str>) -> Result<String, String>;
}

/// What answers a client that cannot sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    Builtin,
    None,
}

/// A sampling configuration's fallback.
pub fn fallback(config: &ModelConfig) -> Fallback {
    match config.options.get("fallback").and_then(Value::as_str) {
        Some("none") => Fallback::None,
        _ => Fallback::Builtin,
    }
}

/// The client's model, as one of the pipeline's writers.
pub struct ClientModel<'a> {
    pub config: ModelConfig,
    pub sampler: &'a dyn Sampler,
    /// Where each sampling request is counted and timed (as provider "sampling").
    pub metrics: Metrics,
}

#[async_trait::async_trait]
impl Complete for ClientModel<'_> {
    async fn complete(&self, system: &str, messages: &[Message], format: Format<'_>) -> Result<String, ProviderError> {
        // Sampling has no structured outputs: the system prompt asks for the JSON in words, and
        // the reply is read leniently.
        let _ = format;
        let max_tokens = self.config.options.get("max_tokens").and_then(Value::as_u64).map(|n| n.min(100_000) as u32).unwrap_or(DEFAULT_MAX_TOKENS);
        let started = Instant::now();
        let reply = self.sampler.sample(system, messages, max_tokens, self.config.model.as_deref()).await;
        let (outcome, reply) = match reply {
            Ok(reply) if reply.trim().is_empty() => {
                (ModelOutcome::InvalidReply, Err(ProviderError::Failed("the client's model replied with nothing".into())))
            }
            Ok(reply) => (ModelOutcome::Ok, Ok(reply)),
            Err(e) => (ModelOutcome::Failed, Err(ProviderError::Failed(e))),
        };
        self.metrics.model_request("sampling", outcome, started.elapsed());
        if reply.is_err() {
            self.metrics.model_failure("sampling");
        }
        reply
    }

    fn label(&self) -> String {
        format!("{} (the client's model)", self.config.name)
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    /// Each sampling request may ask the person at the client to approve it: one per question
    /// is enough, and the built-in analysis describes the result.
    fn writes_analysis(&self) -> bool {
        false
    }
}
