//! What the benchmarks share: running a piece of work from several workers for a fixed time
//! after a warm-up, and reading off requests per second and latency percentiles; pgbench as the
//! floor.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;

/// How long each measurement runs (after half a second of warm-up).
pub const RUN_FOR: Duration = Duration::from_secs(4);

/// One unit of work, called over and over by a worker.
pub type Work = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Stats {
    /// Stats from individual latencies gathered over `over`.
    pub fn from_latencies(mut all: Vec<Duration>, over: Duration) -> Stats {
        assert!(!all.is_empty(), "nothing was measured");
        all.sort();
        let pick = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
        Stats { rps: all.len() as f64 / over.as_secs_f64(), p50: pick(0.5), p99: pick(0.99) }
    }
}

/// Runs the work each of `concurrency` workers makes (with `make_worker`) for RUN_FOR, after a
/// common warm-up, and returns what was measured.
pub async fn measure<F>(concurrency: usize, make_worker: impl Fn() -> F) -> Stats
where
    F: Future<Output = Work>,
{
    measure_sampled(concurrency, make_worker, || ()).await.0
}

/// [`measure`], also calling `sample` as the measured window opens and as it closes (for what a
/// server spent during exactly the calls that were counted, such as its CPU time).
pub async fn measure_sampled<F, S>(concurrency: usize, make_worker: impl Fn() -> F, sample: impl Fn() -> S) -> (Stats, S, S)
where
    F: Future<Output = Work>,
{
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    let start = Instant::now() + Duration::from_millis(500);
    for _ in 0..concurrency {
        let mut work = make_worker().await;
        let latencies = latencies.clone();
        handles.push(tokio::spawn(async move {
            while Instant::now() < start {
                work().await;
            }
            let mut mine = Vec::new();
            while Instant::now() < start + RUN_FOR {
                let t = Instant::now();
                work().await;
                mine.push(t.elapsed());
            }
            latencies.lock().await.extend(mine);
            // Kept until the window has been sampled: dropping it may close a connection, and
            // a backend that exits takes what it spent with it.
            work
        }));
    }
    tokio::time::sleep_until(start.into()).await;
    let before = sample();
    tokio::time::sleep_until((start + RUN_FOR).into()).await;
    let after = sample();
    let mut done = Vec::new();
    for h in handles {
        done.push(h.await.unwrap());
    }
    drop(done);
    let all = latencies.lock().await.clone();
    (Stats::from_latencies(all, RUN_FOR), before, after)
}

/// pgbench (at `program`) running `sql` over `conninfo` with `clients` connections for RUN_FOR;
/// latencies from its per-transaction log.
pub async fn pgbench(program: &str, conninfo: &str, sql: &str, clients: usize) -> Stats {
    pgbench_sampled(program, conninfo, sql, clients, || ()).await.0
}

/// [`pgbench`], measured like [`measure_sampled`]: half a second of warm-up (its connections
/// made), then RUN_FOR in which the transactions that end are counted, with `sample` called as
/// that window opens and closes; pgbench runs on for half a second so that its connections, and
/// what their backends spent, outlive the window.
pub async fn pgbench_sampled<S>(program: &str, conninfo: &str, sql: &str, clients: usize, sample: impl Fn() -> S) -> (Stats, S, S) {
    pgbench_script_sampled(program, conninfo, &format!("{sql};\n"), "simple", clients, sample).await
}

/// [`pgbench_sampled`] of a whole pgbench script (statements ending in `;`, pgbench's own
/// commands and `:client_id`), in pgbench's query `mode` (simple, extended or prepared): one
/// transaction of the log is one run of the script.
pub async fn pgbench_script_sampled<S>(
    program: &str,
    conninfo: &str,
    script_text: &str,
    mode: &str,
    clients: usize,
    sample: impl Fn() -> S,
) -> (Stats, S, S) {
    let dir = std::env::temp_dir().join(format!("quarry-pgbench-{}-{clients}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.sql");
    std::fs::write(&script, script_text).unwrap();
    let child = tokio::process::Command::new(program)
        .args(["-n", "-M", mode, "-c", &clients.to_string(), "-j", &clients.min(2).to_string(), "-T", &(RUN_FOR.as_secs() + 1).to_string()])
        .args(["-f", script.to_str().unwrap(), "-l", "--log-prefix", dir.join("log").to_str().unwrap(), conninfo])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run pgbench");
    let start = Instant::now() + Duration::from_millis(500);
    tokio::time::sleep_until(start.into()).await;
    let (before, from) = (sample(), SystemTime::now());
    tokio::time::sleep_until((start + RUN_FOR).into()).await;
    let (after, to) = (sample(), SystemTime::now());
    let output = child.wait_with_output().await.expect("run pgbench");
    assert!(output.status.success(), "pgbench: {}", String::from_utf8_lossy(&output.stderr));
    let latencies = read_pgbench_logs(&dir, from, to);
    let _ = std::fs::remove_dir_all(&dir);
    (Stats::from_latencies(latencies, to.duration_since(from).unwrap()), before, after)
}

/// Latencies of the transactions that ended between `from` and `to`, from pgbench's log files
/// (a line per transaction: client, number, latency in µs, script, end time in s and µs).
fn read_pgbench_logs(dir: &Path, from: SystemTime, to: SystemTime) -> Vec<Duration> {
    let since_epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap();
    let (from, to) = (since_epoch(from), since_epoch(to));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.file_name().unwrap().to_string_lossy().starts_with("log") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
            let (Some(latency), Some(seconds), Some(micros)) = (field(2), field(4), field(5)) else { continue };
            let ended = Duration::from_secs(seconds) + Duration::from_micros(micros);
            if from <= ended && ended < to {
                out.push(Duration::from_micros(latency));
            }
        }
    }
    out
}

/// A duration in milliseconds, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Work from a closure that makes a future each time it is called.
pub fn work<F, Fut>(mut f: F) -> Work
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Box::new(move || Box::pin(f()))
}
