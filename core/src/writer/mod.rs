//! The single writer: the path from `track()` to disk. A bounded in-memory hand-off ([`handoff`]) feeds one thread
//! ([`thread`]) that commits in group transactions and owns identity and sessions; other domains hand it jobs
//! (`job`) that run in order with the appends.

pub mod handoff;
pub(crate) mod job;
pub(crate) mod recycle;
pub mod storage_cell;
pub mod thread;

pub use handoff::Handoff;
pub use storage_cell::StorageCell;
