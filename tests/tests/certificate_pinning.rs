//! Certificate pinning in the built-in transport against the real collector over TLS on loopback: the right pin
//! lets uploads through, only wrong pins refuse the server before a single request reaches it (the lane pauses
//! with the pin error and the events stay queued), an expired pin set no longer pins, and a CA's pin works.

use std::sync::Arc;

use footfall_collector::{self_signed_for_localhost, Collector, Endpoint};
use footfall_core::sync::pinning::pins_of_pem;
use footfall_core::sync::reqwest_transport::ReqwestTransport;
use footfall_core::sync::{LaneCondition, PinSet};
use footfall_core::{Config, Error, Event, FlushOutcome, FlushPolicy, Footfall};
use footfall_tests::collector_in;

/// 2100-01-01T00:00:00Z: pins in force for the whole test.
const IN_FORCE: u64 = 4_102_444_800;
/// 2021-01-01T00:00:00Z: a pin set that has expired.
const EXPIRED: u64 = 1_609_459_200;
/// Valid pins of keys nobody here has.
const STRANGER: &str = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const OTHER_STRANGER: &str = "sha256///////////////////////////////////////////8=";

struct Server {
    collector: Collector,
    ca_pem: String,
    leaf_pin: String,
    ca_pin: String,
}

/// A collector serving a localhost certificate (leaf + its CA) signed by a fresh CA.
fn server(dir: &std::path::Path) -> Server {
    let (tls, ca_pem) = self_signed_for_localhost();
    let chain = pins_of_pem(&tls.cert_pem).unwrap();
    assert_eq!(chain.len(), 2, "leaf and CA");
    let (leaf_pin, ca_pin) = (chain[0].clone(), chain[1].clone());
    assert_eq!(pins_of_pem(&ca_pem).unwrap(), std::slice::from_ref(&ca_pin));
    let collector = collector_in(dir, |c| c.tls = Some(tls));
    Server { collector, ca_pem, leaf_pin, ca_pin }
}

fn config(dir: &std::path::Path, server: &Server, pins: PinSet) -> Config {
    let mut config =
        Config::new(dir.join("app")).with_endpoint(server.collector.base_url()).with_certificate_pins(pins);
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    config.extra_root_certs_pem = vec![server.ca_pem.clone()];
    config
}

fn sdk(dir: &std::path::Path, server: &Server, pins: PinSet) -> Footfall {
    Footfall::open(config(dir, server, pins)).unwrap()
}

fn pins(pins: &[&str], expires_at: u64) -> PinSet {
    PinSet::new(pins, expires_at).unwrap()
}

/// Every request the collector received, on any endpoint.
fn requests(c: &Collector) -> u64 {
    Endpoint::ALL.iter().map(|e| c.requests_to(*e)).sum()
}

fn track_three(sdk: &Footfall) {
    for _ in 0..3 {
        sdk.track(Event::new("viewed")).unwrap();
    }
}

#[test]
fn the_servers_leaf_pin_lets_uploads_through() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let sdk = sdk(dir.path(), &server, pins(&[STRANGER, &server.leaf_pin], IN_FORCE));
    track_three(&sdk);
    assert_eq!(sdk.flush().unwrap().delivered, 3);
    assert_eq!(server.collector.stats().unwrap().events, 3);
}

#[test]
fn only_wrong_pins_refuse_the_server_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let sdk = sdk(dir.path(), &server, pins(&[STRANGER, OTHER_STRANGER], IN_FORCE));
    track_three(&sdk);
    let report = sdk.flush().unwrap();
    let FlushOutcome::Paused { reason } = report.outcome else { panic!("a pin mismatch pauses: {report:?}") };
    assert!(reason.contains("certificate") && reason.contains("public key not pinned"), "{reason}");
    let status = sdk.status().unwrap();
    assert_eq!(status.event_lane.state, LaneCondition::CertificateInvalid, "{status:?}");
    assert!(status.event_lane.until.is_some(), "background uploads wait long: {status:?}");
    // The handshake failed: no request (so no body, no credentials) ever reached the server.
    assert_eq!(requests(&server.collector), 0);
    assert_eq!((status.pending, server.collector.stats().unwrap().events), (3, 0), "kept on the device");
    drop(sdk);

    // The same queue goes through once the app ships the server's pin: nothing was lost while refused.
    let fixed = self::sdk(dir.path(), &server, pins(&[OTHER_STRANGER, &server.leaf_pin], IN_FORCE));
    assert_eq!(fixed.flush().unwrap().delivered, 3);
    assert_eq!(fixed.status().unwrap().event_lane.state, LaneCondition::Ok);
}

#[test]
fn an_expired_pin_set_no_longer_pins() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let sdk = sdk(dir.path(), &server, pins(&[STRANGER, OTHER_STRANGER], EXPIRED));
    track_three(&sdk);
    assert_eq!(sdk.flush().unwrap().delivered, 3, "a stale app version keeps uploading");
}

#[test]
fn a_pin_of_the_ca_lets_uploads_through() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    assert_ne!(server.ca_pin, server.leaf_pin);
    let sdk = sdk(dir.path(), &server, pins(&[&server.ca_pin, STRANGER], IN_FORCE));
    track_three(&sdk);
    assert_eq!(sdk.flush().unwrap().delivered, 3);
}

#[test]
fn a_pinned_set_still_refuses_an_untrusted_server() {
    // Pins narrow trust, never widen it: the server's own pin does not make its unknown CA acceptable.
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut config = config(dir.path(), &server, pins(&[&server.leaf_pin, &server.ca_pin], IN_FORCE));
    config.extra_root_certs_pem.clear();
    let sdk = Footfall::open(config).unwrap();
    track_three(&sdk);
    let FlushOutcome::Paused { reason } = sdk.flush().unwrap().outcome else { panic!("refused") };
    assert!(reason.contains("unknown issuer"), "{reason}");
    assert_eq!(requests(&server.collector), 0);
}

#[test]
fn pins_with_the_apps_own_transport_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let config = config(dir.path(), &server, pins(&[STRANGER, &server.leaf_pin], IN_FORCE));
    // Any transport passed in is the app's own, even one built like the built-in one.
    let own = Arc::new(ReqwestTransport::new(std::slice::from_ref(&server.ca_pem), None).unwrap());
    let err = Footfall::builder(config).transport(own).open().err().expect("refused");
    assert!(matches!(&err, Error::Config(m) if m.contains("built-in HTTPS transport only")), "{err}");
}
