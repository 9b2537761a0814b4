//! `footfall`: drives the real core exactly as an app would, plus the reference collector and the benchmark.

mod args;
mod beacon;
mod bench;
mod bench_proximity;
mod bench_startup;
mod bench_wallet;
mod collector_load;
mod collector_wallet;
mod commands;
mod consent;
mod demo;
mod demo_store;
mod demo_wallet;
mod pos;
mod proc_threads;
mod proximity;
mod proximity_sdk;
mod rights;
mod wallet;

use footfall_collector::DatabaseUrl;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "footfall", version, about = "Footfall SDK: demo, reference collector, queue tools and benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A shopper browses offline, the network recovers, everything arrives exactly once.
    Demo,
    /// The reference collector.
    Collector {
        #[command(subcommand)]
        command: CollectorCommand,
    },
    /// Enqueue events and exit as soon as they are durable.
    Track(commands::TrackArgs),
    /// Upload everything pending; exit 0 when the queue is empty.
    Flush(commands::FlushArgs),
    /// Set the user id that later events carry (`footfall identify --data-dir D USER_ID [--traits JSON]`).
    Identify(commands::IdentifyArgs),
    /// Forget the user id and start a new anonymous id (deletion requests still name the old ones).
    Reset(commands::ResetArgs),
    /// The queue's status as JSON.
    Status {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Measure track() latency, durable throughput and bytes per event against plain SQLite baselines.
    Bench {
        /// Events per run (each of the interleaved SDK and one-transaction runs).
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// Interleaved SDK / one-transaction pairs; the ratio reported is their median.
        #[arg(long, default_value_t = 7)]
        pairs: usize,
        /// Only the event queue (skip the wallet and proximity parts), for profiling.
        #[arg(long)]
        queue_only: bool,
        /// Seconds the idle SDK is watched for wake-ups (0: skip; the figure is then null).
        #[arg(long, default_value_t = 60)]
        idle_secs: u64,
    },
    /// Consent: grant, deny, status, needs-prompt, the verified log, and decoding an IAB TCF TC string.
    Consent {
        #[command(subcommand)]
        command: consent::ConsentCommand,
    },
    /// Everything the SDK holds about the shopper, as JSON.
    Export(rights::ExportArgs),
    /// Request deletion: wipe local data, rotate the identity and send the request; exit 0 once acknowledged.
    Forget(rights::ForgetArgs),
    /// The coupon wallet: sync, list, clip, present at a till, evaluate a basket.
    Wallet {
        #[command(subcommand)]
        command: wallet::WalletCommand,
    },
    /// Beacons: parse a BLE advertisement (`footfall beacon parse HEX`).
    Beacon {
        #[command(subcommand)]
        command: beacon::BeaconCommand,
    },
    /// Presence (enter / dwell / exit): `simulate` synthetic shoppers against AltBeacon's defaults, `replay` a trace.
    Proximity {
        #[command(subcommand)]
        command: proximity::ProximityCommand,
    },
    /// An offline till: verify a redemption code with the issuer's key set.
    Pos {
        #[command(subcommand)]
        command: pos::PosCommand,
    },
}

#[derive(Subcommand)]
enum CollectorCommand {
    /// Serve the protocol (HTTP on loopback, optional fault injection).
    Serve(commands::ServeArgs),
    /// `{"events":N,"duplicates":N,"batches":N}`
    Stats {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
    },
    /// Load a collector's `POST /v1/batch` (or one started here with --spawn): events/s stored, latency p50/p99.
    Load(collector_load::LoadArgs),
    /// One JSON object per stored event.
    Events {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
    },
    /// One JSON object per stored consent record (hash verified on receipt).
    ConsentRecords {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
    },
    /// One JSON object per stored deletion request.
    Deletions {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
    },
    /// The wallet issuer's coupons: add, revoke.
    Coupon {
        #[command(subcommand)]
        command: collector_wallet::CouponCommand,
    },
    /// The issuer's public key set (JSON), as a till loads it and an app pins it.
    Keyset(collector_wallet::KeysetArgs),
    /// One JSON object per redemption the issuer decided (accepted, double_spend, rejected).
    Redemptions {
        /// The collector database: a SQLite file, or a PostgreSQL URL (postgres://user@host/db).
        #[arg(long, visible_alias = "database-url", value_parser = crate::args::parse_database)]
        db: DatabaseUrl,
    },
}

fn main() -> ExitCode {
    // A bug must end in one line, not a trace in the user's terminal.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!("footfall: internal error: {message}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("footfall: {first} (see footfall --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Demo => demo::run(),
        Command::Collector { command } => match command {
            CollectorCommand::Serve(args) => commands::serve(args),
            CollectorCommand::Stats { db } => commands::collector_stats(&db),
            CollectorCommand::Events { db } => commands::collector_events(&db),
            CollectorCommand::Load(args) => collector_load::run(args),
            CollectorCommand::ConsentRecords { db } => commands::collector_consent_records(&db),
            CollectorCommand::Deletions { db } => commands::collector_deletions(&db),
            CollectorCommand::Coupon { command } => collector_wallet::coupon(command),
            CollectorCommand::Keyset(args) => collector_wallet::keyset(args),
            CollectorCommand::Redemptions { db } => collector_wallet::redemptions(&db),
        },
        Command::Track(args) => commands::track(args),
        Command::Flush(args) => commands::flush(args),
        Command::Identify(args) => commands::identify(args),
        Command::Reset(args) => commands::reset(args),
        Command::Status { data_dir } => commands::status(&data_dir),
        Command::Bench { events, pairs, queue_only, idle_secs } => bench::run(events, pairs, queue_only, idle_secs),
        Command::Consent { command } => consent::run(command),
        Command::Export(args) => rights::export(args),
        Command::Forget(args) => rights::forget(args),
        Command::Wallet { command } => wallet::run(command),
        Command::Pos { command } => pos::run(command),
        Command::Beacon { command } => beacon::run(command),
        Command::Proximity { command } => proximity::run(command),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("footfall: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Command results: an exit code, or a one-line reason to print.
pub type CmdResult = Result<ExitCode, String>;
