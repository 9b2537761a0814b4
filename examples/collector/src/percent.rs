//! Percent-decoding (`%XX` as bytes, the result UTF-8): the wallet's holder headers (docs/protocol.md § The
//! wallet) and a path in a PostgreSQL URL's query.

/// `value` decoded; None when an escape is broken or the bytes are not UTF-8.
pub(crate) fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
