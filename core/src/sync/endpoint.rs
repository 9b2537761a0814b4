//! The collector's base URL, checked once at start-up: HTTPS, or plain HTTP to a loopback address only, and
//! never with credentials in it (the API key is the one way to authenticate, so exactly one `Authorization`
//! header is ever sent).

use std::net::IpAddr;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint> {
        // Messages show the URL with any user-info masked: a password must not reach a log.
        let shown = redact_userinfo(url.trim());
        let uri: http::Uri =
            url.trim().parse().map_err(|e| Error::Config(format!("endpoint '{shown}' is not a URL: {e}")))?;
        let host = uri.host().ok_or_else(|| Error::Config(format!("endpoint '{shown}' has no host")))?;
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(Error::Config(format!(
                "endpoint '{shown}' carries credentials (user:password@host); remove them and set the API key instead"
            )));
        }
        if uri.query().is_some() {
            return Err(Error::Config(format!("endpoint '{shown}' must not carry a query string")));
        }
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") => {
                let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
                if !ip.is_some_and(|ip| ip.is_loopback()) {
                    return Err(Error::Config(format!(
                        "endpoint '{shown}' uses plain http to '{host}'; use https (plain http is allowed only to 127.0.0.0/8 or [::1])"
                    )));
                }
            }
            _ => return Err(Error::Config(format!("endpoint '{shown}' must start with https://"))),
        }
        Ok(Endpoint { base: url.trim().trim_end_matches('/').to_string() })
    }

    /// The URL of a protocol path such as `/v1/batch`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// The URL with its user-info replaced, so an error message never repeats a password.
fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let authority_end = url[scheme_end..].find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        assert_eq!(
            Endpoint::parse("https://collect.example.com/").unwrap().url("/v1/batch"),
            "https://collect.example.com/v1/batch"
        );
        assert_eq!(
            Endpoint::parse("https://x.example/prefix").unwrap().url("/v1/batch"),
            "https://x.example/prefix/v1/batch"
        );
        assert!(Endpoint::parse("http://127.0.0.1:8080").is_ok());
        assert!(Endpoint::parse("http://127.9.9.9").is_ok());
        assert!(Endpoint::parse("http://[::1]:9000").is_ok());
        for bad in
            ["http://example.com", "http://10.0.0.1", "http://localhost:80", "ftp://x", "not a url", "https://x/?k=v"]
        {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
        }
        let msg = Endpoint::parse("http://192.168.1.5").unwrap_err().to_string();
        assert!(msg.contains("use https"), "{msg}");
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_repeating_them() {
        for bad in [
            "http://user:pw@127.0.0.1:8080",
            "https://user:secret@collect.example.com",
            "https://key@collect.example.com/p",
            "https://:pw@x.example",
        ] {
            let msg = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(msg.contains("carries credentials") && msg.contains("API key"), "{bad}: {msg}");
            assert!(!msg.contains("pw") && !msg.contains("secret") && !msg.contains("key@"), "{bad}: {msg}");
        }
        // An '@' in the path is not user-info.
        assert!(Endpoint::parse("https://collect.example.com/@team").is_ok());
        assert_eq!(redact_userinfo("https://u:p@h.example/x@y"), "https://***@h.example/x@y");
        assert_eq!(redact_userinfo("https://h.example/x@y"), "https://h.example/x@y");
    }
}
