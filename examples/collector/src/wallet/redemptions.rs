//! `POST /v1/wallet/redemptions`: a body that is not a list of well-formed redemptions is refused whole (400, so
//! the SDK bisects to the bad one); each well-formed one gets its own verdict, in order, in a 200.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::answer::{admit_wallet, dated, Admission};
use super::item::Item;
use super::redeem::{redeem, Redemption};
use crate::body::{upload_admitted, Reject};
use crate::config::Endpoint;
use crate::db::{Lock, Sql};
use crate::http::{json_response, AbortConnection, Body, Req, Shared};
use crate::timefmt::{rfc3339_secs, rfc3339_to_secs};

/// Most redemptions in one request (the SDK sends at most this many).
pub(crate) const MAX_REDEMPTIONS: usize = 100;

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let (admitted, issuer) = match admit_wallet(shared, Endpoint::WalletRedemptions, req.headers()).await? {
        Admission::Proceed(admitted, issuer) => (admitted, issuer),
        Admission::Answered(resp) => return Ok(resp),
    };
    let store = shared.store.clone();
    let now = shared.now_secs();
    let resp = upload_admitted(shared, admitted, req, "invalid_request", move |body| {
        let redemptions = parse(body).map_err(|m| Reject::bad_request("invalid_request", m))?;
        let received_at = rfc3339_secs(now);
        let mut results = Vec::with_capacity(redemptions.len());
        for r in &redemptions {
            let outcome = store
                .db()
                .write(Lock::Wallet, |tx: &mut dyn Sql| redeem(tx, issuer.keys(), r, now, &received_at))
                .map_err(Reject::storage)?;
            let mut result = json!({"redemptionId": r.redemption_id, "status": outcome.status.as_str()});
            if let Some(reason) = outcome.reason {
                result["reason"] = reason.into();
            }
            results.push(result);
        }
        Ok(json_response(StatusCode::OK, &json!({ "results": results })))
    })
    .await?;
    Ok(dated(resp, shared.now_secs()))
}

/// The redemptions of a request body, or the message of the 400 (naming the redemption).
pub(crate) fn parse(body: &[u8]) -> Result<Vec<Redemption>, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Some(Value::Array(items)) = root.as_object().and_then(|o| o.get("redemptions")) else {
        return Err("body must be a JSON object with a \"redemptions\" array".into());
    };
    if items.len() > MAX_REDEMPTIONS {
        return Err(format!("at most {MAX_REDEMPTIONS} redemptions per request, got {}", items.len()));
    }
    items.iter().enumerate().map(|(i, item)| redemption(i, item)).collect()
}

fn redemption(index: usize, value: &Value) -> Result<Redemption, String> {
    let item = Item::read("redemption", "redemptionId", index, value)?;
    let presented_at = item.text("presentedAt")?;
    let presented_at_secs =
        rfc3339_to_secs(&presented_at).ok_or_else(|| item.bad("presentedAt must be an RFC 3339 timestamp"))?;
    let challenge = item
        .optional("challenge")?
        .map(|c| B64.decode(c.trim_end_matches('=')))
        .transpose()
        .map_err(|_| item.bad("challenge must be base64url"))?;
    let holder = match (item.optional("userId")?, item.optional("anonymousId")?) {
        (Some(user), _) => Some(format!("user:{user}")),
        (None, Some(anonymous)) => Some(format!("anon:{anonymous}")),
        (None, None) => None,
    };
    Ok(Redemption {
        code: item.text("code")?,
        store_id: item.text("storeId")?,
        redemption_id: item.id.clone(),
        presented_at,
        presented_at_secs,
        challenge,
        holder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01a20301-2b3c-7d4e-8f5a-6b7c8d9e0f1a";

    #[test]
    fn redemptions_are_validated_all_or_nothing() {
        let ok = format!(
            r#"{{"redemptions":[{{"redemptionId":"{ID}","code":"NCF","storeId":"tokyo-1","presentedAt":"2026-12-05T09:12:44.000Z","challenge":"dGlsbA","anonymousId":"a"}}],"sentAt":"2026-12-05T09:30:00.000Z"}}"#
        );
        let parsed = parse(ok.as_bytes()).unwrap();
        assert_eq!(parsed[0].challenge.as_deref(), Some(&b"till"[..]));
        assert_eq!((parsed[0].presented_at_secs, parsed[0].holder.as_deref()), (1_796_461_964, Some("anon:a")));
        let one = |fields: &str| format!(r#"{{"redemptions":[{{"redemptionId":"{ID}",{fields}}}]}}"#);
        for (body, needle) in [
            ("{}".to_string(), "\"redemptions\" array"),
            (r#"{"redemptions":["x"]}"#.to_string(), "index 0"),
            (one(r#""code":"A","storeId":"s""#), "presentedAt"),
            (one(r#""code":"A","storeId":"s","presentedAt":"soon""#), "RFC 3339"),
            (one(r#""storeId":"s","presentedAt":"2026-12-05T09:12:44Z""#), "code"),
            (one(r#""code":"A","storeId":"s","presentedAt":"2026-12-05T09:12:44Z","challenge":"%%""#), "base64url"),
        ] {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
        let many: Vec<Value> = (0..=MAX_REDEMPTIONS).map(|_| json!({})).collect();
        assert!(parse(json!({ "redemptions": many }).to_string().as_bytes()).unwrap_err().contains("at most"));
    }
}
