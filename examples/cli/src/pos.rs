//! `footfall pos verify`: an offline till. It checks a redemption code with nothing but the issuer's key set —
//! issuer signature, device proof, freshness, validity, the offline policy — and, with `--ledger FILE`, its own
//! record of what it accepted (a second scan of a single-use serial, or a replayed counter, is refused).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use footfall_core::wallet::{verify_redemption, KeySet, RedeemedSerials};
use serde_json::json;

use crate::CmdResult;

#[derive(Subcommand)]
pub enum PosCommand {
    /// Verify a redemption code as an offline till: prints valid, coupon_id, serial, device, counter, reason.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The issuer key set the till loaded (`footfall collector keyset --db D`).
    #[arg(long)]
    keyset: PathBuf,
    #[arg(long, default_value = "store")]
    store: String,
    /// The till's time (RFC 3339); by default its clock.
    #[arg(long)]
    at: Option<String>,
    /// The challenge the till showed, hex.
    #[arg(long)]
    challenge: Option<String>,
    /// The till's ledger of accepted codes (created if missing); an accepted code is appended.
    #[arg(long)]
    ledger: Option<PathBuf>,
    code: String,
}

pub fn run(command: PosCommand) -> CmdResult {
    let PosCommand::Verify(args) = command;
    let text = std::fs::read(&args.keyset).map_err(|e| format!("--keyset {}: {e}", args.keyset.display()))?;
    let keys = KeySet::from_json(&text).map_err(|e| format!("--keyset {}: {e}", args.keyset.display()))?;
    let now = match &args.at {
        Some(at) => crate::args::rfc3339_secs(at)?,
        None => {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs()
                as i64
        }
    };
    let challenge = args.challenge.as_deref().map(crate::args::hex).transpose()?;
    let ledger_codes: Vec<String> = match &args.ledger {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect(),
        None => Vec::new(),
    };
    let mut redeemed = RedeemedSerials::default();
    for code in &ledger_codes {
        // Codes the till accepted before, re-checked only for what they record (their freshness has passed).
        if let Ok(decoded) = footfall_core::wallet::decode_code(code) {
            if let Ok(grant) = footfall_core::wallet::verify_grant(&decoded.grant_bytes, &keys, now) {
                redeemed.record(&footfall_core::wallet::VerifiedRedemption {
                    device_id: footfall_core::wallet::device_id(&decoded.proof.device_key),
                    device_key: decoded.proof.device_key.to_vec(),
                    counter: decoded.proof.counter,
                    time_bucket: decoded.proof.time_bucket,
                    store_id: args.store.clone(),
                    grant,
                });
            }
        }
    }
    let code = args.code.trim();
    match verify_redemption(code, &keys, now, &args.store, &redeemed, challenge.as_deref()) {
        Ok(accepted) => {
            let g = accepted.grant.grant();
            if let Some(path) = &args.ledger {
                use std::io::Write;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("--ledger {}: {e}", path.display()))?;
                writeln!(file, "{code}").map_err(|e| format!("--ledger {}: {e}", path.display()))?;
            }
            println!(
                "{}",
                json!({"valid": true, "coupon_id": g.coupon_id, "serial": g.serial, "device": accepted.device_id,
                       "counter": accepted.counter, "reason": null})
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            // Only what verifies is shown: a forged code's claims are not repeated.
            let decoded = footfall_core::wallet::decode_code(code).ok();
            let grant = decoded
                .as_ref()
                .and_then(|d| footfall_core::wallet::verify_grant(&d.grant_bytes, &keys, now).ok())
                .map(|g| g.grant().clone());
            println!(
                "{}",
                json!({"valid": false,
                       "coupon_id": grant.as_ref().map(|g| g.coupon_id.clone()),
                       "serial": grant.as_ref().map(|g| g.serial.clone()),
                       "device": decoded.as_ref().map(|d| footfall_core::wallet::device_id(&d.proof.device_key)),
                       "counter": decoded.as_ref().map(|d| d.proof.counter),
                       "reason": refused.to_string()})
            );
            Ok(ExitCode::from(1))
        }
    }
}
