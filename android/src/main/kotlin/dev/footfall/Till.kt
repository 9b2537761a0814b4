package dev.footfall

import java.time.Instant
import dev.footfall.ffi.Till as FfiTill

/*
 * The till's side of the wallet, for a point-of-sale app: checking a scanned redemption code offline with the
 * issuer's key set. No SDK instance is needed.
 */

/**
 * Checks a scanned redemption code offline, with no memory of earlier codes: the issuer's signature on the
 * coupon (against [keysetJson], the key set the till pins), the device proof (answering [challenge] when the till
 * showed one), freshness (about two minutes), validity at [now] and the coupon's offline policy. A code scanned
 * twice passes twice: a till that accepts coupons uses a [Till], which remembers.
 *
 * A refused code is a verdict ([RedemptionVerdict.valid] false, with its [RedemptionVerdict.reason]), not an
 * exception.
 *
 * @throws FootfallException.Config when the key set is not usable.
 */
@JvmOverloads
fun verifyRedemption(
    code: String,
    keysetJson: String,
    storeId: String,
    now: Instant = Instant.now(),
    challenge: ByteArray? = null,
): RedemptionVerdict = translating { dev.footfall.ffi.verifyRedemption(code, keysetJson, now.epochSecond, storeId, challenge) }

/**
 * One till: the store it stands in, the issuer keys it trusts, and the redemptions it accepted, so a replayed code
 * (`replayed`) or a serial whose offline uses are spent here (`already_redeemed`) is refused. The record lives in
 * memory for this object's life; the issuer catches double spends across tills when the redemptions reach it.
 * [close] it when done.
 *
 * ```kotlin
 * val till = Till(issuerKeysetJson, storeId = "tokyo-1")
 * val verdict = till.redeem(scannedText)     // records it when valid
 * if (verdict.valid) applyCoupon(verdict.couponId!!) else showRefusal(verdict.reason)
 * ```
 *
 * @throws FootfallException.Config when the key set is not usable.
 */
class Till(keysetJson: String, storeId: String) : AutoCloseable {
    private val native: FfiTill = translating { FfiTill(keysetJson, storeId) }

    /** What [redeem] would answer now, recording nothing (to show the coupon before the sale completes). */
    @JvmOverloads
    fun check(code: String, now: Instant = Instant.now(), challenge: ByteArray? = null): RedemptionVerdict =
        translating { native.check(code, now.epochSecond, challenge) }

    /** Checks the code and, when valid, records it as redeemed at this till: call it as the sale completes. */
    @JvmOverloads
    fun redeem(code: String, now: Instant = Instant.now(), challenge: ByteArray? = null): RedemptionVerdict =
        translating { native.redeem(code, now.epochSecond, challenge) }

    /** Frees the native till. */
    override fun close() = native.close()
}
