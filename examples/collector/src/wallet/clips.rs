//! `POST /v1/wallet/clips`: the coupons a shopper clipped, validated all-or-nothing and stored once per `clipId`.

use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::answer::{admit_wallet, dated, Admission};
use super::item::Item;
use crate::body::{upload_admitted, Reject};
use crate::config::Endpoint;
use crate::db::{args, Database, DbError, Lock, Sql};
use crate::http::{json_response, AbortConnection, Body, Req, Shared};
use crate::timefmt::{is_rfc3339, rfc3339_secs};

pub(crate) async fn handle(shared: &Shared, req: Req) -> Result<Response<Body>, AbortConnection> {
    let admitted = match admit_wallet(shared, Endpoint::WalletClips, req.headers()).await? {
        Admission::Proceed(admitted, _) => admitted,
        Admission::Answered(resp) => return Ok(resp),
    };
    let store = shared.store.clone();
    let received_at = rfc3339_secs(shared.now_secs());
    let resp = upload_admitted(shared, admitted, req, "invalid_request", move |body| {
        let clips = parse(body).map_err(|m| Reject::bad_request("invalid_request", m))?;
        let (accepted, duplicates) = insert(store.db(), &clips, &received_at).map_err(Reject::storage)?;
        Ok(json_response(StatusCode::OK, &json!({"accepted": accepted, "duplicates": duplicates})))
    })
    .await?;
    Ok(dated(resp, shared.now_secs()))
}

/// One validated clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clip {
    pub clip_id: String,
    pub coupon_id: String,
    pub serial: String,
    pub clipped_at: String,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
}

/// The clips of a request body, or the message of the 400 (naming the clip).
pub(crate) fn parse(body: &[u8]) -> Result<Vec<Clip>, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Some(Value::Array(items)) = root.as_object().and_then(|o| o.get("clips")) else {
        return Err("body must be a JSON object with a \"clips\" array".into());
    };
    items.iter().enumerate().map(|(i, item)| clip(i, item)).collect()
}

fn clip(index: usize, value: &Value) -> Result<Clip, String> {
    let item = Item::read("clip", "clipId", index, value)?;
    let clipped_at = item.text("clippedAt")?;
    if !is_rfc3339(&clipped_at) {
        return Err(item.bad("clippedAt must be an RFC 3339 timestamp"));
    }
    Ok(Clip {
        coupon_id: item.text("couponId")?,
        serial: item.text("serial")?,
        anonymous_id: item.optional("anonymousId")?,
        user_id: item.optional("userId")?,
        clip_id: item.id,
        clipped_at,
    })
}

/// Inserts each clip not stored yet, in one transaction: (accepted, duplicates).
pub(crate) fn insert(db: &Database, clips: &[Clip], received_at: &str) -> Result<(u64, u64), DbError> {
    db.write(Lock::Rows, |tx: &mut dyn Sql| {
        let (mut accepted, mut duplicates) = (0, 0);
        for c in clips {
            let inserted = tx.execute(
                "INSERT INTO wallet_clips (clip_id, coupon_id, serial, clipped_at, anonymous_id, user_id, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (clip_id) DO NOTHING",
                &args![&c.clip_id, &c.coupon_id, &c.serial, &c.clipped_at, &c.anonymous_id, &c.user_id, received_at],
            )?;
            if inserted == 1 {
                accepted += 1;
            } else {
                duplicates += 1;
            }
        }
        Ok((accepted, duplicates))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01a20300-1a2b-7c3d-8e4f-5a6b7c8d9e0f";

    #[test]
    fn clips_are_validated_all_or_nothing() {
        let ok = format!(
            r#"{{"clips":[{{"clipId":"{ID}","couponId":"spring10","serial":"s-1","clippedAt":"2026-12-05T09:10:01.000Z","anonymousId":"a","userId":null,"x":1}}],"sentAt":"2026-12-05T09:10:02.000Z"}}"#
        );
        let clips = parse(ok.as_bytes()).unwrap();
        assert_eq!((clips[0].anonymous_id.as_deref(), clips[0].user_id.as_deref()), (Some("a"), None));
        for (body, needle) in [
            ("[]".to_string(), "\"clips\" array"),
            (r#"{"clips":[1]}"#.to_string(), "index 0"),
            (r#"{"clips":[{"clipId":"x"}]}"#.to_string(), "UUID"),
            (
                format!(r#"{{"clips":[{{"clipId":"{ID}","couponId":"c","serial":"s","clippedAt":"now"}}]}}"#),
                "clippedAt",
            ),
            (
                format!(r#"{{"clips":[{{"clipId":"{ID}","serial":"s","clippedAt":"2026-12-05T09:10:01Z"}}]}}"#),
                "couponId",
            ),
        ] {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
