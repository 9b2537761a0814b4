package dev.footfall

import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.footfall.ffi.FootfallEvent as FfiEvent

/**
 * Something the SDK did, delivered on [Footfall.events]: after each upload pass, when consent or the wallet
 * changed, and for store visits, offers and pickup arrivals. Only what happened is told: a pass held back by a
 * backoff sends nothing. New subclasses will be added, so `when` over it should keep an `else` branch.
 */
sealed class FootfallEvent {
    /** The server accepted [count] events; [duplicates] of them it already had. */
    data class Delivered(val count: Long, val duplicates: Long) : FootfallEvent()

    /** The server refused [count] events with [status] (null: given up by age) and [reason]; see
     *  [Footfall.deadLetters]. */
    data class DeadLettered(val count: Long, val status: Int?, val reason: String) : FootfallEvent()

    /** An upload failed transiently; data is kept and the next attempt is due after [retryAfter]. */
    data class RetryScheduled(val retryAfter: Duration, val reason: String) : FootfallEvent()

    /** The server refused the credentials or the endpoint; uploads wait for an explicit flush. Data is kept. */
    data class Paused(val reason: String) : FootfallEvent()

    /**
     * A consent change took effect: a decision was recorded ([recordId]), or a policy or context was applied
     * (ask [Footfall.needsPrompt] again). [purged] queued events of the purposes in [nowDenied] were deleted with
     * it; [status] is the consent status it produced (also published on [Footfall.consent]). Emitted once the
     * change is durable, before the call that made it returns; a prompt shown is not a change.
     */
    data class ConsentChanged(
        val recordId: String?,
        val nowAllowed: List<String>,
        val nowDenied: List<String>,
        val purged: Long,
        val status: ConsentStatus,
    ) : FootfallEvent()

    /**
     * The wallet changed: a sync brought coupons or tombstones, the issuer answered a redemption, or the shopper
     * clipped or presented a coupon. [coupons] is the whole wallet now (also published on [Wallet.coupons]).
     */
    data class WalletChanged(val coupons: List<Coupon>) : FootfallEvent()

    /** A store visit opened, became a dwell or ended, once it is durable ([Proximity.visits] is read again). */
    data class VisitChanged(val visit: Visit) : FootfallEvent()

    /** The campaign rules chose an offer for a visit (also on [Proximity.offers]). */
    data class OfferMade(val offer: Offer) : FootfallEvent()

    /** The shopper arrived for an expected pickup, inside its window, once per order (also on
     *  [Proximity.arrivals]). */
    data class PickupArrived(val pickup: Pickup) : FootfallEvent()
}

internal fun FfiEvent.toFootfallEvent(): FootfallEvent = when (this) {
    is FfiEvent.Delivered -> FootfallEvent.Delivered(count, duplicates)
    is FfiEvent.DeadLettered -> FootfallEvent.DeadLettered(count, status, reason)
    is FfiEvent.RetryScheduled -> FootfallEvent.RetryScheduled(afterMs.milliseconds, reason)
    is FfiEvent.Paused -> FootfallEvent.Paused(reason)
    is FfiEvent.ConsentChanged -> FootfallEvent.ConsentChanged(recordId, nowAllowed, nowDenied, purged, status)
    is FfiEvent.WalletChanged -> FootfallEvent.WalletChanged(coupons)
    is FfiEvent.VisitChanged -> FootfallEvent.VisitChanged(visit)
    is FfiEvent.OfferMade -> FootfallEvent.OfferMade(offer)
    is FfiEvent.PickupArrived -> FootfallEvent.PickupArrived(pickup)
}
