//! Anthropic's Messages API (`POST {base_url}/v1/messages`).

use serde_json::{Value, json};

use super::{Message, Model, ProviderError};

/// Where requests go when a configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version this client speaks.
const VERSION: &str = "2023-06-01";
/// The tool a structured answer is given through.
const ANSWER_TOOL: &str = "answer";

pub async fn complete(model: &Model, system: &str, messages: &[Message], schema: Option<&Value>) -> Result<String, ProviderError> {
    let base = model.config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let mut body = json!({
        "model": model.model_name(),
        "system": system,
        "max_tokens": model.max_tokens().unwrap_or(2048),
        "temperature": model.temperature(),
        "messages": messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })).collect::<Vec<_>>(),
    });
    // Structured outputs, Anthropic's way: one tool whose input is the answer, and the model
    // made to call it.
    if let Some(schema) = schema {
        body["tools"] = json!([{ "name": ANSWER_TOOL, "description": "Give the answer.", "input_schema": schema }]);
        body["tool_choice"] = json!({ "type": "tool", "name": ANSWER_TOOL });
    }
    let mut headers = vec![("anthropic-version", VERSION.to_string())];
    if let Some(key) = &model.key {
        headers.push(("x-api-key", key.clone()));
    }
    let reply = model.post(&format!("{base}/v1/messages"), &headers, &body).await?;
    let blocks = reply.get("content").and_then(Value::as_array);
    if let Some(input) = blocks.and_then(|b| b.iter().find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))).and_then(|b| b.get("input")) {
        return Ok(input.to_string());
    }
    let text: String = blocks
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        })
        .ok_or_else(|| ProviderError::Failed("the reply had no content".into()))?;
    Ok(text)
}
