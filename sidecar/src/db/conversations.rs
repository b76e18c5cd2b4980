//! Conversation threads: each question asked and every step of its answer, stored as blocks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datasets::DatasetRef;
use super::{Db, DbError};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub id: i64,
    pub title: String,
    pub dataset: DatasetRef,
    pub created_at: String,
    pub updated_at: String,
    /// Questions asked in it.
    pub questions: i64,
    /// Blocks in it (questions, SQL, results, charts, analyses, errors).
    pub blocks: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
    pub total: i64,
    pub page_offset: i64,
    pub page_size: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    /// Position in the conversation, from 1.
    pub seq: i64,
    /// question, sql, result, chart, analysis or error.
    pub kind: String,
    /// question: {text}; sql: {sql, attempt, model}; result: {columns, rows, row_count, truncated};
    /// chart: {type, spec}; analysis: {text}; error: {stage, message}.
    pub content: Map<String, Value>,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    pub id: i64,
    pub title: String,
    pub dataset: DatasetRef,
    pub created_at: String,
    pub updated_at: String,
    pub blocks: Vec<Block>,
}

/// One earlier turn of a conversation: the question and the SQL that answered it (if any).
#[derive(Debug, Clone, Deserialize)]
pub struct Turn {
    pub question: String,
    pub sql: Option<String>,
    /// The semantic query the SQL was compiled from, when there was one.
    #[serde(default)]
    pub semantic_query: Option<Value>,
}

/// The conversation a follow-up continues: its dataset and latest turns.
#[derive(Debug, Deserialize)]
pub struct History {
    pub conversation_id: i64,
    pub dataset_id: i64,
    pub turns: Vec<Turn>,
}

/// What starting a question needs (`quarry.question_start`): the conversation continued, and the
/// dataset when it is decided without matching the question (given, the conversation's, or the
/// account's only one).
#[derive(Debug, Deserialize)]
pub struct Start {
    pub history: Option<History>,
    pub choice: Option<String>,
    pub dataset: Option<super::datasets::Runtime>,
}

impl Db {
    /// Checks that the account may ask (its role), and reads the conversation continued and the
    /// dataset when the request decides it, in one call.
    pub async fn question_start(&self, account_id: i64, dataset_id: Option<i64>, conversation_id: Option<i64>, max_turns: i32) -> Result<Start, DbError> {
        self.json(
            "question_start",
            "SELECT quarry.question_start($1, $2, $3, $4)",
            &[&account_id, &dataset_id, &conversation_id, &max_turns],
        )
        .await
    }

    /// An account's conversations (of one dataset, or all), newest first.
    pub async fn list_conversations(&self, account_id: i64, dataset_id: Option<i64>, page_size: i32, page_offset: i32) -> Result<ConversationList, DbError> {
        self.json(
            "list_conversations",
            "SELECT quarry.list_conversations($1, $2, $3, $4)",
            &[&account_id, &dataset_id, &page_size, &page_offset],
        )
        .await
    }

    /// One conversation with every block.
    pub async fn get_conversation(&self, account_id: i64, conversation_id: i64) -> Result<Conversation, DbError> {
        self.json("get_conversation", "SELECT quarry.get_conversation($1, $2)", &[&account_id, &conversation_id]).await
    }

    pub async fn rename_conversation(&self, account_id: i64, conversation_id: i64, title: &str) -> Result<(), DbError> {
        self.execute("SELECT quarry.rename_conversation($1, $2, $3)", &[&account_id, &conversation_id, &title]).await
    }

    pub async fn delete_conversation(&self, account_id: i64, conversation_id: i64) -> Result<(), DbError> {
        self.execute("SELECT quarry.delete_conversation($1, $2)", &[&account_id, &conversation_id]).await
    }
}

/// A turn of a conversation about to be saved (by `Db::record_call`, with the call's audit row):
/// its blocks in order (`[{kind, content}, …]`), for the conversation continued, else the one the
/// MCP session keeps for the dataset, else a new one with this title.
#[derive(Debug, Serialize)]
pub struct NewTurn {
    pub dataset_id: i64,
    pub conversation_id: Option<i64>,
    pub title: String,
    pub blocks: Value,
    #[serde(rename = "mcp_session_id")]
    pub mcp_session: Option<String>,
}
