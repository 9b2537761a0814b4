//! The issuer's check of a redemption code that reached it, possibly days after the till read it.
//!
//! A till judges a code at the checkout ([`verify_redemption`](super::verify_redemption)); the issuer judges the
//! same code later, when the device's outbox delivers it, so every time-dependent rule is applied at the
//! redemption's `presentedAt` instead of the issuer's clock: the key that signed the grant must have been valid
//! then, the code's time bucket must be fresh relative to then, and the coupon must have been valid then (grace
//! included). The rules that need a database — the serial's remaining uses, (device key, counter) replays, the
//! offline policy and revocations — are the issuer's own and are not checked here.

use super::grant::{GrantError, VerifiedGrant};
use super::keys::KeySet;
use super::redemption::{check_code, device_id, RedemptionRefused};

/// A code the issuer accepts as genuine at its presentation time: what to spend and whom to attribute it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRedemption {
    pub grant: VerifiedGrant,
    /// The device's P-256 public key (uncompressed, 65 bytes); with `counter`, the idempotency key of a use.
    pub device_key: Vec<u8>,
    /// [`device_id`] of the key: the name a double spend is attributed to.
    pub device_id: String,
    pub counter: u64,
    pub time_bucket: u64,
}

/// Verifies `code` as the issuer receives it: decoding, the issuer's signature on the grant with a key valid at
/// `presented_at` (UTC seconds), the till `challenge` the redemption request carries, the device proof, the
/// freshness of the code's time bucket against `presented_at` (the till's window), and the coupon's validity at
/// `presented_at` with its grace. Pure; never panics on any input.
pub fn verify_at_issuer(
    code: &str,
    keys: &KeySet,
    presented_at: i64,
    challenge: Option<&[u8]>,
) -> Result<IssuerRedemption, RedemptionRefused> {
    // The same checks a till makes, around the presentation instant: presentedAt and the signed bucket both come
    // from the device's server-corrected clock at the checkout, so they agree unless one was altered.
    let (grant, proof) = check_code(code, keys, presented_at, challenge)?;
    Ok(IssuerRedemption {
        device_id: device_id(&proof.device_key),
        device_key: proof.device_key.to_vec(),
        counter: proof.counter,
        time_bucket: proof.time_bucket,
        grant,
    })
}

/// A short, stable, machine-readable name for a refusal: the `reason` an issuer answers for a rejected
/// redemption (the `Display` text stays for people).
pub fn refusal_reason(refused: &RedemptionRefused) -> &'static str {
    match refused {
        RedemptionRefused::TooLarge { .. } => "too_large",
        RedemptionRefused::Malformed(_) => "malformed",
        RedemptionRefused::UnknownVersion(_) => "unknown_version",
        RedemptionRefused::Grant(e) => match e {
            GrantError::TooLarge { .. } => "grant_too_large",
            GrantError::Malformed(_) => "grant_malformed",
            GrantError::UnknownVersion(_) => "grant_unknown_version",
            GrantError::UnknownKey(_) => "unknown_key",
            GrantError::KeyNotValid(_) => "key_not_valid",
            GrantError::BadSignature => "bad_signature",
            GrantError::Invalid(_) => "grant_invalid",
        },
        RedemptionRefused::BadProof => "bad_proof",
        RedemptionRefused::ChallengeMismatch => "challenge_mismatch",
        RedemptionRefused::Stale { .. } => "stale",
        RedemptionRefused::NotYetValid => "not_yet_valid",
        RedemptionRefused::Expired => "expired",
        RedemptionRefused::OfflineNotAccepted => "offline_not_accepted",
        RedemptionRefused::Replayed { .. } => "replayed",
        RedemptionRefused::AlreadyRedeemed { .. } => "already_redeemed",
    }
}

#[cfg(test)]
mod tests {
    use super::super::grant::tests::{issuer, keys, sample, till_fields, NOW};
    use super::super::grant::verify_grant;
    use super::super::redemption::{
        decode_code, encode_code, present_code, time_bucket, verify_redemption, RedeemedSerials, BUCKET_SECS,
        MAX_AGE_BUCKETS,
    };
    use super::super::{DeviceSigner, SoftwareDeviceSigner};
    use super::*;

    const DAY: i64 = 86_400;

    fn device() -> SoftwareDeviceSigner {
        SoftwareDeviceSigner::generate().unwrap().0
    }

    fn code(device: &SoftwareDeviceSigner, counter: u64, at: i64, challenge: Option<&[u8]>) -> String {
        let grant = verify_grant(&sample().sign(&issuer()).unwrap(), &keys(), at).unwrap();
        present_code(&grant, device, counter, at, challenge).unwrap()
    }

    #[test]
    fn a_code_presented_three_days_ago_verifies_at_its_presentation_time() {
        let phone = device();
        let presented_at = NOW - 3 * DAY;
        let text = code(&phone, 4, presented_at, None);
        let ok = verify_at_issuer(&text, &keys(), presented_at + 20, None).unwrap();
        assert_eq!(
            (ok.counter, ok.grant.grant(), ok.time_bucket),
            (4, &till_fields(sample()), time_bucket(presented_at))
        );
        assert_eq!(ok.device_key, phone.public_key().unwrap());
        assert_eq!(ok.device_id, device_id(&ok.device_key));
        // A till at the issuer's clock (now) would call the same code stale.
        let till = verify_redemption(&text, &keys(), NOW, "tokyo-01", &RedeemedSerials::default(), None);
        assert!(matches!(till, Err(RedemptionRefused::Stale { .. })), "{till:?}");
    }

    #[test]
    fn validity_and_the_signing_key_are_judged_at_presentation() {
        let phone = device();
        // Presented a minute before the end (grace aside), delivered long after the coupon expired.
        let end = sample().validity.not_after;
        let text = code(&phone, 1, end - 60, None);
        assert!(verify_at_issuer(&text, &keys(), end - 60, None).is_ok());
        // Within the grace still counts; after it does not.
        let grace = i64::from(sample().validity.grace_secs);
        let late = code(&phone, 2, end + grace - 10, None);
        assert!(verify_at_issuer(&late, &keys(), end + grace - 10, None).is_ok());
        let too_late = code(&phone, 3, end + grace, None);
        assert_eq!(verify_at_issuer(&too_late, &keys(), end + grace, None), Err(RedemptionRefused::Expired));
        let early = code(&phone, 4, sample().validity.not_before - 1, None);
        assert_eq!(
            verify_at_issuer(&early, &keys(), sample().validity.not_before - 1, None),
            Err(RedemptionRefused::NotYetValid)
        );
        // The issuer retired its key a day after the presentation: the code still verifies at its presentedAt.
        let presented_at = NOW - 3 * DAY;
        let retired = KeySet::new(2, vec![issuer().issuer_key(0, Some(presented_at + DAY))]).unwrap();
        let text = code(&phone, 5, presented_at, None);
        assert!(verify_at_issuer(&text, &retired, presented_at, None).is_ok());
        let after = code(&phone, 6, presented_at + 2 * DAY, None);
        assert_eq!(
            verify_at_issuer(&after, &retired, presented_at + 2 * DAY, None),
            Err(RedemptionRefused::Grant(GrantError::KeyNotValid("k1".into())))
        );
    }

    #[test]
    fn an_altered_code_fails() {
        let text = code(&device(), 7, NOW, None);
        let decoded = decode_code(&text).unwrap();
        let mut counter = decoded.proof.clone();
        counter.counter += 1;
        let altered = encode_code(&decoded.grant_bytes, &counter).unwrap();
        assert_eq!(verify_at_issuer(&altered, &keys(), NOW, None), Err(RedemptionRefused::BadProof));
        let mut grant_bytes = decoded.grant_bytes.clone();
        grant_bytes[12] ^= 1;
        let altered = encode_code(&grant_bytes, &decoded.proof).unwrap();
        assert_eq!(
            verify_at_issuer(&altered, &keys(), NOW, None),
            Err(RedemptionRefused::Grant(GrantError::BadSignature))
        );
        let mut other_key = decoded.proof.clone();
        other_key.device_key = device().public_key().unwrap().try_into().unwrap();
        let altered = encode_code(&decoded.grant_bytes, &other_key).unwrap();
        assert_eq!(verify_at_issuer(&altered, &keys(), NOW, None), Err(RedemptionRefused::BadProof));
        assert!(matches!(verify_at_issuer("not base45!", &keys(), NOW, None), Err(RedemptionRefused::Malformed(_))));
    }

    #[test]
    fn the_challenge_in_the_request_must_be_the_one_the_proof_answers() {
        let phone = device();
        let text = code(&phone, 1, NOW, Some(b"till-42:nonce-9"));
        assert!(verify_at_issuer(&text, &keys(), NOW, Some(b"till-42:nonce-9")).is_ok());
        assert_eq!(verify_at_issuer(&text, &keys(), NOW, Some(b"till-42:nonce-8")), Err(RedemptionRefused::BadProof));
        assert_eq!(verify_at_issuer(&text, &keys(), NOW, None), Err(RedemptionRefused::ChallengeMismatch));
        let unbound = code(&phone, 2, NOW, None);
        assert_eq!(verify_at_issuer(&unbound, &keys(), NOW, Some(b"x")), Err(RedemptionRefused::ChallengeMismatch));
    }

    #[test]
    fn presented_at_must_match_the_signed_time_bucket() {
        let at = time_bucket(NOW) as i64 * BUCKET_SECS;
        let text = code(&device(), 1, at, None);
        assert!(verify_at_issuer(&text, &keys(), at + (MAX_AGE_BUCKETS + 1) * BUCKET_SECS - 1, None).is_ok());
        assert!(matches!(
            verify_at_issuer(&text, &keys(), at + (MAX_AGE_BUCKETS + 1) * BUCKET_SECS, None),
            Err(RedemptionRefused::Stale { .. })
        ));
        assert!(verify_at_issuer(&text, &keys(), at - BUCKET_SECS, None).is_ok());
        assert!(matches!(
            verify_at_issuer(&text, &keys(), at - BUCKET_SECS - 1, None),
            Err(RedemptionRefused::Stale { .. })
        ));
    }

    #[test]
    fn the_offline_policy_is_the_issuers_business_not_this_checks() {
        let mut online_only = sample();
        online_only.offline.accepted = false;
        let grant = verify_grant(&online_only.sign(&issuer()).unwrap(), &keys(), NOW).unwrap();
        let text = present_code(&grant, &device(), 1, NOW, None).unwrap();
        assert!(verify_at_issuer(&text, &keys(), NOW, None).is_ok());
    }

    #[test]
    fn every_refusal_has_a_reason_code() {
        assert_eq!(refusal_reason(&RedemptionRefused::BadProof), "bad_proof");
        assert_eq!(refusal_reason(&RedemptionRefused::Grant(GrantError::BadSignature)), "bad_signature");
        assert_eq!(refusal_reason(&RedemptionRefused::Stale { code_bucket: 1, till_bucket: 9 }), "stale");
        assert_eq!(refusal_reason(&RedemptionRefused::Expired), "expired");
    }
}
