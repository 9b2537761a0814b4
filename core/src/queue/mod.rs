//! The path from `track()` to disk: a bounded in-memory hand-off ([`handoff`]) feeding one writer thread
//! ([`writer`]) that commits in group transactions and owns identity and sessions; other domains hand it jobs
//! (`job`) that run in order with the appends.

pub mod handoff;
pub(crate) mod job;
pub mod storage_cell;
pub mod writer;

pub use handoff::Handoff;
pub use storage_cell::StorageCell;
