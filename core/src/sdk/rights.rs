//! Data-subject rights on [`Footfall`]: an export of everything the SDK holds about the shopper, and a deletion
//! request that wipes the device and reaches the backend through the essential lane.
//!
//! A deletion keeps the consent log: it is the business's proof of what the shopper decided (and when), which
//! it must be able to show; the records name only the pseudonymous anonymous id and are sent to the backend,
//! where the deletion request itself covers them.

use serde_json::{json, Value};
use uuid::Uuid;

use super::Footfall;
use crate::error::Result;
use crate::proximity::views::{PickupView, VisitView};
use crate::storage::RightsRequest;
use crate::writer::job::NO_EVENT_YET;
use crate::writer::thread::new_identity;

impl Footfall {
    /// Everything this install holds about the shopper, as one JSON document: identity, queued events, dead
    /// letters, the consent log with its verification, the consent status and the rights requests.
    pub fn export_data(&self) -> Result<Value> {
        let storage = self.storage()?;
        // Everything tracked before the call is in the export.
        self.handoff.barrier()?;
        let identity = storage.load_identity()?.map(|(identity, _)| identity);
        let log = self.consent_log()?;
        let refused = storage.refused_consent()?;
        let requests: Vec<Value> = storage.rights_requests()?.iter().map(request_json).collect();
        Ok(json!({
            "anonymousId": identity.as_ref().map(|i| i.anonymous_id.clone()),
            "userId": identity.as_ref().and_then(|i| i.user_id.clone()),
            "sessionId": identity.as_ref().map(|i| i.session_id.clone()),
            "events": storage.export_events(false)?,
            "deadLetters": storage.export_events(true)?,
            "consent": {
                "records": log.records,
                "verified": log.verified,
                "problem": log.problem,
                "refusedByBackend": refused.iter().map(|(seq, reason)| json!({"seq": seq, "reason": reason})).collect::<Vec<_>>(),
                "status": self.consent_status()?,
            },
            "rightsRequests": requests,
            "wallet": self.wallet_export(&storage)?,
            "proximity": {
                "visits": storage.visits(usize::MAX >> 1)?.iter().map(VisitView::from).collect::<Vec<_>>(),
                "offers": storage.offers_since(i64::MIN)?,
                "pickups": storage.pickups()?.iter().map(PickupView::from).collect::<Vec<_>>(),
                "audienceCounts": storage.audience_tallies()?.into_iter()
                    .map(|(rule, day, count)| json!({"rule": rule, "day": day, "count": count}))
                    .collect::<Vec<_>>(),
            },
        }))
    }

    /// Asks for the shopper's data to be erased. Once it returns, the request is durable (it survives restarts
    /// and is sent until the backend acknowledges it), queued events, dead letters and identity contexts are
    /// wiped, and what is tracked next is under a new anonymous id with no user id. The consent log is kept
    /// (see the module docs). Returns the request id.
    pub fn request_deletion(&self) -> Result<String> {
        self.storage()?;
        let (request_id, anonymous_id) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let clock = self.clock.clone();
        let proximity = self.proximity.clone();
        // On the writer, in order with the events around it: what was tracked before is wiped, what comes after
        // is under the new anonymous id.
        let id = self.handoff.run(move |ctx| {
            let fresh = new_identity(anonymous_id, None);
            let fresh_state = (fresh.clone(), NO_EVENT_YET);
            let request = ctx.storage.record_deletion(&request_id, ctx.identity(), &fresh_state, clock.now_ms())?;
            ctx.wiped_and_replaced(fresh);
            proximity.forget();
            tracing::info!(request_id = %request.id, "deletion requested: local data wiped, anonymous id rotated");
            Ok(request.id)
        })?;
        if let Some(sync) = &self.sync {
            sync.wake_handle().notify_one();
        }
        Ok(id)
    }

    /// Every rights request this install made, oldest first, with its state.
    pub fn rights_requests(&self) -> Result<Vec<RightsRequest>> {
        self.storage()?.rights_requests()
    }
}

impl Footfall {
    /// The wallet's coupons (stored grants in base64url), its clips and redemptions, and the device key's id.
    fn wallet_export(&self, storage: &crate::storage::Storage) -> Result<Value> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let coupons: Vec<Value> = storage
            .wallet_coupons()?
            .iter()
            .map(|c| {
                json!({
                    "couponId": c.coupon_id, "serial": c.serial, "state": c.state.as_str(), "reason": c.reason,
                    "grant": b64.encode(&c.grant), "display": c.display, "serverUses": c.server_uses,
                    "endedAt": c.ended_at, "storeId": c.store_id, "device": c.device,
                    "clippedAtMs": c.clipped_ms, "updatedAtMs": c.updated_ms,
                })
            })
            .collect();
        let outbox: Vec<Value> = storage
            .wallet_outbox()?
            .iter()
            .map(|i| {
                json!({
                    "id": i.id, "kind": if i.kind == crate::storage::WalletOutboxKind::Clip { "clip" } else { "redemption" },
                    "state": i.state, "result": i.result, "reason": i.reason, "counter": i.counter,
                    "body": serde_json::from_str::<Value>(&i.body).unwrap_or(Value::Null),
                })
            })
            .collect();
        Ok(json!({"coupons": coupons, "outbox": outbox}))
    }
}

fn request_json(request: &RightsRequest) -> Value {
    json!({
        "requestId": request.id,
        "kind": request.kind,
        "state": request.state,
        "body": serde_json::from_str::<Value>(&request.body).unwrap_or(Value::Null),
        "createdAtMs": request.created_ms,
        "updatedAtMs": request.updated_ms,
        "lastError": request.last_error,
    })
}

#[cfg(test)]
mod tests {
    use crate::storage::personal_data::PERSONAL_TABLES;
    use crate::{Config, Footfall};

    #[test]
    fn the_export_shows_every_registered_table() {
        let dir = tempfile::tempdir().unwrap();
        let sdk = Footfall::open(Config::new(dir.path())).unwrap();
        let export = sdk.export_data().unwrap();
        for entry in PERSONAL_TABLES {
            assert!(
                export.get(entry.export).is_some(),
                "`{}` is exported as `{}`, which export_data() lacks",
                entry.table,
                entry.export
            );
        }
    }
}
