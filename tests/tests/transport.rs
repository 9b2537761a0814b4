//! The built-in transport as a server sees it: credentials only from the API key, one `Authorization` header,
//! and certificate failures told apart from network blips — the lane pauses with `certificate_invalid` and a
//! reason in plain words instead of retrying every few seconds.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use footfall_collector::{Collector, TlsConfig};
use footfall_core::sync::reqwest_transport::ReqwestTransport;
use footfall_core::sync::LaneCondition;
use footfall_core::{Config, Error, Event, FlushOutcome, FlushPolicy, Footfall, HttpRequest, HttpTransport};
use footfall_tests::collector_in;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

#[test]
fn credentials_in_the_endpoint_are_refused_at_start_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    for endpoint in ["http://user:pw@127.0.0.1:9", "https://writekey@collect.example.com"] {
        let err = Footfall::open(Config::new(dir.path()).with_endpoint(endpoint).with_api_key("k")).err().unwrap();
        let message = err.to_string();
        assert!(matches!(err, Error::Config(_)) && message.contains("carries credentials"), "{message}");
        assert!(!message.contains("pw@") && !message.contains("writekey"), "{message}");
    }
}

/// Sends one request through the built-in transport to a raw socket and returns the request head it wrote.
fn request_head(headers: Vec<(String, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/batch", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        socket.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").unwrap();
        String::from_utf8(head).unwrap()
    });
    let transport = ReqwestTransport::new(&[], None).unwrap();
    let request =
        HttpRequest { method: "POST".into(), url, headers, body: Vec::new(), timeout: Duration::from_secs(10) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let response = runtime.block_on(transport.send(request)).unwrap();
    assert_eq!(response.status, 204);
    server.join().unwrap()
}

#[test]
fn the_transport_sets_headers_and_never_sends_two_authorizations() {
    let head = request_head(vec![
        ("Authorization".into(), "Basic Zmlyc3Q6".into()),
        ("X-Footfall-Protocol".into(), "1".into()),
        ("authorization".into(), "Basic azo=".into()),
    ]);
    let auth: Vec<&str> = head.lines().filter(|l| l.to_ascii_lowercase().starts_with("authorization:")).collect();
    assert_eq!(auth, ["authorization: Basic azo="], "{head}");
}

struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn pki() -> Pki {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "Footfall TLS test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_pem = params.self_signed(&key).unwrap().pem();
    Pki { ca_pem, issuer: Issuer::new(params, key) }
}

/// A leaf for `names`, adjusted by `defect`, served with the CA in its chain.
fn leaf(pki: &Pki, names: &[&str], defect: impl FnOnce(&mut CertificateParams)) -> TlsConfig {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    defect(&mut params);
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    TlsConfig { cert_pem: format!("{}{}", cert.pem(), pki.ca_pem), key_pem: key.serialize_pem() }
}

fn collector(dir: &std::path::Path, tls: TlsConfig) -> Collector {
    collector_in(dir, |c| c.tls = Some(tls))
}

fn sdk(dir: &std::path::Path, endpoint: String, roots: Vec<String>) -> Footfall {
    let mut config = Config::new(dir.join("app")).with_endpoint(endpoint);
    config.flush = FlushPolicy { automatic: false, ..FlushPolicy::default() };
    config.enforce_consent = false;
    config.consent_refresh_interval = None;
    config.extra_root_certs_pem = roots;
    Footfall::open(config).unwrap()
}

/// Tracks 3 events, flushes once, and returns the pause reason after checking that nothing was lost.
fn refused_with(dir: &std::path::Path, c: &Collector, roots: Vec<String>) -> String {
    let sdk = sdk(dir, c.base_url(), roots);
    for _ in 0..3 {
        sdk.track(Event::new("viewed")).unwrap();
    }
    let report = sdk.flush().unwrap();
    let FlushOutcome::Paused { reason } = report.outcome else { panic!("a refused certificate pauses: {report:?}") };
    let status = sdk.status().unwrap();
    assert_eq!(status.event_lane.state, LaneCondition::CertificateInvalid, "{status:?}");
    assert!(status.event_lane.until.is_some(), "background uploads wait long: {status:?}");
    assert_eq!((status.pending, c.stats().unwrap().events), (3, 0), "kept on the device, nothing stored");
    reason
}

#[test]
fn an_unknown_issuer_pauses_the_lane_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let c = collector(dir.path(), leaf(&pki, &["localhost", "127.0.0.1"], |_| {}));
    let reason = refused_with(dir.path(), &c, Vec::new());
    assert!(reason.contains("certificate") && reason.contains("unknown issuer"), "{reason}");

    // The same queue goes through once the app trusts the CA: nothing was lost while paused.
    let trusted = sdk(dir.path(), c.base_url(), vec![pki.ca_pem.clone()]);
    assert_eq!(trusted.flush().unwrap().delivered, 3);
    assert_eq!(trusted.status().unwrap().event_lane.state, LaneCondition::Ok);
}

#[test]
fn a_name_mismatch_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let c = collector(dir.path(), leaf(&pki, &["shop.example"], |_| {}));
    let reason = refused_with(dir.path(), &c, vec![pki.ca_pem.clone()]);
    assert!(reason.contains("name mismatch"), "{reason}");
}

#[test]
fn an_expired_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let c = collector(
        dir.path(),
        leaf(&pki, &["localhost", "127.0.0.1"], |p| {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }),
    );
    let reason = refused_with(dir.path(), &c, vec![pki.ca_pem.clone()]);
    assert!(reason.contains("expired"), "{reason}");
}

#[test]
fn a_ca_certificate_served_as_the_leaf_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "a CA serving itself");
    let ca_pem = params.self_signed(&key).unwrap().pem();
    let c = collector(dir.path(), TlsConfig { cert_pem: ca_pem.clone(), key_pem: key.serialize_pem() });
    let reason = refused_with(dir.path(), &c, vec![ca_pem]);
    assert!(reason.contains("CA certificate used as the server's own certificate"), "{reason}");
}
