import Foundation
import FootfallFFI

// The till's side of the wallet, for a point-of-sale app: checking a scanned redemption code offline with the
// issuer's key set. No `Footfall` instance is needed.

/// Checks a scanned redemption code offline, with no memory of earlier codes: the issuer's signature on the coupon
/// (against `keysetJSON`, the key set the till pins), the device proof (answering `challenge` when the till showed
/// one), freshness (about two minutes), validity at `now` and the coupon's offline policy. A code scanned twice
/// passes twice: a till that accepts coupons uses a ``Till``, which remembers.
///
/// A refused code is a verdict (`valid` false, with its `reason` code), not an error.
///
/// - Throws: ``FootfallError/config(reason:)`` when the key set is not usable.
public func verifyRedemption(
    _ code: String,
    keysetJSON: String,
    storeId: String,
    now: Date = Date(),
    challenge: Data? = nil
) throws -> RedemptionVerdict {
    try translatingErrors {
        try FootfallFFI.verifyRedemption(
            code: code, keysetJson: keysetJSON, nowSecs: unixSeconds(now), storeId: storeId, challenge: challenge
        )
    }
}

/// One till: the store it stands in, the issuer keys it trusts, and the redemptions it accepted, so a replayed code
/// (`replayed`) or a serial whose offline uses are spent here (`already_redeemed`) is refused. The record lives in
/// memory for this object's life; the issuer catches double spends across tills when the redemptions reach it.
///
/// ```swift
/// let till = try Till(keysetJSON: issuerKeys, storeId: "tokyo-1")
/// let verdict = till.redeem(scannedText)      // records it when valid
/// if verdict.valid { apply(verdict.couponId!) } else { show(verdict.reason) }
/// ```
public final class Till: Sendable {
    private let native: FootfallFFI.Till

    /// - Throws: ``FootfallError/config(reason:)`` when the key set is not usable.
    public init(keysetJSON: String, storeId: String) throws {
        native = try translatingErrors { try FootfallFFI.Till(keysetJson: keysetJSON, storeId: storeId) }
    }

    /// What ``redeem(_:now:challenge:)`` would answer now, recording nothing (to show the coupon before the sale).
    public func check(_ code: String, now: Date = Date(), challenge: Data? = nil) -> RedemptionVerdict {
        native.check(code: code, nowSecs: unixSeconds(now), challenge: challenge)
    }

    /// Checks the code and, when valid, records it as redeemed at this till: call it as the sale completes.
    @discardableResult
    public func redeem(_ code: String, now: Date = Date(), challenge: Data? = nil) -> RedemptionVerdict {
        native.redeem(code: code, nowSecs: unixSeconds(now), challenge: challenge)
    }
}

/// Whole seconds since 1970 (the FFI's UTC seconds).
func unixSeconds(_ date: Date) -> Int64 {
    Int64(date.timeIntervalSince1970.rounded(.down))
}
