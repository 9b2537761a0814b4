//! The wallet's outboxes in the essential lane (a service the shopper asked for, not gated by analytics consent):
//! `POST {base}/v1/wallet/clips` and `POST {base}/v1/wallet/redemptions`. Items go oldest first with the JSON and
//! idempotency key fixed when the shopper acted; a redemption's answer moves its coupon on (see
//! `wallet::service`), and a delivered redemption asks for a feed pull.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::outbox::Outbox;
use super::transport::HttpResponse;
use super::wallet_feed::{percent_encode, record_server_time};
use crate::clock::{rfc3339_ms, Clock};
use crate::error::Result;
use crate::storage::{RedemptionResult, Storage, WalletOutboxItem, WalletOutboxKind};
use crate::wallet::service::Wallet;

pub const CLIPS_PATH: &str = "/v1/wallet/clips";
pub const REDEMPTIONS_PATH: &str = "/v1/wallet/redemptions";
/// At most this many items per request (docs/protocol.md § The wallet).
const MAX_ITEMS_PER_REQUEST: usize = 100;

pub(crate) struct WalletClips;

impl Outbox for WalletClips {
    type Item = WalletOutboxItem;

    fn path(&self) -> &'static str {
        CLIPS_PATH
    }

    fn next_request(&self, storage: &Storage) -> Result<Vec<WalletOutboxItem>> {
        Ok(one_holder(storage.pending_wallet_items(WalletOutboxKind::Clip, MAX_ITEMS_PER_REQUEST)?))
    }

    fn body(&self, items: &[WalletOutboxItem], sent_at_ms: i64) -> Vec<u8> {
        frame("clips", items, sent_at_ms)
    }

    fn headers(&self, items: &[WalletOutboxItem]) -> Vec<(String, String)> {
        holder_headers(items)
    }

    fn delivered(&self, storage: &Storage, items: &[WalletOutboxItem], _: &HttpResponse, now_ms: i64) -> Result<()> {
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        storage.write(|tx| tx.clips_delivered(&ids, now_ms))
    }

    fn refused(&self, storage: &Storage, item: &WalletOutboxItem, reason: &str, now_ms: i64) -> Result<()> {
        storage.write(|tx| tx.wallet_item_refused(&item.id, reason, now_ms))
    }
}

pub(crate) struct WalletRedemptions {
    pub wallet: Arc<Wallet>,
    pub clock: Arc<dyn Clock>,
    /// Set when an answer arrived: the feed is pulled after the pass.
    pub answered: AtomicBool,
}

impl Outbox for WalletRedemptions {
    type Item = WalletOutboxItem;

    fn path(&self) -> &'static str {
        REDEMPTIONS_PATH
    }

    fn next_request(&self, storage: &Storage) -> Result<Vec<WalletOutboxItem>> {
        Ok(one_holder(storage.pending_wallet_items(WalletOutboxKind::Redemption, MAX_ITEMS_PER_REQUEST)?))
    }

    fn body(&self, items: &[WalletOutboxItem], sent_at_ms: i64) -> Vec<u8> {
        frame("redemptions", items, sent_at_ms)
    }

    fn headers(&self, items: &[WalletOutboxItem]) -> Vec<(String, String)> {
        holder_headers(items)
    }

    fn delivered(
        &self,
        storage: &Storage,
        items: &[WalletOutboxItem],
        response: &HttpResponse,
        _now_ms: i64,
    ) -> Result<()> {
        record_server_time(storage, response, self.clock.as_ref())?;
        let results = results_for(items, &response.body);
        self.wallet.apply_redemption_results(storage, &results)?;
        self.answered.store(true, Ordering::Release);
        Ok(())
    }

    fn refused(&self, storage: &Storage, item: &WalletOutboxItem, reason: &str, _now_ms: i64) -> Result<()> {
        let result = RedemptionResult {
            redemption_id: item.id.clone(),
            status: "rejected".into(),
            reason: Some(reason.to_string()),
        };
        self.wallet.apply_redemption_results(storage, &[result])?;
        self.answered.store(true, Ordering::Release);
        Ok(())
    }
}

/// Who acted, as the item's JSON recorded it when the shopper acted.
fn holder(item: &WalletOutboxItem) -> (Option<String>, Option<String>) {
    let body: Value = serde_json::from_str(&item.body).unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(String::from);
    (text("anonymousId"), text("userId"))
}

/// The oldest items made by one holder: a request names one holder in its headers (docs/protocol.md § The
/// wallet), so a sign-in between two clips splits them into two requests.
fn one_holder(items: Vec<WalletOutboxItem>) -> Vec<WalletOutboxItem> {
    let Some(first) = items.first().map(holder) else { return items };
    items.into_iter().take_while(|item| holder(item) == first).collect()
}

/// `X-Footfall-Anonymous-Id` and, when signed in, `X-Footfall-User-Id` of the request's holder.
fn holder_headers(items: &[WalletOutboxItem]) -> Vec<(String, String)> {
    let Some((anonymous_id, user_id)) = items.first().map(holder) else { return Vec::new() };
    let mut headers = Vec::new();
    if let Some(id) = anonymous_id {
        headers.push(("X-Footfall-Anonymous-Id".to_string(), percent_encode(&id)));
    }
    if let Some(id) = user_id {
        headers.push(("X-Footfall-User-Id".to_string(), percent_encode(&id)));
    }
    headers
}

/// One result per item sent. An item the 2xx answer does not name is answered `rejected` (the server broke the
/// protocol); re-sending it would loop, and the reason says what happened.
fn results_for(items: &[WalletOutboxItem], body: &[u8]) -> Vec<RedemptionResult> {
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let given: Vec<&Value> =
        doc.get("results").and_then(Value::as_array).map(|r| r.iter().collect()).unwrap_or_default();
    items
        .iter()
        .map(|item| {
            let found = given.iter().find(|r| r.get("redemptionId").and_then(Value::as_str) == Some(item.id.as_str()));
            let status = found.and_then(|r| r.get("status")).and_then(Value::as_str);
            match status {
                Some(status @ ("accepted" | "double_spend" | "rejected")) => RedemptionResult {
                    redemption_id: item.id.clone(),
                    status: status.to_string(),
                    reason: found.and_then(|r| r.get("reason")).and_then(Value::as_str).map(String::from),
                },
                _ => RedemptionResult {
                    redemption_id: item.id.clone(),
                    status: "rejected".into(),
                    reason: Some("the server's answer gave no result for this redemption".into()),
                },
            }
        })
        .collect()
}

/// `{"<member>":[<stored item JSON verbatim>],"sentAt":...}`.
fn frame(member: &str, items: &[WalletOutboxItem], sent_at_ms: i64) -> Vec<u8> {
    let bodies: Vec<&str> = items.iter().map(|i| i.body.as_str()).collect();
    format!("{{\"{member}\":[{}],\"sentAt\":\"{}\"}}", bodies.join(","), rfc3339_ms(sent_at_ms)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> WalletOutboxItem {
        WalletOutboxItem {
            seq: 1,
            id: id.into(),
            kind: WalletOutboxKind::Redemption,
            coupon_id: "c".into(),
            serial: "s".into(),
            body: format!("{{\"redemptionId\":\"{id}\"}}"),
            state: "pending".into(),
            result: None,
            reason: None,
            counter: Some(1),
        }
    }

    #[test]
    fn a_request_carries_one_holder_named_in_its_headers() {
        let by = |id: &str, anonymous: &str, user: Option<&str>| {
            let mut it = item(id);
            it.body = serde_json::json!({"redemptionId": id, "anonymousId": anonymous, "userId": user}).to_string();
            it
        };
        let items = vec![by("a", "anon-1", None), by("b", "anon-1", None), by("c", "anon-1", Some("山田"))];
        let first = one_holder(items.clone());
        assert_eq!(first.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(holder_headers(&first), [("X-Footfall-Anonymous-Id".to_string(), "anon-1".to_string())]);
        let signed_in = holder_headers(&items[2..]);
        assert_eq!(signed_in[1], ("X-Footfall-User-Id".to_string(), "%E5%B1%B1%E7%94%B0".to_string()));
    }

    #[test]
    fn every_item_gets_a_result_even_when_the_server_names_none() {
        let body =
            br#"{"results":[{"redemptionId":"b","status":"double_spend"},{"redemptionId":"a","status":"accepted"}]}"#;
        let results = results_for(&[item("a"), item("b"), item("c")], body);
        let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["accepted", "double_spend", "rejected"]);
        assert!(results[2].reason.as_deref().unwrap().contains("no result"));
        let framed = String::from_utf8(frame("redemptions", &[item("a")], 0)).unwrap();
        assert_eq!(framed, r#"{"redemptions":[{"redemptionId":"a"}],"sentAt":"1970-01-01T00:00:00.000Z"}"#);
    }
}
