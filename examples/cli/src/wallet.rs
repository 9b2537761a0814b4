//! `footfall wallet sync|list|clip|present|evaluate`: the coupon wallet on a data directory, driven exactly as an
//! app drives it. JSON lines on stdout. The pinned issuer key set is what an app bundles: `--keyset FILE` the
//! first time (it is copied into the data directory), the copy afterwards.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use footfall_core::wallet::{Basket, BasketLine, Gtin};
use footfall_core::{Error, Footfall, WalletError};
use serde_json::json;

use crate::CmdResult;

use crate::args::{hex, rfc3339_secs, KEYSET_FILE};

#[derive(Args)]
pub struct WalletTarget {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    api_key: Option<String>,
    /// The issuer key set to pin (what `footfall collector keyset` prints); remembered in the data directory.
    #[arg(long)]
    keyset: Option<PathBuf>,
    /// The signed-in shopper (as `footfall identify` sets it); otherwise the install's current identity.
    #[arg(long)]
    user_id: Option<String>,
    /// Judge validity as of this instant (RFC 3339; a testing aid) instead of the server-corrected now.
    #[arg(long)]
    at: Option<String>,
}

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Pull the coupon feed; prints the sync report.
    Sync(WalletTarget),
    /// One JSON object per coupon: id, state, validity (UTC and store-local), usable_now and reasons.
    List(WalletTarget),
    /// Clip a coupon (sent to the issuer when the network allows).
    Clip {
        #[command(flatten)]
        target: WalletTarget,
        coupon_id: String,
    },
    /// Present a coupon at a till: prints {"code","counter","device"} once its counter is durable.
    Present {
        #[command(flatten)]
        target: WalletTarget,
        coupon_id: String,
        #[arg(long)]
        store: String,
        /// The till's challenge, hex (up to 32 bytes), when it shows one.
        #[arg(long)]
        challenge: Option<String>,
        /// Do not try to send the redemption now (the network is off; it goes with a later run).
        #[arg(long)]
        no_send: bool,
        /// Present this many times, one line each (a testing aid for multi-use coupons and crash tests).
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Why does (or doesn't) each coupon apply to a basket? One JSON object per coupon.
    Evaluate {
        #[command(flatten)]
        target: WalletTarget,
        #[arg(long)]
        store: String,
        #[arg(long)]
        currency: String,
        /// A basket line `GTIN:QUANTITY:UNIT_PRICE_MINOR[:FAMILY]`, repeated.
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
        /// The device can reach the issuer (offline limits do not apply).
        #[arg(long)]
        online: bool,
    },
}

pub fn run(command: WalletCommand) -> CmdResult {
    match command {
        WalletCommand::Sync(target) => {
            let sdk = open(&target)?;
            let report = sdk.wallet_sync().map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        WalletCommand::List(target) => {
            let sdk = open(&target)?;
            for coupon in sdk.wallet_coupons(at(&target)?).map_err(|e| e.to_string())? {
                println!("{}", serde_json::to_string(&coupon).map_err(|e| e.to_string())?);
            }
            Ok(ExitCode::SUCCESS)
        }
        WalletCommand::Clip { target, coupon_id } => {
            let sdk = open(&target)?;
            let changed = sdk.wallet_clip(&coupon_id).map_err(refusal)?;
            println!("{}", json!({"coupon_id": coupon_id, "clipped": changed}));
            send_now(&sdk);
            Ok(ExitCode::SUCCESS)
        }
        WalletCommand::Present { target, coupon_id, store, challenge, no_send, count } => {
            let challenge = challenge.as_deref().map(hex).transpose()?;
            let sdk = open(&target)?;
            for _ in 0..count {
                let code = match sdk.wallet_present(&coupon_id, &store, challenge.as_deref()) {
                    Ok(code) => code,
                    Err(Error::Wallet(WalletError::Unusable { coupon_id, reasons })) => {
                        eprintln!("footfall: coupon {coupon_id} cannot be presented now: {}", reasons.join(", "));
                        return Ok(ExitCode::from(4));
                    }
                    Err(e) => return Err(e.to_string()),
                };
                // Printed only now: the counter and the redemption are committed.
                println!("{}", json!({"code": code.code, "counter": code.counter, "device": code.device}));
            }
            if !no_send {
                send_now(&sdk);
            }
            Ok(ExitCode::SUCCESS)
        }
        WalletCommand::Evaluate { target, store, currency, lines, online } => {
            let sdk = open(&target)?;
            let at = match at(&target)? {
                Some(at) => at,
                None => sdk.wallet_now().map_err(|e| e.to_string())?,
            };
            let lines = lines.iter().map(|l| basket_line(l)).collect::<Result<Vec<_>, _>>()?;
            let basket = Basket { store_id: store, currency, lines, at, online };
            for outcome in sdk.wallet_evaluate(&basket).map_err(|e| e.to_string())? {
                let reasons: Vec<&str> = outcome.reasons.iter().map(|r| r.code()).collect();
                println!(
                    "{}",
                    json!({"coupon_id": outcome.coupon_id, "serial": outcome.serial, "applies": outcome.applies,
                           "discount_minor": outcome.discount_minor, "reasons": reasons})
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Opens the SDK as an app with the wallet would, signed in as `--user-id` when given.
fn open(target: &WalletTarget) -> Result<Footfall, String> {
    let keyset = keyset(&target.data_dir, target.keyset.as_deref())?;
    let mut config = crate::commands::sdk_config(&target.data_dir, Some(&target.endpoint), target.api_key.clone());
    config.flush.automatic = false;
    config.wallet_keyset = Some(keyset);
    let sdk = Footfall::open(config).map_err(|e| e.to_string())?;
    if let Some(user_id) = &target.user_id {
        sdk.flush_to_disk().map_err(|e| e.to_string())?;
        let current = sdk.export_data().map_err(|e| e.to_string())?["userId"].as_str().map(String::from);
        if current.as_deref() != Some(user_id) {
            // Signing in needs no consent; the identify message it records does (`analytics`).
            sdk.identify(user_id, json!({})).map_err(|e| e.to_string())?;
            sdk.flush_to_disk().map_err(|e| e.to_string())?;
        }
    }
    Ok(sdk)
}

/// The key set given now (remembered) or the one remembered earlier.
fn keyset(data_dir: &Path, given: Option<&Path>) -> Result<String, String> {
    let kept = data_dir.join(KEYSET_FILE);
    match given {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--keyset {}: {e}", path.display()))?;
            std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
            std::fs::write(&kept, &text).map_err(|e| format!("{}: {e}", kept.display()))?;
            Ok(text)
        }
        None => std::fs::read_to_string(&kept).map_err(|_| {
            "no issuer key set: pass --keyset FILE once (footfall collector keyset --db D > FILE)".to_string()
        }),
    }
}

/// Tries to send what the wallet queued; offline is normal here (the redemption stays queued).
fn send_now(sdk: &Footfall) {
    match sdk.flush() {
        Ok(report) => tracing_note(&format!("{:?}", report.outcome)),
        Err(e) => tracing_note(&e.to_string()),
    }
}

fn tracing_note(text: &str) {
    if std::env::var_os("FOOTFALL_VERBOSE").is_some() {
        eprintln!("footfall: send attempt: {text}");
    }
}

fn refusal(e: Error) -> String {
    match e {
        Error::Wallet(WalletError::Unusable { coupon_id, reasons }) => {
            format!("coupon {coupon_id} cannot be used now: {}", reasons.join(", "))
        }
        e => e.to_string(),
    }
}

fn at(target: &WalletTarget) -> Result<Option<i64>, String> {
    target.at.as_deref().map(rfc3339_secs).transpose()
}

fn basket_line(text: &str) -> Result<BasketLine, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = || format!("--line {text}: expected GTIN:QUANTITY:UNIT_PRICE_MINOR[:FAMILY]");
    if !(3..=4).contains(&parts.len()) {
        return Err(bad());
    }
    Ok(BasketLine {
        gtin: Gtin::parse(parts[0]).map_err(|e| format!("--line {text}: {e}"))?,
        quantity: parts[1].parse().map_err(|_| bad())?,
        unit_price_minor: parts[2].parse().map_err(|_| bad())?,
        family: parts.get(3).map(|f| f.to_string()),
    })
}
