//! A zone: the beacons that mark it and the thresholds (signal and time) that decide enter, dwell and exit.

use serde::{Deserialize, Serialize};

use super::sighting::BeaconId;

/// One zone as configured (JSON, camelCase; unknown members are ignored so newer configurations still load;
/// everything but `id`, `store`, `beacons` and `enterRssi` has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "ZoneConfigJson")]
pub struct ZoneConfig {
    pub id: String,
    pub store: String,
    /// The beacons that mark the zone (one beacon may mark several zones).
    pub beacons: Vec<BeaconId>,
    /// Smoothed RSSI (dBm) at or above which a reading counts as near.
    pub enter_rssi: i16,
    /// Smoothed RSSI at or above which a reading keeps a shopper inside; below `enter_rssi` (hysteresis).
    /// Default: `enter_rssi − 6`.
    pub exit_rssi: i16,
    /// Enter once `enter_k` of the zone's last `enter_m` readings were near. 2 of 4 by default: in the simulation
    /// it entered sooner than AltBeacon's first-reading rule with no false enters; 3 of 5 cost ~6 s more.
    pub enter_k: u8,
    pub enter_m: u8,
    /// Exit once this much observed absence (scanning on, nothing at or above `exit_rssi`) has accumulated.
    pub exit_after_ms: u64,
    /// A dwell is reported once per visit after this long inside.
    pub dwell_after_ms: u64,
    /// The store's IANA time zone, carried for the campaign rules (quiet hours); presence runs on monotonic time.
    pub time_zone: Option<String>,
    /// Two pieces of evidence (readings, scan cycles) further apart than this enclose unknown time: it counts
    /// neither as absence nor as presence.
    pub max_scan_gap_ms: u64,
}

/// The JSON form, where `exitRssi` defaults from `enterRssi`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZoneConfigJson {
    id: String,
    store: String,
    beacons: Vec<BeaconId>,
    enter_rssi: i16,
    #[serde(default)]
    exit_rssi: Option<i16>,
    #[serde(default = "default_enter_k")]
    enter_k: u8,
    #[serde(default = "default_enter_m")]
    enter_m: u8,
    #[serde(default = "default_exit_after_ms")]
    exit_after_ms: u64,
    #[serde(default = "default_dwell_after_ms")]
    dwell_after_ms: u64,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default = "default_max_scan_gap_ms")]
    max_scan_gap_ms: u64,
}

impl From<ZoneConfigJson> for ZoneConfig {
    fn from(json: ZoneConfigJson) -> ZoneConfig {
        ZoneConfig {
            exit_rssi: json.exit_rssi.unwrap_or(json.enter_rssi.saturating_sub(DEFAULT_HYSTERESIS_DB)),
            id: json.id,
            store: json.store,
            beacons: json.beacons,
            enter_rssi: json.enter_rssi,
            enter_k: json.enter_k,
            enter_m: json.enter_m,
            exit_after_ms: json.exit_after_ms,
            dwell_after_ms: json.dwell_after_ms,
            time_zone: json.time_zone,
            max_scan_gap_ms: json.max_scan_gap_ms,
        }
    }
}

/// How far below `enter_rssi` the exit threshold sits when none is given: RSSI σ is 3.5–9 dB, so a 6 dB band
/// keeps one noisy reading from flipping a shopper out.
pub const DEFAULT_HYSTERESIS_DB: i16 = 6;
/// Exiting needs at least this much observed absence, whatever the configuration says.
pub const MIN_EXIT_AFTER_MS: u64 = 5_000;
/// `enter_m` is kept as a 32-bit history.
pub const MAX_ENTER_M: u8 = 32;

fn default_enter_k() -> u8 {
    2
}
fn default_enter_m() -> u8 {
    4
}
fn default_exit_after_ms() -> u64 {
    30_000
}
fn default_dwell_after_ms() -> u64 {
    120_000
}
fn default_max_scan_gap_ms() -> u64 {
    15_000
}

/// What is wrong with a zone, naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("a zone has an empty id")]
    EmptyId,
    #[error("zone '{0}' appears twice")]
    DuplicateId(String),
    #[error("zone '{0}': no beacons")]
    NoBeacons(String),
    #[error("zone '{0}': beacon {1} is listed twice")]
    DuplicateBeacon(String, String),
    #[error("zone '{zone}': enterRssi {value} dBm is not a reading (-127 to 20)")]
    EnterRssi { zone: String, value: i16 },
    #[error("zone '{zone}': exitRssi {exit} must be below enterRssi {enter} (hysteresis)")]
    ExitNotBelowEnter { zone: String, enter: i16, exit: i16 },
    #[error("zone '{zone}': enterK {k} of enterM {m} (need 1 <= k <= m <= 32)")]
    KOfM { zone: String, k: u8, m: u8 },
    #[error("zone '{zone}': exitAfterMs {value} is below the minimum {MIN_EXIT_AFTER_MS}")]
    ExitTooSoon { zone: String, value: u64 },
    #[error("zone '{zone}': maxScanGapMs must be at least 1000 (a scan cycle), got {value}")]
    ScanGap { zone: String, value: u64 },
    #[error("zone '{zone}': time zone '{name}' is not an IANA time zone")]
    TimeZone { zone: String, name: String },
}

impl ZoneConfig {
    /// A zone with the defaults (exit 6 dB below enter, 2 of 4, exit after 30 s, dwell after 2 min).
    pub fn new(id: impl Into<String>, store: impl Into<String>, beacons: Vec<BeaconId>, enter_rssi: i16) -> Self {
        ZoneConfig {
            id: id.into(),
            store: store.into(),
            beacons,
            enter_rssi,
            exit_rssi: enter_rssi.saturating_sub(DEFAULT_HYSTERESIS_DB),
            enter_k: default_enter_k(),
            enter_m: default_enter_m(),
            exit_after_ms: default_exit_after_ms(),
            dwell_after_ms: default_dwell_after_ms(),
            time_zone: None,
            max_scan_gap_ms: default_max_scan_gap_ms(),
        }
    }

    pub fn validate(&self) -> Result<(), ZoneError> {
        let zone = || self.id.clone();
        if self.id.trim().is_empty() {
            return Err(ZoneError::EmptyId);
        }
        if self.beacons.is_empty() {
            return Err(ZoneError::NoBeacons(zone()));
        }
        let mut sorted = self.beacons.clone();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ZoneError::DuplicateBeacon(zone(), pair[0].to_string()));
        }
        if !super::sighting::RSSI_RANGE.contains(&self.enter_rssi) {
            return Err(ZoneError::EnterRssi { zone: zone(), value: self.enter_rssi });
        }
        if self.exit_rssi >= self.enter_rssi {
            return Err(ZoneError::ExitNotBelowEnter { zone: zone(), enter: self.enter_rssi, exit: self.exit_rssi });
        }
        if self.enter_k == 0 || self.enter_k > self.enter_m || self.enter_m > MAX_ENTER_M {
            return Err(ZoneError::KOfM { zone: zone(), k: self.enter_k, m: self.enter_m });
        }
        if self.exit_after_ms < MIN_EXIT_AFTER_MS {
            return Err(ZoneError::ExitTooSoon { zone: zone(), value: self.exit_after_ms });
        }
        if self.max_scan_gap_ms < 1_000 {
            return Err(ZoneError::ScanGap { zone: zone(), value: self.max_scan_gap_ms });
        }
        if let Some(name) = &self.time_zone {
            if jiff::tz::TimeZone::get(name).is_err() {
                return Err(ZoneError::TimeZone { zone: zone(), name: name.clone() });
            }
        }
        Ok(())
    }
}

/// Validates a set of zones: each one, and no id used twice (a beacon may be shared between zones).
pub fn validate_zones(zones: &[ZoneConfig]) -> Result<(), ZoneError> {
    let mut ids = std::collections::HashSet::new();
    for zone in zones {
        zone.validate()?;
        if !ids.insert(zone.id.as_str()) {
            return Err(ZoneError::DuplicateId(zone.id.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEACON: &str = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2";

    fn zone() -> ZoneConfig {
        ZoneConfig::new("entrance", "paris-01", vec![BEACON.parse().unwrap()], -75)
    }

    #[test]
    fn defaults_fill_in_and_unknown_members_are_ignored() {
        let parsed: ZoneConfig = serde_json::from_str(&format!(
            r#"{{"id":"entrance","store":"paris-01","beacons":["{BEACON}"],"enterRssi":-75,"futureMember":true}}"#
        ))
        .unwrap();
        assert_eq!(parsed, zone());
        assert_eq!(parsed.exit_rssi, -81);
        assert_eq!((parsed.enter_k, parsed.enter_m, parsed.exit_after_ms), (2, 4, 30_000));
        parsed.validate().unwrap();
        let text = serde_json::to_string(&parsed).unwrap();
        assert!(text.contains("\"exitRssi\":-81") && text.contains("\"enterK\":2"), "{text}");
        assert_eq!(serde_json::from_str::<ZoneConfig>(&text).unwrap(), parsed);
    }

    #[test]
    fn each_problem_is_named_with_its_zone() {
        type Spoil = fn(&mut ZoneConfig);
        let cases: Vec<(Spoil, &str)> = vec![
            (|z| z.beacons.clear(), "no beacons"),
            (|z| z.beacons.push(z.beacons[0]), "listed twice"),
            (|z| z.exit_rssi = -75, "must be below"),
            (|z| z.enter_k = 0, "enterK 0"),
            (|z| z.enter_k = 6, "enterK 6 of enterM 4"),
            (|z| (z.enter_k, z.enter_m) = (3, 40), "enterM 40"),
            (|z| z.exit_after_ms = 1_000, "exitAfterMs 1000"),
            (|z| z.max_scan_gap_ms = 0, "maxScanGapMs"),
            (|z| z.time_zone = Some("Mars/Olympus".into()), "Mars/Olympus"),
            (|z| z.enter_rssi = 30, "not a reading"),
        ];
        for (spoil, expected) in cases {
            let mut z = zone();
            spoil(&mut z);
            let message = z.validate().unwrap_err().to_string();
            assert!(message.contains("'entrance'") && message.contains(expected), "{message}");
        }
        let mut ok = zone();
        ok.time_zone = Some("Europe/Paris".into());
        ok.validate().unwrap();
    }

    #[test]
    fn zones_may_share_beacons_but_not_ids() {
        let mut other = zone();
        other.id = "till".into();
        validate_zones(&[zone(), other]).unwrap();
        assert_eq!(validate_zones(&[zone(), zone()]), Err(ZoneError::DuplicateId("entrance".into())));
    }
}
