//! Configuration, read once from the environment (`DATABASE_URL` and `QUARRY_*`).

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Where the extension lives: `postgres://user:password@host:port/database`.
    pub database_url: String,
    /// The address to listen on (`QUARRY_BIND`, default 127.0.0.1:8080).
    pub bind: SocketAddr,
    /// The URL clients reach this server at (`QUARRY_PUBLIC_URL`; by default `http://` and the
    /// address actually bound): the OAuth issuer, the MCP resource, and the allowed Host/Origin
    /// all derive from it.
    pub public_url: Option<Url>,
    /// Serve HTTPS with this PEM certificate chain and PEM private key (`QUARRY_TLS_CERT`,
    /// `QUARRY_TLS_KEY`, both or neither); plain HTTP without them.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Where questions run (`QUARRY_QUERY_DATABASE_URL`, default `DATABASE_URL`): point it at a
    /// read replica to keep questions off the primary. The database must have the extension.
    pub query_database_url: Option<String>,
    /// Upper bound for any statement timeout, whatever a dataset says
    /// (`QUARRY_MAX_STATEMENT_TIMEOUT_MS`, default 60000).
    pub max_statement_timeout: Duration,
    /// Largest result of one query, in bytes of values (`QUARRY_MAX_RESULT_BYTES`, default 1 MiB).
    pub max_result_bytes: usize,
    /// Origins besides the public URL's that browsers may call `/mcp` from
    /// (`QUARRY_ALLOWED_ORIGINS`, comma-separated, e.g. `http://localhost:6274`).
    pub allowed_origins: Vec<String>,
    /// Largest number of database connections (`QUARRY_DB_POOL_SIZE`, default 16).
    pub pool_size: usize,
    /// Most idle MCP sessions held in memory (`QUARRY_MCP_LIVE_SESSIONS`, default 64); the rest
    /// wait in PostgreSQL until their next request.
    pub live_sessions: usize,
    /// How long to wait for a free connection before answering 503 (`QUARRY_DB_WAIT_MS`).
    pub pool_wait: Duration,
    /// How long in-flight requests may take to finish after a stop signal (`QUARRY_SHUTDOWN_GRACE_MS`).
    pub shutdown_grace: Duration,
    /// How long a connection may wait for a request's head before it is closed: an idle
    /// keep-alive connection, or a client sending its headers that slowly
    /// (`QUARRY_HTTP_IDLE_TIMEOUT_MS`, default 30 s).
    pub http_idle_timeout: Duration,
    /// `json` (default) or `text` (`QUARRY_LOG_FORMAT`); the level comes from `QUARRY_LOG`.
    pub log_format: LogFormat,
    /// OAuth lifetimes and switches.
    pub oauth: OAuthConfig,
    /// How questions are answered.
    pub questions: QuestionsConfig,
    /// The SQLBot-compatible front.
    pub sqlbot: SqlBotConfig,
    /// Where `/metrics` is served, and to whom.
    pub metrics: MetricsConfig,
}

/// The SQLBot-compatible front (README, "SQLBot-compatible front"): SQLBot's six operations on
/// paths of their own, as MCP tools and plain HTTP POSTs.
#[derive(Clone, Debug)]
pub struct SqlBotConfig {
    /// Whether the front exists at all (`QUARRY_SQLBOT_COMPAT`, default false): off, its paths
    /// answer 404 like any unknown path.
    pub enabled: bool,
    /// How long a token from `mcp_start` lives (`QUARRY_SQLBOT_TOKEN_TTL`, seconds, 60 to 30 days;
    /// by default the OAuth access token lifetime). SQLBot's clients cannot refresh; they call
    /// `mcp_start` again.
    pub token_ttl: Duration,
}

/// Where `/metrics` is served, and to whom. Never to the public:
/// - neither set: not served at all;
/// - only `token`: on the main address, to requests bearing it;
/// - `bind`: on that address only (not on the main one), to whoever reaches it, or only to
///   requests bearing `token` when it is set too.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// An address of its own (`QUARRY_METRICS_BIND`, host:port; off by default).
    pub bind: Option<SocketAddr>,
    /// The bearer token scrapers must present (`QUARRY_METRICS_TOKEN`, 16 to 512 visible ASCII
    /// characters; off by default).
    pub token: Option<String>,
}

/// The token stays out of logs and panics.
impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig").field("bind", &self.bind).field("token", &self.token.as_ref().map(|_| "<set>")).finish()
    }
}

#[derive(Clone, Debug)]
pub struct QuestionsConfig {
    /// How many times failed SQL goes back to the model with its error (`QUARRY_SQL_RETRIES`, default 2).
    pub sql_retries: u32,
    /// How long one model request may take (`QUARRY_MODEL_TIMEOUT_MS`, default 60000; a model
    /// configuration's `options.timeout_ms` overrides it).
    pub model_timeout: Duration,
    /// How many times a model request is retried after HTTP 429, 5xx or a network error
    /// (`QUARRY_MODEL_RETRIES`, default 2; `options.max_retries` overrides it).
    pub model_retries: u32,
    /// The TrueType font chart images are drawn with (`QUARRY_CHART_FONT`; by default DejaVu Sans
    /// where Debian, Ubuntu, Fedora or Arch put it).
    pub chart_font: Option<std::path::PathBuf>,
    /// How long the values of a dataset's dimensions, read under an account's role, are kept in
    /// memory for that account's next questions (`QUARRY_VALUES_TTL`, seconds, default 60; 0
    /// reads them for every question).
    pub values_ttl: Duration,
}

#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// Access token lifetime (`QUARRY_ACCESS_TOKEN_TTL`, seconds, default 3600).
    pub access_ttl: Duration,
    /// Refresh token lifetime (`QUARRY_REFRESH_TOKEN_TTL`, seconds, default 30 days).
    pub refresh_ttl: Duration,
    /// How long a rotated refresh token may be presented again and get the same successor
    /// (`QUARRY_REFRESH_GRACE`, seconds, default 30).
    pub refresh_grace: Duration,
    /// Authorization code lifetime (`QUARRY_CODE_TTL`, seconds, default 60).
    pub code_ttl: Duration,
    /// Browser session lifetime (`QUARRY_SESSION_TTL`, seconds, default 12 hours).
    pub session_ttl: Duration,
    /// Whether people may create accounts on the sign-in page (`QUARRY_SIGNUP`, default true).
    pub signup: bool,
    /// How long a fetched Client ID Metadata Document is trusted (`QUARRY_CLIENT_METADATA_TTL`,
    /// seconds, default 3600).
    pub client_metadata_ttl: Duration,
    /// For tests only: fetch client metadata documents over http and from private addresses
    /// (`QUARRY_CLIENT_METADATA_ALLOW_PRIVATE`, default false).
    pub client_metadata_allow_private: bool,
    /// Take the client address from the last `X-Forwarded-For` entry, for a sidecar behind a
    /// proxy (`QUARRY_TRUST_FORWARDED_FOR`, default false).
    pub trust_forwarded_for: bool,
    /// Dynamic client registrations allowed per client address and hour
    /// (`QUARRY_REGISTRATIONS_PER_HOUR`, default 30); more get 429 with `Retry-After`.
    pub registrations_per_hour: i32,
}

impl Config {
    /// The public URL: the configured one, or `http://` (`https://` when serving TLS) and the
    /// address the server listens on.
    pub fn public_url_for(&self, bound: SocketAddr) -> Url {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("{scheme}://{bound}")).expect("a socket address makes a valid URL")
        })
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any source of variables (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = get("DATABASE_URL").filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing("DATABASE_URL"))?;
        crate::pg_tls::parse(&database_url).map_err(|reason| ConfigError::Invalid { name: "DATABASE_URL", reason })?;

        let bind_text = get("QUARRY_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text
            .parse()
            .map_err(|_| ConfigError::Invalid { name: "QUARRY_BIND", reason: format!("{bind_text:?} is not host:port") })?;

        let public_url = get("QUARRY_PUBLIC_URL").map(|text| parse_public_url(&text)).transpose()?;

        let query_database_url = get("QUARRY_QUERY_DATABASE_URL").filter(|v| !v.trim().is_empty());
        if let Some(url) = &query_database_url {
            crate::pg_tls::parse(url).map_err(|reason| ConfigError::Invalid { name: "QUARRY_QUERY_DATABASE_URL", reason })?;
        }
        let allowed_origins = get("QUARRY_ALLOWED_ORIGINS")
            .map(|v| v.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect::<Vec<_>>())
            .unwrap_or_default();
        for origin in &allowed_origins {
            match Url::parse(origin) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.path() == "/" => {}
                _ => {
                    return Err(ConfigError::Invalid { name: "QUARRY_ALLOWED_ORIGINS", reason: format!("{origin:?} is not an origin like https://app.example.com") });
                }
            }
        }

        let file = |name: &str| get(name).filter(|v| !v.trim().is_empty()).map(std::path::PathBuf::from);
        let tls = match (file("QUARRY_TLS_CERT"), file("QUARRY_TLS_KEY")) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid { name: "QUARRY_TLS_KEY", reason: "QUARRY_TLS_CERT is set, so the key must be too".into() });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid { name: "QUARRY_TLS_CERT", reason: "QUARRY_TLS_KEY is set, so the certificate must be too".into() });
            }
        };
        let metrics = MetricsConfig {
            bind: get("QUARRY_METRICS_BIND")
                .filter(|v| !v.trim().is_empty())
                .map(|text| {
                    text.trim().parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                        name: "QUARRY_METRICS_BIND",
                        reason: format!("{text:?} is not host:port"),
                    })
                })
                .transpose()?,
            token: get("QUARRY_METRICS_TOKEN").filter(|v| !v.is_empty()).map(metrics_token).transpose()?,
        };
        // The main address serves the public; metrics on it would be metrics for everyone.
        if metrics.bind.is_some_and(|m| m == bind && m.port() != 0) {
            return Err(ConfigError::Invalid { name: "QUARRY_METRICS_BIND", reason: "it must not be QUARRY_BIND's address".into() });
        }

        Ok(Config {
            metrics,
            database_url,
            tls,
            query_database_url,
            max_statement_timeout: Duration::from_millis(number(&get, "QUARRY_MAX_STATEMENT_TIMEOUT_MS", 60_000, 100..=600_000)? as u64),
            max_result_bytes: number(&get, "QUARRY_MAX_RESULT_BYTES", 1024 * 1024, 1024..=64 * 1024 * 1024)?,
            allowed_origins,
            bind,
            public_url,
            pool_size: number(&get, "QUARRY_DB_POOL_SIZE", 16, 1..=1000)?,
            live_sessions: number(&get, "QUARRY_MCP_LIVE_SESSIONS", 64, 1..=1_000_000)?,
            pool_wait: Duration::from_millis(number(&get, "QUARRY_DB_WAIT_MS", 5000, 1..=600_000)? as u64),
            shutdown_grace: Duration::from_millis(number(&get, "QUARRY_SHUTDOWN_GRACE_MS", 10_000, 0..=600_000)? as u64),
            http_idle_timeout: Duration::from_millis(number(&get, "QUARRY_HTTP_IDLE_TIMEOUT_MS", 30_000, 100..=3_600_000)? as u64),
            oauth: OAuthConfig {
                access_ttl: seconds(&get, "QUARRY_ACCESS_TOKEN_TTL", 3600, 60..=86_400)?,
                refresh_ttl: seconds(&get, "QUARRY_REFRESH_TOKEN_TTL", 30 * 86_400, 3600..=365 * 86_400)?,
                refresh_grace: seconds(&get, "QUARRY_REFRESH_GRACE", 30, 0..=600)?,
                code_ttl: seconds(&get, "QUARRY_CODE_TTL", 60, 10..=600)?,
                session_ttl: seconds(&get, "QUARRY_SESSION_TTL", 12 * 3600, 300..=30 * 86_400)?,
                signup: flag(&get, "QUARRY_SIGNUP", true)?,
                client_metadata_ttl: seconds(&get, "QUARRY_CLIENT_METADATA_TTL", 3600, 60..=86_400)?,
                client_metadata_allow_private: flag(&get, "QUARRY_CLIENT_METADATA_ALLOW_PRIVATE", false)?,
                trust_forwarded_for: flag(&get, "QUARRY_TRUST_FORWARDED_FOR", false)?,
                registrations_per_hour: number(&get, "QUARRY_REGISTRATIONS_PER_HOUR", 30, 1..=1_000_000)? as i32,
            },
            questions: QuestionsConfig {
                sql_retries: number(&get, "QUARRY_SQL_RETRIES", 2, 0..=5)? as u32,
                model_timeout: Duration::from_millis(number(&get, "QUARRY_MODEL_TIMEOUT_MS", 60_000, 1000..=600_000)? as u64),
                model_retries: number(&get, "QUARRY_MODEL_RETRIES", 2, 0..=5)? as u32,
                chart_font: get("QUARRY_CHART_FONT").filter(|v| !v.trim().is_empty()).map(std::path::PathBuf::from),
                values_ttl: Duration::from_secs(number(&get, "QUARRY_VALUES_TTL", 60, 0..=86_400)? as u64),
            },
            sqlbot: SqlBotConfig {
                enabled: flag(&get, "QUARRY_SQLBOT_COMPAT", false)?,
                token_ttl: match get("QUARRY_SQLBOT_TOKEN_TTL") {
                    Some(_) => seconds(&get, "QUARRY_SQLBOT_TOKEN_TTL", 3600, 60..=30 * 86_400)?,
                    None => seconds(&get, "QUARRY_ACCESS_TOKEN_TTL", 3600, 60..=86_400)?,
                },
            },
            log_format: match get("QUARRY_LOG_FORMAT").as_deref().unwrap_or("json") {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => {
                    return Err(ConfigError::Invalid { name: "QUARRY_LOG_FORMAT", reason: format!("{other:?} is not json or text") });
                }
            },
        })
    }
}

/// A metrics token: long enough not to be guessed, and nothing a header cannot carry.
fn metrics_token(text: String) -> Result<String, ConfigError> {
    let ok = (16..=512).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(ConfigError::Invalid {
            name: "QUARRY_METRICS_TOKEN",
            reason: "it must be 16 to 512 visible ASCII characters, without spaces".into(),
        });
    }
    Ok(text)
}

/// The public URL must be an absolute http(s) URL without query or fragment; a trailing slash is
/// dropped so that every URL built from it is spelled one way.
fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid { name: "QUARRY_PUBLIC_URL", reason: reason.to_string() };
    let url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("it must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("it must not have a query, a fragment or credentials"));
    }
    let trimmed = url.as_str().trim_end_matches('/').to_string();
    Url::parse(&trimmed).map_err(|e| invalid(&e.to_string()))
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigError> {
    let Some(text) = get(name) else { return Ok(default) };
    match text.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            reason: format!("{text:?} is not a number from {} to {}", range.start(), range.end()),
        }),
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Duration, ConfigError> {
    number(get, name, default, range).map(|n| Duration::from_secs(n as u64))
}

fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::Invalid { name, reason: format!("{other:?} is not true or false") }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const DB: (&str, &str) = ("DATABASE_URL", "postgres://quarry@127.0.0.1:5432/quarry");

    #[test]
    fn defaults() {
        let c = config(&[DB]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, None);
        assert_eq!(c.public_url_for("127.0.0.1:4321".parse().unwrap()).as_str(), "http://127.0.0.1:4321/");
        assert_eq!(c.pool_size, 16);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(!c.sqlbot.enabled, "the SQLBot-compatible front is opt-in");
        assert_eq!(c.sqlbot.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.metrics, MetricsConfig { bind: None, token: None });
    }

    #[test]
    fn the_sqlbot_front() {
        let c = config(&[DB, ("QUARRY_SQLBOT_COMPAT", "true"), ("QUARRY_ACCESS_TOKEN_TTL", "600")]).unwrap();
        assert!(c.sqlbot.enabled);
        assert_eq!(c.sqlbot.token_ttl, Duration::from_secs(600), "the OAuth access token lifetime by default");
        let c = config(&[DB, ("QUARRY_SQLBOT_TOKEN_TTL", "604800")]).unwrap();
        assert_eq!(c.sqlbot.token_ttl, Duration::from_secs(604_800));
        let e = config(&[DB, ("QUARRY_SQLBOT_COMPAT", "sometimes")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_SQLBOT_COMPAT"), "{e}");
        let e = config(&[DB, ("QUARRY_SQLBOT_TOKEN_TTL", "10")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_SQLBOT_TOKEN_TTL"), "{e}");
    }

    #[test]
    fn metrics_settings_are_checked() {
        let c = config(&[DB, ("QUARRY_METRICS_BIND", "127.0.0.1:9464"), ("QUARRY_METRICS_TOKEN", "0123456789abcdef")]).unwrap();
        assert_eq!(c.metrics.bind, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(c.metrics.token.as_deref(), Some("0123456789abcdef"));
        assert!(!format!("{c:?}").contains("0123456789abcdef"), "the token is not printed");
        for (name, value) in [
            ("QUARRY_METRICS_BIND", "localhost"),
            ("QUARRY_METRICS_BIND", "127.0.0.1:8080"),
            ("QUARRY_METRICS_TOKEN", "short"),
            ("QUARRY_METRICS_TOKEN", "0123456789 abcdef"),
        ] {
            let e = config(&[DB, (name, value)]).unwrap_err().to_string();
            assert!(e.contains(name), "{name}={value}: {e}");
        }
    }

    #[test]
    fn public_url_is_normalised() {
        let c = config(&[DB, ("QUARRY_PUBLIC_URL", "https://quarry.example.com/base/")]).unwrap();
        assert_eq!(c.public_url.unwrap().as_str(), "https://quarry.example.com/base");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(matches!(config(&[]), Err(ConfigError::Missing("DATABASE_URL"))));
        let e = config(&[DB, ("QUARRY_BIND", "localhost")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_BIND"), "{e}");
        let e = config(&[DB, ("QUARRY_PUBLIC_URL", "ftp://x")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_PUBLIC_URL"), "{e}");
        let e = config(&[DB, ("QUARRY_PUBLIC_URL", "https://x/?a=b")]).unwrap_err().to_string();
        assert!(e.contains("query"), "{e}");
        let e = config(&[DB, ("QUARRY_SIGNUP", "maybe")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_SIGNUP"), "{e}");
        let e = config(&[DB, ("QUARRY_ACCESS_TOKEN_TTL", "5")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_ACCESS_TOKEN_TTL"), "{e}");
        let e = config(&[DB, ("QUARRY_DB_POOL_SIZE", "0")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_DB_POOL_SIZE"), "{e}");
        let e = config(&[DB, ("QUARRY_TLS_CERT", "/x/cert.pem")]).unwrap_err().to_string();
        assert!(e.contains("QUARRY_TLS_KEY"), "{e}");
        let e = config(&[("DATABASE_URL", "postgres://a@h/q?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt")]).unwrap_err().to_string();
        assert!(e.contains("DATABASE_URL") && e.contains("/nonexistent/ca.crt"), "{e}");
        let e = config(&[("DATABASE_URL", "postgres://a:b@host:notaport/db")]).unwrap_err().to_string();
        assert!(e.contains("DATABASE_URL"), "{e}");
    }
}
