//! A scripted in-memory server behind the `HttpTransport` port: it decodes what the SDK sends exactly as a
//! backend would, records it, and answers with whatever the test's rule says.

#![allow(dead_code)]

use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use footfall_core::{
    Config, FlushPolicy, Footfall, HttpRequest, HttpResponse, HttpTransport, ManualClock, SeededRandom, TransportError,
};
use serde_json::Value;

pub type Rule = Box<dyn Fn(&Value, usize) -> Result<HttpResponse, TransportError> + Send + Sync>;

/// One request as the server saw it: headers, decoded body, and the status it answered (None: no answer).
pub struct Seen {
    pub request: HttpRequest,
    pub body: Value,
    pub status: Option<u16>,
}

pub struct FakeServer {
    rule: Mutex<Rule>,
    pub seen: Mutex<Vec<Seen>>,
    notify: Mutex<Option<mpsc::Sender<()>>>,
}

impl FakeServer {
    /// `rule(body, request_index)` decides the answer.
    pub fn new(
        rule: impl Fn(&Value, usize) -> Result<HttpResponse, TransportError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(FakeServer {
            rule: Mutex::new(Box::new(rule)),
            seen: Mutex::new(Vec::new()),
            notify: Mutex::new(None),
        })
    }

    pub fn accepting() -> Arc<Self> {
        Self::new(|_, _| ok(200, "{}"))
    }

    pub fn set_rule(
        &self,
        rule: impl Fn(&Value, usize) -> Result<HttpResponse, TransportError> + Send + Sync + 'static,
    ) {
        *self.rule.lock().unwrap() = Box::new(rule);
    }

    /// A channel that receives one message per request, for waiting on background uploads without sleeping.
    pub fn on_request(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *self.notify.lock().unwrap() = Some(tx);
        rx
    }

    pub fn request_count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.seen.lock().unwrap().iter().map(|s| s.body.clone()).collect()
    }

    /// Every message of every batch answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.status.is_some_and(|st| (200..300).contains(&st)))
            .flat_map(|s| s.body["batch"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    pub fn delivered_names(&self) -> Vec<String> {
        self.delivered().iter().map(|m| m["event"].as_str().unwrap_or("").to_string()).collect()
    }
}

#[async_trait::async_trait]
impl HttpTransport for FakeServer {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        assert_eq!(request.method, "POST");
        let body: Value = serde_json::from_slice(&gunzip(&request.body)).expect("the SDK sends gzip JSON");
        let index = self.request_count();
        let answer = (self.rule.lock().unwrap())(&body, index);
        let status = answer.as_ref().ok().map(|r| r.status);
        self.seen.lock().unwrap().push(Seen { request, body, status });
        if let Some(tx) = self.notify.lock().unwrap().as_ref() {
            let _ = tx.send(());
        }
        answer
    }
}

pub fn ok(status: u16, body: &str) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse { status, headers: vec![], body: body.as_bytes().to_vec() })
}

pub fn with_header(status: u16, name: &str, value: &str) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse { status, headers: vec![(name.into(), value.into())], body: vec![] })
}

pub fn names(batch: &Value) -> Vec<String> {
    batch["batch"].as_array().unwrap().iter().map(|m| m["event"].as_str().unwrap_or("").to_string()).collect()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

pub fn manual_config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir).with_endpoint("https://collector.test").with_api_key("key-1");
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    // These suites test the queue and sync mechanics with the default `analytics` purpose; consent gating and
    // the policy fetch (both on by default) have their own suites, which turn them back on.
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    config
}

/// Local-only (no endpoint), for the queue mechanics; consent off for the same reason as in `manual_config`.
pub fn local_config(dir: impl AsRef<std::path::Path>) -> Config {
    let mut config = Config::new(dir.as_ref());
    config.enforce_consent = false;
    config
}

pub fn open(dir: &std::path::Path, server: &Arc<FakeServer>, clock: &Arc<ManualClock>) -> Footfall {
    open_with(manual_config(dir), server, clock)
}

pub fn open_with(config: Config, server: &Arc<FakeServer>, clock: &Arc<ManualClock>) -> Footfall {
    Footfall::builder(config)
        .transport(server.clone())
        .clock(clock.clone())
        .random(SeededRandom::new(42))
        .open()
        .unwrap()
}

pub const T0: i64 = 1_795_000_000_000;

/// The TC strings of `tests/tcf-vectors/vectors.json` (encoded and decoded by the IAB's `@iabtcf/core`), each
/// with its name, the segments and the library's own decoding.
pub fn tcf_vectors() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tcf-vectors/vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    file["vectors"].as_array().unwrap().clone()
}

/// The TC string of the vector called `name`.
pub fn tcf_string(name: &str) -> String {
    let vector = tcf_vectors().into_iter().find(|v| v["name"] == name).unwrap_or_else(|| panic!("no vector {name}"));
    vector["tc_string"].as_str().unwrap().to_string()
}

pub fn wait_for(rx: &mpsc::Receiver<()>, what: &str) {
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}
