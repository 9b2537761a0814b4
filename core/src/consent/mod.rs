//! Consent: what the shopper allowed, provably, and decisions made elsewhere.
//! - [`purpose`]: stable purpose ids, jurisdictions and their defaults, Google Consent Mode v2 mapping;
//! - [`policy`]: the remotely edited policy (versions, material changes, prompts), parsed refusing repeated
//!   members (`unique_members`);
//! - [`record`]: the append-only, hash-chained consent log;
//! - [`state`]: gating and re-prompt decisions derived from the log (pure functions); [`status`]: what apps see;
//! - [`view`]: the snapshot `track()`, the writer and the uploader consult; [`service`]: applying changes,
//!   which `changes` runs as writer jobs;
//! - [`tcf`]: reading another CMP's IAB TCF v2.2 TC string; [`tcf_mapping`]: its purposes mapped to ours.

pub(crate) mod changes;
pub mod policy;
pub mod purpose;
pub mod record;
pub mod service;
pub mod state;
pub mod status;
pub mod tcf;
pub mod tcf_mapping;
pub(crate) mod unique_members;
pub mod view;
