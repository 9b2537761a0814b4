//! The queue tools (`track`, `flush`, `status`) and the collector commands.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use footfall_collector::{AdminCredential, Collector, CollectorConfig, DatabaseUrl, FaultConfig, RateLimit};
use footfall_core::clock::rfc3339_ms;
use footfall_core::sync::LaneCondition;
use footfall_core::{Config, Error, Event, FlushOutcome, Footfall};

use crate::CmdResult;

#[derive(Args)]
pub struct TrackArgs {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    api_key: Option<String>,
    #[arg(long)]
    name: String,
    /// Properties as a JSON object.
    #[arg(long, default_value = "{}")]
    props: String,
    #[arg(long)]
    purpose: Option<String>,
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Print each event id, flushed, once that event is durable on disk.
    #[arg(long)]
    print_ids: bool,
}

#[derive(Args)]
pub struct FlushArgs {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    api_key: Option<String>,
    /// Give up after this long. Done when the events are sent and the essential lane (consent receipts, deletion
    /// requests) is sent too or held or paused by the server (said on stderr). Between attempts it waits at most
    /// 1 s (an explicit flush skips the SDK's own backoff); a server hold (Retry-After) on events is waited out, or
    /// reported at once if it ends after the deadline.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

#[derive(Args)]
pub struct IdentifyArgs {
    #[arg(long)]
    data_dir: PathBuf,
    /// The app's id for the shopper; later events carry it as `userId`.
    user_id: String,
    /// Traits as a JSON object.
    #[arg(long, default_value = "{}")]
    traits: String,
}

#[derive(Args)]
pub struct ResetArgs {
    #[arg(long)]
    data_dir: PathBuf,
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
    #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
    db: DatabaseUrl,
    #[arg(long)]
    api_key: Option<String>,
    /// Fraction of batch requests that fail (0–1).
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    #[arg(long, default_value_t = 503)]
    fail_status: u16,
    /// Delay before each answer (after the batch is stored).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Rate limit on the protocol endpoints: requests per second (sustained) per API key, or per client
    /// address without --api-key; beyond it, 429 with Retry-After. Off by default.
    #[arg(long, value_name = "REQUESTS_PER_SECOND")]
    rate_limit_per_key: Option<f64>,
    /// Requests a key (or address) may make at once after a quiet spell (the bucket's size). Default: ten
    /// seconds' worth of --rate-limit-per-key.
    #[arg(long, value_name = "REQUESTS", requires = "rate_limit_per_key")]
    rate_limit_burst: Option<u32>,
    /// Seconds a request's body may take to arrive once its headers are in; a slower one's connection is
    /// closed unanswered (the SDK retries it).
    #[arg(long, value_name = "SECONDS", default_value_t = footfall_collector::DEFAULT_BODY_TIMEOUT.as_secs())]
    body_timeout_secs: u64,
    /// Connections served at once; more wait in the listen backlog until one closes.
    #[arg(long, default_value_t = footfall_collector::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// JSON file served by GET /v1/config (`{"consent": {...}}`), re-read on every request: edit it to change
    /// the policy without a restart. Without it that endpoint answers 404.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve the console at /console to this admin, with the password read from --admin-password-file (the
    /// remote config then lives in the database as revisions the console publishes; --config is imported once).
    #[arg(long, requires = "admin_password_file")]
    admin_user: Option<String>,
    /// File holding the console admin's password (first line; at least 12 characters; never the write key).
    #[arg(long, requires = "admin_user")]
    admin_password_file: Option<PathBuf>,
    #[command(flatten)]
    wallet: crate::collector_wallet::ServeWalletArgs,
}

/// As an app configures the SDK: gating on consent (`footfall consent grant` records the shopper's yes).
/// Every CLI command that opens a data directory builds its configuration here.
pub(crate) fn sdk_config(data_dir: &Path, endpoint: Option<&str>, api_key: Option<String>) -> Config {
    let mut config = Config::new(data_dir);
    config.endpoint = endpoint.map(String::from);
    config.api_key = api_key;
    // The wallet is on once `footfall wallet … --keyset` pinned a key set here, as an app that bundles one.
    config.wallet_keyset = std::fs::read_to_string(data_dir.join(crate::args::KEYSET_FILE)).ok();
    config
}

/// Events per durability barrier when printing ids: small enough to print promptly, big enough to group-commit.
const PRINT_CHUNK: u64 = 64;

pub fn track(args: TrackArgs) -> CmdResult {
    let properties = footfall_core::event::parse_object(&args.props).map_err(|e| format!("--props: {e}"))?;
    let sdk =
        Footfall::open(sdk_config(&args.data_dir, Some(&args.endpoint), args.api_key)).map_err(|e| e.to_string())?;
    let mut event = Event::new(args.name).properties(properties);
    if let Some(purpose) = args.purpose {
        event = event.purpose(purpose);
    }
    // Wait for the writer to read the consent log, so every refusal is known at track() and no id is printed
    // for an event the writer would refuse (an app's track() never waits; the writer judges those instead).
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let (mut tracked, mut refused) = (0u64, 0u64);
    let mut unprinted = Vec::new();
    for n in 1..=args.count {
        loop {
            match sdk.track(event.clone()) {
                Ok(id) => {
                    tracked += 1;
                    if args.print_ids {
                        unprinted.push(id);
                    }
                }
                // The CLI can afford to wait for the writer; an app's thread would not.
                Err(Error::QueueFull) => {
                    sdk.flush_to_disk().map_err(|e| e.to_string())?;
                    continue;
                }
                // Not recorded, so no id is printed for it.
                Err(Error::ConsentDenied { .. }) => refused += 1,
                Err(e) => return Err(e.to_string()),
            }
            break;
        }
        if args.print_ids && (unprinted.len() as u64 >= PRINT_CHUNK || n == args.count) {
            sdk.flush_to_disk().map_err(|e| e.to_string())?;
            let mut out = stdout.lock();
            for id in unprinted.drain(..) {
                writeln!(out, "{id}").map_err(|e| e.to_string())?;
            }
            out.flush().map_err(|e| e.to_string())?;
        }
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    sdk.close();
    if !args.print_ids {
        println!("{{\"tracked\":{tracked},\"refused\":{refused}}}");
    }
    if refused > 0 {
        let purpose = event.purpose;
        eprintln!(
            "footfall: refused {refused} of {} events: consent for '{purpose}' is not given (footfall consent grant --data-dir {} {purpose})",
            args.count,
            args.data_dir.display()
        );
        if tracked == 0 {
            return Ok(ExitCode::from(3));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The longest the CLI waits between explicit flushes: each one skips the SDK's backoff anyway.
const MAX_FLUSH_PAUSE: Duration = Duration::from_secs(1);

pub fn flush(args: FlushArgs) -> CmdResult {
    let mut config = sdk_config(&args.data_dir, Some(&args.endpoint), args.api_key);
    config.flush.automatic = false;
    let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let (mut delivered, mut dead_lettered, mut attempts) = (0, 0, 0);
    loop {
        attempts += 1;
        let report = sdk.flush().map_err(|e| e.to_string())?;
        delivered += report.delivered;
        dead_lettered += report.dead_lettered;
        let now = Instant::now();
        match report.outcome {
            // Events are out; consent receipts and deletion requests (the essential lane) are waited for while
            // they fail transiently, and a lane held or paused by the server is said, not failed on.
            FlushOutcome::Drained if report.remaining == 0 => {
                let lane = sdk.status().map_err(|e| e.to_string())?.essential_lane;
                let reason = lane.reason.clone().unwrap_or_default();
                match lane.state {
                    LaneCondition::Retrying if now < deadline => {
                        std::thread::sleep(MAX_FLUSH_PAUSE.min(deadline - now));
                        continue;
                    }
                    LaneCondition::Retrying => {
                        return Err(format!(
                            "timed out after {}s with consent receipts or deletion requests unsent; last error: {reason}",
                            args.timeout_s
                        ));
                    }
                    LaneCondition::Held => eprintln!(
                        "footfall: consent receipts and deletion requests wait: the server asked to wait until {} ({reason})",
                        lane.until.unwrap_or_default()
                    ),
                    LaneCondition::Paused | LaneCondition::CertificateInvalid => {
                        eprintln!("footfall: consent receipts and deletion requests are paused (kept): {reason}")
                    }
                    LaneCondition::Ok => {}
                }
                println!("{{\"delivered\":{delivered},\"dead_lettered\":{dead_lettered},\"passes\":{attempts},\"pending\":0}}");
                return Ok(ExitCode::SUCCESS);
            }
            // What is left waits for consent: nothing more can be sent now.
            FlushOutcome::Drained if report.delivered == 0 && report.dead_lettered == 0 => {
                return Err(format!(
                    "{} events are queued for purposes without consent; nothing more to send",
                    report.remaining
                ));
            }
            FlushOutcome::Drained => continue,
            FlushOutcome::Paused { reason } => {
                return Err(format!("uploads paused with {} pending: {reason}", report.remaining));
            }
            FlushOutcome::Held { after, until_ms, reason } => {
                if now + after > deadline {
                    return Err(format!(
                        "the server asked to wait until {} ({reason}); {} pending, kept: nothing is sent before then, not even by flush",
                        rfc3339_ms(until_ms),
                        report.remaining
                    ));
                }
                std::thread::sleep(after);
            }
            FlushOutcome::RetryLater { after, reason } => {
                if now >= deadline {
                    return Err(format!(
                        "timed out after {}s with {} pending; last error: {reason}",
                        args.timeout_s, report.remaining
                    ));
                }
                std::thread::sleep(after.min(MAX_FLUSH_PAUSE).min(deadline - now));
            }
        }
    }
}

/// Signs the shopper in (later events carry the user id) and records an identify message, gated like `analytics`
/// events: without that consent the sign-in stands and `messageId` is null.
pub fn identify(args: IdentifyArgs) -> CmdResult {
    let traits = footfall_core::event::parse_object(&args.traits).map_err(|e| format!("--traits: {e}"))?;
    if !traits.is_object() {
        return Err("--traits: must be a JSON object, e.g. '{\"tier\":\"gold\"}'".into());
    }
    let sdk = Footfall::open(sdk_config(&args.data_dir, None, None)).map_err(|e| e.to_string())?;
    // As in `track`: wait for the writer to read the consent log so a refusal is known here.
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    let id = sdk.identify(&args.user_id, traits).map_err(|e| e.to_string())?;
    if id.is_none() {
        eprintln!(
            "footfall: signed in; no identify message recorded: consent for '{}' is not given (footfall consent grant --data-dir {} {})",
            footfall_core::event::DEFAULT_PURPOSE,
            args.data_dir.display(),
            footfall_core::event::DEFAULT_PURPOSE
        );
    }
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    sdk.close();
    println!("{}", serde_json::json!({"messageId": id.map(|id| id.to_string()), "userId": args.user_id}));
    Ok(ExitCode::SUCCESS)
}

/// Forgets the user id and starts a new anonymous id (the old one is kept for deletion requests).
pub fn reset(args: ResetArgs) -> CmdResult {
    let sdk = Footfall::open(sdk_config(&args.data_dir, None, None)).map_err(|e| e.to_string())?;
    sdk.reset().map_err(|e| e.to_string())?;
    sdk.flush_to_disk().map_err(|e| e.to_string())?;
    sdk.close();
    println!("{{\"reset\":true}}");
    Ok(ExitCode::SUCCESS)
}

pub fn status(data_dir: &Path) -> CmdResult {
    if !data_dir.join(footfall_core::storage::DB_FILE).exists() {
        return Err(format!("no Footfall database in {}", data_dir.display()));
    }
    let status = footfall_core::read_status(data_dir).map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

pub fn serve(args: ServeArgs) -> CmdResult {
    if !(0.0..=1.0).contains(&args.fail_rate) {
        return Err(format!("--fail-rate must be between 0 and 1, got {}", args.fail_rate));
    }
    let mut config = CollectorConfig::new(args.listen, args.db);
    config.api_key = args.api_key;
    config.rate_limit = args.rate_limit_per_key.map(|per_second| {
        RateLimit::new(per_second, args.rate_limit_burst.unwrap_or_else(|| RateLimit::default_burst(per_second)))
    });
    config.config_path = args.config;
    if args.body_timeout_secs == 0 || args.max_connections == 0 {
        return Err("--body-timeout-secs and --max-connections must be at least 1".into());
    }
    config.body_timeout = std::time::Duration::from_secs(args.body_timeout_secs);
    config.max_connections = args.max_connections;
    if let (Some(user), Some(file)) = (args.admin_user, args.admin_password_file) {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("--admin-password-file {}: {e}", file.display()))?;
        let password = text.lines().next().unwrap_or_default().to_owned();
        config.console = Some(AdminCredential { user, password });
    }
    args.wallet.apply(&mut config);
    config.faults = FaultConfig {
        fail_rate: args.fail_rate,
        fail_status: args.fail_status,
        latency_ms: args.latency_ms,
        seed: args.seed,
        retry_after: None,
    };
    let console = config.console.is_some();
    let collector = Collector::start(config).map_err(|e| e.to_string())?;
    println!("footfall collector listening on {}", collector.base_url());
    if console {
        // Once the console is on, the remote config lives in the database: editing the --config file does nothing.
        println!(
            "console at {}/console: the remote config is edited there (a --config file is imported once)",
            collector.base_url()
        );
    }
    let _ = std::io::stdout().flush();
    collector.wait();
    Ok(ExitCode::SUCCESS)
}

pub fn collector_stats(db: &DatabaseUrl) -> CmdResult {
    let stats = footfall_collector::read_stats(db).map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&stats).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

pub fn collector_events(db: &DatabaseUrl) -> CmdResult {
    let rows = footfall_collector::read_events(db).map_err(|e| e.to_string())?;
    json_lines(rows.iter().map(serde_json::to_string))
}

pub fn collector_consent_records(db: &DatabaseUrl) -> CmdResult {
    let rows = footfall_collector::read_consent_records(db).map_err(|e| e.to_string())?;
    json_lines(rows.iter().map(serde_json::to_string))
}

pub fn collector_deletions(db: &DatabaseUrl) -> CmdResult {
    let rows = footfall_collector::read_deletion_requests(db).map_err(|e| e.to_string())?;
    json_lines(rows.iter().map(serde_json::to_string))
}

/// One JSON object per line.
fn json_lines(rows: impl Iterator<Item = serde_json::Result<String>>) -> CmdResult {
    let mut out = std::io::stdout().lock();
    for row in rows {
        writeln!(out, "{}", row.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
