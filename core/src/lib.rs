//! Footfall's core: an offline-first event queue in SQLite, consent enforced, synced to any backend over HTTPS.
//!
//! Architecture (one module per concern; imports form a tree):
//! - [`config`], [`clock`], [`error`]: what every module shares (settings and their rules, injected time);
//! - [`event`]: what the app records and the checks at the edge;
//! - [`storage`]: the one type that owns the SQLite database, with the personal-data registry;
//! - [`writer`]: the bounded hand-off from `track()` and the single writer thread, which also runs other domains'
//!   jobs in order with the appends;
//! - [`consent`]: purposes, the remote policy, the hash-chained log, gating and IAB TCF;
//! - [`sync`]: transport port, request context, lanes (events, essential outboxes) with their persisted state,
//!   the status-table verdict and the scheduler;
//! - [`wallet`]: the coupon wallet — its pure rules (signed grants, the issuer key set, validity in store-local
//!   time zones, the evaluator, device-bound redemption codes and the offline till's check) and, over storage,
//!   the device's coupons, clips and presentations; sync brings its feed and sends its outbox;
//! - [`proximity`]: store proximity (in progress: the strict beacon frame parser);
//! - [`listener`]: what the SDK tells the app; [`status`]: what it reports about itself;
//! - [`sdk`]: [`Footfall`], the object an app holds.

// A library prints nothing: logs go through `tracing`, where the app's sink decides.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod clock;
pub mod config;
pub mod consent;
pub mod crypto;
pub mod error;
pub mod event;
mod ids;
pub mod listener;
pub mod proximity;
pub mod sdk;
pub mod status;
pub mod storage;
pub mod sync;
mod threads;
pub mod wallet;
pub mod writer;

pub use clock::{Clock, ManualClock, Random, SeededRandom, SystemClock};
pub use config::{Config, ConsentSource, FlushPolicy, HandoffLimits, RetryPolicy, StorageLimits};
pub use error::{Error, Result, ValidationError, WalletError};
pub use event::Event;
pub use listener::{SdkEvent, SdkListener};
pub use sdk::{read_status, BatchReport, Builder, Footfall, TcfImport, TcfImportResult};
pub use status::{Evicted, Status};
pub use storage::{DeadLetter, RightsRequest, RightsState};
pub use sync::{FlushOutcome, FlushReport, HttpRequest, HttpResponse, HttpTransport, TransportError};
