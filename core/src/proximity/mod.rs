//! Store proximity (issue 13, in progress): beacon sightings, presence and offers on the device. Built so far:
//! [`frame`], the strict parser of BLE advertisements into beacon frames (iBeacon, AltBeacon, Eddystone UID, URL,
//! TLM and EID) with [`eddystone_url`], the Eddystone URL codec both ways. Pure functions: no storage, no clock.

pub mod eddystone_url;
pub mod frame;

pub use frame::{parse_advertisement, BeaconFrame, FrameError};
