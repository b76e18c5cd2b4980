//! Teams (workspaces) and the model configurations they may use.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Db, DbError};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TeamRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    pub id: i64,
    pub name: String,
    /// The caller's role in the team: owner or member.
    pub role: String,
    pub members: i64,
    pub datasets: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TeamList {
    pub teams: Vec<Team>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Model {
    pub id: i64,
    pub name: String,
    /// builtin, openai or anthropic.
    pub provider: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Whether it is the default of its team (or, without a team, of everyone).
    pub is_default: bool,
    /// The team it belongs to; null when every team may use it.
    pub team: Option<TeamRef>,
    /// Whether this sidecar can use it now (the built-in planner always; others need their API key).
    #[serde(default)]
    pub available: bool,
    #[serde(skip_serializing, default)]
    pub api_key_env: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ModelList {
    pub models: Vec<Model>,
}

/// A model configuration as `quarry.dataset_model` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    pub id: i64,
    pub name: String,
    /// builtin, openai or anthropic.
    pub provider: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    /// temperature, max_tokens, timeout_ms, max_retries (all optional; unknown keys are ignored).
    #[serde(default)]
    pub options: Value,
}

impl Model {
    /// Whether this sidecar can use the model now: the built-in planner always; a provider when
    /// its API key's environment variable is set, or when it needs no key (a local endpoint).
    pub fn usable_here(&self) -> bool {
        self.provider == "builtin"
            || self.api_key_env.as_deref().is_some_and(|var| std::env::var(var).is_ok_and(|v| !v.is_empty()))
            || (self.api_key_env.is_none() && self.base_url.is_some())
    }
}

impl ModelConfig {
    pub fn is_builtin(&self) -> bool {
        self.provider == "builtin"
    }
}

impl Db {
    /// The teams an account belongs to, with its role in each.
    pub async fn account_teams(&self, account_id: i64) -> Result<TeamList, DbError> {
        self.json(
            "account_teams",
            "SELECT jsonb_build_object('teams', coalesce(jsonb_agg(jsonb_build_object(
                    'id', team_id, 'name', name, 'role', role, 'members', members, 'datasets', datasets,
                    'created_at', created_at) ORDER BY name), '[]')) FROM quarry.account_teams($1)",
            &[&account_id],
        )
        .await
    }

    /// The model configurations an account's teams may use.
    pub async fn account_models(&self, account_id: i64) -> Result<ModelList, DbError> {
        self.json("account_models", "SELECT quarry.account_models($1)", &[&account_id]).await
    }

    /// The model a dataset's questions are answered with: its own, else its team's default, else
    /// everyone's default.
    pub async fn dataset_model(&self, account_id: i64, dataset_id: i64) -> Result<Option<ModelConfig>, DbError> {
        self.json("dataset_model", "SELECT quarry.dataset_model($1, $2)", &[&account_id, &dataset_id]).await
    }
}
