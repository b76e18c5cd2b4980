//! The six operations, whichever way they come (an MCP tool call or a plain POST): each reads its
//! arguments, has the extension check the token (or the password, or the assistant's secret),
//! does its work through the extension or the question pipeline, writes its audit row, and
//! answers with a JSON value or a typed [`Failure`].
//!
//! Questions come in two steps, so that a streamed answer starts only once the request is known
//! to be good: [`Front::prepare_question`] (or [`Front::prepare_assistant`]) checks everything a
//! request can get wrong, and [`Front::answer`] runs the pipeline.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::answer;
use super::error::Failure;
use super::fields::{self, Fields, MAX_TEXT};
use crate::db::Db;
use crate::db::datasets::Detail;
use crate::db::DbError;
use crate::db::conversations::NewTurn;
use crate::db::mcp::AuditEntry;
use crate::db::sqlbot::{AssistantCheck, Caller as TokenOwner, Start, Started};
use crate::mcp::pipeline::i18n::Lang;
use crate::mcp::pipeline::{self, Ask, Caller, Finished, Pipeline, Silent, Status};
use crate::urls::PublicUrls;

/// The client id the front's tokens (and audit rows) carry.
pub const CLIENT_ID: &str = "sqlbot";
/// Longest question, in characters (as run_query).
const MAX_QUESTION: usize = 2000;
/// Longest token read.
const MAX_TOKEN: usize = 512;

/// SQLBot's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Question,
    WsList,
    DatasourceList,
    Assistant,
    ModelList,
}

impl Op {
    pub const ALL: [Op; 6] = [Op::Start, Op::Question, Op::WsList, Op::DatasourceList, Op::Assistant, Op::ModelList];

    /// The tool's name, which is also its path.
    pub fn name(self) -> &'static str {
        match self {
            Op::Start => "mcp_start",
            Op::Question => "mcp_question",
            Op::WsList => "mcp_ws_list",
            Op::DatasourceList => "mcp_datasource_list",
            Op::Assistant => "mcp_assistant",
            Op::ModelList => "get_model_list",
        }
    }

    /// An operation by its name, or by the path SQLBot itself serves it at (`mcp_ds_list`).
    pub fn named(name: &str) -> Option<Op> {
        match name {
            "mcp_ds_list" => Some(Op::DatasourceList),
            _ => Op::ALL.into_iter().find(|op| op.name() == name),
        }
    }

    /// The scope a token needs for it (mcp_start and mcp_assistant take no token).
    fn scope(self) -> &'static str {
        match self {
            Op::Question => "write",
            _ => "read",
        }
    }
}

/// What the front works with. Cheap to clone; it keeps nothing between requests.
#[derive(Clone)]
pub struct Front {
    pub db: Db,
    pub pipeline: Pipeline,
    pub urls: Arc<PublicUrls>,
    /// How long a token from mcp_start lives.
    pub token_ttl: Duration,
    /// Whether the client's address is the last X-Forwarded-For hop (see `ClientIp`).
    pub trust_forwarded_for: bool,
}

/// A question ready to run: who asks, in which chat, and how the answer is wanted.
pub struct Prepared {
    pub op: Op,
    pub account_id: i64,
    /// The chat (mcp_question), and whether it has its conversation already.
    pub chat: Option<(i64, bool)>,
    pub ask: Ask,
    /// Answer as a stream of events (SQLBot's default).
    pub stream: bool,
    /// The arguments as the audit log keeps them (never a token or a secret).
    audit: Value,
}

/// An answered question: SQLBot's answer object, the chart image, and the answer as Markdown.
pub struct Answered {
    pub body: Map<String, Value>,
    pub image: Option<Vec<u8>>,
    pub markdown: String,
}

/// What the audit log notes of a call beyond its outcome.
#[derive(Default, Clone, Copy)]
struct Note<'a> {
    question: Option<&'a str>,
    sql: Option<&'a str>,
    row_count: Option<i64>,
}

impl Front {
    /// Runs one of the operations that answer at once (all but the questions).
    pub async fn call(&self, op: Op, args: &Map<String, Value>, ip: Option<IpAddr>) -> Result<Value, Failure> {
        match op {
            Op::Start => self.start(args, ip).await,
            Op::WsList => self.ws_list(args).await,
            Op::DatasourceList => self.datasource_list(args).await,
            Op::ModelList => self.model_list(args).await,
            Op::Question | Op::Assistant => {
                let prepared = match op {
                    Op::Question => self.prepare_question(args).await?,
                    _ => self.prepare_assistant(args, ip).await?,
                };
                let answered = self.answer(prepared, &Silent).await?;
                Ok(Value::Object(answered.body))
            }
        }
    }

    /// The caller behind a token argument, with the scope `op` needs; the chat and team named are
    /// checked in the same call. Any token problem is SQLBot's 403.
    async fn owner(&self, op: Op, token: Option<String>, chat_id: Option<i64>, team_id: Option<i64>) -> Result<TokenOwner, Failure> {
        let Some(token) = token else { return Err(Failure::Credentials) };
        let owner = self
            .db
            .sqlbot_caller(&token, &self.urls.sqlbot_resource, chat_id, team_id)
            .await?
            .ok_or(Failure::Credentials)?;
        if !owner.may(op.scope()) {
            return Err(Failure::Scope { operation: op.name(), scope: op.scope() });
        }
        if owner.in_team == Some(false) {
            return Err(Failure::detail(StatusCode::BAD_REQUEST, "The current user is not in the selected workspace"));
        }
        Ok(owner)
    }

    /// Writes the call's audit row. Fails closed, as `/mcp` does: an answer whose row cannot be
    /// written is withheld (503; what the call changed, such as an issued token, may be saved).
    async fn audit(
        &self,
        account_id: i64,
        op: Op,
        arguments: &Value,
        outcome: Result<(), &Failure>,
        started: Instant,
        note: Note<'_>,
    ) -> Result<(), Failure> {
        self.record(account_id, op, arguments, outcome, started, note, None).await.map(drop)
    }

    /// Writes the call's audit row and, in the same transaction, the conversation turn a question
    /// left; returns the turn's conversation. A turn the extension refuses (a conversation deleted
    /// meanwhile) makes the call a failure, recorded on its own.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        account_id: i64,
        op: Op,
        arguments: &Value,
        outcome: Result<(), &Failure>,
        started: Instant,
        note: Note<'_>,
        turn: Option<&NewTurn>,
    ) -> Result<Option<i64>, Failure> {
        let error = outcome.err().map(Failure::message);
        let entry = AuditEntry {
            account_id,
            client_id: CLIENT_ID,
            tool: op.name(),
            arguments,
            outcome: outcome.err().map(Failure::outcome).unwrap_or("ok"),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: error.as_deref(),
            question: note.question,
            sql: note.sql,
            row_count: note.row_count,
        };
        match self.db.record_call(&entry, turn).await {
            Ok(conversation) => {
                tracing::info!(operation = op.name(), account_id, outcome = entry.outcome, "SQLBot-compatible call");
                Ok(conversation)
            }
            Err(refused) if turn.is_some() && !matches!(refused, DbError::Unavailable | DbError::Internal(_)) => {
                let failure = Failure::from(refused);
                Box::pin(self.record(account_id, op, arguments, Err(&failure), started, note, None)).await?;
                Err(failure)
            }
            Err(e) => {
                tracing::error!(operation = op.name(), account_id, error = %e, "could not write the audit row; the answer is withheld");
                Err(Failure::Unavailable)
            }
        }
    }

    /// `mcp_start {username, password}` (or `{token}`, and optionally `oid`): a token and a new chat.
    async fn start(&self, args: &Map<String, Value>, ip: Option<IpAddr>) -> Result<Value, Failure> {
        let started = Instant::now();
        let mut f = Fields::new(args);
        let token = f.opt_text("token", MAX_TOKEN);
        let (username, password) = if token.is_some() {
            (None, None)
        } else {
            (f.text("username", 320), f.text("password", 1024))
        };
        let oid = f.opt_id("oid");
        f.finish()?;
        let answer = self
            .db
            .sqlbot_start(&Start {
                email: username.as_deref(),
                password: password.as_deref(),
                token: token.as_deref(),
                audience: &self.urls.sqlbot_resource,
                ip,
                ttl: self.token_ttl,
                team_id: oid,
            })
            .await?;
        match answer {
            Started::Ok { access_token, expires_in, scope, account_id, chat_id } => {
                let audit = json!({ "username": username, "oid": oid, "with_token": token.is_some() });
                self.audit(account_id, Op::Start, &audit, Ok(()), started, Note::default()).await?;
                Ok(json!({
                    "access_token": access_token,
                    "token_type": "bearer",
                    "expires_in": expires_in,
                    "scope": scope,
                    "chat_id": chat_id,
                }))
            }
            Started::Invalid => Err(Failure::Password),
            Started::Throttled { retry_after } => Err(Failure::Throttled(retry_after)),
            Started::BadToken => Err(Failure::Credentials),
            Started::Disabled => {
                Err(Failure::detail(StatusCode::FORBIDDEN, "The SQLBot-compatible front is turned off on this server"))
            }
            Started::NoTeam => Err(Failure::detail(StatusCode::BAD_REQUEST, "No associated workspace, Please contact the administrator")),
            Started::NotMember => Err(Failure::detail(StatusCode::BAD_REQUEST, "The current user is not in the selected workspace")),
        }
    }

    /// `mcp_ws_list {token}`: the account's teams, as SQLBot's workspaces `[{id, name}]`.
    async fn ws_list(&self, args: &Map<String, Value>) -> Result<Value, Failure> {
        let started = Instant::now();
        let mut f = Fields::new(args);
        let token = f.opt_text("token", MAX_TOKEN);
        let owner = self.owner(Op::WsList, token, None, None).await?;
        f.finish()?;
        let teams = self.db.account_teams(owner.account_id).await?;
        self.audit(owner.account_id, Op::WsList, &json!({}), Ok(()), started, Note::default()).await?;
        Ok(Value::Array(teams.teams.iter().map(|t| json!({ "id": t.id, "name": t.name })).collect()))
    }

    /// `mcp_datasource_list {token, oid}`: the datasets of a team (or, without oid, of all the
    /// account's teams) as SQLBot's datasources, without anything sensitive: no connection, no
    /// catalog, no semantic model.
    async fn datasource_list(&self, args: &Map<String, Value>) -> Result<Value, Failure> {
        let started = Instant::now();
        let mut f = Fields::new(args);
        let token = f.opt_text("token", MAX_TOKEN);
        let oid = f.opt_id("oid");
        f.finish()?;
        let owner = self.owner(Op::DatasourceList, token, None, oid).await?;
        let list = self.db.list_datasets(owner.account_id, Detail::Names, None, 1, 0).await?;
        let datasources: Vec<Value> = list
            .datasets
            .iter()
            .filter(|d| oid.is_none_or(|team| d.team.id == team))
            .map(|d| {
                json!({
                    "id": d.id,
                    "name": d.name,
                    "description": d.description,
                    "type": "pg",
                    "type_name": "PostgreSQL",
                    "oid": d.team.id,
                    "workspace": d.team.name,
                    // Tables and views the account's role can see in it.
                    "num": d.collections_total.to_string(),
                    "status": if d.unavailable.is_none() { "Success" } else { "Fail" },
                })
            })
            .collect();
        self.audit(owner.account_id, Op::DatasourceList, &json!({ "oid": oid }), Ok(()), started, Note::default()).await?;
        Ok(Value::Array(datasources))
    }

    /// `get_model_list {token}`: the model configurations the account's teams may use, as SQLBot
    /// lists its models (`id, name, default_model, supplier`), never a key nor where one is kept.
    async fn model_list(&self, args: &Map<String, Value>) -> Result<Value, Failure> {
        let started = Instant::now();
        let mut f = Fields::new(args);
        let token = f.opt_text("token", MAX_TOKEN);
        f.finish()?;
        let owner = self.owner(Op::ModelList, token, None, None).await?;
        let models = self.db.account_models(owner.account_id).await?;
        let listed: Vec<Value> = models
            .models
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "name": m.name,
                    "default_model": m.is_default,
                    "supplier": m.provider,
                    "model": m.model,
                    "oid": m.team.as_ref().map(|t| t.id),
                    "available": m.usable_here(),
                })
            })
            .collect();
        self.audit(owner.account_id, Op::ModelList, &json!({}), Ok(()), started, Note::default()).await?;
        Ok(Value::Array(listed))
    }

    /// Checks an `mcp_question` request: its fields, the token (with the write scope), the chat
    /// (the account's), the workspace (`oid`, the account's team) and the datasource id. The
    /// datasource counts only while the chat has none yet, and `oid` only without a datasource,
    /// as in SQLBot.
    pub async fn prepare_question(&self, args: &Map<String, Value>) -> Result<Prepared, Failure> {
        let mut f = Fields::new(args);
        let token = f.opt_text("token", MAX_TOKEN);
        let chat_id = f.id("chat_id");
        let question = f.text("question", MAX_QUESTION);
        let lang = f.lang("lang", Lang::ZhCn);
        let oid = f.opt_id("oid");
        let stream = f.flag("stream", true);
        let return_img = f.flag("return_img", true);
        if token.is_none() {
            return Err(Failure::Credentials);
        }
        f.finish()?;
        let (Some(chat_id), Some(question)) = (chat_id, question) else { return Err(Failure::Internal) };
        let owner = self.owner(Op::Question, token, Some(chat_id), oid).await?;
        let datasource = fields::datasource_id(args)?;
        let Some(chat) = owner.chat else {
            return Err(Failure::Detail(StatusCode::NOT_FOUND, format!("Chat {chat_id} not found")));
        };
        let continued = chat.conversation_id.filter(|_| chat.dataset_id.is_some());
        let audit = json!({
            "chat_id": chat_id, "question": question, "datasource_id": datasource, "lang": lang, "oid": oid,
            "stream": stream, "return_img": return_img,
        });
        Ok(Prepared {
            op: Op::Question,
            account_id: owner.account_id,
            chat: Some((chat.id, continued.is_some())),
            ask: Ask {
                question,
                dataset_id: if continued.is_some() { None } else { datasource },
                conversation_id: continued,
                team_id: oid.or(chat.team_id),
                lang,
                return_image: return_img,
                max_rows: None,
            },
            stream,
            audit,
        })
    }

    /// Checks an `mcp_assistant` request: the assistant registered for `url` whose secret
    /// `authorization` is (with throttling of failures per address), then the question, asked
    /// through the assistant's account about its datasets, in its language, in a new
    /// conversation. As in SQLBot, an assistant's answer stops at the data: no chart image.
    pub async fn prepare_assistant(&self, args: &Map<String, Value>, ip: Option<IpAddr>) -> Result<Prepared, Failure> {
        let mut f = Fields::new(args);
        let question = f.text("question", MAX_QUESTION);
        let url = f.opt_text("url", MAX_TEXT);
        let authorization = f.opt_text("authorization", MAX_TEXT);
        let stream = f.flag("stream", true);
        let (Some(url), Some(authorization)) = (url, authorization) else { return Err(Failure::Credentials) };
        f.finish()?;
        let Some(question) = question else { return Err(Failure::Internal) };
        let assistant = match self.db.assistant_for(&url, &authorization, ip).await? {
            AssistantCheck::Ok(assistant) => assistant,
            AssistantCheck::Invalid => return Err(Failure::Credentials),
            AssistantCheck::Throttled { retry_after } => return Err(Failure::Throttled(retry_after)),
            AssistantCheck::Disabled => return Err(Failure::detail(StatusCode::FORBIDDEN, "This assistant is disabled")),
        };
        let audit = json!({ "assistant": assistant.name, "url": url, "question": question, "stream": stream });
        Ok(Prepared {
            op: Op::Assistant,
            account_id: assistant.account_id,
            chat: None,
            ask: Ask {
                question,
                // One dataset: asked about without matching. Several: matched among them (the
                // extension offers the assistant's account no other).
                dataset_id: match assistant.datasets.as_slice() {
                    [only] => Some(*only),
                    _ => None,
                },
                conversation_id: None,
                team_id: None,
                lang: fields::lang_of(&assistant.lang).unwrap_or(Lang::ZhCn),
                return_image: false,
                max_rows: None,
            },
            stream,
            audit,
        })
    }

    /// Runs a prepared question through the pipeline, progress going to `caller`; binds a chat to
    /// the conversation its first question started; audits. A question that was taken but not
    /// answered (nothing the model or planner could answer reliably, or SQL that kept failing) is
    /// a failure with what there is to show, and is kept in the conversation like any answer.
    pub async fn answer(&self, p: Prepared, caller: &dyn Caller) -> Result<Answered, Failure> {
        let started = Instant::now();
        let question = p.ask.question.clone();
        let Finished { outcome, turn } = pipeline::ask(&self.pipeline, p.account_id, p.ask, caller).await;
        let mut outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                let failure = Failure::from(e);
                let note = Note { question: Some(&question), ..Note::default() };
                self.record(p.account_id, p.op, &p.audit, Err(&failure), started, note, turn.as_ref()).await?;
                return Err(failure);
            }
        };
        let chat_id = p.chat.map(|(id, _)| id);
        let a = &outcome.answer;
        let answered = a.status == Status::Answered;
        let sql = a.sql.clone().or_else(|| a.attempts.last().map(|at| at.sql.clone()));
        let row_count = a.result.as_ref().map(|r| r.row_count);
        // What the audit row says of a question not answered (its message does not depend on the
        // conversation, which is known once the turn is saved).
        let unanswered = (!answered).then(|| Failure::Question { status: StatusCode::UNPROCESSABLE_ENTITY, body: answer::body(&outcome, chat_id) });
        let note = Note { question: Some(&question), sql: sql.as_deref(), row_count };
        let conversation = self.record(p.account_id, p.op, &p.audit, unanswered.as_ref().map_or(Ok(()), Err), started, note, turn.as_ref()).await?;
        outcome.answer.conversation_id = conversation.unwrap_or_default();
        if let Some((chat, false)) = p.chat
            && let Err(e) = self.db.sqlbot_bind_chat(p.account_id, chat, outcome.answer.conversation_id).await
        {
            // The answer stands; the chat's next question starts another conversation.
            tracing::error!(error = %e, chat, "could not bind a chat to its conversation");
        }
        let body = answer::body(&outcome, chat_id);
        if answered {
            let markdown = answer::markdown(&outcome.answer, chat_id);
            return Ok(Answered { body, image: outcome.image, markdown });
        }
        Err(Failure::Question { status: StatusCode::UNPROCESSABLE_ENTITY, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_name_and_sqlbots_own_path() {
        for op in Op::ALL {
            assert_eq!(Op::named(op.name()), Some(op));
        }
        assert_eq!(Op::named("mcp_ds_list"), Some(Op::DatasourceList), "the path SQLBot serves it at");
        assert_eq!(Op::named("run_query"), None);
        assert_eq!(Op::Question.scope(), "write");
        assert_eq!(Op::WsList.scope(), "read");
    }
}
