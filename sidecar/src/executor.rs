//! The path that runs SQL for an account (answers, pins re-run, run_sql): its own connection
//! pool (which may point at a read replica), a read-only transaction with a statement timeout,
//! `quarry.execute_as` (the account's role, a security-restricted operation, row and byte caps),
//! then always a rollback. Connections are cleaned when they go back to the pool (advisory locks,
//! session settings and the like cannot outlive their use).

use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::NoTls;

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

/// Why a query did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The database refused or stopped the query; the message is PostgreSQL's (safe to show
    /// the asker and to give back to a model).
    #[error("{message}")]
    Query { sqlstate: String, message: String },
    #[error("the database is unavailable right now")]
    Unavailable,
}

impl ExecError {
    pub fn timed_out(&self) -> bool {
        matches!(self, ExecError::Query { sqlstate, .. } if sqlstate == "57014")
    }
}

/// Limits for one execution.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: i32,
    pub max_bytes: i32,
    pub timeout: Duration,
}

impl Limits {
    /// A dataset's statement timeout and a row cap, within the server's bounds (the largest
    /// timeout and result size it allows).
    pub fn for_dataset(config: &Config, timeout_ms: i64, max_rows: i32) -> Limits {
        Limits {
            max_rows,
            max_bytes: config.max_result_bytes.min(i32::MAX as usize) as i32,
            timeout: Duration::from_millis(timeout_ms.max(100) as u64).min(config.max_statement_timeout),
        }
    }
}

pub fn pool(config: &Config) -> Result<Pool, String> {
    let url = config.query_database_url.as_deref().unwrap_or(&config.database_url);
    let mut pg: tokio_postgres::Config = url.parse().map_err(|e| format!("QUARRY_QUERY_DATABASE_URL: {e}"))?;
    pg.application_name("quarry-sidecar (questions)");
    pg.connect_timeout(Duration::from_secs(5));
    pg.options("-c TimeZone=UTC");
    let manager = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Clean });
    Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.pool_wait))
        .create_timeout(Some(Duration::from_secs(5)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| format!("query connection pool: {e}"))
}

/// Runs `sql` for an account under `limits`, in the dataset's search path.
pub async fn run(
    pool: &Pool,
    account_id: i64,
    sql: &str,
    search_path: Option<&str>,
    limits: Limits,
) -> Result<(QueryResult, Duration), ExecError> {
    let mut client = pool.get().await.map_err(|e| {
        tracing::warn!(error = %e, "no connection for a query");
        ExecError::Unavailable
    })?;
    let started = Instant::now();
    let tx = client.build_transaction().read_only(true).start().await.map_err(|_| ExecError::Unavailable)?;
    let timeout_ms = limits.timeout.as_millis().clamp(100, 600_000) as i64;
    tx.batch_execute(&format!("SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL lock_timeout = 2000"))
        .await
        .map_err(|_| ExecError::Unavailable)?;
    let outcome = tx
        .query_one(
            "SELECT quarry.execute_as($1, $2, $3, $4, $5)",
            &[&account_id, &sql, &limits.max_rows, &limits.max_bytes, &search_path],
        )
        .await;
    let elapsed = started.elapsed();
    // Always roll back: nothing a query did (there should be nothing) is kept.
    let _ = tx.rollback().await;
    match outcome {
        Ok(row) => {
            let value: Value = row.get(0);
            let result: QueryResult = serde_json::from_value(value).map_err(|e| {
                tracing::error!(error = %e, "execute_as returned an unexpected shape");
                ExecError::Unavailable
            })?;
            Ok((result, elapsed))
        }
        Err(e) => match e.as_db_error() {
            Some(db) => Err(ExecError::Query { sqlstate: db.code().code().to_string(), message: db.message().to_string() }),
            None => Err(ExecError::Unavailable),
        },
    }
}
