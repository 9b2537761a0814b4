//! A deliberately tiny HTTP/1.1 client over std sockets (plain or rustls), so the tests see exactly what the
//! wire carries: status, headers, body, or a transport error.

#![allow(dead_code)]

pub mod console;
pub mod database;
pub mod wallet;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use footfall_collector::Collector;
use serde_json::{json, Value};

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One keep-alive connection.
pub struct Conn {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
}

impl Conn {
    pub fn plain(c: &Collector) -> Conn {
        Conn::to(c.addr())
    }

    /// A plain connection to any address.
    pub fn to(addr: std::net::SocketAddr) -> Conn {
        Conn { stream: Box::new(tcp_to(addr)), buf: Vec::new() }
    }

    /// A plain connection to `addr` from the local address `source` (any of 127.0.0.0/8 on Linux), so a test can
    /// be several clients.
    pub fn from_source(addr: std::net::SocketAddr, source: std::net::IpAddr) -> Conn {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let stream = runtime.block_on(async {
            let socket =
                if source.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }
                    .unwrap();
            socket.bind(std::net::SocketAddr::new(source, 0)).unwrap();
            socket.connect(addr).await.unwrap()
        });
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Conn { stream: Box::new(stream), buf: Vec::new() }
    }

    pub fn tls(c: &Collector, ca_pem: &str) -> Conn {
        use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let session = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        Conn { stream: Box::new(rustls::StreamOwned::new(session, tcp(c))), buf: Vec::new() }
    }

    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<Resp> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes)?;
        self.stream.flush()?;
        self.read_response(method == "HEAD")
    }

    /// `send` to another path, as JSON.
    pub fn post_to(&mut self, path: &str, body: &Value) -> io::Result<Resp> {
        self.send("POST", path, &[("Content-Type", "application/json")], body.to_string().as_bytes())
    }

    pub fn post_json(&mut self, body: &Value) -> io::Result<Resp> {
        self.send("POST", "/v1/batch", &[("Content-Type", "application/json")], body.to_string().as_bytes())
    }

    fn read_response(&mut self, head_only: bool) -> io::Result<Resp> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill()?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        self.buf.drain(..head_end + 4);
        // 1xx, 204 and 304 never have a body, nor does an answer to HEAD (RFC 9112 §6.3).
        if head_only || status / 100 == 1 || status == 204 || status == 304 {
            return Ok(Resp { status, headers, body: Vec::new() });
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| bad("no content-length"))?;
        while self.buf.len() < len {
            self.fill()?;
        }
        let body = self.buf.drain(..len).collect();
        Ok(Resp { status, headers, body })
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a complete response"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn tcp(c: &Collector) -> TcpStream {
    tcp_to(c.addr())
}

fn tcp_to(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    // A bound on every read so a server bug fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("malformed response: {what}"))
}

/// A UUID-shaped id that differs by `n`.
pub fn id(n: u32) -> String {
    format!("01936f2e-8c1a-7cc4-9a53-{n:012x}")
}

pub fn track(n: u32, name: &str) -> Value {
    json!({
        "type": "track", "messageId": id(n), "timestamp": "2026-11-22T10:15:30.123Z",
        "anonymousId": "anon-1", "event": name, "properties": {"n": n},
        "context": {"library": {"name": "footfall", "version": "0.1.0"}, "footfall": {"purpose": "analytics", "seq": n, "sessionId": "sess-1"}}
    })
}

pub fn batch(messages: Vec<Value>) -> Value {
    json!({"batch": messages, "sentAt": "2026-11-22T10:20:00.000Z"})
}

/// One request on a fresh connection.
pub fn post(c: &Collector, body: &Value) -> Resp {
    Conn::plain(c).post_json(body).expect("a response")
}

/// One JSON POST to `path` on a fresh connection.
pub fn post_to(c: &Collector, path: &str, body: &Value) -> Resp {
    Conn::plain(c).post_to(path, body).expect("a response")
}

/// One GET on a fresh connection.
pub fn get(c: &Collector, path: &str, headers: &[(&str, &str)]) -> Resp {
    Conn::plain(c).send("GET", path, headers, b"").expect("a response")
}

/// An SDK transport that forwards requests over a plain socket with this client, so the SDK talks to the
/// collector in the same process.
pub struct Wire {
    pub addr: std::net::SocketAddr,
}

#[async_trait::async_trait]
impl footfall_core::HttpTransport for Wire {
    async fn send(
        &self,
        request: footfall_core::HttpRequest,
    ) -> Result<footfall_core::HttpResponse, footfall_core::TransportError> {
        let path = request.url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_else(|| "/".into());
        let headers: Vec<(&str, &str)> = request.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Blocking inside the SDK's sync thread is fine for a test: one request at a time.
        let resp = Conn::to(self.addr)
            .send(&request.method, &path, &headers, &request.body)
            .map_err(|e| footfall_core::TransportError::Io(e.to_string()))?;
        Ok(footfall_core::HttpResponse { status: resp.status, headers: resp.headers, body: resp.body })
    }
}
