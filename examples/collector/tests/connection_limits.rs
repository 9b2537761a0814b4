//! The collector's own bounds on slow and on many clients: a body that does not arrive in time closes its
//! connection unanswered, and connections beyond the cap wait in the backlog until one closes.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::database::database;
use common::{batch, post, track, Conn};
use footfall_collector::{Collector, CollectorConfig};

fn start(dir: &tempfile::TempDir, adjust: impl FnOnce(&mut CollectorConfig)) -> Collector {
    let mut config = CollectorConfig::new("127.0.0.1:0".parse().unwrap(), database(dir.path()));
    adjust(&mut config);
    Collector::start(config).expect("collector starts")
}

fn connect(c: &Collector) -> TcpStream {
    let stream = TcpStream::connect(c.addr()).unwrap();
    // Only a bound so a broken collector fails the test instead of hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

fn batch_request(n: u32) -> Vec<u8> {
    let body = batch(vec![track(n, "product_viewed")]).to_string();
    let head = format!(
        "POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

#[test]
fn a_body_trickling_past_the_timeout_closes_its_connection_unanswered_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |config| config.body_timeout = Duration::from_millis(200));
    let mut slow = connect(&c);
    let request = batch_request(1);
    // The headers and the first bytes of the body; the rest never comes.
    slow.write_all(&request[..request.len() - 20]).unwrap();
    let mut answer = Vec::new();
    match slow.read_to_end(&mut answer) {
        Ok(_) => assert!(answer.is_empty(), "answered: {}", String::from_utf8_lossy(&answer)),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "the connection stayed open: {e}"),
    }
    // A client in time is served as ever; nothing of the trickled batch was stored.
    assert_eq!(post(&c, &batch(vec![track(2, "cart_viewed")])).status, 200);
    assert_eq!(c.stats().unwrap().events, 1);
}

#[test]
fn a_connection_beyond_the_cap_waits_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(&dir, |config| config.max_connections = 1);
    let mut first = Conn::plain(&c);
    assert_eq!(first.post_json(&batch(vec![track(1, "product_viewed")])).unwrap().status, 200);

    // The second client's request is in the backlog before the first client's next one is even sent; the first
    // is answered, the second is not: it has not been accepted.
    let mut second = connect(&c);
    second.write_all(&batch_request(2)).unwrap();
    assert_eq!(first.post_json(&batch(vec![track(3, "product_viewed")])).unwrap().status, 200);
    second.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(second.read(&mut byte).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock), "served beyond the cap");

    // The first client leaves: the second is accepted and answered.
    drop(first);
    second.set_nonblocking(false).unwrap();
    let mut answer = [0u8; 12];
    second.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert_eq!(c.stats().unwrap().events, 3);
}
