//! `footfall consent …`: the shopper's decisions on a data directory exactly as an app records them, the prompt
//! the policy asks for, the verified log, and reading what another CMP already decided.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use footfall_core::consent::purpose::{AgeBand, Jurisdiction};
use footfall_core::consent::record::{verify_chain, ConsentRecord, Method};
use footfall_core::consent::state::Context;
use footfall_core::{ConsentSource, Footfall};
use serde_json::json;

use crate::CmdResult;

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Record a grant for each PURPOSE (JSON: the record id and what changed).
    Grant {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(required = true)]
        purposes: Vec<String>,
    },
    /// Record a denial (or withdrawal) for each PURPOSE; queued events of it are purged at once.
    Deny {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(required = true)]
        purposes: Vec<String>,
    },
    /// Set the jurisdiction (gdpr, appi, ccpa, unknown), the Global Privacy Control signal and the age band (adult,
    /// under16, under13) as an app does (JSON: what changed; queued events of purposes now denied are purged).
    Context {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, value_parser = parse_jurisdiction)]
        jurisdiction: Jurisdiction,
        /// The shopper's browser or OS sends Global Privacy Control.
        #[arg(long)]
        gpc: bool,
        #[arg(long, value_parser = parse_age_band)]
        age_band: Option<AgeBand>,
    },
    /// Each purpose's state, the policy version and the jurisdiction, as JSON.
    Status {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// `{"prompt": id or null, "reason": code}`; with --endpoint the policy is fetched first (GET /v1/config).
    NeedsPrompt {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        endpoint: Option<String>,
        #[arg(long)]
        api_key: Option<String>,
    },
    /// The consent records as JSON lines, each with `verified`: the hash chain holds up to and including it.
    Log {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Decode an IAB TCF v2.2 TC string (e.g. the app's IABTCF_TCString) and print it as JSON.
    #[command(
        long_about = "Decode an IAB TCF v2.2 TC string (e.g. the app's IABTCF_TCString) and print it as JSON.\n\n\
        Output: one JSON object. `created` and `last_updated` are RFC 3339 UTC with milliseconds (the string \
        carries deciseconds). `special_feature_opt_ins`, `purpose_consents` and `purpose_legitimate_interests` are \
        the RAW bits, as the sorted list of numbers whose bit is set (so an LI bit the policy forbids, e.g. purpose 1, \
        still shows). `vendor_consents`, `vendor_legitimate_interests` and the vendor lists of `publisher_restrictions` \
        ({purpose, type, vendors}; type 0 not allowed, 1 require consent, 2 require LI) are sorted, deduplicated \
        vendor ids. `disclosed_vendors`, `allowed_vendors` and `publisher_tc` appear only when the string has that \
        segment. `warnings` lists what was tolerated (duplicated range ids, a missing DisclosedVendors segment, \
        unknown segments, ...).\n\n\
        An invalid string exits 1 with `footfall: invalid TC string: <reason>` on stderr."
    )]
    TcfDecode {
        /// The TC string: base64url segments joined by '.', trailing '=' tolerated.
        #[arg(allow_hyphen_values = true)]
        tc_string: String,
    },
    /// TCF import mode: record what a CMP's TC string decides for analytics, personalization, marketing and
    /// location (JSON: the result — recorded, unchanged, gdpr_does_not_apply, cleared — the decisions, what changed).
    /// An empty string means the CMP removed its string: the grants it made are withdrawn.
    ImportTcf {
        #[arg(long)]
        data_dir: PathBuf,
        /// The backend's IAB vendor id, when it is a registered TCF vendor (its vendor consent is then required).
        #[arg(long)]
        vendor_id: Option<u16>,
        /// IABTCF_gdprApplies as the CMP set it; false imports nothing.
        #[arg(long)]
        gdpr_applies: Option<bool>,
        #[arg(allow_hyphen_values = true)]
        tc_string: String,
    },
}

pub fn run(command: ConsentCommand) -> CmdResult {
    match command {
        ConsentCommand::Grant { data_dir, purposes } => decide(&data_dir, &purposes, true),
        ConsentCommand::Deny { data_dir, purposes } => decide(&data_dir, &purposes, false),
        ConsentCommand::Context { data_dir, jurisdiction, gpc, age_band } => {
            context(&data_dir, Context { jurisdiction, global_privacy_control: gpc, age_band })
        }
        ConsentCommand::Status { data_dir } => status(&data_dir),
        ConsentCommand::NeedsPrompt { data_dir, endpoint, api_key } => needs_prompt(&data_dir, endpoint, api_key),
        ConsentCommand::Log { data_dir } => log(&data_dir),
        ConsentCommand::TcfDecode { tc_string } => tcf_decode(&tc_string),
        ConsentCommand::ImportTcf { data_dir, vendor_id, gdpr_applies, tc_string } => {
            import_tcf(&data_dir, vendor_id, gdpr_applies, &tc_string)
        }
    }
}

/// The SDK on a data directory, gating on consent as an app does.
pub fn open(data_dir: &Path, endpoint: Option<String>, api_key: Option<String>) -> Result<Footfall, String> {
    open_with(data_dir, endpoint, api_key, ConsentSource::Footfall)
}

fn open_with(
    data_dir: &Path,
    endpoint: Option<String>,
    api_key: Option<String>,
    source: ConsentSource,
) -> Result<Footfall, String> {
    let mut config = crate::commands::sdk_config(data_dir, endpoint.as_deref(), api_key);
    config.flush.automatic = false;
    // One-shot commands fetch the policy only when asked to (needs-prompt --endpoint).
    config.consent_refresh_interval = None;
    config.consent_source = source;
    Footfall::open(config).map_err(|e| e.to_string())
}

fn decide(data_dir: &Path, purposes: &[String], granted: bool) -> CmdResult {
    let sdk = open(data_dir, None, None)?;
    let decisions: Vec<(&str, bool)> = purposes.iter().map(|p| (p.as_str(), granted)).collect();
    let outcome = sdk.set_consent(&decisions, Method::Api).map_err(|e| e.to_string())?;
    println!(
        "{}",
        json!({"record_id": outcome.record_id, "purged": outcome.purged, "now_allowed": outcome.now_allowed, "now_denied": outcome.now_denied})
    );
    Ok(ExitCode::SUCCESS)
}

fn parse_jurisdiction(text: &str) -> Result<Jurisdiction, String> {
    Jurisdiction::parse(text).ok_or_else(|| format!("unknown jurisdiction '{text}' (gdpr, appi, ccpa, unknown)"))
}

fn parse_age_band(text: &str) -> Result<AgeBand, String> {
    AgeBand::parse(text).ok_or_else(|| format!("unknown age band '{text}' (adult, under16, under13)"))
}

fn context(data_dir: &Path, context: Context) -> CmdResult {
    let sdk = open(data_dir, None, None)?;
    let outcome = sdk.set_consent_context(context).map_err(|e| e.to_string())?;
    println!(
        "{}",
        json!({"purged": outcome.purged, "now_allowed": outcome.now_allowed, "now_denied": outcome.now_denied})
    );
    Ok(ExitCode::SUCCESS)
}

fn status(data_dir: &Path) -> CmdResult {
    let sdk = open(data_dir, None, None)?;
    let status = sdk.consent_status().map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&status).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

fn needs_prompt(data_dir: &Path, endpoint: Option<String>, api_key: Option<String>) -> CmdResult {
    let fetch = endpoint.is_some();
    let sdk = open(data_dir, endpoint, api_key)?;
    if fetch {
        // A failed fetch keeps the cached policy, as in an app; say so, then answer from what is held.
        if let Err(e) = sdk.refresh_consent_policy() {
            eprintln!("footfall: policy not refreshed, using the cached one: {e}");
        }
    }
    let need = sdk.needs_prompt().map_err(|e| e.to_string())?;
    println!("{}", json!({"prompt": need.prompt, "reason": need.reason.code(), "purposes": need.purposes}));
    Ok(ExitCode::SUCCESS)
}

fn log(data_dir: &Path) -> CmdResult {
    let sdk = open(data_dir, None, None)?;
    let log = sdk.consent_log().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut chain: Vec<ConsentRecord> = Vec::new();
    let mut intact = true;
    for record in log.records {
        chain.push(record.clone());
        intact = intact && verify_chain(&chain).is_ok();
        let mut line = serde_json::to_value(&record).map_err(|e| e.to_string())?;
        line["verified"] = json!(intact);
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    if let Some(problem) = log.problem {
        eprintln!("footfall: the consent log does not verify: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}

fn import_tcf(data_dir: &Path, vendor_id: Option<u16>, gdpr_applies: Option<bool>, tc_string: &str) -> CmdResult {
    let sdk = open_with(data_dir, None, None, ConsentSource::Tcf { vendor_id })?;
    let import = sdk.import_tcf(Some(tc_string), gdpr_applies).map_err(|e| e.to_string())?;
    let o = &import.outcome;
    println!(
        "{}",
        json!({"result": import.result, "decisions": import.decisions, "record_id": o.record_id, "purged": o.purged,
               "now_allowed": o.now_allowed, "now_denied": o.now_denied})
    );
    Ok(ExitCode::SUCCESS)
}

fn tcf_decode(tc_string: &str) -> CmdResult {
    let tc = footfall_core::consent::tcf::decode(tc_string).map_err(|e| format!("invalid TC string: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&tc).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}
