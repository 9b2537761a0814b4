import Foundation
import FootfallFFI

/// The coupon wallet of a ``Footfall`` instance (``Footfall/wallet``): signed coupons kept on the device, clipped
/// and presented at a till even with no network, redeemed once the issuer accepts the redemption.
///
/// It is on when `FootfallConfig.walletKeyset` holds the issuer's key set (bundled with the app); otherwise every
/// call throws ``FootfallError/wallet(kind:couponId:reasons:detail:)`` with `.notConfigured`. Wallet calls are a
/// service the shopper asked for: analytics consent does not gate them.
///
/// Every method is `async`: the SDK call blocks for a local read or write (and, to present, one signature by the
/// device key), so it runs on the layer's own queue, never on the caller's thread, and is safe to await from the
/// main actor.
///
/// ```swift
/// .task { for await coupons in footfall.wallet.couponUpdates { self.coupons = coupons } }
/// try await footfall.wallet.sync()                               // on foreground, and when a push says so
/// try await footfall.wallet.clip("autumn-10")
/// let presented = try await footfall.wallet.present("autumn-10", storeId: "tokyo-1")
/// draw(presented.qr)                                             // works offline; redeemed once the issuer answers
/// ```
public struct Wallet: Sendable {
    let footfall: Footfall

    /// The coupons now, then again after each wallet change, for a wallet screen to observe.
    ///
    /// Each read of this property returns a new stream; its first element is the current list (read off the
    /// caller's thread), then one follows each change the SDK publishes: a sync that brought coupons or
    /// tombstones, the issuer's answer to a redemption, a clip or a presentation (before ``clip(_:)`` or
    /// ``present(_:storeId:challenge:)`` returns). Only the passing of time is not observed (`usableNow` turning
    /// false at expiry): call ``coupons(at:)`` when a screen that depends on it opens. Each stream keeps only the
    /// newest list. Streams finish when the instance is closed; cancel the consuming task to unsubscribe earlier.
    public var couponUpdates: AsyncStream<[Coupon]> {
        footfall.couponFeed.subscribe()
    }

    /// The coupons read now, judged at `at` (default: the wallet's server-corrected now).
    public func coupons(at: Date? = nil) async throws -> [Coupon] {
        let atSecs = at.map(unixSeconds)
        return try await footfall.blocking { native in try native.walletCoupons(atSecs: atSecs) }
    }

    /// Pulls the coupon feed from the issuer now: call it when the app comes to the foreground and when a push
    /// says the wallet changed (the SDK also pulls at start-up and after redemptions were answered).
    ///
    /// Cancelling the calling task makes this throw `CancellationError` at once; the pull itself finishes on the
    /// SDK's thread (as ``Footfall/flush()`` does).
    ///
    /// - Throws: ``FootfallError/network(reason:)`` when the issuer could not be reached or answered with an
    ///   error; the wallet stays as it was.
    @discardableResult
    public func sync() async throws -> WalletSyncReport {
        try await footfall.asyncCall { try await $0.walletSync() }
    }

    /// Clips a coupon: durable once this returns, sent to the issuer when the network allows. Returns whether it
    /// changed (false: already clipped or presented).
    ///
    /// - Throws: ``FootfallError/wallet(kind:couponId:reasons:detail:)`` with `.unknownCoupon`, or
    ///   `.couponUnusable` and the reasons when it has ended.
    @discardableResult
    public func clip(_ couponId: String) async throws -> Bool {
        try await footfall.blocking { native in try native.walletClip(couponId: couponId) }
    }

    /// Presents a coupon at a till: the device-bound code and its QR symbol, returned once the redemption is
    /// durable. Works offline; the redemption is sent when the network allows, and only the issuer's answer makes
    /// the coupon `.redeemed`. A coupon that is `.pendingRedeem` already has its code in `pendingCode`: show that
    /// again (``QRCode/init(_:)``) rather than presenting twice.
    ///
    /// - Parameters:
    ///   - storeId: the store the till is in (1–64 characters).
    ///   - challenge: the till's nonce (at most 32 bytes) when it shows one.
    /// - Throws: ``FootfallError/wallet(kind:couponId:reasons:detail:)`` with `.couponUnusable` and the reasons
    ///   (`expired`, `uses_exhausted`, `offline_limit`, …), `.deviceKey` when the device key failed, or
    ///   `.invalid` for a bad store id or challenge. Nothing was presented.
    public func present(_ couponId: String, storeId: String, challenge: Data? = nil) async throws -> PresentedCode {
        let presented = try await footfall.blocking { native in
            try native.walletPresent(couponId: couponId, storeId: storeId, challenge: challenge)
        }
        return PresentedCode(presented)
    }

    /// "Which coupons apply, and why not?": for every live coupon, whether it applies to `basket`, its discount in
    /// minor units, and every reason it does not (`min_basket`, `not_eligible_item`, `stack_conflict`, …).
    ///
    /// - Throws: ``FootfallError/wallet(kind:couponId:reasons:detail:)`` with `.invalid` for a line that is not
    ///   one (a bad GTIN, a negative quantity or price).
    public func evaluate(_ basket: Basket) async throws -> [CouponOutcome] {
        try await footfall.blocking { native in try native.walletEvaluate(basket: basket) }
    }

    /// The server-corrected time the wallet judges validity at.
    public func now() async throws -> Date {
        let secs = try await footfall.blocking { native in try native.walletNowSecs() }
        return Date(timeIntervalSince1970: TimeInterval(secs))
    }
}

/// Publishes the coupon list to every ``Wallet/couponUpdates`` stream: the list the core publishes with every
/// wallet change (inside its event), and one read when a stream starts before any change was told. The read only
/// counts if no change was published while it ran, so a slow first read never replaces a newer list.
final class CouponFeed: @unchecked Sendable {
    // @unchecked: `source` and `state` are behind their locks.
    private let hub = Hub<[Coupon]>(bufferingNewest: 1)
    private let queue = DispatchQueue(label: "dev.footfall.wallet-coupons", qos: .userInitiated)
    private let source = Locked(WeakNative())
    private let state = Locked(State())

    private struct State {
        var latest: [Coupon]?
        /// Changes published so far: a first read that started before one is stale.
        var changes: UInt64 = 0
    }

    /// Where the first list is read from. Weak: the native object holds the listener that holds this feed.
    func attach(_ native: FootfallFFI.Footfall) {
        source.withLock { $0.native = native }
    }

    /// A new stream: the newest list first (read once if none was told yet), then one per change.
    func subscribe() -> AsyncStream<[Coupon]> {
        hub.subscribe { id in
            if let latest = self.state.withLock({ $0.latest }) {
                self.hub.emit(latest, to: id)
            } else {
                // Never on the SDK's threads, nor the caller's: the read waits for the database to open.
                self.queue.async { self.readFirst() }
            }
        }
    }

    /// A change's list; called on an SDK thread, so it only hands it over.
    func publish(_ coupons: [Coupon]) {
        state.withLock { state in
            state.changes += 1
            state.latest = coupons
            // Under the lock, so two publishers cannot emit out of order.
            hub.emit(coupons)
        }
    }

    /// Ends every stream; later ones end at once.
    func finish() {
        source.withLock { $0.native = nil }
        hub.finish()
    }

    private func readFirst() {
        guard let native = source.withLock({ $0.native }) else { return }
        let mark = state.withLock { $0.changes }
        // Closed, the wallet off or storage failing: nothing to publish; a change publishes its own list.
        guard let coupons = try? native.walletCoupons(atSecs: nil) else { return }
        state.withLock { state in
            guard state.changes == mark, state.latest == nil else { return }
            state.latest = coupons
            hub.emit(coupons)
        }
    }
}
