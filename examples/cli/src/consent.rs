//! `footfall consent …`: consent decisions, starting with reading what another CMP already decided.

use std::process::ExitCode;

use clap::Subcommand;

use crate::CmdResult;

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Decode an IAB TCF v2.2 TC string (e.g. the app's IABTCF_TCString) and print it as JSON.
    #[command(long_about = "Decode an IAB TCF v2.2 TC string (e.g. the app's IABTCF_TCString) and print it as JSON.\n\n\
        Output: one JSON object. `created` and `last_updated` are RFC 3339 UTC with milliseconds (the string \
        carries deciseconds). `special_feature_opt_ins`, `purpose_consents` and `purpose_legitimate_interests` are \
        the RAW bits, as the sorted list of numbers whose bit is set (so an LI bit the policy forbids, e.g. purpose 1, \
        still shows). `vendor_consents`, `vendor_legitimate_interests` and the vendor lists of `publisher_restrictions` \
        ({purpose, type, vendors}; type 0 not allowed, 1 require consent, 2 require LI) are sorted, deduplicated \
        vendor ids. `disclosed_vendors`, `allowed_vendors` and `publisher_tc` appear only when the string has that \
        segment. `warnings` lists what was tolerated (duplicated range ids, a missing DisclosedVendors segment, \
        unknown segments, ...).\n\n\
        An invalid string exits 1 with `footfall: invalid TC string: <reason>` on stderr.")]
    TcfDecode {
        /// The TC string: base64url segments joined by '.', trailing '=' tolerated.
        #[arg(allow_hyphen_values = true)]
        tc_string: String,
    },
}

pub fn run(command: ConsentCommand) -> CmdResult {
    match command {
        ConsentCommand::TcfDecode { tc_string } => tcf_decode(&tc_string),
    }
}

fn tcf_decode(tc_string: &str) -> CmdResult {
    let tc = footfall_core::consent::tcf::decode(tc_string).map_err(|e| format!("invalid TC string: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&tc).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}
