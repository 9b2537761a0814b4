//! The collector's base URL, checked once at start-up: HTTPS, or plain HTTP to a loopback address only.

use std::net::IpAddr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint> {
        let uri: http::Uri = url.trim().parse().map_err(|e| Error::Config(format!("endpoint '{url}' is not a URL: {e}")))?;
        let host = uri.host().ok_or_else(|| Error::Config(format!("endpoint '{url}' has no host")))?;
        if uri.query().is_some() {
            return Err(Error::Config(format!("endpoint '{url}' must not carry a query string")));
        }
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") => {
                let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
                if !ip.is_some_and(|ip| ip.is_loopback()) {
                    return Err(Error::Config(format!(
                        "endpoint '{url}' uses plain http to '{host}'; use https (plain http is allowed only to 127.0.0.0/8 or [::1])"
                    )));
                }
            }
            _ => return Err(Error::Config(format!("endpoint '{url}' must start with https://"))),
        }
        Ok(Endpoint { base: url.trim().trim_end_matches('/').to_string() })
    }

    /// The URL of a protocol path such as `/v1/batch`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        assert_eq!(Endpoint::parse("https://collect.example.com/").unwrap().url("/v1/batch"), "https://collect.example.com/v1/batch");
        assert_eq!(Endpoint::parse("https://x.example/prefix").unwrap().url("/v1/batch"), "https://x.example/prefix/v1/batch");
        assert!(Endpoint::parse("http://127.0.0.1:8080").is_ok());
        assert!(Endpoint::parse("http://127.9.9.9").is_ok());
        assert!(Endpoint::parse("http://[::1]:9000").is_ok());
        for bad in ["http://example.com", "http://10.0.0.1", "http://localhost:80", "ftp://x", "not a url", "https://x/?k=v"] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
        }
        let msg = Endpoint::parse("http://192.168.1.5").unwrap_err().to_string();
        assert!(msg.contains("use https"), "{msg}");
    }
}
