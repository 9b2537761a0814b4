//! Store proximity (issue 13, in progress): beacon sightings, presence and offers on the device.
//! - [`frame`]: the strict parser of BLE advertisements into beacon frames (iBeacon, AltBeacon, Eddystone UID,
//!   URL, TLM and EID) with [`eddystone_url`], the Eddystone URL codec both ways;
//! - [`sighting`]: the canonical sighting both ingestion paths (Android bytes, iOS identity) produce.

pub mod campaign;
pub mod eddystone_url;
pub mod frame;
pub mod sighting;

pub use frame::{parse_advertisement, BeaconFrame, FrameError};
pub use sighting::{BeaconId, Sighting, SightingError};
