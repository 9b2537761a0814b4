use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Decompressed body limit when none is configured; twice the SDK's default batch cap of 500 KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request's body may take to arrive once its headers are in, when none is configured: a gzip batch
/// of the SDK's largest size (about 50 KB on the wire) still arrives at under 1 KB/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections served at once when none is configured; more wait in the listen backlog until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

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
    /// A body that has not fully arrived this long after its headers closes the connection (no answer: the
    /// client retries), so a client trickling bytes cannot hold a connection and its buffer.
    pub body_timeout: Duration,
    /// Connections served at once; the accept loop waits for one to close before it takes another.
    pub max_connections: usize,
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
    /// Per-client request rate limit on the seven protocol endpoints (429 with `Retry-After` beyond it). `None`
    /// (the default): no limit.
    pub rate_limit: Option<RateLimit>,
}

impl CollectorConfig {
    pub fn new(listen: SocketAddr, database: impl Into<crate::DatabaseUrl>) -> Self {
        CollectorConfig {
            listen,
            database: database.into(),
            api_key: None,
            faults: FaultConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            reject_event_names: Vec::new(),
            tls: None,
            config_path: None,
            issuer_key: None,
            keyset_rotation: None,
            console: None,
            rate_limit: None,
        }
    }
}

/// How many clients the rate limiter tracks at most when none is configured: a few MB of buckets.
pub const DEFAULT_RATE_LIMIT_CLIENTS: usize = 100_000;

/// A token bucket per client on the protocol endpoints (`docs/collector.md` § Rate limits). The client is the API
/// key when the collector has one (every request with the right key spends the same budget; a request with a
/// wrong key gets its 401 and spends none), otherwise the client's address (IPv6 by /64). All seven endpoints
/// draw on the client's one bucket. A request that finds it empty is answered `429 rate_limited` with
/// `Retry-After` (whole seconds until the next token), before its body is read.
#[derive(Clone)]
pub struct RateLimit {
    /// Sustained requests per second a client may make: a token comes back every `1 / per_second` seconds.
    /// At least [`RateLimit::MIN_PER_SECOND`] (one an hour).
    pub per_second: f64,
    /// The bucket's size: requests a client that has been quiet may make at once. From 1 to
    /// [`RateLimit::MAX_BURST`].
    pub burst: u32,
    /// Clients tracked at once, at least 1. A full table first forgets the clients whose buckets have refilled
    /// (nothing is lost: a new client gets a full bucket too), then the least recently seen, so a flood of new
    /// addresses cannot grow memory.
    pub max_clients: usize,
    /// The time the buckets refill by; only its monotonic side ([`footfall_core::Clock::monotonic_ms`]) is read.
    /// The system's by default; tests share a [`footfall_core::ManualClock`] to refill without sleeping.
    pub clock: Arc<dyn footfall_core::Clock>,
}

impl RateLimit {
    /// Requests a second and burst, tracking up to [`DEFAULT_RATE_LIMIT_CLIENTS`] clients on the system clock.
    pub fn new(per_second: f64, burst: u32) -> RateLimit {
        RateLimit {
            per_second,
            burst,
            max_clients: DEFAULT_RATE_LIMIT_CLIENTS,
            clock: Arc::new(footfall_core::SystemClock::default()),
        }
    }

    /// The burst when only a rate is given (`footfall collector serve --rate-limit-per-key N`): ten seconds'
    /// worth of requests, between 1 and [`RateLimit::MAX_BURST`].
    pub fn default_burst(per_second: f64) -> u32 {
        let burst = (per_second * 10.0).ceil();
        if burst.is_nan() {
            return 1;
        }
        burst.clamp(1.0, f64::from(RateLimit::MAX_BURST)) as u32
    }

    /// The largest burst the collector accepts.
    pub const MAX_BURST: u32 = 1_000_000;
    /// The slowest rate the collector accepts: one request an hour.
    pub const MIN_PER_SECOND: f64 = 1.0 / 3600.0;
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("per_second", &self.per_second)
            .field("burst", &self.burst)
            .field("max_clients", &self.max_clients)
            .finish_non_exhaustive()
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
