//! Getting data to the backend, in layers that import downwards only:
//! - the port and its pieces: [`transport`] (and the built-in [`reqwest_transport`], with optional [`pinning`]),
//!   [`endpoint`], [`wire`];
//! - what every request shares: `request` (headers, one bounded send); [`verdict`], the status table as a pure function;
//! - what every lane shares: [`lane`] (failures, backoff, the server's hold, pauses; persisted), `halves`
//!   (bisection), `outbox` (durable items drained oldest first);
//! - the lanes: `uploader` (events) and `essential` (the outboxes `consent_receipts`, `deletion` and
//!   `wallet_outbox`);
//! - `wallet_feed`, the coupon feed after an opaque cursor;
//! - `pull` (an ETag-cached GET of a published document) and [`remote_config`], the consent policy through it;
//! - `scheduler`, the thread that decides when passes and pulls run.

pub(crate) mod consent_receipts;
pub(crate) mod deletion;
pub mod endpoint;
pub(crate) mod essential;
pub(crate) mod halves;
pub mod lane;
pub(crate) mod outbox;
pub mod pinning;
pub(crate) mod pull;
pub mod remote_config;
pub(crate) mod request;
#[cfg(feature = "reqwest-transport")]
pub mod reqwest_transport;
pub(crate) mod scheduler;
pub mod transport;
pub(crate) mod uploader;
pub mod verdict;
pub(crate) mod wake;
pub(crate) mod wallet_feed;
pub(crate) mod wallet_outbox;
pub mod wire;

pub use endpoint::Endpoint;
pub use lane::{LaneCondition, LaneStatus};
pub use pinning::PinSet;
pub use remote_config::PolicyRefresh;
pub use transport::{CertificateProblem, HttpRequest, HttpResponse, HttpTransport, TransportError};
pub use uploader::{FlushOutcome, FlushReport};
pub use wallet_feed::WalletSyncReport;
