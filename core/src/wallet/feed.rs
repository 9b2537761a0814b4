//! The feed's answers as the device reads them: parsing one page of `GET /v1/wallet/changes` and verifying
//! every grant in it before anything is kept. Pure: the sync layer fetches pages and storage applies what this
//! returns. A bad entry is refused with a reason and the rest of the page still applies; only a page that is not
//! a feed answer at all is refused whole.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::grant::{display_terms_ref, verify_grant, GrantError, VerifiedGrant};
use super::keys::{KeySet, KeySetError};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// Longest cursor kept (docs/protocol.md).
pub const MAX_CURSOR_LEN: usize = 1024;
/// Largest display document kept.
pub const MAX_DISPLAY_BYTES: usize = 4096;

/// One page of the feed, before verification.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub cursor: String,
    pub has_more: bool,
    pub full: bool,
    pub upserts: Vec<Value>,
    pub tombstones: Vec<Value>,
    /// A signed key set rotation document, as bytes for [`KeySet::accept_rotation`].
    pub keyset: Option<Vec<u8>>,
}

/// Why a whole page was refused (nothing of it applies; the cursor stays where it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the wallet feed answer is not usable: {0}")]
pub struct FeedError(pub String);

/// An entry of a page that was not kept, and why (`reason` is a stable code).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The coupon it named, when that much could be read.
    pub coupon_id: Option<String>,
    pub reason: &'static str,
    pub detail: String,
}

/// A grant that verified, with what came along with it.
#[derive(Debug, Clone)]
pub struct VerifiedUpsert {
    pub grant: VerifiedGrant,
    /// The display document, only when it matches the grant's terms reference.
    pub display: Option<String>,
    pub uses: Option<u32>,
}

/// A tombstone as the feed stated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedTombstone {
    pub coupon_id: String,
    pub serial: String,
    pub reason: String,
    pub at: Option<String>,
    pub store_id: Option<String>,
    pub device: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageDoc {
    cursor: String,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    full: bool,
    #[serde(default)]
    upserts: Vec<Value>,
    #[serde(default)]
    tombstones: Vec<Value>,
    #[serde(default)]
    keyset: Option<Value>,
}

/// Reads one page. Entries are kept as JSON here and judged one by one by [`verify_upserts`] and
/// [`read_tombstones`], so one bad entry cannot spoil the page.
pub fn parse_page(body: &[u8]) -> Result<FeedPage, FeedError> {
    let doc: PageDoc = serde_json::from_slice(body).map_err(|e| FeedError(e.to_string()))?;
    if doc.cursor.is_empty() || doc.cursor.len() > MAX_CURSOR_LEN {
        return Err(FeedError(format!("cursor must be 1-{MAX_CURSOR_LEN} characters")));
    }
    Ok(FeedPage {
        cursor: doc.cursor,
        has_more: doc.has_more,
        full: doc.full,
        upserts: doc.upserts,
        tombstones: doc.tombstones,
        keyset: doc.keyset.filter(|k| !k.is_null()).map(|k| k.to_string().into_bytes()),
    })
}

/// Applies a rotation the page carries: the new set when a trusted key signed it, else the refusal.
pub fn rotate(current: &KeySet, page: &FeedPage, now: i64) -> Result<Option<KeySet>, Refusal> {
    let Some(signed) = &page.keyset else { return Ok(None) };
    current.accept_rotation(signed, now).map(Some).map_err(|e| Refusal {
        coupon_id: None,
        reason: match e {
            KeySetError::UnknownSigner(_) => "keyset_unknown_signer",
            KeySetError::SignerNotValid(_) => "keyset_signer_not_valid",
            KeySetError::BadSignature => "keyset_bad_signature",
            KeySetError::NotNewer { .. } => "keyset_not_newer",
            _ => "keyset_malformed",
        },
        detail: e.to_string(),
    })
}

/// Verifies every upsert against `keys` at `now` (server-corrected UTC seconds): the grants that verified, and
/// a refusal for each entry that did not (its grant is dropped, never stored or shown).
pub fn verify_upserts(entries: &[Value], keys: &KeySet, now: i64) -> (Vec<VerifiedUpsert>, Vec<Refusal>) {
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    for entry in entries {
        match verify_upsert(entry, keys, now) {
            Ok((upsert, display_refusal)) => {
                refused.extend(display_refusal);
                verified.push(upsert);
            }
            Err(refusal) => refused.push(refusal),
        }
    }
    (verified, refused)
}

fn verify_upsert(entry: &Value, keys: &KeySet, now: i64) -> Result<(VerifiedUpsert, Option<Refusal>), Refusal> {
    let malformed = |detail: &str| Refusal { coupon_id: None, reason: "malformed", detail: detail.to_string() };
    let text = entry.get("grant").and_then(Value::as_str).ok_or_else(|| malformed("an upsert without a grant"))?;
    let bytes = B64.decode(text).map_err(|_| malformed("the grant is not base64url"))?;
    let grant = verify_grant(&bytes, keys, now).map_err(|e| Refusal {
        coupon_id: None,
        reason: grant_refusal_code(&e),
        detail: e.to_string(),
    })?;
    if !grant.has_display_part() {
        // A till part alone verifies (it is what a code carries), but a wallet entry must show its terms and dates.
        return Err(Refusal {
            coupon_id: Some(grant.grant().coupon_id.clone()),
            reason: "malformed",
            detail: "a feed grant carries its display part".into(),
        });
    }
    let uses = match entry.get("uses") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().and_then(|u| u32::try_from(u).ok()).ok_or_else(|| Refusal {
            coupon_id: Some(grant.grant().coupon_id.clone()),
            reason: "malformed",
            detail: "uses is not a count".into(),
        })?),
    };
    let (display, display_refusal) = match entry.get("display").and_then(Value::as_str) {
        None => (None, None),
        Some(text) => match check_display(text, &grant) {
            Ok(display) => (Some(display), None),
            Err(detail) => (
                None,
                Some(Refusal { coupon_id: Some(grant.grant().coupon_id.clone()), reason: "display_mismatch", detail }),
            ),
        },
    };
    Ok((VerifiedUpsert { grant, display, uses }, display_refusal))
}

/// The display document, when it is the one the grant's signed terms reference names.
fn check_display(text: &str, grant: &VerifiedGrant) -> Result<String, String> {
    let bytes = B64.decode(text).map_err(|_| "the display document is not base64url".to_string())?;
    if bytes.len() > MAX_DISPLAY_BYTES {
        return Err(format!("the display document is over {MAX_DISPLAY_BYTES} bytes"));
    }
    if display_terms_ref(&bytes) != grant.grant().terms_ref {
        return Err("the display document is not the one the grant's terms reference names".into());
    }
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| "the display document is not JSON".to_string())?;
    if !doc.is_object() {
        return Err("the display document is not a JSON object".into());
    }
    Ok(doc.to_string())
}

/// The stable code a grant refusal is counted under.
pub fn grant_refusal_code(e: &GrantError) -> &'static str {
    match e {
        GrantError::TooLarge { .. } => "too_large",
        GrantError::Malformed(_) => "malformed",
        GrantError::UnknownVersion(_) => "unknown_version",
        GrantError::UnknownKey(_) => "unknown_key",
        GrantError::KeyNotValid(_) => "key_not_valid",
        GrantError::BadSignature => "bad_signature",
        GrantError::Invalid(_) => "invalid",
    }
}

/// The page's tombstones; an entry without coupon, serial or a known reason is refused.
pub fn read_tombstones(entries: &[Value]) -> (Vec<FeedTombstone>, Vec<Refusal>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for entry in entries {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
        match (text("couponId"), text("serial"), text("reason")) {
            (Some(coupon_id), Some(serial), Some(reason))
                if matches!(reason.as_str(), "revoked" | "expired" | "redeemed" | "withdrawn") =>
            {
                out.push(FeedTombstone {
                    coupon_id,
                    serial,
                    reason,
                    at: text("at"),
                    store_id: text("storeId"),
                    device: text("device"),
                })
            }
            (coupon_id, ..) => refused.push(Refusal {
                coupon_id,
                reason: "malformed",
                detail: "a tombstone needs couponId, serial and a known reason".into(),
            }),
        }
    }
    (out, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::grant::tests::{issuer, keys, sample, NOW};

    fn upsert(bytes: &[u8]) -> Value {
        serde_json::json!({"grant": B64.encode(bytes)})
    }

    #[test]
    fn a_forged_entry_is_refused_and_the_rest_of_the_page_applies() {
        let good = sample().sign(&issuer()).unwrap();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let till_only = verify_grant(&good, &keys(), NOW).unwrap().till_bytes().to_vec();
        let page = [
            upsert(&good),
            upsert(&flipped),
            serde_json::json!({"grant": "***"}),
            serde_json::json!(7),
            upsert(&till_only),
        ];
        let (verified, refused) = verify_upserts(&page, &keys(), NOW);
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].grant.bytes(), &good[..]);
        let reasons: Vec<_> = refused.iter().map(|r| r.reason).collect();
        assert_eq!(reasons, ["bad_signature", "malformed", "malformed", "malformed"]);
    }

    #[test]
    fn a_display_document_shows_only_when_the_grant_names_it() {
        let display = br#"{"title":"10% off tea","terms":"one per visit"}"#;
        let mut grant = sample();
        grant.terms_ref = display_terms_ref(display);
        let bytes = grant.sign(&issuer()).unwrap();
        let entry = serde_json::json!({"grant": B64.encode(&bytes), "display": B64.encode(display), "uses": 1});
        let (verified, refused) = verify_upserts(&[entry], &keys(), NOW);
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(verified[0].uses, Some(1));
        assert!(verified[0].display.as_deref().unwrap().contains("10% off tea"));

        let other = br#"{"title":"90% off everything"}"#;
        let entry = serde_json::json!({"grant": B64.encode(&bytes), "display": B64.encode(other)});
        let (verified, refused) = verify_upserts(&[entry], &keys(), NOW);
        assert_eq!(verified[0].display, None, "a swapped title is never shown");
        assert_eq!(refused[0].reason, "display_mismatch");
    }

    #[test]
    fn a_page_without_a_cursor_is_refused_whole_and_bad_tombstones_one_by_one() {
        assert!(parse_page(b"{\"upserts\":[]}").is_err());
        assert!(parse_page(b"not json").is_err());
        let page = parse_page(
            br#"{"cursor":"c1","tombstones":[{"couponId":"a","serial":"s","reason":"revoked"},{"couponId":"b","reason":"melted"}]}"#,
        )
        .unwrap();
        let (tombstones, refused) = read_tombstones(&page.tombstones);
        assert_eq!(tombstones.len(), 1);
        assert_eq!(refused[0].coupon_id.as_deref(), Some("b"));
    }
}
