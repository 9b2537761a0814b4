use std::net::SocketAddr;
use std::path::PathBuf;

/// Decompressed body limit when none is configured; twice the SDK's default batch cap of 500 KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How a collector listens, stores and misbehaves.
#[derive(Clone, Debug)]
pub struct CollectorConfig {
    /// e.g. `127.0.0.1:0` for an ephemeral port; [`crate::Collector::addr`] tells the bound one.
    pub listen: SocketAddr,
    /// Where accepted events, consent records, the wallet and the console's revisions live: a SQLite file
    /// (created if missing) or a PostgreSQL database (several collectors may share it).
    pub database: crate::DatabaseUrl,
    /// If set, requests need `Authorization: Basic base64(key + ":")`, else 401.
    pub api_key: Option<String>,
    pub faults: FaultConfig,
    /// Decompressed body limit; over it -> 413.
    pub max_body_bytes: usize,
    /// Poison knob: a batch holding a track event with one of these names -> 400 `invalid_event`.
    pub reject_event_names: Vec<String>,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<TlsConfig>,
    /// JSON file served by `GET /v1/config`, re-read on every request (edit it to change the policy, no restart).
    /// `None`: that endpoint answers 404 `no_config`.
    pub config_path: Option<PathBuf>,
    /// The wallet issuer's key file (`{"kid":…,"seed":…}`, created with mode 0600 if missing). `None`: the wallet
    /// endpoints answer 404 `not_offered`.
    pub issuer_key: Option<PathBuf>,
    /// A signed key set rotation (`{"keyset","kid","sig"}`, as `sign_rotation` makes it) to hand out in every
    /// wallet feed answer. Checked at start against the issuer's own key set.
    pub keyset_rotation: Option<PathBuf>,
    /// Serve the console (`/console`) to this admin. The remote config then lives in the database as revisions
    /// the console publishes (`config_path`, if given, is imported once as the first).
    pub console: Option<crate::AdminCredential>,
}

impl CollectorConfig {
    pub fn new(listen: SocketAddr, database: impl Into<crate::DatabaseUrl>) -> Self {
        CollectorConfig {
            listen,
            database: database.into(),
            api_key: None,
            faults: FaultConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            reject_event_names: Vec::new(),
            tls: None,
            config_path: None,
            issuer_key: None,
            keyset_rotation: None,
            console: None,
        }
    }
}

/// The protocol endpoints the collector serves. Each has its own request counter, fault script and seeded
/// sequence of failure rolls, so config polling never shifts which batch gets a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/batch`
    Batch,
    /// `GET /v1/config`
    Config,
    /// `POST /v1/consent-records`
    ConsentRecords,
    /// `POST /v1/rights/deletion`
    Deletion,
    /// `GET /v1/wallet/changes`
    WalletChanges,
    /// `POST /v1/wallet/clips`
    WalletClips,
    /// `POST /v1/wallet/redemptions`
    WalletRedemptions,
}

impl Endpoint {
    // New endpoints go at the end: an endpoint's index seeds its fault rolls, so the others keep their sequences.
    pub const ALL: [Endpoint; 7] = [
        Endpoint::Batch,
        Endpoint::Config,
        Endpoint::ConsentRecords,
        Endpoint::Deletion,
        Endpoint::WalletChanges,
        Endpoint::WalletClips,
        Endpoint::WalletRedemptions,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Standing fault knobs, changeable at runtime with [`crate::Collector::set_faults`]. They apply to every
/// endpoint of [`Endpoint`], each request rolling on its own endpoint's sequence.
#[derive(Clone, Debug, Default)]
pub struct FaultConfig {
    /// Probability (0..=1) that a request gets an injected failure and nothing is stored.
    pub fail_rate: f64,
    /// Status of injected failures; 0 (the `Default`) means 503.
    pub fail_status: u16,
    /// Added before every response, after storing: a client timeout then means stored-but-unacknowledged.
    pub latency_ms: u64,
    /// Seed of the failure rolls: the same seed gives the same sequence of decisions (per endpoint; the batch
    /// endpoint's sequence is the one this seed gave before the other endpoints existed).
    pub seed: u64,
    /// `Retry-After` header value added to injected failures.
    pub retry_after: Option<String>,
}

/// One-shot faults, consumed in order by the next requests to one endpoint before `fail_rate` applies
/// ([`crate::Collector::script`] for batches, [`crate::Collector::script_for`] for any endpoint). On
/// `GET /v1/config` there is nothing to store: `StoreThenStatus` answers the status, `Delay` delays the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptedFault {
    /// Respond with this status, store nothing.
    Status { status: u16, retry_after: Option<String> },
    /// Store the request as normal, then answer with this status: a lost response, so the SDK re-sends and the
    /// collector counts duplicates.
    StoreThenStatus { status: u16 },
    /// Close the connection without any response: the client sees a transport error. Nothing is stored.
    DropConnection,
    /// Store, then wait `ms` before answering 200 (client timeouts).
    Delay { ms: u64 },
}

/// PEM certificate chain (leaf first) and private key for HTTPS.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub cert_pem: String,
    pub key_pem: String,
}
