//! What the benchmarks share: running a piece of work from several workers for a fixed time
//! after a warm-up, and reading off requests per second and latency percentiles.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let all = latencies.lock().await.clone();
    Stats::from_latencies(all, RUN_FOR)
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
