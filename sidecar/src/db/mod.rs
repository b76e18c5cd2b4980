//! The typed client of the extension: one async function per `quarry.*` function the sidecar
//! calls, with typed inputs and the JSON shapes of the answers as serde types. Nothing outside
//! this module calls the extension or touches a connection pool (the question path, which runs
//! accounts' own SQL through `quarry.execute_for`, is [`questions`]).
//!
//! Every statement is prepared once per connection and reused (the pool keeps each connection's
//! statement cache), so a call costs one round trip after the first. Errors are classified once,
//! into [`DbError`].

pub mod accounts;
pub mod conversations;
pub mod dashboards;
pub mod datasets;
pub mod error;
pub mod mcp;
pub mod oauth;
pub mod questions;
pub mod semantic;
pub mod sqlbot;
pub mod workspace;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, QueueMode, RecyclingMethod, Runtime};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

pub use self::error::DbError;
use crate::pg_tls as tls;
use crate::config::Config;
use crate::metrics::PoolStats;

/// Parameters of a statement.
type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The extension's service API, over the sidecar's connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    timeouts: Timeouts,
}

/// How many requests waited for a connection of a pool in vain. Shared by a pool's clones.
#[derive(Clone, Default)]
pub(crate) struct Timeouts(Arc<AtomicU64>);

impl Timeouts {
    /// Notes a failure to get a connection if it was a wait that ran out.
    pub(crate) fn note(&self, error: &PoolError) {
        if matches!(error, PoolError::Timeout(_)) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self, pool: &Pool) -> PoolStats {
        let status = pool.status();
        PoolStats {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
            timeouts: self.0.load(Ordering::Relaxed),
        }
    }
}

impl Db {
    /// A pool of connections to `DATABASE_URL` (opened lazily, as requests need them).
    pub fn connect(config: &Config) -> Result<Db, String> {
        let tls::Connection { config: mut pg, tls, .. } = tls::parse(&config.database_url).map_err(|e| format!("DATABASE_URL: {e}"))?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_secs(5));
        }
        if pg.get_application_name().is_none() {
            pg.application_name("quarry-sidecar");
        }
        let pool = pool(pg, tls, config, Some(Duration::from_secs(5))).map_err(|e| format!("connection pool: {e}"))?;
        Ok(Db { pool, timeouts: Timeouts::default() })
    }

    /// The connection pool's state now.
    pub fn pool_stats(&self) -> PoolStats {
        self.timeouts.stats(&self.pool)
    }

    /// Opens one connection: `Err` with the reason only when TLS refused the server (a
    /// certificate the settings do not accept), which no waiting will fix. Other failures (a
    /// database not up yet) are left to the health check.
    pub async fn check_tls(&self) -> Result<(), String> {
        check_tls(&self.pool).await
    }

    /// The installed extension's version (`None` when the function answers nothing).
    pub async fn version(&self) -> Result<Option<String>, DbError> {
        let row = self.query_one("SELECT quarry.version()", &[]).await?;
        Ok(row.try_get::<_, Option<String>>(0).ok().flatten())
    }

    async fn connection(&self) -> Result<Object, DbError> {
        self.pool.get().await.map_err(|e| {
            self.timeouts.note(&e);
            e.into()
        })
    }

    /// The one row a statement returns.
    async fn query_one(&self, sql: &str, params: &Params<'_>) -> Result<Row, DbError> {
        let client = self.connection().await?;
        let result = async {
            let statement = client.prepare_cached(sql).await?;
            client.query_one(&statement, params).await
        }
        .await;
        settle(client, result)
    }

    /// The row a statement returns, if it returns one.
    async fn query_opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>, DbError> {
        let client = self.connection().await?;
        let result = async {
            let statement = client.prepare_cached(sql).await?;
            client.query_opt(&statement, params).await
        }
        .await;
        settle(client, result)
    }

    /// Every row a statement returns.
    async fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, DbError> {
        let client = self.connection().await?;
        let result = async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, params).await
        }
        .await;
        settle(client, result)
    }

    /// Runs a statement whose result does not matter.
    async fn execute(&self, sql: &str, params: &Params<'_>) -> Result<(), DbError> {
        let client = self.connection().await?;
        let result = async {
            let statement = client.prepare_cached(sql).await?;
            client.execute(&statement, params).await
        }
        .await;
        settle(client, result).map(drop)
    }

    /// Calls a function that returns one JSON value and reads it as `T`, so that what the
    /// sidecar passes on has the shape its types promise (or the call fails loudly).
    /// SQL NULL reads as JSON null (so as `None` into an `Option`).
    async fn json<T: DeserializeOwned>(&self, function: &str, sql: &str, params: &Params<'_>) -> Result<T, DbError> {
        read_json(function, &self.query_one(sql, params).await?, 0)
    }
}

/// A json or jsonb column of `row` read straight into `T`, SQL NULL as JSON null. The text is
/// parsed once, into `T`: through a `Value` first, the 6 KB listing of 100 tables took 37 µs to
/// read instead of 20.
pub(crate) fn read_json<T: DeserializeOwned>(function: &str, row: &Row, column: usize) -> Result<T, DbError> {
    match row.try_get::<_, Option<Json<T>>>(column) {
        Ok(Some(Json(value))) => Ok(value),
        Ok(None) => serde_json::from_value(Value::Null).map_err(|e| DbError::unexpected_shape(function, &e)),
        Err(e) => Err(DbError::unexpected_shape(function, &e)),
    }
}

/// A statement's result, after which the connection goes back to the pool, unless the database
/// reported an internal error on it: such a backend (one whose extension library was replaced
/// under it, say) is closed rather than handed to the next caller.
fn settle<T>(client: Object, result: Result<T, tokio_postgres::Error>) -> Result<T, DbError> {
    if let Err(e) = &result
        && error::reports_internal_error(e)
    {
        tracing::warn!(error = %e, "the database reported an internal error; closing that connection");
        drop(Object::take(client));
    }
    Ok(result?)
}

/// See [`Db::check_tls`].
/// A pool of connections made with `pg` over `tls`, sized and bounded in waiting as configured,
/// opened lazily. A connection taken out is only checked to be open (`RecyclingMethod::Fast`),
/// within `recycle_timeout` when given.
fn pool(mut pg: tokio_postgres::Config, tls: tls::MakeRustls, config: &Config, recycle_timeout: Option<Duration>) -> Result<Pool, String> {
    // Timestamps in answers are UTC, whatever the server's default.
    pg.options("-c TimeZone=UTC");
    let manager = Manager::from_config(pg, tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(config.pool_size)
        // The most recently returned connection first: under light load the same few backends
        // stay busy and warm (their caches, their memory), instead of every call waking the one
        // idle the longest. Measured: rotating through 31 idle connections cost a SELECT 1 call
        // 40% more database CPU than reusing one.
        .queue_mode(QueueMode::Lifo)
        .wait_timeout(Some(config.pool_wait))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(recycle_timeout)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

async fn check_tls(pool: &Pool) -> Result<(), String> {
    match pool.get().await {
        Err(deadpool_postgres::PoolError::Backend(e)) => match tls::tls_failure(&e) {
            Some(reason) => Err(reason),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Seconds of a duration as the extension's functions take them (`make_interval(secs => $n)`).
fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
