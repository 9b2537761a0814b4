//! Small argument parsers and names the commands share (a leaf: it imports no command module).

/// Where `footfall wallet … --keyset FILE` keeps the pinned key set, inside the data directory: every command that
/// opens that directory then runs with the wallet on, as an app that bundles a key set.
pub const KEYSET_FILE: &str = "wallet-keyset.json";

/// UTC seconds of an RFC 3339 instant.
pub fn rfc3339_secs(text: &str) -> Result<i64, String> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| format!("'{text}' is not an RFC 3339 instant: {e}"))
}

/// Bytes of a hex string (a till's challenge).
pub fn hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("'{text}' is not hex"));
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

/// `--db`: `postgres://…` is a PostgreSQL database, anything else a SQLite file.
pub fn parse_database(text: &str) -> Result<footfall_collector::DatabaseUrl, String> {
    if text.trim().is_empty() {
        return Err("give a SQLite file or a postgres:// URL".into());
    }
    Ok(footfall_collector::DatabaseUrl::parse(text))
}
