//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`): OpenAI itself, and
//! Ollama, vLLM, llama.cpp's server and LM Studio, which speak the same protocol.

use serde_json::{Value, json};

use super::{Message, Model, ProviderError};

/// Where requests go when a configuration names no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

pub async fn complete(model: &Model, system: &str, messages: &[Message], schema: Option<&Value>) -> Result<String, ProviderError> {
    let base = model.config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let mut all = vec![json!({ "role": "system", "content": system })];
    all.extend(messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })));
    let mut body = json!({ "model": model.model_name(), "messages": all, "temperature": model.temperature() });
    if let Some(n) = model.max_tokens() {
        body["max_tokens"] = json!(n);
    }
    // Structured outputs: the reply is a JSON object of this schema. Not strict, as strict mode
    // forbids optional fields and the answer has one of three.
    if let Some(schema) = schema {
        body["response_format"] = json!({ "type": "json_schema", "json_schema": { "name": "answer", "schema": schema, "strict": false } });
    }
    let mut headers = Vec::new();
    if let Some(key) = &model.key {
        headers.push(("authorization", format!("Bearer {key}")));
    }
    let reply = model.post(&format!("{base}/chat/completions"), &headers, &body).await?;
    reply
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Failed("the reply had no choices[0].message.content".into()))
}
