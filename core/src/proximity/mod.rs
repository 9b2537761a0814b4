//! Store proximity (issue 13, in progress): beacon sightings, presence and offers on the device.
//! - [`frame`]: the strict parser of BLE advertisements into beacon frames (iBeacon, AltBeacon, Eddystone UID,
//!   URL, TLM and EID) with [`eddystone_url`], the Eddystone URL codec both ways;
//! - [`sighting`]: the canonical sighting both ingestion paths (Android bytes, iOS identity) produce;
//! - [`smoothing`], [`zone`], [`presence`]: smoothed RSSI, zones and the enter / dwell / exit engine;
//! - [`simulation`]: synthetic shoppers scoring the engine against AltBeacon's defaults.

pub mod campaign;
pub mod eddystone_url;
pub mod frame;
pub mod presence;
pub mod sighting;
pub mod simulation;
pub mod smoothing;
pub mod zone;

pub use frame::{parse_advertisement, BeaconFrame, FrameError};
pub use presence::{PresenceEngine, Transition};
pub use sighting::{BeaconId, Sighting, SightingError};
pub use smoothing::SmoothingStrategy;
pub use zone::{ZoneConfig, ZoneError};
