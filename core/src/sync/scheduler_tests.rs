//! The sync loop on tokio's paused clock: time jumps straight to the next armed timer whenever the loop is idle, so a
//! simulated day takes no time, and a timer armed with nothing to do shows up as a wake-up. The SDK's injected
//! clock follows the same paused time, so the lanes' backoff runs on it too. Real SQLite in a temporary directory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::SyncLoop;
use crate::clock::{Clock, SeededRandom};
use crate::config::{ConsentSource, FlushPolicy, RetryPolicy, StorageLimits};
use crate::consent::changes::ConsentChanges;
use crate::consent::view::ConsentView;
use crate::event::{MessageKind, PendingMessage};
use crate::storage::{Identity, Storage};
use crate::sync::request::RequestContext;
use crate::sync::uploader::UploaderSetup;
use crate::sync::{Endpoint, HttpRequest, HttpResponse, HttpTransport, TransportError};
use crate::writer::{Handoff, StorageCell};

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

/// The injected clock, reading tokio's (paused) time.
struct PausedClock {
    origin: tokio::time::Instant,
}

impl Clock for PausedClock {
    fn now_ms(&self) -> i64 {
        1_800_000_000_000 + self.monotonic_ms() as i64
    }
    fn monotonic_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }
}

/// Answers event uploads with the scripted statuses (then 200), everything else with 200; remembers when each
/// request came, on the injected clock.
struct Server {
    clock: Arc<PausedClock>,
    statuses: Mutex<Vec<u16>>,
    requests: Mutex<Vec<(String, u64)>>,
}

#[async_trait::async_trait]
impl HttpTransport for Server {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.lock().unwrap().push((request.url.clone(), self.clock.monotonic_ms()));
        let mut statuses = self.statuses.lock().unwrap();
        let status = if request.url.ends_with("/v1/batch") && !statuses.is_empty() { statuses.remove(0) } else { 200 };
        Ok(HttpResponse { status, headers: vec![], body: b"{}".to_vec() })
    }
}

impl Server {
    fn uploads(&self) -> Vec<u64> {
        self.requests.lock().unwrap().iter().filter(|(url, _)| url.ends_with("/v1/batch")).map(|(_, at)| *at).collect()
    }
}

struct Harness {
    storage: Arc<Storage>,
    server: Arc<Server>,
    woke: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
    /// The handle's ends: the senders live as long as the harness (a closed channel ends the loop).
    ends: super::LoopEnds,
    _handoff_rx: std::sync::mpsc::Receiver<crate::writer::handoff::Command>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Starts the loop over a real database holding `queued` events, uploads automatic, no start-up upload (the
    /// interval has to do it), the policy refresh every `refresh` when set. Call inside a paused runtime.
    fn start(queued: usize, upload_statuses: Vec<u16>, refresh: Option<Duration>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(Storage::open(dir.path()).unwrap());
        for _ in 0..queued {
            append_one(&storage);
        }
        let clock = Arc::new(PausedClock { origin: tokio::time::Instant::now() });
        let server = Arc::new(Server {
            clock: clock.clone(),
            statuses: Mutex::new(upload_statuses),
            requests: Mutex::new(Vec::new()),
        });
        let cell = Arc::new(StorageCell::default());
        cell.ready(storage.clone());
        let (handoff, handoff_rx, _) = Handoff::new(16, 1 << 20);
        let handoff = Arc::new(handoff);
        let view = Arc::new(ConsentView::new(false));
        let consent_changes = Arc::new(ConsentChanges {
            handoff: handoff.clone(),
            view: view.clone(),
            clock: clock.clone(),
            app_version: String::new(),
            listener: None,
            source: ConsentSource::Footfall.into(),
            on_withdrawal: Default::default(),
        });
        let setup = UploaderSetup {
            request: RequestContext {
                endpoint: Endpoint::parse("https://collector.test").unwrap(),
                api_key: None,
                transport: server.clone(),
                clock,
                random: SeededRandom::new(7),
                retry: RetryPolicy::default(),
            },
            flush: FlushPolicy { on_start: false, ..FlushPolicy::default() },
            limits: StorageLimits::default(),
            listener: None,
            consent: view,
            config_refresh: refresh,
            consent_receipts: true,
            wallet: None,
            proximity: None,
        };
        let (sync_loop, ends) = SyncLoop::new(setup, cell, handoff, consent_changes);
        let woke = sync_loop.woke.clone();
        let task = tokio::spawn(sync_loop.run());
        Harness { storage, server, woke, task, ends, _handoff_rx: handoff_rx, _dir: dir }
    }

    fn woke(&self) -> u64 {
        self.woke.load(Ordering::Relaxed)
    }

    async fn stop(self) {
        let _ = self.ends.shutdown.send(true);
        self.task.await.unwrap();
    }
}

fn append_one(storage: &Storage) {
    let identity = Identity { anonymous_id: "anon".into(), user_id: None, session_id: "session".into() };
    let message = PendingMessage::new(
        uuid::Uuid::now_v7(),
        MessageKind::Track,
        "product_viewed",
        "{}",
        "analytics",
        1_800_000_000_000,
        None,
    );
    storage.append(&[(message, &identity)], &(identity.clone(), 1_800_000_000_000)).unwrap();
}

fn paused() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap()
}

#[test]
fn with_nothing_pending_a_day_passes_without_one_wake_up() {
    paused().block_on(async {
        let sync = Harness::start(0, vec![], None);
        tokio::time::sleep(DAY).await;
        // A periodic tick of any period under a day (the old 30 s interval: 2 880) would have woken the loop.
        assert_eq!(sync.woke(), 0);
        assert!(sync.server.requests.lock().unwrap().is_empty());
        sync.stop().await;
    });
}

#[test]
fn a_queued_event_arms_the_interval_and_a_failure_its_backoff_then_the_loop_sleeps_again() {
    paused().block_on(async {
        let sync = Harness::start(1, vec![503], None);
        tokio::time::sleep(DAY).await;
        let uploads = sync.server.uploads();
        assert_eq!(uploads.len(), 2, "the interval's attempt, then the retry: {uploads:?}");
        assert_eq!(uploads[0] / 1_000, 30, "the first attempt comes one interval (30 s) after start");
        let backoff = uploads[1] - uploads[0];
        assert!(backoff <= RetryPolicy::default().base.as_millis() as u64, "the first backoff is at most the base");
        assert!(!sync.storage.has_queued().unwrap(), "the retry delivered the event");
        // The interval and the retry, and nothing for the rest of the day.
        assert_eq!(sync.woke(), 2);
        sync.stop().await;
    });
}

#[test]
fn a_commit_while_asleep_arms_the_interval() {
    paused().block_on(async {
        let sync = Harness::start(0, vec![], None);
        tokio::time::sleep(HOUR).await;
        assert_eq!(sync.woke(), 0);
        // What the writer does after a commit.
        append_one(&sync.storage);
        sync.ends.stored.notify_one();
        tokio::time::sleep(HOUR).await;
        let uploads = sync.server.uploads();
        assert_eq!(uploads.len(), 1);
        assert_eq!(uploads[0] / 1_000, 3_600 + 30, "one interval after the commit");
        // The commit's signal, then the interval.
        assert_eq!(sync.woke(), 2);
        sync.stop().await;
    });
}

#[test]
fn a_configured_policy_refresh_is_the_only_schedule_when_idle() {
    paused().block_on(async {
        let sync = Harness::start(0, vec![], Some(HOUR));
        tokio::time::sleep(DAY + Duration::from_secs(1)).await;
        assert_eq!(sync.woke(), 24);
        let requests = sync.server.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 25, "at start-up, then hourly");
        assert!(requests.iter().all(|(url, _)| url.ends_with("/v1/config")));
        sync.stop().await;
    });
}
