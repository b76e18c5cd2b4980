//! The SQLBot-compatible front's state: signing in (or taking a token) and opening a chat, who a
//! token is, binding a chat to its first conversation, and the assistant a call is for. The
//! extension checks passwords (argon2id, with the sign-in page's throttling), issues and checks
//! tokens, and keeps chats and assistants.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use super::{Db, DbError, secs};

/// What `mcp_start` sends: a password sign-in or a token of the front, and the workspace.
pub struct Start<'a> {
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    /// A live token of the front, instead of a password: a new chat for it.
    pub token: Option<&'a str>,
    /// The front's URL, the audience of its tokens.
    pub audience: &'a str,
    pub ip: Option<IpAddr>,
    pub ttl: Duration,
    /// The team (SQLBot's workspace) the chat asks in, when given.
    pub team_id: Option<i64>,
}

/// How `quarry.sqlbot_start` answered.
#[derive(Debug)]
pub enum Started {
    Ok { access_token: String, expires_in: i64, scope: String, account_id: i64, chat_id: i64 },
    /// Wrong email or password, or a disabled account (the same answer).
    Invalid,
    /// Too many failed sign-ins for the email or from the address; seconds to wait.
    Throttled { retry_after: Option<i64> },
    /// The token given instead of a password is not a live token of the front.
    BadToken,
    /// A DBA turned the front off (`quarry.configure_sqlbot(enabled => false)`).
    Disabled,
    /// The account is in no team.
    NoTeam,
    /// The account is not in the team asked for.
    NotMember,
}

#[derive(Debug, Deserialize)]
struct StartAnswer {
    ok: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    retry_after: Option<i64>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    account_id: Option<i64>,
    #[serde(default)]
    chat_id: Option<i64>,
}

/// Who calls the front with a token, as `quarry.sqlbot_caller` found it.
#[derive(Debug, Deserialize)]
pub struct Caller {
    pub account_id: i64,
    pub scopes: Vec<String>,
    /// Whether the account is a member of the team asked about (null when none was).
    #[serde(default)]
    pub in_team: Option<bool>,
    /// The chat named, when it is the account's.
    #[serde(default)]
    pub chat: Option<Chat>,
}

impl Caller {
    pub fn may(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A chat `mcp_start` opened: its workspace, and its conversation once it has one.
#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    pub team_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// The conversation's dataset: the chat's datasource, once chosen.
    pub dataset_id: Option<i64>,
}

/// The assistant an `mcp_assistant` call is for, as `quarry.assistant_for` answered.
#[derive(Debug)]
pub enum AssistantCheck {
    Ok(Assistant),
    /// An unknown URL or a wrong secret (the same answer).
    Invalid,
    Throttled { retry_after: Option<i64> },
    /// A DBA disabled the assistant's account.
    Disabled,
}

#[derive(Debug, Deserialize)]
pub struct Assistant {
    pub assistant_id: i64,
    /// The account it asks through.
    pub account_id: i64,
    pub name: String,
    /// The language of its answers (zh-CN, zh-TW, en or ko-KR).
    pub lang: String,
    /// The datasets it may ask about.
    pub datasets: Vec<i64>,
}

#[derive(Debug, Deserialize)]
struct AssistantAnswer {
    ok: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    retry_after: Option<i64>,
    #[serde(flatten)]
    assistant: Option<Assistant>,
}

impl Db {
    /// `mcp_start`: signs in (or takes a token) and opens a chat.
    pub async fn sqlbot_start(&self, s: &Start<'_>) -> Result<Started, DbError> {
        let answer: StartAnswer = self
            .json(
                "sqlbot_start",
                "SELECT quarry.sqlbot_start($1, $2, $3, $4, $5, make_interval(secs => $6), $7)",
                &[&s.email, &s.password, &s.token, &s.audience, &s.ip, &secs(s.ttl), &s.team_id],
            )
            .await?;
        let unexpected = |what: &str| DbError::Internal(format!("sqlbot_start answered ok without {what}"));
        if answer.ok {
            return Ok(Started::Ok {
                access_token: answer.access_token.ok_or_else(|| unexpected("a token"))?,
                expires_in: answer.expires_in.unwrap_or(0),
                scope: answer.scope.unwrap_or_default(),
                account_id: answer.account_id.ok_or_else(|| unexpected("an account"))?,
                chat_id: answer.chat_id.ok_or_else(|| unexpected("a chat"))?,
            });
        }
        Ok(match answer.reason.as_deref() {
            Some("throttled") => Started::Throttled { retry_after: answer.retry_after },
            Some("token") => Started::BadToken,
            Some("disabled") => Started::Disabled,
            Some("no_team") => Started::NoTeam,
            Some("not_member") => Started::NotMember,
            _ => Started::Invalid,
        })
    }

    /// Who a token of the front belongs to (`None` for any other token), with the chat and team
    /// the request names checked against the account.
    pub async fn sqlbot_caller(&self, token: &str, audience: &str, chat_id: Option<i64>, team_id: Option<i64>) -> Result<Option<Caller>, DbError> {
        self.json("sqlbot_caller", "SELECT quarry.sqlbot_caller($1, $2, $3, $4)", &[&token, &audience, &chat_id, &team_id]).await
    }

    /// Makes a conversation the chat's, unless it has one already; returns the chat's.
    pub async fn sqlbot_bind_chat(&self, account_id: i64, chat_id: i64, conversation_id: i64) -> Result<Option<i64>, DbError> {
        let row = self.query_one("SELECT quarry.sqlbot_bind_chat($1, $2, $3)", &[&account_id, &chat_id, &conversation_id]).await?;
        Ok(row.get(0))
    }

    /// The assistant registered for `url` whose secret `secret` is.
    pub async fn assistant_for(&self, url: &str, secret: &str, ip: Option<IpAddr>) -> Result<AssistantCheck, DbError> {
        let answer: AssistantAnswer =
            self.json("assistant_for", "SELECT quarry.assistant_for($1, $2, $3)", &[&url, &secret, &ip]).await?;
        Ok(match (answer.ok, answer.assistant, answer.reason.as_deref()) {
            (true, Some(assistant), _) => AssistantCheck::Ok(assistant),
            (true, None, _) => return Err(DbError::Internal("assistant_for answered ok without an assistant".into())),
            (false, _, Some("throttled")) => AssistantCheck::Throttled { retry_after: answer.retry_after },
            (false, _, Some("disabled")) => AssistantCheck::Disabled,
            (false, _, _) => AssistantCheck::Invalid,
        })
    }
}
