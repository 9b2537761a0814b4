//! The essential lane's outboxes: durable items the backend must receive, sent oldest first until a 2xx, each
//! kind a small leaf (consent receipts, deletion requests, wallet clips and redemptions). The drain loop — framing,
//! bisection, the status table — lives here once.

use super::halves::Halves;
use super::lane::LaneStop;
use super::request::RequestContext;
use super::transport::HttpResponse;
use super::verdict::{self, Verdict};
use crate::error::Result;
use crate::storage::Storage;

/// One kind of durable item and what its states mean in storage.
pub(crate) trait Outbox {
    type Item;

    /// The protocol path the items are posted to.
    fn path(&self) -> &'static str;
    /// The oldest pending items that fit one request; empty when nothing is pending.
    fn next_request(&self, storage: &Storage) -> Result<Vec<Self::Item>>;
    /// The uncompressed request body for `items`, framed at `sent_at_ms`.
    fn body(&self, items: &[Self::Item], sent_at_ms: i64) -> Vec<u8>;
    /// Headers this kind adds to the common ones (the wallet names the holder).
    fn headers(&self, _items: &[Self::Item]) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Just before `items` are sent (a deletion request becomes `sent`).
    fn attempting(&self, _storage: &Storage, _items: &[Self::Item], _now_ms: i64) -> Result<()> {
        Ok(())
    }
    /// The backend has them (2xx, its answer in `response`): never sent again.
    fn delivered(&self, storage: &Storage, items: &[Self::Item], response: &HttpResponse, now_ms: i64) -> Result<()>;
    /// The backend refused this one item on its own (400/422/413): kept, marked with `reason`, never re-sent.
    fn refused(&self, storage: &Storage, item: &Self::Item, reason: &str, now_ms: i64) -> Result<()>;
    /// The lane stops while `items` were in flight (retry or pause): they stay pending; `reason` says why.
    fn interrupted(&self, _storage: &Storage, _items: &[Self::Item], _reason: &str, _now_ms: i64) -> Result<()> {
        Ok(())
    }
}

/// Sends everything `outbox` holds; `Some` when the server said to stop (the rest stays pending).
pub(crate) async fn drain<O: Outbox>(
    outbox: &O,
    request: &RequestContext,
    storage: &Storage,
) -> Result<Option<LaneStop>> {
    loop {
        let mut halves = Halves::new(outbox.next_request(storage)?);
        let mut sent_any = false;
        while let Some(part) = halves.next_part() {
            sent_any = true;
            let now = request.clock.now_ms();
            outbox.attempting(storage, &part, now)?;
            let mut post = request.json_post(outbox.path(), &outbox.body(&part, now));
            post.headers.extend(outbox.headers(&part));
            let result = request.send(post).await;
            let now = request.clock.now_ms();
            match verdict::classify(&result, now, &request.retry) {
                Verdict::Delivered { .. } => {
                    let response = result.as_ref().map_err(|e| crate::error::Error::Internal(e.to_string()))?;
                    outbox.delivered(storage, &part, response, now)?
                }
                Verdict::Rejected { reason, .. } | Verdict::TooLarge { reason } if part.len() == 1 => {
                    tracing::warn!(path = outbox.path(), reason = %reason, "the backend refused an item; kept, not re-sent");
                    outbox.refused(storage, &part[0], &reason, now)?;
                }
                Verdict::Rejected { .. } | Verdict::TooLarge { .. } => halves.split(part),
                verdict => {
                    let stop = LaneStop::from_verdict(verdict);
                    if let Some(stop) = &stop {
                        outbox.interrupted(storage, &part, stop.reason(), now)?;
                    }
                    return Ok(stop);
                }
            }
        }
        if !sent_any {
            return Ok(None);
        }
    }
}
