package dev.footfall

/*
 * Store proximity's types, re-exported from the generated layer (like Coupon): immutable data classes and enums.
 * Instants are RFC 3339 UTC text, as everywhere else the SDK shows a time (`Instant.parse(visit.enteredAt)`).
 */

/** A store visit: one stay in one zone, with when it was entered, became a dwell and ended (and why). */
typealias Visit = dev.footfall.ffi.Visit

/** Where a visit is: `ENTERED → DWELLING → ENDED` (a short visit goes from `ENTERED` to `ENDED`). */
typealias VisitPhase = dev.footfall.ffi.VisitPhase

/** An offer the campaign rules chose for a visit: `title` and `body` are copy keys the app resolves; `couponId`
 *  the wallet coupon it grants, if any. */
typealias Offer = dev.footfall.ffi.Offer

/** An expected click-and-collect pickup: its store and window, and when (and in which visit) the shopper arrived. */
typealias Pickup = dev.footfall.ffi.Pickup

/** Proximity's counters since the instance started, its configuration's size and version, and the zones the
 *  shopper is in ([ZonePresence]). */
typealias ProximityStatus = dev.footfall.ffi.ProximityStatus

/** A zone the shopper is in now, and the visit open in it. */
typealias ZonePresence = dev.footfall.ffi.ZonePresence

/** What became of one scan input: `PROCESSED`, `NO_CONSENT` (`location` not granted: dropped, nothing kept) or
 *  `NOT_READY` (the SDK is still reading the visits the last run left open, just after start-up: dropped). */
typealias Ingested = dev.footfall.ffi.Ingested
