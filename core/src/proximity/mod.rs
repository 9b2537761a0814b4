//! Store proximity: beacon sightings become visits on the device, visits trigger offers within consent and caps,
//! and expected pickups are recognised on arrival.
//! - [`frame`] (with [`eddystone_url`]): the strict parser of BLE advertisements into beacon frames;
//! - [`sighting`]: the canonical sighting both ingestion paths (Android bytes, iOS identity) produce;
//! - [`smoothing`], [`zone`], [`presence`]: RSSI smoothing, zones with hysteresis and time rules, and the engine
//!   that turns sightings into enter / dwell / exit without flapping; [`simulation`] scores it on synthetic
//!   shoppers against AltBeacon's defaults;
//! - [`campaign`]: the offer rules (windows, quiet hours, audience, caps, cooldowns, priority);
//! - [`config`]: the remotely configured zones and campaigns;
//! - [`service`] (live: consent-checked ingestion under a short lock), [`record`] (the writer: visits, offers and
//!   pickups committed with their events), [`audience_watch`] (per-day counts audience rules read) and [`views`]
//!   (what the app and the backend see).

pub(crate) mod audience_watch;
pub mod campaign;
pub mod config;
pub mod eddystone_url;
pub mod frame;
pub mod presence;
pub(crate) mod record;
pub mod service;
pub mod sighting;
pub mod simulation;
pub mod smoothing;
pub mod views;
pub mod zone;

pub use frame::{parse_advertisement, BeaconFrame, FrameError};
pub use presence::{PresenceEngine, Transition};
pub use sighting::{BeaconId, Sighting, SightingError};
pub use smoothing::SmoothingStrategy;
pub use zone::{ZoneConfig, ZoneError};
