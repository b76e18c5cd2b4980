//! The OAuth 2.1 authorization server's state: clients, authorization requests and consent,
//! codes, tokens, and the grants accounts gave. The extension does the checking, hashing and
//! rotating; these functions carry the arguments in and the answers out.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Db, DbError, secs};

/// Quarry's scopes, in the order they are shown (the extension's `quarry.scopes()`).
pub const SCOPES: [&str; 4] = ["read", "write", "datasets", "conversations"];

/// An authorization request as `quarry.check_authorization_request` accepted it: the client, its
/// registered redirect URI, and the scopes asked for (all of them when none were named).
#[derive(Debug, Deserialize)]
pub struct CheckedRequest {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// What `quarry.authorize` records: an account's consent, and the code it issues.
pub struct Authorization<'a> {
    pub account_id: i64,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub resource: &'a str,
    pub code_challenge: &'a str,
    pub code_ttl: Duration,
}

/// A token request's client credentials, as the client sent them.
pub struct ClientCredentials<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

/// How long what a token request issues lives.
pub struct TokenLifetimes {
    pub access: Duration,
    pub refresh: Duration,
}

/// The authorization_code grant's parameters.
pub struct CodeRedemption<'a> {
    pub code: Option<&'a str>,
    pub client: ClientCredentials<'a>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub lifetimes: TokenLifetimes,
}

/// The refresh_token grant's parameters.
pub struct TokenRefresh<'a> {
    pub refresh_token: Option<&'a str>,
    pub client: ClientCredentials<'a>,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub lifetimes: TokenLifetimes,
    /// How long a rotated refresh token may be presented again and get the same successor.
    pub grace: Duration,
}

/// What the token functions answer. They return an OAuth error rather than raise it, so that what
/// they did before refusing (revoking what a replayed code issued) is kept.
#[derive(Debug)]
pub enum TokenAnswer {
    /// The answer to send as it is (tokens, or nothing for a revocation).
    Granted(Value),
    /// `{"error", "error_description"}`.
    Refused { error: String, description: String },
}

impl From<Value> for TokenAnswer {
    fn from(value: Value) -> TokenAnswer {
        match value.get("error").and_then(Value::as_str) {
            Some(error) => TokenAnswer::Refused {
                error: error.to_string(),
                description: value.get("error_description").and_then(Value::as_str).unwrap_or_default().to_string(),
            },
            None => TokenAnswer::Granted(value),
        }
    }
}

/// A dynamic client registration (RFC 7591), as read from its body.
pub struct NewClient<'a> {
    pub client_name: Option<&'a str>,
    pub redirect_uris: &'a [String],
    pub token_endpoint_auth_method: Option<&'a str>,
    pub grant_types: Option<&'a [String]>,
    pub scope: Option<&'a str>,
    /// Descriptive metadata, kept as given.
    pub metadata: &'a Map<String, Value>,
    /// The address it came from, and how many registrations an address may make per hour.
    pub ip: Option<IpAddr>,
    pub per_hour: i32,
}

/// A client as `quarry.client` knows it: how it was registered and how old its record is.
#[derive(Debug, Deserialize)]
pub struct ClientRecord {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub age_seconds: Option<i64>,
}

/// One registration an account gave access to, as the settings page shows it.
#[derive(Debug, Serialize)]
pub struct Grant {
    pub client_id: String,
    /// Which registrations are one app: the same key for each (the extension decides).
    pub app: String,
    pub client_name: String,
    pub redirect_host: Option<String>,
    pub scopes: Vec<String>,
    /// When, as `YYYY-MM-DD HH:MM UTC`.
    pub granted_at: String,
    pub last_used_at: Option<String>,
}

impl Db {
    /// Checks the client, its redirect URI and the scope of an authorization request.
    pub async fn check_authorization_request(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
        scope: Option<&str>,
    ) -> Result<CheckedRequest, DbError> {
        self.json(
            "check_authorization_request",
            "SELECT quarry.check_authorization_request($1, $2, $3)",
            &[&client_id, &redirect_uri, &scope],
        )
        .await
    }

    /// The scopes an account already granted a client.
    pub async fn consented_scopes(&self, account_id: i64, client_id: &str) -> Result<Vec<String>, DbError> {
        let row = self.query_one("SELECT quarry.consented_scopes($1, $2)", &[&account_id, &client_id]).await?;
        Ok(row.get::<_, Option<Vec<String>>>(0).unwrap_or_default())
    }

    /// Records consent and issues an authorization code.
    pub async fn authorize(&self, a: &Authorization<'_>) -> Result<String, DbError> {
        let row = self
            .query_one(
                "SELECT quarry.authorize($1, $2, $3, $4, $5, $6, make_interval(secs => $7))",
                &[&a.account_id, &a.client_id, &a.redirect_uri, &a.scopes, &a.resource, &a.code_challenge, &secs(a.code_ttl)],
            )
            .await?;
        Ok(row.get(0))
    }

    pub async fn redeem_code(&self, r: &CodeRedemption<'_>) -> Result<TokenAnswer, DbError> {
        let value: Value = self
            .json(
                "redeem_code",
                "SELECT quarry.redeem_code($1, $2, $3, $4, $5, $6, make_interval(secs => $7), make_interval(secs => $8))",
                &[
                    &r.code,
                    &r.client.client_id,
                    &r.client.client_secret,
                    &r.redirect_uri,
                    &r.code_verifier,
                    &r.resource,
                    &secs(r.lifetimes.access),
                    &secs(r.lifetimes.refresh),
                ],
            )
            .await?;
        Ok(value.into())
    }

    pub async fn refresh_tokens(&self, r: &TokenRefresh<'_>) -> Result<TokenAnswer, DbError> {
        let value: Value = self
            .json(
                "refresh_tokens",
                "SELECT quarry.refresh_tokens($1, $2, $3, $4, $5, make_interval(secs => $6),
                                              make_interval(secs => $7), make_interval(secs => $8))",
                &[
                    &r.refresh_token,
                    &r.client.client_id,
                    &r.client.client_secret,
                    &r.scope,
                    &r.resource,
                    &secs(r.lifetimes.access),
                    &secs(r.lifetimes.refresh),
                    &secs(r.grace),
                ],
            )
            .await?;
        Ok(value.into())
    }

    pub async fn revoke_token(&self, token: &str, client: &ClientCredentials<'_>) -> Result<TokenAnswer, DbError> {
        let value: Value = self
            .json(
                "revoke_token",
                "SELECT quarry.revoke_token($1, $2, $3)",
                &[&token, &client.client_id, &client.client_secret],
            )
            .await?;
        Ok(value.into())
    }

    /// Registers a client and returns its registration (RFC 7591 §3.2.1) as the client gets it.
    pub async fn register_client(&self, c: &NewClient<'_>) -> Result<Value, DbError> {
        let metadata = Value::Object(c.metadata.clone());
        self.json(
            "register_client",
            "SELECT quarry.register_client($1, $2, $3, $4, $5, $6, 'dynamic', $7, $8)",
            &[&c.client_name, &c.redirect_uris, &c.token_endpoint_auth_method, &c.grant_types, &c.scope, &metadata, &c.ip, &c.per_hour],
        )
        .await
    }

    /// A client's record, if the client is known.
    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, DbError> {
        self.json("client", "SELECT quarry.client($1)", &[&client_id]).await
    }

    /// Stores (or refreshes) a client from its Client ID Metadata Document.
    pub async fn cache_client_metadata(&self, client_id: &str, document: &Value) -> Result<(), DbError> {
        self.query_one("SELECT quarry.cache_client_metadata($1, $2)", &[&client_id, &document]).await?;
        Ok(())
    }

    /// The registrations an account gave access to, those of one app together.
    pub async fn account_grants(&self, account_id: i64) -> Result<Vec<Grant>, DbError> {
        let rows = self
            .query(
                "SELECT client_id, client_name, redirect_host, scopes,
                        to_char(granted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),
                        to_char(last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'),
                        app
                   FROM quarry.account_grants($1)",
                &[&account_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Grant {
                client_id: r.get(0),
                client_name: r.get(1),
                redirect_host: r.get(2),
                scopes: r.get(3),
                granted_at: r.get(4),
                last_used_at: r.get(5),
                app: r.get(6),
            })
            .collect())
    }

    /// Ends an app's access to an account (its tokens stop working at once).
    pub async fn revoke_grant(&self, account_id: i64, client_id: &str) -> Result<(), DbError> {
        self.execute("SELECT quarry.revoke_grant($1, $2)", &[&account_id, &client_id]).await
    }

    /// Ends the access of every registration of one app (`app` as [`Grant::app`] gives it);
    /// returns how many registrations lost it.
    pub async fn revoke_app(&self, account_id: i64, app: &str) -> Result<i32, DbError> {
        Ok(self.query_one("SELECT quarry.revoke_app($1, $2)", &[&account_id, &app]).await?.get(0))
    }
}
