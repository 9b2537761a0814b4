package dev.footfall

import java.util.BitSet
import dev.footfall.ffi.PresentedCode as FfiPresentedCode
import dev.footfall.ffi.QrCode as FfiQrCode

/*
 * The coupon wallet's types. Records the generated layer already shapes well are re-exported as type aliases (like
 * Status); a presented code and its QR symbol are classes of this package, so the symbol is a compact bit matrix
 * with `qr[x, y]` instead of a list of 5 000 boxed booleans.
 */

/** A coupon in the wallet: its state, what it gives ([Coupon.discount], ready to show), its validity (UTC, and the
 *  store-local last day with its zone), whether it can be presented now and, if not, the reason codes. */
typealias Coupon = dev.footfall.ffi.Coupon

/** Where a coupon is: `AVAILABLE → CLIPPED → PENDING_REDEEM → REDEEMED` (or `REJECTED`), and the issuer's
 *  tombstones `REVOKED`, `EXPIRED`, `WITHDRAWN`. Only the issuer's answer makes a coupon `REDEEMED`. */
typealias CouponState = dev.footfall.ffi.CouponState

/** What is being bought, where and when, for [Wallet.evaluate]: `Basket(storeId, "JPY", lines)`; `atSecs` null
 *  judges at the wallet's server-corrected now, `online = false` applies the coupons' offline limits. */
typealias Basket = dev.footfall.ffi.Basket

/** One basket line: GTIN (8, 12, 13 or 14 digits), quantity and unit price in minor units. */
typealias BasketLine = dev.footfall.ffi.BasketLine

/** Whether one coupon applies to a basket, its discount in minor units, and every reason it does not. */
typealias CouponOutcome = dev.footfall.ffi.CouponOutcome

/** What a [Wallet.sync] did: pages, coupons added or ended, and the feed entries refused with their reasons. */
typealias WalletSyncReport = dev.footfall.ffi.WalletSyncReport

/** A feed entry the wallet did not store (a grant that does not verify, say), with its reason code. */
typealias WalletRefusal = dev.footfall.ffi.WalletRefusal

/** Which wallet refusal a [FootfallException.Wallet] is. */
typealias WalletErrorKind = dev.footfall.ffi.WalletErrorKind

/** A till's verdict on a redemption code: valid with what it redeems, or the refusal's reason code. */
typealias RedemptionVerdict = dev.footfall.ffi.RedemptionVerdict

/**
 * A coupon presented at a till: the device-bound [code] and its [qr] symbol. The redemption is durable before
 * this exists and reaches the issuer when the network allows; the coupon is `PENDING_REDEEM` until it answers.
 */
data class PresentedCode(
    /** Base45 text: what [qr] holds, and what a keyboard-wedge scanner types. */
    val code: String,
    /** The device's presentation counter this code used. */
    val counter: Long,
    /** The device key's short id (what the issuer attributes a double spend to). */
    val device: String,
    /** The redemption's idempotency key. */
    val redemptionId: String,
    val couponId: String,
    val serial: String,
    val qr: QrCode,
)

/**
 * A QR symbol as a square matrix of modules: draw a dark square wherever `qr[x, y]` is true, on a light
 * background with [QUIET_ZONE] light modules on every side. No image type: draw it with whatever the UI uses
 * (Compose `Canvas`, a `Bitmap`, a till's printer).
 */
class QrCode internal constructor(
    /** Modules on each side: `17 + 4 × version`. */
    val width: Int,
    /** QR version, 1–40. */
    val version: Int,
    private val dark: BitSet,
) {
    /** Whether the module at column [x], row [y] is dark; outside the symbol everything is light. */
    operator fun get(x: Int, y: Int): Boolean = x in 0 until width && y in 0 until width && dark[y * width + x]

    /** The modules row by row (`width × width`, true = dark). */
    fun toBooleanArray(): BooleanArray = BooleanArray(width * width) { dark[it] }

    override fun equals(other: Any?): Boolean =
        other is QrCode && other.width == width && other.version == version && other.dark == dark

    override fun hashCode(): Int = (width * 31 + version) * 31 + dark.hashCode()

    override fun toString(): String = "QrCode(version=$version, width=$width)"

    companion object {
        /** Light modules to leave around the symbol so scanners find its edges. */
        const val QUIET_ZONE = 4

        /**
         * The symbol for [text] at error correction level M, e.g. a coupon's [Coupon.pendingCode] to show it again.
         *
         * @throws FootfallException.InvalidInput when the text does not fit a QR symbol.
         */
        @JvmStatic
        fun of(text: String): QrCode = translating { dev.footfall.ffi.qrCode(text) }.toQrCode()
    }
}

internal fun FfiQrCode.toQrCode(): QrCode {
    val bits = BitSet(modules.size)
    modules.forEachIndexed { i, isDark -> if (isDark) bits.set(i) }
    return QrCode(width, version, bits)
}

internal fun FfiPresentedCode.toPresentedCode() =
    PresentedCode(code, counter, device, redemptionId, couponId, serial, qr.toQrCode())
