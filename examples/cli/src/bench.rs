//! `footfall bench`: the SDK against plain-SQLite baselines measured in the same run, printed as one JSON object.
//! Ratios matter more than absolutes: the baselines run on the same disk, the same core, a minute apart.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use footfall_core::consent::record::Method;
use footfall_core::crypto::Encryption;
use footfall_core::{Config, Error, Event, Footfall, HttpRequest, HttpResponse, HttpTransport, TransportError};
use serde_json::{json, Value};

use crate::CmdResult;

/// The autocommit baseline is ~1000× slower; this many inserts measure its rate well enough.
const AUTOCOMMIT_SAMPLE: usize = 2_000;

fn properties(i: usize) -> Value {
    json!({"sku": format!("49{:011}", 1_234_567_894u64 + i as u64), "price": 1980, "currency": "JPY", "store_id": "tokyo-shibuya-01", "list": "search"})
}

fn event(i: usize) -> Event {
    Event::new("product_viewed").properties(properties(i))
}

pub fn run(events: usize, pairs: usize, queue_only: bool, idle_secs: u64) -> CmdResult {
    if events < 1_000 {
        return Err("--events must be at least 1000".into());
    }
    if pairs < MIN_PAIRS {
        return Err(format!("--pairs must be at least {MIN_PAIRS}"));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // First, so its memory baseline is the process before any SDK work.
    let startup = crate::bench_startup::run(&dir.path().join("startup"), events, idle_secs)?;
    warm_up(&dir.path().join("warm-up"))?;
    let queue = durable_pairs(dir.path(), events, pairs)?;
    // The first pair's SDK file is kept for the byte counts and the upload pass.
    let sdk_dir = dir.path().join("sdk-0");
    let disk_bytes_per_event = db_bytes(&sdk_dir.join(footfall_core::storage::DB_FILE)) as f64 / events as f64;
    let (wire_bytes_per_event, upload_per_s) = upload(&sdk_dir, events)?;
    let autocommit = sqlite_autocommit(&dir.path().join("autocommit.db"), AUTOCOMMIT_SAMPLE.min(events), false)?;
    // The same naive SDK with our pragmas: isolates what group commit buys from what WAL buys.
    let autocommit_wal =
        sqlite_autocommit(&dir.path().join("autocommit-wal.db"), (10 * AUTOCOMMIT_SAMPLE).min(events), true)?;

    let encryption = encryption_pairs(dir.path(), events, pairs)?;

    let p50 = percentile(&queue.latencies, 0.50);
    let p99 = percentile(&queue.latencies, 0.99);
    let durable_per_s = median(&queue.durable);
    let one_tx = median(&queue.one_tx);
    let ratios: Vec<f64> = queue.durable.iter().zip(&queue.one_tx).map(|(d, b)| d / b).collect();
    let durable_vs_one_tx = median(&ratios);
    let mut report = json!({
        "events": events,
        "pairs": pairs,
        "track_p50_ns": p50,
        "track_p99_ns": p99,
        "durable_events_per_s": durable_per_s.round(),
        "sqlite_one_tx_events_per_s": one_tx.round(),
        "sqlite_autocommit_events_per_s": autocommit.round(),
        "sqlite_autocommit_wal_events_per_s": autocommit_wal.round(),
        "disk_bytes_per_event": (disk_bytes_per_event * 10.0).round() / 10.0,
        "wire_bytes_per_event": (wire_bytes_per_event * 10.0).round() / 10.0,
        "upload_pass_events_per_s": upload_per_s.round(),
        "queue_full_retries": median(&queue.queue_full).round() as u64,
        "durable_vs_one_tx": round2(durable_vs_one_tx),
        "durable_vs_one_tx_min": round2(ratios.iter().copied().fold(f64::INFINITY, f64::min)),
        "durable_vs_one_tx_max": round2(ratios.iter().copied().fold(0.0, f64::max)),
        "durable_vs_one_tx_pairs": ratios.iter().map(|r| round2(*r)).collect::<Vec<_>>(),
        "durable_vs_autocommit": ratio(durable_per_s, autocommit),
        "durable_vs_autocommit_wal": ratio(durable_per_s, autocommit_wal),
        "targets": {
            "track_p50_le_2000_ns": p50 <= 2_000,
            "durable_ge_0_3_of_one_tx": durable_vs_one_tx >= 0.3,
            "durable_ge_0_5_of_one_tx": durable_vs_one_tx >= 0.5,
            "durable_ge_20x_autocommit": durable_per_s >= 20.0 * autocommit,
        },
        "notes": "durable and one_tx: medians of `pairs` interleaved runs (SDK then baseline, then the other way round), durable_vs_one_tx the median of the pairs' ratios with its range; one_tx: plain rusqlite, WAL + synchronous=NORMAL, one transaction; autocommit: SQLite defaults (rollback journal, synchronous=FULL), one transaction per insert; autocommit_wal: the same with WAL + synchronous=NORMAL; bare_signature_pairs: one Ed25519 and one P-256 verification with ring alone, the floor under wallet_verify"
    });
    report["encryption"] = encryption;
    if let (Value::Object(report), Value::Object(startup)) = (&mut report, startup) {
        report.extend(startup);
    }
    if !queue_only {
        let wallet = crate::bench_wallet::run()?;
        let proximity = crate::bench_proximity::run()?;
        for part in [wallet, proximity] {
            if let (Value::Object(report), Value::Object(part)) = (&mut report, part) {
                report.extend(part);
            }
        }
    }
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// What encryption at rest costs: the SDK with personal values sealed (the default) and with encryption off,
/// alternately (every other pair the other way round), so both see the same machine: track() p50 and p99, durable
/// events/s, and bytes on disk per event, each side's median, and the median of the pairs' ratios.
fn encryption_pairs(dir: &Path, events: usize, pairs: usize) -> Result<Value, String> {
    struct Side {
        p50: Vec<f64>,
        p99: Vec<f64>,
        durable: Vec<f64>,
        bytes: Vec<f64>,
    }
    let mut on = Side { p50: Vec::new(), p99: Vec::new(), durable: Vec::new(), bytes: Vec::new() };
    let mut off = Side { p50: Vec::new(), p99: Vec::new(), durable: Vec::new(), bytes: Vec::new() };
    let run = |side: &mut Side, name: String, encryption: Encryption| -> Result<(), String> {
        let run_dir = dir.join(name);
        let (latencies, durable, _) = track_and_persist_with(&run_dir, events, encryption)?;
        side.p50.push(percentile(&latencies, 0.50) as f64);
        side.p99.push(percentile(&latencies, 0.99) as f64);
        side.durable.push(durable);
        side.bytes.push(db_bytes(&run_dir.join(footfall_core::storage::DB_FILE)) as f64 / events as f64);
        let _ = std::fs::remove_dir_all(&run_dir);
        Ok(())
    };
    for pair in 0..pairs {
        if pair % 2 == 0 {
            run(&mut on, format!("sealed-{pair}"), Encryption::default())?;
            run(&mut off, format!("clear-{pair}"), Encryption::Off)?;
        } else {
            run(&mut off, format!("clear-{pair}"), Encryption::Off)?;
            run(&mut on, format!("sealed-{pair}"), Encryption::default())?;
        }
    }
    let ratios = |a: &[f64], b: &[f64]| -> f64 {
        round2(median(&a.iter().zip(b).map(|(x, y)| if *y > 0.0 { x / y } else { 0.0 }).collect::<Vec<_>>()))
    };
    let side = |s: &Side| {
        json!({
            "track_p50_ns": median(&s.p50).round(),
            "track_p99_ns": median(&s.p99).round(),
            "durable_events_per_s": median(&s.durable).round(),
            "disk_bytes_per_event": (median(&s.bytes) * 10.0).round() / 10.0,
        })
    };
    Ok(json!({
        "on": side(&on),
        "off": side(&off),
        "durable_on_vs_off": ratios(&on.durable, &off.durable),
        "durable_on_vs_off_pairs": on.durable.iter().zip(&off.durable).map(|(a, b)| round2(a / b)).collect::<Vec<_>>(),
        "track_p50_on_vs_off": ratios(&on.p50, &off.p50),
        "disk_bytes_on_vs_off": ratios(&on.bytes, &off.bytes),
        "notes": "on: properties, traits and user ids sealed with AES-256-GCM (the default, key file provider); off: Encryption::Off; pairs interleaved, medians",
    }))
}

/// Fewer pairs than this and one disturbed pair moves the median.
pub const MIN_PAIRS: usize = 5;

/// What the interleaved SDK and one-transaction runs measured, one entry per run.
struct QueueRuns {
    latencies: Vec<u64>,
    durable: Vec<f64>,
    one_tx: Vec<f64>,
    queue_full: Vec<f64>,
}

/// The SDK and its baseline alternately, so both see the same machine load: one run's ratio swung from 0.2 to
/// 0.66 with what else ran on the machine, the median of interleaved pairs does not. Every other pair runs the
/// baseline first, so neither side always inherits the other's dirty pages and checkpoint.
fn durable_pairs(dir: &Path, events: usize, pairs: usize) -> Result<QueueRuns, String> {
    let mut runs = QueueRuns { latencies: Vec::new(), durable: Vec::new(), one_tx: Vec::new(), queue_full: Vec::new() };
    for pair in 0..pairs {
        let sdk_dir = dir.join(format!("sdk-{pair}"));
        let baseline = dir.join(format!("one-tx-{pair}.db"));
        let ((latencies, durable_per_s, queue_full), one_tx) = if pair % 2 == 0 {
            let sdk = track_and_persist(&sdk_dir, events)?;
            (sdk, sqlite_one_transaction(&baseline, events)?)
        } else {
            let one_tx = sqlite_one_transaction(&baseline, events)?;
            (track_and_persist(&sdk_dir, events)?, one_tx)
        };
        runs.latencies.extend(latencies);
        runs.durable.push(durable_per_s);
        runs.one_tx.push(one_tx);
        runs.queue_full.push(queue_full as f64);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", baseline.display()));
        }
        if pair > 0 {
            let _ = std::fs::remove_dir_all(&sdk_dir);
        }
    }
    Ok(runs)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        round2(a / b)
    } else {
        0.0
    }
}

/// The SDK as an app runs it: consent enforced, the shopper having granted `analytics` (so every timed
/// `track()` includes the consent check).
fn open(dir: &Path, events: usize) -> Result<Footfall, String> {
    open_with(dir, events, Encryption::default())
}

/// [`open`] with personal values sealed as `encryption` says (on, the default, with the key file; or off).
fn open_with(dir: &Path, events: usize, encryption: Encryption) -> Result<Footfall, String> {
    let mut config = Config::new(dir);
    config.encryption = encryption;
    config.limits.max_events = (events as u64) * 2;
    config.limits.max_bytes = u64::MAX / 2;
    let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
    sdk.grant(&["analytics"], Method::Api).map_err(|e| e.to_string())?;
    Ok(sdk)
}

/// Page in the code paths and the allocator before anything is timed.
fn warm_up(dir: &Path) -> Result<(), String> {
    let sdk = open(dir, 20_000)?;
    for i in 0..5_000 {
        let _ = sdk.track(event(i));
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())
}

/// Tracks `events` events as fast as one thread can and times each call; returns the latencies, the durable
/// rate (until `flush_to_disk()` returns) and how often the hand-off was full.
fn track_and_persist(dir: &Path, events: usize) -> Result<(Vec<u64>, f64, u64), String> {
    track_and_persist_with(dir, events, Encryption::default())
}

fn track_and_persist_with(dir: &Path, events: usize, encryption: Encryption) -> Result<(Vec<u64>, f64, u64), String> {
    let sdk = open_with(dir, events, encryption)?;
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let prepared: Vec<Event> = (0..events).map(event).collect();
    let mut latencies = Vec::with_capacity(events);
    let mut queue_full = 0u64;
    let started = Instant::now();
    for (i, event) in prepared.into_iter().enumerate() {
        let mut next = Some(event);
        while let Some(event) = next.take() {
            let t = Instant::now();
            let result = sdk.track(event);
            let elapsed = t.elapsed().as_nanos() as u64;
            match result {
                Ok(_) => latencies.push(elapsed),
                Err(Error::QueueFull) => {
                    queue_full += 1;
                    std::thread::yield_now();
                    next = Some(self::event(i));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    sdk.close();
    Ok((latencies, events as f64 / seconds, queue_full))
}

/// Counts the bytes the SDK puts on the wire, answering 200 to everything.
struct CountingTransport {
    bytes: AtomicU64,
}

#[async_trait::async_trait]
impl HttpTransport for CountingTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.bytes.fetch_add(request.body.len() as u64, Ordering::Relaxed);
        Ok(HttpResponse { status: 200, headers: vec![], body: b"{}".to_vec() })
    }
}

fn upload(dir: &Path, events: usize) -> Result<(f64, f64), String> {
    let transport = Arc::new(CountingTransport { bytes: AtomicU64::new(0) });
    let mut config = Config::new(dir).with_endpoint("https://bench.invalid");
    config.flush.automatic = false;
    config.limits.max_events = (events as u64) * 2;
    config.limits.max_bytes = u64::MAX / 2;
    // Event uploads only: no policy fetch, no consent receipts in the byte count.
    config.consent_refresh_interval = None;
    let builder = Footfall::builder(config).transport(transport.clone()).consent_receipts(false);
    let sdk = builder.open().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let report = sdk.flush().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if report.delivered as usize != events {
        return Err(format!("bench upload delivered {} of {events}", report.delivered));
    }
    Ok((transport.bytes.load(Ordering::Relaxed) as f64 / events as f64, events as f64 / seconds))
}

fn baseline_rows(events: usize) -> Vec<(Vec<u8>, String, i64)> {
    (0..events).map(|i| (uuid::Uuid::now_v7().as_bytes().to_vec(), properties(i).to_string(), i as i64)).collect()
}

const BASELINE_TABLE: &str =
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, id BLOB NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL, purpose TEXT NOT NULL, ts INTEGER NOT NULL)";
const BASELINE_INSERT: &str =
    "INSERT INTO events (id, name, payload, purpose, ts) VALUES (?1, 'product_viewed', ?2, 'analytics', ?3)";

fn sqlite_one_transaction(path: &Path, events: usize) -> Result<f64, String> {
    let rows = baseline_rows(events);
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| e.to_string())?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
    conn.execute_batch(BASELINE_TABLE).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let tx = conn.unchecked_transaction().map_err(|e| e.to_string())?;
    {
        let mut insert = tx.prepare(BASELINE_INSERT).map_err(|e| e.to_string())?;
        for (id, payload, ts) in &rows {
            insert.execute(rusqlite::params![id, payload, ts]).map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

fn sqlite_autocommit(path: &Path, events: usize, wal: bool) -> Result<f64, String> {
    let rows = baseline_rows(events);
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| e.to_string())?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
    }
    conn.execute_batch(BASELINE_TABLE).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut insert = conn.prepare(BASELINE_INSERT).map_err(|e| e.to_string())?;
    for (id, payload, ts) in &rows {
        insert.execute(rusqlite::params![id, payload, ts]).map_err(|e| e.to_string())?;
    }
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

fn db_bytes(path: &Path) -> u64 {
    ["", "-wal"].iter().filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok()).map(|m| m.len()).sum()
}

fn percentile(samples: &[u64], q: f64) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0)
}
