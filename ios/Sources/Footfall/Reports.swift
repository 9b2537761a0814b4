import Foundation
import FootfallFFI

/// What a ``Footfall/flush()`` achieved.
public struct FlushReport: Equatable, Hashable, Sendable {
    /// Events the server accepted in this pass.
    public let delivered: Int64
    /// Events the server refused; see ``Footfall/deadLetters(limit:)``.
    public let deadLettered: Int64
    /// Events the server said it already had.
    public let duplicates: Int64
    /// Events still queued after the pass.
    public let remaining: Int64
    /// How the pass ended.
    public let outcome: FlushOutcome

    /// Creates a report (for tests and fakes; the SDK creates them).
    public init(delivered: Int64, deadLettered: Int64, duplicates: Int64, remaining: Int64, outcome: FlushOutcome) {
        self.delivered = delivered
        self.deadLettered = deadLettered
        self.duplicates = duplicates
        self.remaining = remaining
        self.outcome = outcome
    }
}

/// How a flush ended.
public enum FlushOutcome: Equatable, Hashable, Sendable {
    /// Nothing is left to send.
    case drained
    /// A transient failure; data is kept and the next attempt is due after `retryAfter` seconds.
    case retryLater(retryAfter: TimeInterval, reason: String)
    /// Uploads are paused (credentials, endpoint or the server's TLS certificate refused); data is kept until an
    /// explicit flush succeeds.
    case paused(reason: String)
    /// The server asked (Retry-After) that nothing be sent before `until`: not even an explicit flush sends until
    /// then, in this process or after a relaunch. Data is kept.
    case held(retryAfter: TimeInterval, until: Date, reason: String)
}

/// Something the SDK did, delivered on ``Footfall/events``: after each upload pass (only what happened is told: a
/// pass held back by a backoff sends nothing), after each consent change, each wallet change, and for store visits,
/// offers and pickup arrivals. New cases will be added: a `switch` that lists every case today will need a new
/// branch then, one with a `default:` branch will not.
public enum FootfallEvent: Equatable, Hashable, Sendable {
    /// The server accepted `count` events; `duplicates` of them it already had.
    case delivered(count: Int64, duplicates: Int64)
    /// The server refused `count` events with HTTP `status` (nil: given up by age) and `reason`; they are in
    /// ``Footfall/deadLetters(limit:)``.
    case deadLettered(count: Int64, status: Int?, reason: String)
    /// An upload failed transiently; data is kept and the next attempt is due after `retryAfter` seconds.
    case retryScheduled(retryAfter: TimeInterval, reason: String)
    /// The server refused the credentials or the endpoint; uploads wait for an explicit flush. Data is kept.
    case paused(reason: String)
    /// A consent change took effect: a decision (`recordId` is its consent-log record), or a policy or context
    /// change (`recordId` is nil). `purged` queued events of the purposes in `nowDenied` were deleted with it;
    /// `status` is the consent status it produced (also on ``Footfall/consentStatusUpdates``). Told before the
    /// call that made the change returns.
    case consentChanged(recordId: String?, nowAllowed: [String], nowDenied: [String], purged: Int64, status: ConsentStatus)
    /// The wallet changed: a sync brought coupons or tombstones, the issuer answered a redemption, or the shopper
    /// clipped or presented a coupon. `coupons` is the whole wallet now (also on ``Wallet/couponUpdates``).
    case walletChanged(coupons: [Coupon])
    /// A store visit opened, became a dwell or ended, once it is durable (``Proximity/visitUpdates`` reads again).
    case visitChanged(visit: Visit)
    /// The campaign rules chose an offer for a visit (also on ``Proximity/offers``).
    case offerMade(offer: Offer)
    /// The shopper arrived for an expected pickup, inside its window, once per order (also on
    /// ``Proximity/arrivals``).
    case pickupArrived(pickup: Pickup)
}

extension FlushReport {
    init(_ report: FootfallFFI.FlushReport) {
        let outcome: FlushOutcome
        switch report.outcome {
        case .drained:
            outcome = .drained
        case .retryLater(let afterMs, let reason):
            outcome = .retryLater(retryAfter: seconds(fromMilliseconds: afterMs), reason: reason)
        case .paused(let reason):
            outcome = .paused(reason: reason)
        case .held(let afterMs, let untilMs, let reason):
            outcome = .held(
                retryAfter: seconds(fromMilliseconds: afterMs),
                until: Date(timeIntervalSince1970: seconds(fromMilliseconds: untilMs)),
                reason: reason
            )
        }
        self.init(
            delivered: report.delivered,
            deadLettered: report.deadLettered,
            duplicates: report.duplicates,
            remaining: report.remaining,
            outcome: outcome
        )
    }
}

extension FootfallEvent {
    init(_ event: FootfallFFI.FootfallEvent) {
        switch event {
        case .delivered(let count, let duplicates):
            self = .delivered(count: count, duplicates: duplicates)
        case .deadLettered(let count, let status, let reason):
            self = .deadLettered(count: count, status: status.map { Int($0) }, reason: reason)
        case .retryScheduled(let afterMs, let reason):
            self = .retryScheduled(retryAfter: seconds(fromMilliseconds: afterMs), reason: reason)
        case .paused(let reason):
            self = .paused(reason: reason)
        case .consentChanged(let recordId, let nowAllowed, let nowDenied, let purged, let status):
            self = .consentChanged(
                recordId: recordId, nowAllowed: nowAllowed, nowDenied: nowDenied, purged: purged, status: status
            )
        case .walletChanged(let coupons):
            self = .walletChanged(coupons: coupons)
        case .visitChanged(let visit):
            self = .visitChanged(visit: visit)
        case .offerMade(let offer):
            self = .offerMade(offer: offer)
        case .pickupArrived(let pickup):
            self = .pickupArrived(pickup: pickup)
        }
    }
}
