package dev.footfall

import java.time.Instant
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The coupon wallet of a [Footfall] instance ([Footfall.wallet]): signed coupons kept on the device, clipped and
 * presented at a till even with no network, redeemed once the issuer accepts the redemption.
 *
 * It is on when [FootfallConfig.walletKeyset] holds the issuer's key set (bundled with the app); otherwise every
 * call throws [FootfallException.Wallet] with [WalletErrorKind.NOT_CONFIGURED]. Wallet calls are a service the
 * shopper asked for: analytics consent does not gate them.
 *
 * Every function suspends and runs the native call on the SDK's IO dispatcher (a local read or write, and for
 * [present] one signature by the device key), so they are safe to call from the main thread.
 *
 * ```kotlin
 * scope.launch { footfall.wallet.coupons.collect { coupons -> adapter.submitList(coupons) } }
 * footfall.wallet.sync()                                   // on foreground, and when a push says so
 * footfall.wallet.clip("autumn-10")
 * val presented = footfall.wallet.present("autumn-10", storeId = "tokyo-1")
 * draw(presented.qr)                                       // works offline; redeemed once the issuer answers
 * ```
 */
class Wallet internal constructor(private val core: Core) {
    /**
     * The wallet's coupons, kept current for a wallet screen: empty until the SDK has read them (right after
     * construction, in the background), then the list the SDK publishes with every change: a sync that brought
     * coupons or tombstones, the issuer's answer to a redemption, a clip or a presentation (before [clip] or
     * [present] returns). Only the passing of time is not observed ([Coupon.usableNow] turning false at expiry):
     * call [list] when a screen that depends on it opens.
     */
    val coupons: StateFlow<List<Coupon>> = core.walletState.flow

    /**
     * Pulls the coupon feed from the issuer now: call it when the app comes to the foreground and when a push
     * says the wallet changed (the SDK also pulls at start-up and after redemptions were answered). The pull runs
     * on the SDK's sync thread; cancelling the caller stops waiting, not the pull.
     *
     * @throws FootfallException.Network when the issuer could not be reached or answered with an error; the
     *   wallet stays as it was.
     */
    suspend fun sync(): WalletSyncReport = core.native { it.walletSync() }

    /**
     * Clips a coupon: durable once this returns, sent to the issuer when the network allows. Returns whether it
     * changed (false: already clipped or presented).
     *
     * @throws FootfallException.Wallet with [WalletErrorKind.UNKNOWN_COUPON], or [WalletErrorKind.COUPON_UNUSABLE]
     *   and the [FootfallException.Wallet.reasons] when it has ended.
     */
    suspend fun clip(couponId: String): Boolean = core.io { it.walletClip(couponId) }

    /**
     * Presents a coupon at a till: the device-bound code and its QR symbol, returned once the redemption is
     * durable. Works offline; the redemption is sent when the network allows, and only the issuer's answer makes
     * the coupon [CouponState.REDEEMED]. A coupon that is [CouponState.PENDING_REDEEM] already has its code in
     * [Coupon.pendingCode]: show that again ([QrCode.of]) rather than presenting twice.
     *
     * @param storeId the store the till is in (1–64 characters).
     * @param challenge the till's nonce (at most 32 bytes) when it shows one.
     * @throws FootfallException.Wallet with [WalletErrorKind.COUPON_UNUSABLE] and the reasons (`expired`,
     *   `uses_exhausted`, `offline_limit`, …), [WalletErrorKind.DEVICE_KEY] when the device key failed, or
     *   [WalletErrorKind.INVALID] for a bad store id or challenge. Nothing was presented.
     */
    suspend fun present(couponId: String, storeId: String, challenge: ByteArray? = null): PresentedCode =
        core.io { it.walletPresent(couponId, storeId, challenge) }.toPresentedCode()

    /**
     * "Which coupons apply, and why not?": for every live coupon, whether it applies to [basket], its discount in
     * minor units, and every reason it does not (`min_basket`, `not_eligible_item`, `stack_conflict`, …).
     *
     * @throws FootfallException.Wallet with [WalletErrorKind.INVALID] for a line that is not one (a bad GTIN, a
     *   negative quantity or price).
     */
    suspend fun evaluate(basket: Basket): List<CouponOutcome> = core.io { it.walletEvaluate(basket) }

    /** The coupons read now, judged at [at] (default: the wallet's server-corrected now). */
    suspend fun list(at: Instant? = null): List<Coupon> = core.io { it.walletCoupons(at?.epochSecond) }

    /** The server-corrected time the wallet judges validity at. */
    suspend fun now(): Instant = Instant.ofEpochSecond(core.io { it.walletNowSecs() })
}

/**
 * The observable coupon list behind [Wallet.coupons]: the list the core publishes with every wallet change (in
 * its `WalletChanged` event), and one read at start-up. The read only counts if no change was published while it
 * ran, so a slow first read never replaces a newer list.
 */
internal class WalletState {
    private val lock = Any()
    private var published = 0L
    private val state = MutableStateFlow<List<Coupon>>(emptyList())

    val flow: StateFlow<List<Coupon>> = state.asStateFlow()

    /** A change's list; called on an SDK thread. */
    fun publish(coupons: List<Coupon>) = synchronized(lock) {
        published++
        state.value = coupons
    }

    /** A mark to pass to [publishRead]: the number of changes published so far. */
    fun mark(): Long = synchronized(lock) { published }

    /** A list read after [mark]; kept only when no change was published since. */
    fun publishRead(coupons: List<Coupon>, mark: Long) = synchronized(lock) {
        if (published == mark) state.value = coupons
    }
}
