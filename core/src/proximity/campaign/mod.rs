//! Proximity campaigns: which offer, if any, a zone enter or dwell earns the shopper. Pure rules on the device —
//! no storage, no clock reads, no I/O: the caller passes the instant, the zones, the offer history and the
//! audience counts, and checks the `location` consent before asking at all.
//! - [`config`]: the remotely edited campaign document (`proximity` in `GET /v1/config`), parsed strictly, with
//!   [`error`], the typed refusals;
//! - [`schedule`]: times of day, quiet hours and weekly windows on a local wall clock;
//! - [`audience`]: "did X at least N times in D days" rules and the keys the storage counts them under;
//! - [`decide`](mod@decide): eligibility, caps, cooldowns and priority, giving at most one offer with an id deterministic
//!   per (campaign, visit).

pub mod audience;
pub mod config;
pub mod decide;
pub mod error;
pub mod schedule;
#[cfg(test)]
mod simulation;

pub use audience::AudienceRule;
pub use config::{Campaign, FrequencyCap, Offer, ProximityCampaigns, Trigger};
pub use decide::{decide, offer_id, ChosenOffer, Decision, OfferContext, OfferRecord, SkipReason};
pub use error::{CampaignError, Problem};
