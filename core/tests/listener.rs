//! The SDK listener: what each upload pass tells the app, when it is told (before an explicit flush returns, after
//! a background pass), and that a listener that panics or blocks cannot break the SDK.

mod support;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use footfall_core::{Event, FlushOutcome, Footfall, ManualClock, SdkEvent, SeededRandom};
use serde_json::json;
use support::*;

/// Records every event with the name of the thread it arrived on.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(SdkEvent, String)>>,
}

impl Recorder {
    fn events(&self) -> Vec<SdkEvent> {
        self.seen.lock().unwrap().iter().map(|(e, _)| e.clone()).collect()
    }

    fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl footfall_core::SdkListener for Recorder {
    fn on_event(&self, event: &SdkEvent) {
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.seen.lock().unwrap().push((event.clone(), thread));
    }
}

fn open_listening(
    dir: &std::path::Path,
    server: &Arc<FakeServer>,
    listener: Arc<dyn footfall_core::SdkListener>,
) -> Footfall {
    Footfall::builder(manual_config(dir))
        .transport(server.clone())
        .clock(ManualClock::new(T0))
        .random(SeededRandom::new(7))
        .listener(listener)
        .open()
        .unwrap()
}

fn track_n(sdk: &Footfall, prefix: &str, n: usize) {
    for i in 0..n {
        sdk.track(Event::new(format!("{prefix}{i}")).properties(json!({ "i": i }))).unwrap();
    }
}

#[test]
fn a_delivered_pass_is_told_before_the_flush_returns_on_the_sync_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let recorder = Arc::new(Recorder::default());
    let sdk = open_listening(dir.path(), &server, recorder.clone());
    track_n(&sdk, "e", 150);
    let report = sdk.flush().unwrap();
    assert_eq!(report.delivered, 150);
    // Two batches, one event with the pass's total.
    assert_eq!(recorder.events(), vec![SdkEvent::Delivered { count: 150, duplicates: 0 }]);
    let threads: Vec<String> = recorder.seen.lock().unwrap().iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(threads, vec!["footfall-sync".to_string()]);

    recorder.clear();
    assert_eq!(sdk.flush().unwrap().outcome, FlushOutcome::Drained);
    assert!(recorder.events().is_empty(), "a pass that sent nothing tells nothing: {:?}", recorder.events());
}

#[test]
fn poison_messages_are_told_as_dead_letters_with_status_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|body, _| {
        if names(body).iter().any(|n| n.starts_with("poison")) {
            ok(400, r#"{"error":{"code":"invalid_event","message":"poison is rejected"}}"#)
        } else {
            ok(200, "{}")
        }
    });
    let recorder = Arc::new(Recorder::default());
    let sdk = open_listening(dir.path(), &server, recorder.clone());
    track_n(&sdk, "good", 6);
    track_n(&sdk, "poison", 2);
    track_n(&sdk, "fine", 4);
    let report = sdk.flush().unwrap();
    assert_eq!((report.delivered, report.dead_lettered), (10, 2));
    assert_eq!(
        recorder.events(),
        vec![
            SdkEvent::Delivered { count: 10, duplicates: 0 },
            SdkEvent::DeadLettered { count: 2, status: Some(400), reason: "HTTP 400: poison is rejected".into() },
        ]
    );
}

#[test]
fn transient_failures_are_told_as_retries_and_auth_failures_as_a_pause() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| ok(503, ""));
    let recorder = Arc::new(Recorder::default());
    let sdk = open_listening(dir.path(), &server, recorder.clone());
    track_n(&sdk, "e", 3);
    let report = sdk.flush().unwrap();
    let FlushOutcome::RetryLater { after, .. } = report.outcome else { panic!("{report:?}") };
    assert_eq!(recorder.events(), vec![SdkEvent::RetryScheduled { after, reason: "HTTP 503".into() }]);

    recorder.clear();
    server.set_rule(|_, _| ok(401, r#"{"error":{"code":"unauthorized","message":"bad key"}}"#));
    sdk.flush().unwrap();
    assert_eq!(recorder.events(), vec![SdkEvent::Paused { reason: "HTTP 401: bad key".into() }]);

    recorder.clear();
    server.set_rule(|_, _| ok(200, r#"{"accepted":2,"duplicates":1}"#));
    sdk.flush().unwrap();
    assert_eq!(recorder.events(), vec![SdkEvent::Delivered { count: 3, duplicates: 1 }]);
}

#[test]
fn a_flush_held_back_by_retry_after_tells_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new(|_, _| with_header(429, "Retry-After", "30"));
    let recorder = Arc::new(Recorder::default());
    let sdk = open_listening(dir.path(), &server, recorder.clone());
    track_n(&sdk, "e", 1);
    sdk.flush().unwrap();
    assert_eq!(recorder.events().len(), 1);
    let report = sdk.flush().unwrap();
    assert!(matches!(report.outcome, FlushOutcome::Held { .. }), "{report:?}");
    assert_eq!(recorder.events().len(), 1, "no attempt, no event: {:?}", recorder.events());
}

#[test]
fn background_passes_are_told_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let mut config = manual_config(dir.path());
    config.flush.automatic = true;
    config.flush.count_threshold = 5;
    config.flush.on_start = false;
    config.flush.interval = Duration::from_secs(3600);
    let sdk = Footfall::builder(config)
        .transport(server.clone())
        .clock(ManualClock::new(T0))
        .listener(Arc::new(move |event: &SdkEvent| {
            let _ = tx.lock().unwrap().send(event.clone());
        }))
        .open()
        .unwrap();
    track_n(&sdk, "e", 5);
    let event = rx.recv_timeout(Duration::from_secs(20)).expect("the background pass was told");
    assert_eq!(event, SdkEvent::Delivered { count: 5, duplicates: 0 });
}

#[test]
fn a_panicking_listener_breaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let sdk = open_listening(
        dir.path(),
        &server,
        Arc::new(move |_: &SdkEvent| {
            *counted.lock().unwrap() += 1;
            panic!("listener bug");
        }),
    );
    for round in 1..=3 {
        track_n(&sdk, "e", 2);
        assert_eq!(sdk.flush().unwrap().delivered, 2, "round {round}");
    }
    assert_eq!(*calls.lock().unwrap(), 3, "the listener keeps being called after panicking");
    assert_eq!(sdk.status().unwrap().delivered, 6);
    sdk.close();
}

#[test]
fn a_blocked_listener_does_not_block_tracking() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let entered_tx = Mutex::new(entered_tx);
    let sdk = Arc::new(open_listening(
        dir.path(),
        &server,
        Arc::new(move |_: &SdkEvent| {
            let _ = entered_tx.lock().unwrap().send(());
            let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(20));
        }),
    ));
    track_n(&sdk, "first", 1);
    let flushing = {
        let sdk = sdk.clone();
        std::thread::spawn(move || sdk.flush())
    };
    entered_rx.recv_timeout(Duration::from_secs(20)).expect("the listener was called");
    // The sync thread is stuck in the listener; tracking and durability go on.
    track_n(&sdk, "second", 20);
    sdk.flush_to_disk().unwrap();
    assert_eq!(sdk.status().unwrap().pending, 20);
    release_tx.send(()).unwrap();
    assert_eq!(flushing.join().unwrap().unwrap().delivered, 1);
    let _ = release_tx.send(());
    assert_eq!(sdk.flush().unwrap().delivered, 20);
}

/// Closes the SDK from inside the listener, on the SDK's own sync thread, as an app's callback might.
struct ClosesOnDelivery {
    sdk: std::sync::OnceLock<Arc<Footfall>>,
    closed: Mutex<Option<mpsc::Sender<String>>>,
}

impl footfall_core::SdkListener for ClosesOnDelivery {
    fn on_event(&self, event: &SdkEvent) {
        if let (SdkEvent::Delivered { .. }, Some(sdk)) = (event, self.sdk.get()) {
            sdk.close();
            let thread = std::thread::current().name().unwrap_or("").to_string();
            if let Some(tx) = self.closed.lock().unwrap().take() {
                let _ = tx.send(thread);
            }
        }
    }
}

#[test]
fn closing_from_a_callback_on_the_sdks_own_thread_neither_panics_nor_deadlocks() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::accepting();
    let (tx, rx) = mpsc::channel();
    let listener = Arc::new(ClosesOnDelivery { sdk: std::sync::OnceLock::new(), closed: Mutex::new(Some(tx)) });
    let sdk = Arc::new(open_listening(dir.path(), &server, listener.clone()));
    let _ = listener.sdk.set(sdk.clone());
    track_n(&sdk, "e", 2);
    let _ = sdk.flush();
    let thread = rx.recv_timeout(Duration::from_secs(20)).expect("the listener closed the SDK and returned");
    assert_eq!(thread, "footfall-sync");
    assert!(matches!(sdk.track(Event::new("after")), Err(footfall_core::Error::Closed)));
    sdk.close();
}
