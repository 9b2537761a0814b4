//! Footfall's core: an offline-first event queue in SQLite, consent-ready, synced to any backend over HTTPS.
//!
//! Architecture (one module per concern):
//! - [`event`]: what the app records and the checks at the edge;
//! - [`queue`]: the bounded hand-off from `track()` and the group-commit writer thread;
//! - [`storage`]: the one type that owns the SQLite database;
//! - [`sync`]: transport port, wire format, status-table policy, upload pass and scheduler;
//! - [`listener`]: what the SDK tells the app after each upload pass;
//! - [`sdk`]: [`Footfall`], the object an app holds.

pub mod clock;
pub mod config;
pub mod consent;
pub mod error;
pub mod event;
mod ids;
pub mod listener;
pub mod queue;
pub mod sdk;
pub mod status;
pub mod storage;
pub mod sync;

pub use clock::{Clock, ManualClock, Random, SeededRandom, SystemClock};
pub use config::{Config, ConsentSource, FlushPolicy, HandoffLimits, RetryPolicy, StorageLimits};
pub use error::{Error, Result, ValidationError};
pub use event::Event;
pub use listener::{SdkEvent, SdkListener};
pub use sdk::{read_status, Builder, Footfall, TcfImport, TcfImportResult};
pub use status::{Evicted, Status};
pub use storage::{DeadLetter, RightsRequest, RightsState};
pub use sync::{FlushOutcome, FlushReport, HttpRequest, HttpResponse, HttpTransport, TransportError};
