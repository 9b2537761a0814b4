import Foundation
import FootfallFFI

// Store proximity's types, re-exported from the generated layer (like `Coupon`). Instants are RFC 3339 UTC text,
// as everywhere else the SDK shows a time (`ISO8601DateFormatter` with `.withFractionalSeconds` reads them).

/// A store visit: one stay in one zone, with when it was entered, became a dwell and ended (and why).
public typealias Visit = FootfallFFI.Visit

/// Where a visit is: `.entered → .dwelling → .ended` (a short visit goes from `.entered` to `.ended`).
public typealias VisitPhase = FootfallFFI.VisitPhase

/// An offer the campaign rules chose for a visit: `title` and `body` are copy keys the app resolves; `couponId`
/// the wallet coupon it grants, if any.
public typealias Offer = FootfallFFI.Offer

/// An expected click-and-collect pickup: its store and window, and when (and in which visit) the shopper arrived.
public typealias Pickup = FootfallFFI.Pickup

/// Proximity's counters since the instance started, its configuration's size and version, and the zones the
/// shopper is in (``ZonePresence``).
public typealias ProximityStatus = FootfallFFI.ProximityStatus

/// A zone the shopper is in now, and the visit open in it.
public typealias ZonePresence = FootfallFFI.ZonePresence

/// What became of one scan input: `.processed`, `.noConsent` (`location` not granted: dropped, nothing kept) or
/// `.notReady` (the SDK is still reading the visits the last run left open, just after start-up: dropped).
public typealias Ingested = FootfallFFI.Ingested
