//! `footfall bench`'s start-up and idle part: how long `open()` takes to accept and to commit the first event, how
//! often the SDK's threads wake when nothing is pending, and how much memory a large queue costs.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use footfall_core::consent::record::Method;
use footfall_core::{Config, Error, Event, Footfall, HttpRequest, HttpResponse, HttpTransport, TransportError};
use serde_json::{json, Value};

use crate::proc_threads;

/// Between the settling flush and the idle window.
const SETTLE: Duration = Duration::from_millis(500);

/// Cold opens timed; the median is reported (one disturbed open does not move it).
const OPEN_RUNS: usize = 15;

fn first_event() -> Event {
    Event::new("app_opened").properties(json!({"source": "bench"}))
}

/// Runs before the rest of the bench, so the RSS baseline is the process before any SDK work.
pub fn run(dir: &Path, events: usize, idle_secs: u64) -> Result<Value, String> {
    let baseline_rss = proc_threads::rss_kib();
    let (rss_queued, queued) = rss_with_queue(&dir.join("rss"), events)?;
    let cold = opens(dir, "cold", OPEN_RUNS, |_| Ok(()))?;
    let warm_dir = dir.join("warm");
    fill(&warm_dir, events)?;
    // Each warm open starts from a copy of the same queue (an open adds an event to the directory it is given).
    let warm = opens(dir, "warm", OPEN_RUNS, |run_dir| copy_dir(&warm_dir, run_dir))?;
    let idle = idle_wakeups(&dir.join("idle"), idle_secs)?;
    let mib = |kib: Option<u64>| kib.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0);
    Ok(json!({
        "cold_open_ms": cold.open_ms,
        "first_durable_ms": cold.durable_ms,
        "cold_open_first_ms": cold.first_open_ms,
        "warm_open_ms": warm.open_ms,
        "warm_first_durable_ms": warm.durable_ms,
        "warm_queued_events": events,
        "open_runs": OPEN_RUNS,
        "idle_wakeups_per_min": idle.per_min,
        "idle_wakeups_by_thread": idle.by_thread,
        "idle_secs": idle_secs,
        "rss_mb_before_open": mib(baseline_rss),
        "rss_mb_queued": mib(rss_queued),
        "rss_queued_events": queued,
        "startup_targets": {
            "cold_open_le_5_ms": cold.open_ms <= 5.0,
            "first_durable_le_20_ms": cold.durable_ms <= 20.0,
            "idle_wakeups_zero": idle.per_min.map(|w| w == 0.0),
        },
    }))
}

/// The configuration an app ships: an endpoint (the built-in HTTPS transport is created at open, and the sync
/// thread started) that nothing listens on. Consent is not enforced for the cold opens: a fresh install has no
/// decision yet, and under enforcement its first event would be refused at commit, leaving no commit to time.
fn app_config(dir: &Path, enforce_consent: bool) -> Config {
    let mut config = Config::new(dir).with_endpoint("http://127.0.0.1:9");
    config.enforce_consent = enforce_consent;
    config
}

struct Opens {
    open_ms: f64,
    durable_ms: f64,
    first_open_ms: f64,
}

/// `runs` opens, each on its own directory prepared by `prepare`: `open()` until the first `track()` returns its
/// id, and until `flush_to_disk()` (the SDK's durability barrier) says that event is committed.
fn opens(dir: &Path, label: &str, runs: usize, prepare: impl Fn(&Path) -> Result<(), String>) -> Result<Opens, String> {
    let (mut open_ms, mut durable_ms) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let run_dir = dir.join(format!("{label}-{run}"));
        prepare(&run_dir)?;
        // The warm directories hold a granted `analytics`: the app as it runs every day, consent enforced.
        let config = app_config(&run_dir, label == "warm");
        let started = Instant::now();
        let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
        sdk.track(first_event()).map_err(|e| e.to_string())?;
        let accepted = started.elapsed();
        sdk.flush_to_disk().map_err(|e| e.to_string())?;
        let durable = started.elapsed();
        sdk.close();
        open_ms.push(ms(accepted));
        durable_ms.push(ms(durable));
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    let first_open_ms = open_ms.first().copied().unwrap_or(0.0);
    Ok(Opens { open_ms: median(&open_ms), durable_ms: median(&durable_ms), first_open_ms })
}

/// A data directory holding `events` queued events and a granted `analytics`, closed.
fn fill(dir: &Path, events: usize) -> Result<(), String> {
    let mut config = Config::new(dir);
    config.limits.max_events = (events as u64) * 2;
    config.limits.max_bytes = u64::MAX / 2;
    let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
    sdk.grant(&["analytics"], Method::Api).map_err(|e| e.to_string())?;
    track_all(&sdk, events)?;
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    sdk.close();
    Ok(())
}

fn track_all(sdk: &Footfall, events: usize) -> Result<(), String> {
    for i in 0..events {
        loop {
            match sdk.track(Event::new("product_viewed").properties(json!({"sku": i, "price": 1980}))) {
                Ok(_) => break,
                Err(Error::QueueFull) => std::thread::yield_now(),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    Ok(())
}

/// VmRSS with `events` events tracked and committed but not sent (no endpoint), the SDK still open.
fn rss_with_queue(dir: &Path, events: usize) -> Result<(Option<u64>, usize), String> {
    let mut config = Config::new(dir);
    config.enforce_consent = false;
    config.limits.max_events = (events as u64) * 2;
    config.limits.max_bytes = u64::MAX / 2;
    let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
    track_all(&sdk, events)?;
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let queued = sdk.status().map_err(|e| e.to_string())?.pending as usize;
    let rss = proc_threads::rss_kib();
    sdk.close();
    Ok((rss, queued))
}

struct Idle {
    per_min: Option<f64>,
    by_thread: Value,
}

/// Answers every request with 200 and nothing: an endpoint that is reachable, with nothing to send to it.
struct Quiet;

#[async_trait::async_trait]
impl HttpTransport for Quiet {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse { status: 200, headers: vec![], body: b"{}".to_vec() })
    }
}

/// Context switches of the SDK's threads (named `footfall-…`) over `secs` with nothing pending, per minute.
/// The SDK is configured as an app ships it (an endpoint, automatic uploads, the hourly policy refresh) and
/// settled first: one explicit flush runs after the start-up refresh and empties every lane.
fn idle_wakeups(dir: &Path, secs: u64) -> Result<Idle, String> {
    if secs == 0 || !proc_threads::supported() {
        return Ok(Idle { per_min: None, by_thread: Value::Null });
    }
    let sdk = Footfall::builder(app_config(dir, true)).transport(Arc::new(Quiet)).open().map_err(|e| e.to_string())?;
    sdk.flush().map_err(|e| e.to_string())?;
    // The flush's reply comes before the sync thread finishes its turn and parks: that last switch belongs to
    // the flush, so the window opens once the threads are asleep.
    std::thread::sleep(SETTLE);
    let before = proc_threads::sdk_switches();
    std::thread::sleep(Duration::from_secs(secs));
    let after = proc_threads::sdk_switches();
    sdk.close();
    let scale = 60.0 / secs as f64;
    let mut total = 0u64;
    let mut by_thread = serde_json::Map::new();
    for (tid, (name, count)) in &after {
        let woke = count - before.get(tid).map_or(0, |(_, c)| *c);
        total += woke;
        *by_thread.entry(name.clone()).or_insert(json!(0.0)) =
            json!(by_thread.get(name).and_then(Value::as_f64).unwrap_or(0.0) + woke as f64 * scale);
    }
    Ok(Idle { per_min: Some(total as f64 * scale), by_thread: Value::Object(by_thread) })
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}
