//! `footfall collector load`: a load generator for `POST /v1/batch`. Concurrent connections each send gzip batches of
//! new events (unique message ids, the shape the SDK sends) for a while; prints one JSON object with the events
//! stored per second and the request latency percentiles. With `--spawn` it starts a collector in this process on a
//! fresh SQLite file, so one command measures the embedded engine.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::Args;
use flate2::write::GzEncoder;
use footfall_collector::{Collector, CollectorConfig};
use footfall_core::sync::reqwest_transport::ReqwestTransport;
use footfall_core::{HttpRequest, HttpTransport};
use serde_json::{json, Value};

use crate::CmdResult;

#[derive(Args)]
pub struct LoadArgs {
    /// The collector's base URL; omit it with --spawn.
    #[arg(long, required_unless_present = "spawn")]
    url: Option<String>,
    #[arg(long)]
    api_key: Option<String>,
    /// Start a collector in this process on a new SQLite file (in a temporary directory) and load it.
    #[arg(long)]
    spawn: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Events per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// How long to send for, after a 1 s warm-up that is not counted.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Named in the output (e.g. the engine), to tell runs apart.
    #[arg(long, default_value = "")]
    label: String,
}

pub fn run(args: LoadArgs) -> CmdResult {
    if args.connections == 0 || args.batch == 0 {
        return Err("--connections and --batch must be at least 1".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let spawned = match args.spawn {
        false => None,
        true => {
            let mut config = CollectorConfig::new("127.0.0.1:0".parse().expect("literal"), dir.path().join("load.db"));
            config.api_key = args.api_key.clone();
            Some(Collector::start(config).map_err(|e| e.to_string())?)
        }
    };
    let url = match (&spawned, &args.url) {
        (Some(collector), _) => collector.base_url(),
        (None, Some(url)) => url.trim_end_matches('/').to_owned(),
        (None, None) => return Err("--url or --spawn".into()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(load(&args, &url))?;
    if let Some(collector) = spawned {
        let stats = collector.stats().map_err(|e| e.to_string())?;
        if stats.events < report.stored {
            return Err(format!("the collector stored {} events, {} were acknowledged", stats.events, report.stored));
        }
        collector.shutdown();
    }
    let mut latencies = report.latencies_us;
    latencies.sort_unstable();
    let pct = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    let out = json!({
        "label": args.label,
        "connections": args.connections,
        "batch": args.batch,
        "seconds": report.seconds,
        "requests": latencies.len(),
        "events_stored": report.stored,
        "events_per_s": (report.stored as f64 / report.seconds).round(),
        "requests_per_s": (latencies.len() as f64 / report.seconds).round(),
        "p50_ms": pct(0.50) as f64 / 1000.0,
        "p99_ms": pct(0.99) as f64 / 1000.0,
        "max_ms": latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        "errors": report.errors,
        "wire_bytes_per_event": (report.wire_bytes as f64 / report.sent_events.max(1) as f64 * 10.0).round() / 10.0,
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Default)]
struct Report {
    seconds: f64,
    stored: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    wire_bytes: u64,
    sent_events: u64,
}

async fn load(args: &LoadArgs, url: &str) -> Result<Report, String> {
    let transport = Arc::new(ReqwestTransport::new(&[]).map_err(|e| e.to_string())?);
    let endpoint = format!("{url}/v1/batch");
    let auth = args
        .api_key
        .as_ref()
        .map(|key| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))));
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let warm_until = started + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (transport, endpoint, auth, run_id, next) =
            (transport.clone(), endpoint.clone(), auth.clone(), run_id.clone(), next.clone());
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut mine = Report::default();
            loop {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                let first = next.fetch_add(batch as u64, Ordering::Relaxed);
                let body = gzip(&body(&run_id, first, batch));
                let mut headers = vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    ("Content-Encoding".to_owned(), "gzip".to_owned()),
                    ("X-Footfall-Protocol".to_owned(), "1".to_owned()),
                ];
                if let Some(auth) = &auth {
                    headers.push(("Authorization".to_owned(), auth.clone()));
                }
                let size = body.len() as u64;
                let request = HttpRequest {
                    method: "POST".into(),
                    url: endpoint.clone(),
                    headers,
                    body,
                    timeout: Duration::from_secs(30),
                };
                let sent = Instant::now();
                let answer = transport.send(request).await;
                let took = sent.elapsed();
                if sent < warm_until {
                    continue;
                }
                mine.latencies_us.push(took.as_micros() as u64);
                mine.wire_bytes += size;
                mine.sent_events += batch as u64;
                match answer {
                    Ok(resp) if resp.status == 200 => mine.stored += accepted(&resp.body, batch),
                    _ => mine.errors += 1,
                }
            }
            mine
        }));
    }
    let mut total = Report::default();
    for task in tasks {
        let mine = task.await.map_err(|e| e.to_string())?;
        total.stored += mine.stored;
        total.errors += mine.errors;
        total.wire_bytes += mine.wire_bytes;
        total.sent_events += mine.sent_events;
        total.latencies_us.extend(mine.latencies_us);
    }
    total.seconds = Instant::now().saturating_duration_since(warm_until).as_secs_f64();
    Ok(total)
}

/// `accepted` from the answer, or the batch size when the answer does not say.
fn accepted(body: &[u8], batch: usize) -> u64 {
    serde_json::from_slice::<Value>(body).ok().and_then(|v| v["accepted"].as_u64()).unwrap_or(batch as u64)
}

/// A batch of `count` track events numbered from `first`, ids unique to this run.
fn body(run_id: &str, first: u64, count: usize) -> Vec<u8> {
    let messages: Vec<Value> = (first..first + count as u64)
        .map(|n| {
            json!({
                "type": "track",
                "messageId": format!("{}-{}-{}-{}-{:012x}", &run_id[..8], &run_id[8..12], &run_id[12..16], &run_id[16..20], n),
                "timestamp": "2026-12-06T10:15:30.123Z",
                "anonymousId": format!("anon-{}", n % 5_000),
                "event": "product_viewed",
                "properties": {"sku": format!("49{:011}", n), "price": 1980, "currency": "JPY", "store_id": "tokyo-shibuya-01"},
                "context": {"library": {"name": "footfall-load", "version": env!("CARGO_PKG_VERSION")},
                            "footfall": {"purpose": "analytics", "seq": n, "sessionId": "load-session"}}
            })
        })
        .collect();
    json!({"batch": messages, "sentAt": "2026-12-06T10:15:31.000Z"}).to_string().into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}
