//! `footfall export` and `footfall forget`: the shopper's rights on a data directory, exactly as an app exercises
//! them — everything the SDK holds as JSON, and a deletion request sent through the essential lane.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use footfall_core::sync::LaneCondition;
use footfall_core::{Footfall, RightsState};
use serde_json::json;

use crate::CmdResult;

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long)]
    data_dir: PathBuf,
}

#[derive(Args)]
pub struct ForgetArgs {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    api_key: Option<String>,
    /// Give up after this long; the request stays durable and the next run (or the app) sends it.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

/// Prints everything the SDK holds about the shopper as one JSON document.
pub fn export(args: ExportArgs) -> CmdResult {
    let sdk = Footfall::open(crate::commands::sdk_config(&args.data_dir, None, None)).map_err(|e| e.to_string())?;
    let data = sdk.export_data().map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&data).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

/// Requests deletion (or resumes a pending request) and flushes the essential lane until the backend
/// acknowledges it: exit 0 with `{"requestId","state":"acknowledged"}`.
pub fn forget(args: ForgetArgs) -> CmdResult {
    let mut config = crate::commands::sdk_config(&args.data_dir, Some(&args.endpoint), args.api_key);
    config.flush.automatic = false;
    let sdk = Footfall::builder(config).consent_receipts(true).open().map_err(|e| e.to_string())?;
    let pending = sdk
        .rights_requests()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|r| matches!(r.state, RightsState::Received | RightsState::Sent));
    let id = match pending {
        Some(request) => request.id,
        None => sdk.request_deletion().map_err(|e| e.to_string())?,
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    loop {
        sdk.flush().map_err(|e| e.to_string())?;
        let request = sdk
            .rights_requests()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| format!("deletion request {id} vanished"))?;
        match request.state {
            RightsState::Acknowledged => {
                println!("{}", json!({"requestId": id, "state": request.state.as_str()}));
                return Ok(ExitCode::SUCCESS);
            }
            RightsState::Refused => {
                return Err(format!(
                    "the backend refused deletion request {id}: {}",
                    request.last_error.unwrap_or_default()
                ));
            }
            RightsState::Received | RightsState::Sent if held_past(&sdk, deadline)?.is_some() => {
                let (until, reason) = held_past(&sdk, deadline)?.unwrap_or_default();
                return Err(format!(
                    "deletion request {id} kept: the server asked to wait until {until} ({reason}); it is sent then, by the app or the next run"
                ));
            }
            RightsState::Received | RightsState::Sent if Instant::now() >= deadline => {
                let why = request
                    .last_error
                    .filter(|e| !e.is_empty())
                    .map_or_else(|| "no answer yet".to_string(), |e| format!("last error: {e}"));
                return Err(format!(
                    "deletion request {id} not acknowledged after {}s (kept; sent on the next run); {why}",
                    args.timeout_s
                ));
            }
            RightsState::Received | RightsState::Sent => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The server's hold on the essential lane, when it ends after `deadline`: (until, reason).
fn held_past(sdk: &Footfall, deadline: Instant) -> Result<Option<(String, String)>, String> {
    let lane = sdk.status().map_err(|e| e.to_string())?.essential_lane;
    let remaining_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as i64;
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    Ok(match (lane.state, lane.until_ms) {
        (LaneCondition::Held, Some(until_ms)) if until_ms > now_ms + remaining_ms => {
            Some((lane.until.unwrap_or_default(), lane.reason.unwrap_or_default()))
        }
        _ => None,
    })
}
