//! `footfall beacon parse HEX`: one BLE advertisement (its AD structures, as hex) read by the core's strict
//! parser, printed as one JSON object; anything that is not a beacon frame exits 1 with the reason on stderr.

use std::process::ExitCode;

use clap::Subcommand;
use footfall_core::proximity::{parse_advertisement, BeaconFrame};
use serde_json::{json, Value};

use crate::CmdResult;

#[derive(Subcommand)]
pub enum BeaconCommand {
    /// Parse an advertisement: iBeacon, AltBeacon, Eddystone UID/URL/TLM/EID.
    Parse { hex: String },
}

pub fn run(command: BeaconCommand) -> CmdResult {
    let BeaconCommand::Parse { hex } = command;
    let bytes = crate::args::hex(hex.trim())?;
    match parse_advertisement(&bytes) {
        Ok(frame) => {
            println!("{}", frame_json(&frame));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("footfall: not a beacon frame: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn frame_json(frame: &BeaconFrame) -> Value {
    match frame {
        BeaconFrame::Ibeacon { uuid, major, minor, tx_power, manufacturer } => json!({
            "format": "ibeacon", "uuid": uuid_text(uuid), "major": major, "minor": minor,
            "tx_power": tx_power, "manufacturer": manufacturer,
        }),
        BeaconFrame::Altbeacon { id, tx_power, reserved, manufacturer } => {
            let (uuid, rest) = id.split_at(16);
            json!({
                "format": "altbeacon", "id": hex(id), "uuid": uuid_text(uuid),
                "major": u16::from_be_bytes([rest[0], rest[1]]), "minor": u16::from_be_bytes([rest[2], rest[3]]),
                "tx_power": tx_power, "reserved": reserved, "manufacturer": manufacturer,
            })
        }
        BeaconFrame::EddystoneUid { namespace, instance, tx_power } => json!({
            "format": "eddystone_uid", "namespace": hex(namespace), "instance": hex(instance), "tx_power": tx_power,
        }),
        BeaconFrame::EddystoneUrl { url, tx_power } => {
            json!({"format": "eddystone_url", "url": url, "tx_power": tx_power})
        }
        BeaconFrame::EddystoneTlm { version, battery_mv, temperature_c, adv_count, uptime_s } => json!({
            "format": "eddystone_tlm", "version": version, "battery_mv": battery_mv, "temperature_c": temperature_c,
            "adv_count": adv_count, "uptime_s": uptime_s,
        }),
        BeaconFrame::EddystoneEtlm { encrypted, salt, mic } => json!({
            "format": "eddystone_tlm", "version": 1, "encrypted": true, "etlm": hex(encrypted), "salt": salt, "mic": mic,
        }),
        BeaconFrame::EddystoneEid { eid, tx_power } => {
            json!({"format": "eddystone_eid", "eid": hex(eid), "tx_power": tx_power})
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 8-4-4-4-12 lowercase, as the example and CoreLocation print a proximity UUID.
fn uuid_text(bytes: &[u8]) -> String {
    let h = hex(bytes);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
