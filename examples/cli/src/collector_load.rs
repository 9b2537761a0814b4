//! `footfall collector load`: a load generator for `POST /v1/batch`. Concurrent connections each send gzip batches of
//! new events (unique message ids, the shape the SDK sends) for a while; prints one JSON object with the events
//! stored per second and the request latency percentiles. With `--spawn` it starts a collector in this process on a
//! fresh SQLite file, so one command measures the embedded engine; `--spawn-on DB` (repeatable) does the same on
//! each database given (`sqlite`, or a PostgreSQL URL), one after the other in the same run, and ends with the
//! ratio of each engine to the first, so engines are compared on the same machine at the same moment.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::Args;
use flate2::write::GzEncoder;
use footfall_collector::{Collector, CollectorConfig, DatabaseUrl};
use footfall_core::sync::reqwest_transport::ReqwestTransport;
use footfall_core::{HttpRequest, HttpTransport};
use serde_json::{json, Value};

use crate::CmdResult;

#[derive(Args)]
pub struct LoadArgs {
    /// The collector's base URL; omit it with --spawn or --spawn-on.
    #[arg(long, required_unless_present_any = ["spawn", "spawn_on"])]
    url: Option<String>,
    #[arg(long)]
    api_key: Option<String>,
    /// Start a collector in this process on a new SQLite file (in a temporary directory) and load it.
    #[arg(long)]
    spawn: bool,
    /// Start collectors in this process on this database and load them: `sqlite` (a new file in a temporary
    /// directory) or a PostgreSQL URL (use a scratch database: the events stay). Repeat it to compare engines.
    #[arg(long = "spawn-on", value_name = "DB")]
    spawn_on: Vec<String>,
    /// Collectors to start on each database (connections are spread over them), as behind a load balancer.
    #[arg(long, default_value_t = 1)]
    instances: usize,
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
    if args.connections == 0 || args.batch == 0 || args.instances == 0 {
        return Err("--connections, --batch and --instances must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut spawn_on = args.spawn_on.clone();
    if args.spawn && spawn_on.is_empty() {
        spawn_on.push("sqlite".into());
    }
    if spawn_on.is_empty() {
        let url = args.url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned();
        let report = runtime.block_on(load(&args, std::slice::from_ref(&url)))?;
        println!("{}", summary(&args, "url", report));
        return Ok(ExitCode::SUCCESS);
    }
    let mut first: Option<(String, Value)> = None;
    for db in &spawn_on {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (engine, database) = match db.as_str() {
            "sqlite" => ("sqlite", DatabaseUrl::Sqlite(dir.path().join("load.db"))),
            other => match DatabaseUrl::parse(other) {
                url @ DatabaseUrl::Postgres(_) => ("postgres", url),
                url @ DatabaseUrl::Sqlite(_) => ("sqlite", url),
            },
        };
        let collectors = (0..args.instances)
            .map(|_| {
                let mut config = CollectorConfig::new("127.0.0.1:0".parse().expect("literal"), &database);
                config.api_key = args.api_key.clone();
                Collector::start(config).map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let urls: Vec<String> = collectors.iter().map(Collector::base_url).collect();
        let before = collectors[0].stats().map_err(|e| e.to_string())?.events;
        let report = runtime.block_on(load(&args, &urls))?;
        let stored = collectors[0].stats().map_err(|e| e.to_string())?.events - before;
        if stored < report.stored {
            return Err(format!(
                "{engine}: the database holds {stored} new events, {} were acknowledged",
                report.stored
            ));
        }
        drop(collectors);
        let line = summary(&args, engine, report);
        println!("{line}");
        match &first {
            None => first = Some((engine.to_string(), line)),
            Some((baseline, base)) => {
                let ratio = |key: &str| {
                    let (now, then) = (line[key].as_f64().unwrap_or(0.0), base[key].as_f64().unwrap_or(0.0));
                    if then > 0.0 {
                        (now / then * 100.0).round() / 100.0
                    } else {
                        0.0
                    }
                };
                let ratios = json!({"ratio_of": format!("{engine}/{baseline}"), "events_per_s": ratio("events_per_s"),
                                    "p99_ms": ratio("p99_ms"), "p50_ms": ratio("p50_ms")});
                println!("{ratios}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(args: &LoadArgs, engine: &str, report: Report) -> Value {
    let mut latencies = report.latencies_us;
    latencies.sort_unstable();
    let pct = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
    json!({
        "label": args.label,
        "engine": engine,
        "instances": args.instances,
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
    })
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

/// Loads the collectors at `urls`, connection `i` sending to `urls[i % len]`.
async fn load(args: &LoadArgs, urls: &[String]) -> Result<Report, String> {
    let transport = Arc::new(ReqwestTransport::new(&[], None).map_err(|e| e.to_string())?);
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
    for connection in 0..args.connections {
        let endpoint = format!("{}/v1/batch", urls[connection % urls.len()]);
        let (transport, auth, run_id, next) = (transport.clone(), auth.clone(), run_id.clone(), next.clone());
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
