//! What the end-to-end tests stand on: the private cluster prepared by `./dev test` (a fresh
//! database with the extension and the demo data) and real `quarry-sidecar` processes started on
//! free ports. Nothing is mocked. Run outside `./dev test`, the tests fail with a message saying
//! so rather than skip.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A variable `./dev test` exports; its absence is a setup error, not a reason to skip.
pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: the end-to-end tests run through `./dev test`, which prepares the database")
    })
}

/// libpq-style connection string for the superuser, over the cluster's Unix socket.
pub fn admin_conninfo() -> String {
    required_env("QUARRY_E2E_ADMIN")
}

/// The superuser's connection string for another database of the same cluster.
pub fn admin_conninfo_for(database: &str) -> String {
    // In a libpq-style string a later keyword overrides an earlier one.
    format!("{} dbname={database}", admin_conninfo())
}

/// The URL the sidecar uses: its own NOINHERIT role, which may call only the service API.
pub fn sidecar_database_url() -> String {
    required_env("QUARRY_E2E_DATABASE_URL")
}

/// The sidecar's login role (the user of its database URL).
pub fn sidecar_role() -> String {
    let url = sidecar_database_url();
    let credentials = url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).expect("credentials in the URL").0;
    credentials.split(':').next().unwrap_or_default().to_string()
}

/// A connection as the sidecar makes it: the same reading of `sslmode` and `sslrootcert` (TLS
/// over TCP as the URL says; a Unix socket is never encrypted).
pub async fn connect(conninfo: &str) -> tokio_postgres::Client {
    let settings = quarry_sidecar::pg_tls::parse(conninfo).unwrap_or_else(|e| panic!("bad connection string {conninfo:?}: {e}"));
    let (client, connection) = settings
        .config
        .connect(settings.tls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with {conninfo:?}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A connection that keeps the notices the server sends (as `connect` makes it otherwise), for
/// tests that read what PostgreSQL reports along the way.
pub async fn connect_keeping_notices(conninfo: &str) -> (tokio_postgres::Client, Arc<Mutex<Vec<String>>>) {
    let settings = quarry_sidecar::pg_tls::parse(conninfo).unwrap_or_else(|e| panic!("bad connection string {conninfo:?}: {e}"));
    let (client, mut connection) = settings
        .config
        .connect(settings.tls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with {conninfo:?}: {e}"));
    let notices = Arc::new(Mutex::new(Vec::new()));
    let kept = notices.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let tokio_postgres::AsyncMessage::Notice(notice) = message {
                kept.lock().unwrap().push(notice.message().to_string());
            }
        }
    });
    (client, notices)
}

/// A superuser connection to the test database, for preparing fixtures and checking state.
pub async fn admin() -> tokio_postgres::Client {
    connect(&admin_conninfo()).await
}

/// The SQLSTATE of a failed statement, for assertions.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// The sidecar binary that this same `cargo test` invocation built.
pub fn sidecar_binary() -> PathBuf {
    // Test binaries live in target/<profile>/deps; the sidecar in target/<profile>.
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let binary = dir.join("quarry-sidecar");
    assert!(binary.exists(), "{} is missing: run the tests with `./dev test`", binary.display());
    binary
}

/// A running sidecar process, stopped when dropped.
pub struct Sidecar {
    child: Child,
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base_url: String,
    logs: Arc<Mutex<Vec<Value>>>,
}

impl Sidecar {
    /// Starts a sidecar against the test database with the default configuration.
    pub async fn start() -> Sidecar {
        Sidecar::start_with(&[]).await
    }

    /// Starts a sidecar; `vars` add to or override its environment (an empty value removes one).
    pub async fn start_with(vars: &[(&str, &str)]) -> Sidecar {
        let mut child = Sidecar::command(vars).spawn().expect("start quarry-sidecar");
        let stdout = child.stdout.take().expect("stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut address_tx = Some(address_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    panic!("the sidecar wrote a line that is not JSON: {line}");
                };
                if entry["message"] == "listening" {
                    if let Some(tx) = address_tx.take() {
                        let _ = tx.send(entry["address"].as_str().unwrap_or_default().to_string());
                    }
                }
                sink.lock().unwrap().push(entry);
            }
        });
        // Waiting for readiness, not timing anything: a sidecar that never listens is a failure.
        let address = tokio::time::timeout(Duration::from_secs(60), address_rx)
            .await
            .expect("the sidecar did not start listening within a minute")
            .expect("the sidecar exited before listening");
        let https = vars.iter().any(|(name, value)| *name == "QUARRY_TLS_CERT" && !value.is_empty());
        let scheme = if https { "https" } else { "http" };
        Sidecar { child, base_url: format!("{scheme}://{address}"), logs }
    }

    /// Runs a sidecar that should refuse to start: its exit status and its log entries. If it
    /// starts listening instead, it is stopped and the test fails.
    pub async fn run_refused(vars: &[(&str, &str)]) -> (ExitStatus, Vec<Value>) {
        let mut child = Sidecar::command(vars).spawn().expect("start quarry-sidecar");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut logs = Vec::new();
        while let Some(line) = lines.next_line().await.expect("read the sidecar's output") {
            let entry: Value =
                serde_json::from_str(&line).unwrap_or_else(|_| panic!("the sidecar wrote a line that is not JSON: {line}"));
            if entry["message"] == "listening" {
                let _ = child.kill().await;
                panic!("the sidecar started serving instead of refusing to: {logs:?}");
            }
            logs.push(entry);
        }
        (child.wait().await.expect("wait for the sidecar"), logs)
    }

    /// The sidecar's command: the test database, a free port, JSON logs on stdout; `vars` add to
    /// or override its environment (an empty value removes one).
    fn command(vars: &[(&str, &str)]) -> Command {
        let mut command = Command::new(sidecar_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", sidecar_database_url())
            .env("QUARRY_BIND", "127.0.0.1:0")
            .env("QUARRY_LOG_FORMAT", "json")
            .env("QUARRY_LOG", "info")
            // Every test registers clients from 127.0.0.1; the rate limit has a test of its own.
            .env("QUARRY_REGISTRATIONS_PER_HOUR", "1000000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in vars {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        command
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The process id, for reading what the process spends (CPU time, memory) in /proc.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Log entries so far (JSON objects).
    pub fn logs(&self) -> Vec<Value> {
        self.logs.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the sidecar did not exit within a minute of SIGTERM")
            .expect("wait for the sidecar")
    }
}

/// The local certificate authority `./dev test` made for the private cluster (and for sidecars
/// serving HTTPS in the tests): `QUARRY_E2E_TLS_DIR`/ca.crt.
pub fn local_ca() -> Option<PathBuf> {
    std::env::var_os("QUARRY_E2E_TLS_DIR").map(|dir| PathBuf::from(dir).join("ca.crt"))
}

/// Every HTTP client of the tests starts here: it also trusts the local CA, so the same helpers
/// work against a sidecar serving HTTPS.
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match local_ca() {
        Some(path) => {
            let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("the local CA is PEM"))
        }
        None => builder,
    }
}

/// An HTTP client for the tests: no redirects followed, cookies kept.
pub fn http() -> reqwest::Client {
    client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client")
}

/// The sidecar's database URL pointed at another database, or logging in as another role.
pub fn database_url_with(user: Option<(&str, &str)>, database: Option<&str>) -> String {
    let url = sidecar_database_url();
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (credentials, location) = rest.split_once('@').expect("credentials in the URL");
    let (host, path) = location.split_once('/').expect("a database in the URL");
    // The query (sslmode, sslrootcert) stays.
    let (db, query) = path.split_once('?').map(|(d, q)| (d, format!("?{q}"))).unwrap_or((path, String::new()));
    let credentials = user.map(|(u, p)| format!("{u}:{p}")).unwrap_or_else(|| credentials.to_string());
    format!("{scheme}://{credentials}@{host}/{}{query}", database.unwrap_or(db))
}

pub mod bench;
pub mod fake_model;
pub mod mcp;
pub mod oauth;
pub mod proxy;

/// Polls the database (as the superuser) every 100 ms until `sql` returns true: a bounded wait
/// (`within`) for something the test caused to become visible, not a timing assertion. Panics
/// naming `what` when the bound passes.
pub async fn wait_until(sql: &str, within: Duration, what: &str) {
    let admin = admin().await;
    for _ in 0..within.as_millis().div_ceil(100) {
        let row = admin.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        if row.get::<_, bool>(0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

/// `bytes` random bytes as lowercase hex: a tag that keeps one test's fixtures apart from another's.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).unwrap();
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// A team of its own (named `prefix` and a random tag) with a dataset over the retail schema, so a
/// test can change the dataset's model or limits without touching anyone else's. Returns (team
/// name, dataset id).
pub async fn own_retail_dataset(prefix: &str) -> (String, i64) {
    let admin = admin().await;
    let team = format!("{prefix} {}", random_hex(4));
    let team_id: i64 = admin.query_one("SELECT quarry.create_team($1)", &[&team]).await.unwrap().get(0);
    let dataset: i64 = admin
        .query_one("SELECT quarry.create_dataset($1, 'Shop', ARRAY['retail'], 'Orders of a retailer.')", &[&team_id])
        .await
        .unwrap()
        .get(0);
    (team, dataset)
}

/// Makes a new model configuration of the dataset's team (`name`, a `provider` at `base_url`, its
/// key in the sidecar's environment variable `key_env`) that dataset's model.
pub async fn use_model(dataset: i64, name: &str, provider: &str, model: &str, base_url: &str, key_env: Option<&str>, options: &Value) {
    let admin = admin().await;
    let id: i64 = admin
        .query_one(
            "SELECT quarry.create_model_config((SELECT team_id FROM quarry.datasets WHERE id = $1), $2, $3, $4, $5, $6, $7)",
            &[&dataset, &name, &provider, &model, &base_url, &key_env, options],
        )
        .await
        .unwrap()
        .get(0);
    admin.execute("SELECT quarry.set_dataset_model($1, $2)", &[&dataset, &id]).await.unwrap();
}

/// A fresh account for one test: a unique email, a known password, a database role, and
/// membership of the named teams. Returns (account id, email, password).
pub async fn account(role: Option<&str>, teams: &[&str]) -> (i64, String, String) {
    let admin = admin().await;
    let email = format!("e2e-{}@quarry.test", random_hex(6));
    let password = "e2e password 1234".to_string();
    let id: i64 = admin
        .query_one("SELECT quarry.create_account($1, $2, 'E2E person', $3)", &[&email, &password, &role])
        .await
        .unwrap()
        .get(0);
    for team in teams {
        admin.execute("SELECT quarry.add_team_member(quarry.team_id($1), $2)", &[team, &id]).await.unwrap();
    }
    (id, email, password)
}

/// A fresh account (see [`account`]) signed in through the whole OAuth flow, with an initialized
/// MCP session. Returns the session and the account id.
pub async fn mcp_session(s: &Sidecar, role: Option<&str>, teams: &[&str], scope: Option<&str>) -> (mcp::Mcp, i64) {
    let (id, email, password) = account(role, teams).await;
    let (tokens, _) = oauth::tokens_for(&s.base_url, &email, &password, scope).await;
    let mut session = mcp::Mcp::new(&s.url("/mcp"), tokens["access_token"].as_str());
    session.initialize().await;
    (session, id)
}
