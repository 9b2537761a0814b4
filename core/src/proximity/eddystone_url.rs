//! The Eddystone-URL encoding (Google's Eddystone specification, URL frame): one scheme-prefix byte, then the URL
//! with expansion codes 0x00–0x0D standing for `.com/` … `.gov`. Both ways, strict: a byte the specification
//! reserves (0x0E–0x20, 0x7F–0xFF) is an error, never passed through.

/// Scheme prefixes, by their byte.
const SCHEMES: [&str; 4] = ["http://www.", "https://www.", "http://", "https://"];
/// Expansion codes, by their byte.
const EXPANSIONS: [&str; 14] = [
    ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/", ".com", ".org", ".edu", ".net", ".info", ".biz",
    ".gov",
];
/// The encoded URL (after the scheme byte) is at most 17 bytes in a frame.
pub const MAX_ENCODED_LEN: usize = 17;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL scheme prefix 0x{0:02x} is not one of the four the specification defines")]
    UnknownScheme(u8),
    #[error("byte 0x{0:02x} is reserved in an Eddystone URL")]
    ReservedByte(u8),
    #[error("the URL needs {0} bytes after the scheme; a frame holds {MAX_ENCODED_LEN}")]
    TooLong(usize),
    #[error("the URL must start with http:// or https://")]
    NoScheme,
    #[error("character {0:?} cannot be carried in an Eddystone URL")]
    NotPrintable(char),
}

/// The URL an encoded scheme byte and body stand for.
pub fn decode(scheme: u8, body: &[u8]) -> Result<String, UrlError> {
    let mut url = SCHEMES.get(usize::from(scheme)).ok_or(UrlError::UnknownScheme(scheme))?.to_string();
    if body.len() > MAX_ENCODED_LEN {
        return Err(UrlError::TooLong(body.len()));
    }
    for &byte in body {
        match byte {
            0x00..=0x0d => url.push_str(EXPANSIONS[usize::from(byte)]),
            0x21..=0x7e => url.push(char::from(byte)),
            other => return Err(UrlError::ReservedByte(other)),
        }
    }
    Ok(url)
}

/// The shortest encoding of `url`: (scheme byte, body). Prefixes and expansions are chosen greedily, longest
/// first, which is the shortest for this code table. The scheme and the host are case-insensitive (RFC 3986
/// §3.1, §3.2.2) and are lower-cased first, so `HTTPS://WWW.X.COM/A` encodes as `https://www.x.com/A`; the path,
/// query and fragment keep their case.
pub fn encode(url: &str) -> Result<(u8, Vec<u8>), UrlError> {
    let url = &lowercase_scheme_and_host(url);
    // Longest prefix first: "https://www." before "https://".
    let (scheme, rest) = [1u8, 0, 3, 2]
        .iter()
        .find_map(|&i| url.strip_prefix(SCHEMES[usize::from(i)]).map(|rest| (i, rest)))
        .ok_or(UrlError::NoScheme)?;
    let mut body = Vec::new();
    let mut rest = rest;
    'outer: while let Some(c) = rest.chars().next() {
        // Longest expansion first (".info/" before ".info", ".com/" before ".com").
        let mut codes: Vec<(u8, &str)> = EXPANSIONS.iter().enumerate().map(|(i, e)| (i as u8, *e)).collect();
        codes.sort_by_key(|(_, e)| std::cmp::Reverse(e.len()));
        for (code, expansion) in codes {
            if let Some(after) = rest.strip_prefix(expansion) {
                body.push(code);
                rest = after;
                continue 'outer;
            }
        }
        if !(c.is_ascii_graphic()) {
            return Err(UrlError::NotPrintable(c));
        }
        body.push(c as u8);
        rest = &rest[1..];
    }
    if body.len() > MAX_ENCODED_LEN {
        return Err(UrlError::TooLong(body.len()));
    }
    Ok((scheme, body))
}

/// `url` with its scheme and host in lower case (userinfo, path, query and fragment untouched).
fn lowercase_scheme_and_host(url: &str) -> String {
    let Some(colon) = url.find("://") else { return url.to_string() };
    let authority = colon + 3;
    let end = url[authority..].find(['/', '?', '#']).map_or(url.len(), |i| authority + i);
    let host = url[authority..end].rfind('@').map_or(authority, |i| authority + i + 1);
    let lower = |part: &str| part.to_ascii_lowercase();
    format!("{}{}{}{}", lower(&url[..authority]), &url[authority..host], lower(&url[host..end]), &url[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_decodes_and_encodes_back() {
        // Eddystone-URL specification: https://www.google.com/ is 0x01 "google" 0x00.
        assert_eq!(decode(0x01, b"google\x00").unwrap(), "https://www.google.com/");
        assert_eq!(encode("https://www.google.com/").unwrap(), (0x01, b"google\x00".to_vec()));
        assert_eq!(encode("http://goo.gl/S6zT6P").unwrap(), (0x02, b"goo.gl/S6zT6P".to_vec()));
        assert_eq!(encode("https://shop.example.info/x").unwrap().1, b"shop.example\x04x".to_vec());
        assert_eq!(encode("https://a.info").unwrap().1, b"a\x0b".to_vec());
        // Scheme and host are case-insensitive; the path is not.
        assert_eq!(encode("HTTP://U@GO.GL/C?Q#F").unwrap(), (0x02, b"U@go.gl/C?Q#F".to_vec()));
    }

    #[test]
    fn reserved_bytes_schemes_and_lengths_are_errors() {
        assert_eq!(decode(0x04, b"x"), Err(UrlError::UnknownScheme(4)));
        assert_eq!(decode(0x02, b"a\x0eb"), Err(UrlError::ReservedByte(0x0e)));
        assert_eq!(decode(0x02, b"a b"), Err(UrlError::ReservedByte(0x20)));
        assert_eq!(decode(0x02, &[b'a'; 18]), Err(UrlError::TooLong(18)));
        assert_eq!(encode("ftp://x"), Err(UrlError::NoScheme));
        assert_eq!(encode("https://exämple.com"), Err(UrlError::NotPrintable('ä')));
        assert_eq!(encode("https://a-very-long-host-name.example/"), Err(UrlError::TooLong(30)));
    }

    #[test]
    fn every_encodable_url_round_trips() {
        for url in ["http://www.a.org/b", "https://x.gov", "http://y.biz/z.edu/", "https://www.q.net/r.com"] {
            let (scheme, body) = encode(url).unwrap();
            assert_eq!(decode(scheme, &body).unwrap(), url);
        }
    }
}
