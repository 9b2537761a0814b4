//! `footfall proximity simulate|replay`: the presence engine on synthetic shoppers (scored against AltBeacon's
//! defaults) or on a recorded trace (JSON Lines), printing JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use footfall_core::proximity::config::ProximityConfig;
use footfall_core::proximity::simulation::{self, feed, shoppers, TraceEvent};
use footfall_core::proximity::{PresenceEngine, SmoothingStrategy, Transition, ZoneConfig};
use serde::Deserialize;
use serde_json::json;

use crate::CmdResult;

#[derive(Subcommand)]
pub enum ProximityCommand {
    /// Synthetic shoppers through our presence engine and AltBeacon's defaults: one JSON object with both scores.
    Simulate(SimulateArgs),
    /// A trace (JSON Lines) through the presence engine: one JSON line per transition, then the scores when the
    /// trace carries ground truth.
    Replay(ReplayArgs),
}

#[derive(Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    #[arg(long, default_value_t = 300)]
    shoppers: usize,
    /// Also write the trace (JSON Lines, with ground truth) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReplayArgs {
    #[arg(long)]
    trace: PathBuf,
    /// The proximity configuration: a document `{"proximity": {...}}` as `GET /v1/config` serves it (zones and
    /// campaigns), a JSON array of zones, or an object with `zones` (and optionally `smoothing`).
    #[arg(long, alias = "zones")]
    config: PathBuf,
    /// Feed the real SDK in this data directory instead of the bare engine: consent is checked (grant `location`
    /// first), visits are persisted with their events, campaigns and pickups run; prints what the SDK told.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With `--data-dir`: the UTC instant (RFC 3339) the trace's time 0 is (default: now).
    #[arg(long)]
    start: Option<String>,
}

pub fn run(command: ProximityCommand) -> CmdResult {
    match command {
        ProximityCommand::Simulate(args) => simulate(args),
        ProximityCommand::Replay(args) => replay(args),
    }
}

fn simulate(args: SimulateArgs) -> CmdResult {
    if args.shoppers == 0 || args.shoppers > 100_000 {
        return Err(format!("--shoppers must be between 1 and 100000, got {}", args.shoppers));
    }
    let (events, comparison) = simulation::simulate(args.seed, args.shoppers);
    if let Some(path) = &args.out {
        std::fs::write(path, simulation::to_jsonl(&events)).map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    let report = json!({
        "seed": args.seed,
        "shoppers": args.shoppers,
        "zones": [shoppers::store_zone()],
        "smoothing": SmoothingStrategy::default(),
        "ours": comparison.ours,
        "altbeacon_defaults": comparison.altbeacon_defaults,
        "false_exit_ratio": comparison.false_exit_ratio,
        "enter_latency_p50_delta_ms": comparison.enter_latency_p50_delta_ms,
        "enter_latency_p90_delta_ms": comparison.enter_latency_p90_delta_ms,
        "goal": {
            "false_exits_at_most_half": comparison.false_exit_ratio <= 0.5,
            "enter_latency_p50_within_5_s": comparison.enter_latency_p50_delta_ms <= 5_000,
        },
    });
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// What `--config` may hold.
#[derive(Deserialize)]
#[serde(untagged)]
enum ZonesFile {
    Document {
        #[serde(rename = "proximity")]
        _member: serde::de::IgnoredAny,
    },
    List(Vec<ZoneConfig>),
    Object {
        zones: Vec<ZoneConfig>,
        #[serde(default)]
        smoothing: Option<SmoothingStrategy>,
    },
}

/// Where the bare engine's transitions go (`--data-dir` feeds the SDK instead: `proximity_sdk`).
trait TransitionSink {
    fn transition(&mut self, transition: &Transition) -> Result<(), String>;
}

struct PrintLines<W: Write>(W);

impl<W: Write> TransitionSink for PrintLines<W> {
    fn transition(&mut self, transition: &Transition) -> Result<(), String> {
        let line = serde_json::to_string(transition).map_err(|e| e.to_string())?;
        writeln!(self.0, "{line}").map_err(|e| e.to_string())
    }
}

fn replay(args: ReplayArgs) -> CmdResult {
    let text = std::fs::read_to_string(&args.config).map_err(|e| format!("--config {}: {e}", args.config.display()))?;
    let (zones, smoothing, document) = match serde_json::from_str::<ZonesFile>(&text) {
        Ok(ZonesFile::Document { .. }) => {
            let config = ProximityConfig::from_document(text.as_bytes()).map_err(|e| format!("--config: {e}"))?;
            (config.zones, Some(config.smoothing), text.clone())
        }
        Ok(ZonesFile::List(zones)) => {
            let document = json!({"proximity": {"version": 1, "zones": zones}}).to_string();
            (zones, None, document)
        }
        Ok(ZonesFile::Object { zones, smoothing }) => {
            let document = json!({"proximity": {"version": 1, "zones": zones, "smoothing": smoothing}}).to_string();
            (zones, smoothing, document)
        }
        Err(_) => return Err(format!("--config {}: {}", args.config.display(), zones_error(&text))),
    };
    let smoothing = smoothing.unwrap_or_default();
    let mut engine = PresenceEngine::new(zones.clone(), smoothing).map_err(|e| format!("--config: {e}"))?;
    let trace = std::fs::read_to_string(&args.trace).map_err(|e| format!("--trace {}: {e}", args.trace.display()))?;
    let events: Vec<TraceEvent> =
        simulation::parse_jsonl(&trace).map_err(|e| format!("--trace {}: {e}", args.trace.display()))?;
    if let Some(data_dir) = &args.data_dir {
        let start_ms = match &args.start {
            Some(text) => crate::args::rfc3339_secs(text)? * 1000,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        };
        return crate::proximity_sdk::replay(data_dir, document, &events, start_ms);
    }

    let mut sink = PrintLines(std::io::BufWriter::new(std::io::stdout().lock()));
    let mut out = Vec::new();
    for event in &events {
        feed(&mut engine, event, &mut out);
        for transition in out.drain(..) {
            sink.transition(&transition)?;
        }
    }
    if simulation::score::has_truth(&events) {
        let comparison = simulation::compare(&zones, smoothing, &events).map_err(|e| e.to_string())?;
        writeln!(sink.0, "{}", json!({ "scores": comparison })).map_err(|e| e.to_string())?;
    }
    sink.0.flush().map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// The precise reason a zones file does not read (the untagged enum's own error says only "no variant").
fn zones_error(text: &str) -> String {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return e.to_string(),
    };
    let zones = match value {
        serde_json::Value::Object(mut object) => match object.remove("zones") {
            Some(zones) => zones,
            None => return "expected a JSON array of zones or an object with \"zones\"".into(),
        },
        other => other,
    };
    match serde_json::from_value::<Vec<ZoneConfig>>(zones) {
        Ok(_) => "the \"smoothing\" member is not a smoothing strategy".into(),
        Err(e) => e.to_string(),
    }
}
