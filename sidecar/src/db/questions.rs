//! The path that runs SQL for an account (answers, pins re-run, run_sql): its own connection
//! pool (which may point at a read replica) and one call of `quarry.execute_for`, which runs the
//! query as the account's role in a read-only subtransaction it always rolls back, within the
//! dataset's limits and the caps, behind the guard (see the extension's executor). A connection
//! that ran an account's query is cleaned as it goes back to the pool (in the same round trip as
//! the query); one that cannot be cleaned is closed instead.

use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DbError, PoolStats, Timeouts, read_json};
use super::datasets::Runtime;
use super::error::{is_internal, is_refusal};
use tokio_postgres::types::ToSql;
use crate::config::Config;

/// What a query returned, as `quarry.execute_as` reports it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueryResult {
    /// Column names and PostgreSQL types, in order.
    pub columns: Vec<Column>,
    /// The rows, each an array of values in column order (numbers, strings, booleans, JSON, null).
    pub rows: Vec<Vec<Value>>,
    /// How many rows are in `rows`.
    pub row_count: i64,
    /// Whether more rows existed than were returned.
    pub truncated: bool,
    /// Which cap cut the result short: "rows" or "bytes".
    pub truncated_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[cfg(test)]
impl QueryResult {
    /// A whole result from (name, type) columns and rows, for tests.
    pub fn of(columns: &[(&str, &str)], rows: Vec<Vec<Value>>) -> QueryResult {
        QueryResult {
            columns: columns.iter().map(|(n, t)| Column { name: n.to_string(), type_name: t.to_string() }).collect(),
            row_count: rows.len() as i64,
            rows,
            truncated: false,
            truncated_by: None,
        }
    }
}

/// Why a query did not run or did not finish. Either way the message is PostgreSQL's (with its
/// hint), safe to show the asker and to give back to a model.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The guard refused the query before it ran (a function that is not allowed, or not one
    /// plain SELECT); the message names what and says what to do.
    #[error("{0}")]
    Refused(String),
    /// The database refused or stopped the query.
    #[error("{0}")]
    Failed(String),
}

impl QueryError {
    /// Which step stopped the query: the guard's check, or the run itself.
    pub fn stage(&self) -> &'static str {
        match self {
            QueryError::Refused(_) => "check",
            QueryError::Failed(_) => "run",
        }
    }
}

/// Limits for one execution (the dataset's own timeout and memory limits apply in the database;
/// the timeout here can only shorten it).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: i32,
    pub max_bytes: i32,
    pub timeout: Duration,
}

/// Runs accounts' queries, within the server's bounds (the largest timeout and result size it
/// allows). Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    pool: Pool,
    timeouts: Timeouts,
    max_result_bytes: usize,
    max_statement_timeout: Duration,
}

/// What goes back to the pool with a connection that ran an account's query: nothing a query
/// could leave (the extension already releases advisory locks and renews the random seed; this
/// is the second line), in the same round trip as the query.
const CLEANUP: &str = "CLOSE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); RESET ALL; DISCARD TEMP; DISCARD SEQUENCES";

impl Executor {
    /// A pool of connections to `QUARRY_QUERY_DATABASE_URL` (or `DATABASE_URL`), opened lazily.
    pub fn connect(config: &Config) -> Result<Executor, String> {
        let url = config.query_database_url.as_deref().unwrap_or(&config.database_url);
        let name = if config.query_database_url.is_some() { "QUARRY_QUERY_DATABASE_URL" } else { "DATABASE_URL" };
        let crate::pg_tls::Connection { config: mut pg, tls, .. } = crate::pg_tls::parse(url).map_err(|e| format!("{name}: {e}"))?;
        pg.application_name("quarry-sidecar (questions)");
        pg.connect_timeout(Duration::from_secs(5));
        // Connections are cleaned when they come back (see `execute_for`), so taking one out only
        // checks that it is still open.
        let pool = super::pool(pg, tls, config, None).map_err(|e| format!("query connection pool: {e}"))?;
        Ok(Executor { pool, timeouts: Timeouts::default(), max_result_bytes: config.max_result_bytes, max_statement_timeout: config.max_statement_timeout })
    }

    /// The connection pool's state now.
    pub fn pool_stats(&self) -> PoolStats {
        self.timeouts.stats(&self.pool)
    }

    /// See [`super::Db::check_tls`]: for the query database.
    pub async fn check_tls(&self) -> Result<(), String> {
        super::check_tls(&self.pool).await
    }

    /// The limits of a query in a dataset with this timeout, returning at most `max_rows` rows.
    pub fn limits(&self, timeout_ms: i64, max_rows: i32) -> Limits {
        Limits {
            max_rows,
            max_bytes: self.max_result_bytes.min(i32::MAX as usize) as i32,
            timeout: Duration::from_millis(timeout_ms.max(100) as u64).min(self.max_statement_timeout),
        }
    }

    /// Runs `sql` for an account in a dataset under `limits`: its result, or why the database
    /// did not answer it (`Ok(Err(…))`); `Err` when the query could not be sent or answered at all.
    pub async fn execute_for(
        &self,
        account_id: i64,
        dataset_id: i64,
        sql: &str,
        limits: Limits,
    ) -> Result<Result<QueryResult, QueryError>, DbError> {
        let timeout_ms = timeout_ms(limits);
        let params: [&(dyn ToSql + Sync); 6] = [&account_id, &dataset_id, &sql, &limits.max_rows, &limits.max_bytes, &timeout_ms];
        self.call("SELECT quarry.execute_for($1, $2, $3, $4, $5, $6)", &params, |outcome| match outcome {
            Ok(row) => (read_json("execute_for", &row, 0).map(Ok), true),
            // Whatever the database says about the query is the query's failure (a timeout too),
            // shown to the asker; only the guard's refusals are told apart.
            Err(e) => match e.as_db_error() {
                Some(reported) => {
                    let code = reported.code().code();
                    (Ok(Err(QueryError::of(code, reported.message(), reported.hint()))), !is_internal(code))
                }
                None => (Err(unsent(&e)), true),
            },
        })
        .await?
    }

    /// SQL the caller wrote, run for an account in one call (`quarry.run_for`): the role check,
    /// the dataset (`dataset_id`, else the account's only one) and the run. At most `max_rows`
    /// rows (`None`: the dataset's row limit); `limits.max_rows` is not used. `Ok(None)` when no
    /// dataset was given and the account has several: the caller picks one.
    pub async fn run_for(
        &self,
        account_id: i64,
        dataset_id: Option<i64>,
        sql: &str,
        max_rows: Option<i32>,
        limits: Limits,
    ) -> Result<Option<RunFor>, DbError> {
        let timeout_ms = timeout_ms(limits);
        let params: [&(dyn ToSql + Sync); 6] = [&account_id, &dataset_id, &sql, &max_rows, &limits.max_bytes, &timeout_ms];
        let ran = self
            .call("SELECT quarry.run_for($1, $2, $3, $4, $5, $6)", &params, |outcome| match outcome {
                Ok(row) => {
                    let ran = read_json::<RanFor>("run_for", &row, 0);
                    let sound = ran.as_ref().map_or(true, |r| !r.failed.as_ref().is_some_and(|f| is_internal(&f.code)));
                    (ran, sound)
                }
                Err(e) => {
                    let sound = !super::error::reports_internal_error(&e);
                    (Err(DbError::from(e)), sound)
                }
            })
            .await??;
        let (Some(choice), Some(dataset)) = (ran.choice, ran.dataset) else { return Ok(None) };
        let result = match (ran.result, ran.failed) {
            (Some(result), _) => Ok(result),
            (None, Some(f)) => Err(QueryError::of(&f.code, &f.message, f.hint.as_deref())),
            (None, None) => return Err(DbError::Internal("run_for returned neither a result nor a failure".into())),
        };
        Ok(Some(RunFor { choice, dataset, result }))
    }

    /// One call on a query connection, with the cleanup sent right behind it (one round trip).
    /// `read` turns what the call came to into the answer, and says whether the backend is still
    /// sound (an internal error says it may not be): the connection goes back to the pool only
    /// when it is, and was cleaned. `Err` when there was no connection or the statement could not
    /// be prepared.
    async fn call<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        read: impl FnOnce(Result<tokio_postgres::Row, tokio_postgres::Error>) -> (T, bool),
    ) -> Result<T, DbError> {
        let client = self.pool.get().await.map_err(|e| {
            self.timeouts.note(&e);
            tracing::warn!(error = %e, "no connection for a query");
            DbError::Unavailable
        })?;
        let statement = client.prepare_cached(sql).await.map_err(|e| unsent(&e))?;
        // Sent together: the cleanup follows the query on the same connection without waiting for it.
        let (outcome, cleaned) = tokio::join!(client.query_one(&statement, params), client.batch_execute(CLEANUP));
        let (answer, sound) = read(outcome);
        if let Err(e) = &cleaned {
            tracing::warn!(error = %e, "a query connection could not be cleaned; closing it");
            drop(Object::take(client));
        } else if !sound {
            tracing::warn!("the database reported an internal error; closing that connection");
            drop(Object::take(client));
        }
        Ok(answer)
    }
}

/// What `quarry.run_for` returns (see [`Executor::run_for`]).
#[derive(Deserialize)]
struct RanFor {
    choice: Option<String>,
    dataset: Option<Runtime>,
    result: Option<QueryResult>,
    failed: Option<Failure>,
}

#[derive(Deserialize)]
struct Failure {
    code: String,
    message: String,
    hint: Option<String>,
}

/// A run of SQL by [`Executor::run_for`]: how the dataset was chosen ("given" or "only"), the
/// dataset, and what the query came to.
#[derive(Debug)]
pub struct RunFor {
    pub choice: String,
    pub dataset: Runtime,
    pub result: Result<QueryResult, QueryError>,
}

impl QueryError {
    /// A query's failure as the database reported it: the guard's refusals (class QG) apart from
    /// everything else (privileges, timeouts, errors in the SQL), each with its hint.
    fn of(code: &str, message: &str, hint: Option<&str>) -> QueryError {
        let text = super::error::message_with_hint(message, hint);
        if is_refusal(code) { QueryError::Refused(text) } else { QueryError::Failed(text) }
    }
}

fn timeout_ms(limits: Limits) -> i32 {
    limits.timeout.as_millis().clamp(100, 600_000) as i32
}

fn unsent(e: &tokio_postgres::Error) -> DbError {
    tracing::warn!(error = %e, "a query could not be sent");
    DbError::Unavailable
}
