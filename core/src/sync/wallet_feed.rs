//! `GET {base}/v1/wallet/changes`: the coupon feed after an opaque cursor. Pages are fetched until `hasMore` is
//! false, each applied in one transaction (verified first, in `wallet::service`); the cursor moves only after a
//! page is applied. `410` starts over without a cursor, and a full listing reconciles what the device holds
//! (unlisted coupons become `withdrawn` tombstones). A change of holder starts over too. Every answer's `Date`
//! header updates the server-time offset the wallet judges validity with.

use serde::{Deserialize, Serialize};

use super::request::RequestContext;
use super::transport::HttpResponse;
use crate::clock::{rfc3339_ms, Clock};
use crate::error::{Error, Result};
use crate::storage::{Identity, MetaKey, Storage};
use crate::wallet::feed::{parse_page, Refusal};
use crate::wallet::service::Wallet;
use crate::wallet::validity::ServerClock;

pub const CHANGES_PATH: &str = "/v1/wallet/changes";
/// A feed longer than this many pages in one sync continues at the next one (the cursor is kept per page).
const MAX_PAGES_PER_SYNC: u32 = 50;

/// What one wallet sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WalletSyncReport {
    /// False when the server answered 304 (nothing changed).
    pub changed: bool,
    /// The server did not know the cursor (410) and the wallet was listed again in full.
    pub started_over: bool,
    pub pages: u32,
    pub upserts: u32,
    pub tombstones: u32,
    /// Coupons a full listing no longer named (kept as `withdrawn`).
    pub withdrawn: u32,
    /// Entries that were not stored, each with its reason code.
    pub refused: Vec<Refusal>,
    /// The key set version a rotation in this sync moved to.
    pub keyset_version: Option<u64>,
    /// Which clock the wallet now trusts: server time minus device time, in ms.
    pub server_offset_ms: i64,
}

/// The feed position, per holder (a hash, so `meta` holds no shopper id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FeedPosition {
    holder: String,
    cursor: Option<String>,
    etag: Option<String>,
    /// The cursor the ETag's answer was for: `If-None-Match` is sent only when asking with it again.
    etag_for: Option<String>,
}

/// Pulls the feed for `identity`, the holder in force (the writer's, so an `identify` just made counts).
pub(crate) async fn sync(
    request: &RequestContext,
    storage: &Storage,
    wallet: &Wallet,
    identity: &Identity,
) -> Result<WalletSyncReport> {
    let holder_tag = holder_tag(identity.user_id.as_deref().unwrap_or(&identity.anonymous_id));
    let mut position = load(storage)?
        .filter(|p| p.holder == holder_tag)
        .unwrap_or(FeedPosition { holder: holder_tag, ..FeedPosition::default() });
    let mut report = WalletSyncReport::default();
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut full = false;
    loop {
        let mut headers = vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("X-Footfall-Anonymous-Id".to_string(), percent_encode(&identity.anonymous_id)),
        ];
        if let Some(user_id) = &identity.user_id {
            headers.push(("X-Footfall-User-Id".into(), percent_encode(user_id)));
        }
        if let Some(etag) = position.etag.as_ref().filter(|_| position.etag_for == position.cursor) {
            headers.push(("If-None-Match".into(), etag.clone()));
        }
        let path = match &position.cursor {
            Some(cursor) => format!("{CHANGES_PATH}?since={}", percent_encode(cursor)),
            None => CHANGES_PATH.to_string(),
        };
        let response = request
            .send(request.get(&path, headers))
            .await
            .map_err(|e| Error::Network(format!("fetching the wallet feed: {e}")))?;
        report.server_offset_ms = record_server_time(storage, &response, request.clock.as_ref())?;
        match response.status {
            304 => break,
            410 if !report.started_over => {
                tracing::info!("the wallet feed does not know our cursor; listing the wallet again");
                report.started_over = true;
                position.cursor = None;
                position.etag = None;
                save(storage, &position)?;
                continue;
            }
            200 => {}
            status => return Err(Error::Network(format!("fetching the wallet feed: HTTP {status}"))),
        }
        let page = parse_page(&response.body).map_err(|e| Error::Network(e.to_string()))?;
        let now = wallet.now_secs(storage)?;
        let (applied, keys) = wallet.apply_page(storage, &page, now)?;
        report.changed = true;
        report.pages += 1;
        report.upserts += applied.upserts;
        report.tombstones += applied.tombstones;
        report.refused.extend(applied.refused);
        report.keyset_version = applied.keyset_version.or(report.keyset_version);
        if position.cursor.is_none() {
            // The first page of a listing asked without a cursor says whether the listing is complete.
            full = page.full;
        }
        listed.extend(keys);
        let asked_with = position.cursor.replace(page.cursor.clone());
        if !page.has_more {
            if full {
                let at = rfc3339_ms(now.saturating_mul(1000));
                let withdrawn = storage.write(|tx| tx.withdraw_unlisted(&listed, &at, request.clock.now_ms()))?;
                report.withdrawn = withdrawn as u32;
            }
            position.etag = response.header("etag").map(String::from);
            position.etag_for = asked_with;
            // The next ask is with the new cursor; the ETag answers the old one, so it is kept for that case.
            if position.etag_for != position.cursor {
                position.etag = None;
            }
            save(storage, &position)?;
            break;
        }
        save(storage, &position)?;
        if report.pages >= MAX_PAGES_PER_SYNC {
            break;
        }
    }
    Ok(report)
}

/// Stores the offset between the server's `Date` and the device clock; returns the offset in force.
pub(crate) fn record_server_time(storage: &Storage, response: &HttpResponse, clock: &dyn Clock) -> Result<i64> {
    if let Some(server) = response.header("date").and_then(|d| ServerClock::from_date_header(d, clock.now_ms()).ok()) {
        storage.set_meta(MetaKey::WalletServerOffsetMs, Some(&server.offset_ms.to_string()))?;
        return Ok(server.offset_ms);
    }
    Ok(storage.meta(MetaKey::WalletServerOffsetMs)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn load(storage: &Storage) -> Result<Option<FeedPosition>> {
    Ok(storage.meta(MetaKey::WalletFeed)?.and_then(|json| serde_json::from_str(&json).ok()))
}

fn save(storage: &Storage, position: &FeedPosition) -> Result<()> {
    storage.set_meta(MetaKey::WalletFeed, Some(&serde_json::to_string(position).unwrap_or_default()))
}

/// A short hash of the holder id: enough to notice a change of shopper, and no id kept in `meta`.
fn holder_tag(holder: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, holder.as_bytes()).as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// RFC 3986 query encoding of an opaque cursor (everything but unreserved characters is escaped).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_escaped_and_holders_hashed() {
        assert_eq!(percent_encode("v1:12/a+b=="), "v1%3A12%2Fa%2Bb%3D%3D");
        assert_eq!(holder_tag("shopper-42").len(), 16);
        assert_ne!(holder_tag("a"), holder_tag("b"));
    }
}
