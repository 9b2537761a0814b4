//! Where a coupon is on the device: `available → clipped → pending_redeem → redeemed | rejected(reason)`, plus the
//! tombstones the feed brings (`revoked`, `expired`, `withdrawn`, and `redeemed` elsewhere). Only the server makes
//! a coupon `redeemed`; nothing leaves the wallet silently, a tombstone keeps the coupon with its reason.

/// A coupon's state on the device; [`CouponLifecycle::as_str`] is the stored and reported name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CouponLifecycle {
    Available,
    Clipped,
    /// Presented at a till; the redemption is waiting for the server's answer.
    PendingRedeem,
    /// The server accepted a redemption that used the last use (tombstone).
    Redeemed,
    /// The server refused this device's redemption (double spend, invalid at presentation, …).
    Rejected,
    /// The issuer revoked it (tombstone).
    Revoked,
    /// The issuer says it ended (tombstone).
    Expired,
    /// A full listing no longer names it (tombstone).
    Withdrawn,
}

impl CouponLifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            CouponLifecycle::Available => "available",
            CouponLifecycle::Clipped => "clipped",
            CouponLifecycle::PendingRedeem => "pending_redeem",
            CouponLifecycle::Redeemed => "redeemed",
            CouponLifecycle::Rejected => "rejected",
            CouponLifecycle::Revoked => "revoked",
            CouponLifecycle::Expired => "expired",
            CouponLifecycle::Withdrawn => "withdrawn",
        }
    }

    /// The stored name back; an unknown one (a newer build's) reads as `withdrawn`, which offers nothing.
    pub fn parse(text: &str) -> CouponLifecycle {
        match text {
            "available" => CouponLifecycle::Available,
            "clipped" => CouponLifecycle::Clipped,
            "pending_redeem" => CouponLifecycle::PendingRedeem,
            "redeemed" => CouponLifecycle::Redeemed,
            "rejected" => CouponLifecycle::Rejected,
            "revoked" => CouponLifecycle::Revoked,
            "expired" => CouponLifecycle::Expired,
            _ => CouponLifecycle::Withdrawn,
        }
    }

    /// The tombstone a feed reason names, if it is one.
    pub fn from_tombstone(reason: &str) -> Option<CouponLifecycle> {
        match reason {
            "revoked" => Some(CouponLifecycle::Revoked),
            "expired" => Some(CouponLifecycle::Expired),
            "redeemed" => Some(CouponLifecycle::Redeemed),
            "withdrawn" => Some(CouponLifecycle::Withdrawn),
            _ => None,
        }
    }

    /// The shopper can still clip or present it (state-wise; validity and uses are judged separately).
    pub fn is_live(self) -> bool {
        matches!(self, CouponLifecycle::Available | CouponLifecycle::Clipped | CouponLifecycle::PendingRedeem)
    }
}

#[cfg(test)]
mod tests {
    use super::CouponLifecycle::*;
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_offer_nothing() {
        for state in [Available, Clipped, PendingRedeem, Redeemed, Rejected, Revoked, Expired, Withdrawn] {
            assert_eq!(CouponLifecycle::parse(state.as_str()), state);
        }
        assert_eq!(CouponLifecycle::parse("frozen"), Withdrawn);
        assert!(!Withdrawn.is_live());
        assert_eq!(CouponLifecycle::from_tombstone("redeemed"), Some(Redeemed));
        assert_eq!(CouponLifecycle::from_tombstone("available"), None);
    }
}
