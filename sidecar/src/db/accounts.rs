//! Accounts as the pages see them: browser sessions, signing in and up, signing out, passwords;
//! and whether an account may ask questions at all.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{Db, DbError, secs};

/// The signed-in account of a request, as `quarry.session()` reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub account_id: i64,
    pub email: String,
    pub display_name: String,
    pub csrf: String,
    /// The session token itself (from the cookie; the database keeps only its hash).
    #[serde(skip)]
    pub token: String,
}

/// What a sign-in or sign-up form sends.
pub struct Credentials<'a> {
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    /// The address the form came from, for throttling.
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
    /// How long the session lasts.
    pub ttl: Duration,
}

/// How `quarry.sign_in` and `quarry.sign_up` answered.
#[derive(Debug)]
pub enum SignedIn {
    /// A new session, and the token for its cookie.
    Session { token: String, account_id: Option<i64> },
    /// Too many attempts from this address or for this email; seconds to wait, when known.
    Throttled { retry_after: Option<i64> },
    /// Sign-up only: the email is taken.
    Exists,
    /// Wrong email or password, or a disabled account (the same answer).
    Invalid,
}

/// The JSON both functions answer with: `{ok, account_id, session, …}` or `{ok: false, reason, retry_after}`.
#[derive(Debug, Deserialize)]
struct SignInAnswer {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    account_id: Option<i64>,
    #[serde(default)]
    retry_after: Option<i64>,
}

impl From<SignInAnswer> for SignedIn {
    fn from(answer: SignInAnswer) -> SignedIn {
        match answer.reason.as_deref() {
            None => SignedIn::Session { token: answer.session.unwrap_or_default(), account_id: answer.account_id },
            Some("throttled") => SignedIn::Throttled { retry_after: answer.retry_after },
            Some("exists") => SignedIn::Exists,
            Some(_) => SignedIn::Invalid,
        }
    }
}

impl Db {
    /// The live session a cookie's token names, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, DbError> {
        let row = self.query_one("SELECT quarry.session($1)", &[&token]).await?;
        let value: Option<Value> = row.get(0);
        Ok(value.and_then(|v| serde_json::from_value::<Session>(v).ok()).map(|s| Session { token: token.to_string(), ..s }))
    }

    pub async fn sign_in(&self, c: &Credentials<'_>) -> Result<SignedIn, DbError> {
        let answer: SignInAnswer = self
            .json(
                "sign_in",
                "SELECT quarry.sign_in($1, $2, $3, $4, make_interval(secs => $5))",
                &[&c.email, &c.password, &c.ip, &c.user_agent, &secs(c.ttl)],
            )
            .await?;
        Ok(answer.into())
    }

    pub async fn sign_up(&self, c: &Credentials<'_>, display_name: Option<&str>) -> Result<SignedIn, DbError> {
        let answer: SignInAnswer = self
            .json(
                "sign_up",
                "SELECT quarry.sign_up($1, $2, $3, $4, $5, make_interval(secs => $6))",
                &[&c.email, &c.password, &display_name, &c.ip, &c.user_agent, &secs(c.ttl)],
            )
            .await?;
        Ok(answer.into())
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), DbError> {
        self.execute("SELECT quarry.sign_out($1)", &[&token]).await
    }

    /// Changes a password (ending every other session of the account); false when the current
    /// password is wrong.
    pub async fn change_password(&self, account_id: i64, current: Option<&str>, new: &str, keep_session: &str) -> Result<bool, DbError> {
        let row = self
            .query_one("SELECT quarry.change_password($1, $2, $3, $4)", &[&account_id, &current, &new, &keep_session])
            .await?;
        Ok(row.get(0))
    }
}
