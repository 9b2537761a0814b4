//! Getting queued events to the backend: the transport port, the wire format, the status-table policy, the
//! upload pass and the background scheduler that decides when a pass runs.

pub(crate) mod deletion;
pub mod endpoint;
pub mod lane;
pub mod policy;
pub(crate) mod receipts;
pub mod remote_config;
#[cfg(feature = "reqwest-transport")]
pub mod reqwest_transport;
pub(crate) mod scheduler;
pub mod transport;
pub(crate) mod uploader;
pub mod wire;

pub use endpoint::Endpoint;
pub use lane::{LaneCondition, LaneStatus};
pub use remote_config::{PolicyRefresh, RefusedPolicy};
pub use transport::{CertificateProblem, HttpRequest, HttpResponse, HttpTransport, TransportError};
pub use uploader::{FlushOutcome, FlushReport};
