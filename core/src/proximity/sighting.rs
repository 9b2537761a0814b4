//! The canonical sighting: one beacon heard at one instant with one signal strength. Two ingestion paths lead here:
//! Android hands raw advertisement bytes (parsed by [`super::frame`]), iOS hands CoreLocation's decoded identity
//! (no bytes, no tx power). Everything after this point sees only [`Sighting`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::frame::{parse_advertisement, BeaconFrame, FrameError};

/// Received signal strengths outside this range are not readings (BLE reports −127..=+20 dBm; iOS reports 0
/// when it could not measure).
pub const RSSI_RANGE: std::ops::RangeInclusive<i16> = -127..=20;

/// Which beacon: the identity zones are defined by. iBeacon and AltBeacon share one form (an AltBeacon's 20-byte
/// id is read as its conventional 16 + 2 + 2 split), so one zone can list beacons of either kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BeaconId {
    Uuid { uuid: [u8; 16], major: u16, minor: u16 },
    Eddystone { namespace: [u8; 10], instance: [u8; 6] },
}

/// One reading of one beacon. `at_ms` is on a monotonic clock (Android's `elapsedRealtime`, the SDK's own
/// monotonic clock on iOS): presence and dwell are measured on it, never on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sighting {
    pub beacon: BeaconId,
    pub rssi: i16,
    /// Calibrated power (at 1 m for iBeacon/AltBeacon, at 0 m for Eddystone), when the frame carries one.
    pub tx_power: Option<i8>,
    pub at_ms: u64,
}

/// Why an input is not a sighting. Each is counted and dropped; none is fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SightingError {
    #[error("advertisement: {0}")]
    Frame(#[from] FrameError),
    #[error("an {0} frame names no beacon (only iBeacon, AltBeacon and Eddystone UID frames locate a shopper)")]
    NoIdentity(&'static str),
    #[error("RSSI {0} dBm is not a reading (BLE reports -127 to +20; iOS reports 0 when it measured nothing)")]
    NoReading(i16),
    #[error("'{0}' is not a proximity UUID")]
    BadUuid(String),
}

impl Sighting {
    /// Android's path: the bytes of one advertisement, its RSSI and the scan's monotonic timestamp.
    pub fn from_advertisement(data: &[u8], rssi: i16, at_ms: u64) -> Result<Sighting, SightingError> {
        check_rssi(rssi)?;
        let (beacon, tx_power) = match parse_advertisement(data)? {
            BeaconFrame::Ibeacon { uuid, major, minor, tx_power, .. } => {
                (BeaconId::Uuid { uuid, major, minor }, tx_power)
            }
            BeaconFrame::Altbeacon { id, tx_power, .. } => (BeaconId::from_altbeacon_id(&id), tx_power),
            BeaconFrame::EddystoneUid { namespace, instance, tx_power } => {
                (BeaconId::Eddystone { namespace, instance }, tx_power)
            }
            BeaconFrame::EddystoneUrl { .. } => return Err(SightingError::NoIdentity("Eddystone URL")),
            BeaconFrame::EddystoneTlm { .. } | BeaconFrame::EddystoneEtlm { .. } => {
                return Err(SightingError::NoIdentity("Eddystone TLM"))
            }
            BeaconFrame::EddystoneEid { .. } => return Err(SightingError::NoIdentity("Eddystone EID")),
        };
        Ok(Sighting { beacon, rssi, tx_power: Some(tx_power), at_ms })
    }

    /// iOS's path: CoreLocation's ranged beacon (its RSSI is already averaged over the ranging second; it carries
    /// no tx power). An RSSI of 0 is CoreLocation saying it measured nothing: not a sighting.
    pub fn from_identity(uuid: &str, major: u16, minor: u16, rssi: i16, at_ms: u64) -> Result<Sighting, SightingError> {
        check_rssi(rssi)?;
        let uuid = parse_uuid(uuid).ok_or_else(|| SightingError::BadUuid(uuid.chars().take(40).collect()))?;
        Ok(Sighting { beacon: BeaconId::Uuid { uuid, major, minor }, rssi, tx_power: None, at_ms })
    }
}

fn check_rssi(rssi: i16) -> Result<(), SightingError> {
    if rssi == 0 || !RSSI_RANGE.contains(&rssi) {
        return Err(SightingError::NoReading(rssi));
    }
    Ok(())
}

impl BeaconId {
    pub fn from_altbeacon_id(id: &[u8; 20]) -> BeaconId {
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&id[..16]);
        BeaconId::Uuid {
            uuid,
            major: u16::from_be_bytes([id[16], id[17]]),
            minor: u16::from_be_bytes([id[18], id[19]]),
        }
    }
}

/// The canonical text form, used in configuration, traces and events: `"<uuid>:<major>:<minor>"` (lowercase,
/// hyphenated UUID) or `"eddystone:<namespace hex>:<instance hex>"`.
impl fmt::Display for BeaconId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BeaconId::Uuid { uuid, major, minor } => write!(f, "{}:{major}:{minor}", uuid::Uuid::from_bytes(*uuid)),
            BeaconId::Eddystone { namespace, instance } => write!(f, "eddystone:{}:{}", hex(namespace), hex(instance)),
        }
    }
}

impl std::str::FromStr for BeaconId {
    type Err = String;

    fn from_str(text: &str) -> Result<BeaconId, String> {
        let bad = || {
            format!(
                "'{}' is not a beacon id (\"<uuid>:<major>:<minor>\" or \"eddystone:<namespace>:<instance>\")",
                text.chars().take(80).collect::<String>()
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            ["eddystone", namespace, instance] => Ok(BeaconId::Eddystone {
                namespace: unhex::<10>(namespace).ok_or_else(bad)?,
                instance: unhex::<6>(instance).ok_or_else(bad)?,
            }),
            [uuid, major, minor] => Ok(BeaconId::Uuid {
                uuid: parse_uuid(uuid).ok_or_else(bad)?,
                major: major.parse().map_err(|_| bad())?,
                minor: minor.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }
}

impl Serialize for BeaconId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BeaconId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BeaconId, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A hyphenated UUID in either case (CoreLocation prints uppercase).
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::try_parse(text).ok().map(|u| *u.as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IBEACON: &str = "0201061aff4c0002152f234454cf6d4a0fadf2f4911ba9ffa600010002c5";

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn both_paths_reach_the_same_beacon() {
        let android = Sighting::from_advertisement(&bytes(IBEACON), -71, 5_000).unwrap();
        let ios = Sighting::from_identity("2F234454-CF6D-4A0F-ADF2-F4911BA9FFA6", 1, 2, -71, 5_000).unwrap();
        assert_eq!(android.beacon, ios.beacon);
        assert_eq!(android.tx_power, Some(-59));
        assert_eq!(ios.tx_power, None);
        assert_eq!(android.beacon.to_string(), "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2");
    }

    #[test]
    fn an_altbeacon_id_splits_into_uuid_major_minor() {
        let mut id = [0u8; 20];
        id[..16].copy_from_slice(&parse_uuid("2f234454-cf6d-4a0f-adf2-f4911ba9ffa6").unwrap());
        id[16..].copy_from_slice(&[0, 1, 0, 2]);
        assert_eq!(
            BeaconId::from_altbeacon_id(&id),
            "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2".parse::<BeaconId>().unwrap()
        );
    }

    #[test]
    fn readings_that_are_not_readings_are_refused() {
        assert_eq!(
            Sighting::from_identity("2f234454-cf6d-4a0f-adf2-f4911ba9ffa6", 1, 2, 0, 0).unwrap_err(),
            SightingError::NoReading(0)
        );
        assert!(matches!(Sighting::from_advertisement(&bytes(IBEACON), 21, 0), Err(SightingError::NoReading(21))));
        assert!(matches!(Sighting::from_identity("not-a-uuid", 1, 2, -60, 0), Err(SightingError::BadUuid(_))));
        // An Eddystone URL frame is a beacon but locates nobody.
        let url = bytes("0303aafe0d16aafe10eb03676f6f676c6507");
        assert_eq!(Sighting::from_advertisement(&url, -60, 0).unwrap_err(), SightingError::NoIdentity("Eddystone URL"));
    }

    #[test]
    fn the_text_form_round_trips_and_refuses_garbage() {
        for text in ["2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:65535:0", "eddystone:8b0ca750e7a74e14bd99:0000000000aa"] {
            let id: BeaconId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(serde_json::from_str::<BeaconId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
        }
        for bad in ["", "x:1:2", "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:65536:0", "eddystone:00:00", "a:b:c:d"] {
            assert!(bad.parse::<BeaconId>().is_err(), "{bad}");
        }
    }
}
