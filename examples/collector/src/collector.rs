//! The running server handle: owns a tokio runtime on background threads so callers need no runtime of their own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::config::{CollectorConfig, Endpoint, FaultConfig, ScriptedFault};
use crate::console::state::Console;
use crate::error::CollectorError;
use crate::faults::Faults;
use crate::rate_limit::RateLimiter;
use crate::server::{accept_loop, Shared};
use crate::store::{Stats, Store, StoredConsentRecord, StoredDeletionRequest, StoredEvent};
use crate::timefmt::unix_now_secs;
use crate::wallet::issuer::WalletIssuer;

/// A collector serving on a bound socket until [`Collector::shutdown`] or drop.
pub struct Collector {
    addr: SocketAddr,
    https: bool,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    /// Disconnects when the accept loop ends (runtime shut down); `wait` blocks on it.
    stopped: Mutex<mpsc::Receiver<()>>,
}

impl Collector {
    /// Opens the database and binds the socket before returning, so `addr()` is immediately connectable.
    pub fn start(config: CollectorConfig) -> Result<Collector, CollectorError> {
        let secure_cookies = config.tls.is_some() || !config.listen.ip().is_loopback();
        let rate_limiter =
            config.rate_limit.as_ref().map(RateLimiter::new).transpose().map_err(CollectorError::RateLimit)?;
        let (store, wallet, console) = outside_runtime(|| open_storage(&config, secure_cookies))?;
        let acceptor = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|source| CollectorError::Bind { addr: config.listen, source })?;
        let bind_err = |source| CollectorError::Bind { addr: config.listen, source };
        listener.set_nonblocking(true).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;

        // Two workers: enough for tests with a slow (Delay) request in flight, small on a 2-core machine.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("footfall-collector")
            .enable_all()
            .build()
            .map_err(CollectorError::Runtime)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind_err)?
        };
        let shared = Arc::new(Shared {
            api_key: config.api_key,
            max_body_bytes: config.max_body_bytes,
            body_timeout: config.body_timeout,
            reject_event_names: config.reject_event_names,
            config_path: config.config_path,
            rate_limiter,
            faults: Faults::new(config.faults),
            requests: Default::default(),
            store,
            wallet,
            clock_offset_secs: AtomicI64::new(0),
            console,
        });
        let (running, stopped) = mpsc::channel();
        let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
        runtime.spawn(accept_loop(listener, acceptor, connections, shared.clone(), running));
        Ok(Collector {
            addr,
            https: config.tls.is_some(),
            shared,
            runtime: Some(runtime),
            stopped: Mutex::new(stopped),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://`); a wildcard listen address is reported as loopback so the URL
    /// is one a local client can use.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Replaces the standing fault knobs (and reseeds the failure rolls with `faults.seed`).
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.faults.set(faults);
    }

    /// Appends one-shot faults for the next batch requests.
    pub fn script(&self, faults: Vec<ScriptedFault>) {
        self.script_for(Endpoint::Batch, faults);
    }

    /// Appends one-shot faults for the next requests to `endpoint` (each endpoint has its own queue).
    pub fn script_for(&self, endpoint: Endpoint, faults: Vec<ScriptedFault>) {
        self.shared.faults.script(endpoint, faults);
    }

    /// Moves the wallet's clock (feed expiry, redemption checks, `Date`) this far from the system clock, so tests
    /// can let coupons expire without waiting.
    pub fn set_clock_offset_secs(&self, secs: i64) {
        self.shared.clock_offset_secs.store(secs, Ordering::SeqCst);
    }

    /// The public key set devices pin and tills load (`{"version":1,"keys":[…]}`), when started with an issuer key.
    pub fn wallet_keyset_json(&self) -> Option<String> {
        self.shared.wallet.as_ref().map(|w| w.keys().to_json())
    }

    pub fn stats(&self) -> Result<Stats, CollectorError> {
        outside_runtime(|| self.shared.store.stats())
    }

    /// Every stored event, in received order.
    pub fn events(&self) -> Result<Vec<StoredEvent>, CollectorError> {
        outside_runtime(|| self.shared.store.events())
    }

    /// Every stored consent record, in received order.
    pub fn consent_records(&self) -> Result<Vec<StoredConsentRecord>, CollectorError> {
        outside_runtime(|| self.shared.store.consent_records())
    }

    /// Every stored deletion request, in received order.
    pub fn deletion_requests(&self) -> Result<Vec<StoredDeletionRequest>, CollectorError> {
        outside_runtime(|| self.shared.store.deletion_requests())
    }

    /// Batch requests received, whatever their outcome (401s, 429s, injected faults and dropped connections
    /// included).
    pub fn requests(&self) -> u64 {
        self.requests_to(Endpoint::Batch)
    }

    /// Requests to `endpoint` received, whatever their outcome (as [`Collector::requests`] counts batches).
    pub fn requests_to(&self, endpoint: Endpoint) -> u64 {
        self.shared.requests[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Clients the rate limiter tracks now (at most [`crate::RateLimit::max_clients`]); 0 without a rate limit.
    pub fn rate_limited_clients(&self) -> usize {
        self.shared.rate_limiter.as_ref().map_or(0, RateLimiter::tracked)
    }

    /// Stops serving: open connections and delayed responses are dropped, the socket is closed.
    pub fn shutdown(self) {
        // Drop does the work.
    }

    /// Blocks the calling thread while the collector serves, i.e. until the process is killed
    /// (`footfall collector serve`).
    pub fn wait(self) {
        let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        // Returns only when the accept loop's sender is dropped.
        let _ = stopped.recv();
    }
}

type Storage = (Arc<Store>, Option<Arc<WalletIssuer>>, Option<Arc<Console>>);

/// The database (migrated), the wallet issuer and the console, whichever the configuration asks for.
fn open_storage(config: &CollectorConfig, secure_cookies: bool) -> Result<Storage, CollectorError> {
    let store = Arc::new(Store::open(&config.database)?);
    let wallet = match &config.issuer_key {
        None => None,
        Some(key) => {
            Some(Arc::new(WalletIssuer::start(key, config.keyset_rotation.as_deref(), &store, unix_now_secs())?))
        }
    };
    let console = match &config.console {
        None => None,
        Some(admin) => Some(Arc::new(Console::start(
            admin.clone(),
            config.api_key.as_deref(),
            config.config_path.as_deref(),
            &store,
            secure_cookies,
        )?)),
    };
    Ok((store, wallet, console))
}

/// Runs blocking storage work from a caller that may be inside an async runtime (a test, an app): the
/// PostgreSQL client blocks on a runtime of its own, which tokio refuses on a thread already running one.
fn outside_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Inside another runtime a blocking shutdown would panic; there, let the threads wind down alone.
            if tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").field("base_url", &self.base_url()).field("requests", &self.requests()).finish()
    }
}
