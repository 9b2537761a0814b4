package dev.footfall

import dev.footfall.ffi.InternalException
import java.nio.charset.CharacterCodingException
import dev.footfall.ffi.FootfallException as FfiException

/**
 * Everything the SDK throws. Each subclass says what the app can do about it; catch [FootfallException] to
 * handle them all.
 */
sealed class FootfallException(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /** The input was refused (empty name, properties that are not a JSON object, too large or too deep, a bad
     *  purpose or user id, a value the JSON writer cannot represent, a TC string that cannot be decoded, a
     *  decision about a purpose the CMP decides in TCF import mode). Nothing was recorded; [message] says why. */
    class InvalidInput(message: String, cause: Throwable? = null) : FootfallException(message, cause)

    /** The in-memory hand-off to storage is full; the event was not recorded (counted in [Status]). It carries no
     *  stack trace: it is flow control, thrown as often as the app tracks faster than storage takes events, and
     *  filling a trace cost more than the `track()` it answers (time and ~450 bytes). */
    class QueueFull(cause: Throwable? = null) : FootfallException("the hand-off queue is full; the event was not recorded", cause) {
        override fun fillInStackTrace(): Throwable = this
    }

    /** The configuration cannot work: a bad endpoint or limit, no endpoint for a flush, no transport, an invalid
     *  consent policy, a TCF import while TCF import mode is off. */
    class Config(message: String, cause: Throwable? = null) : FootfallException(message, cause)

    /** The database could not be used; [retryable] is true when it was locked or busy. */
    class Storage(message: String, val retryable: Boolean, cause: Throwable? = null) : FootfallException(message, cause)

    /** The network or the server failed; data is kept and retried. */
    class Network(message: String, cause: Throwable? = null) : FootfallException(message, cause)

    /** The server's TLS certificate was refused; data is kept and uploads pause (see [LaneCondition]). */
    class CertificateInvalid(message: String, cause: Throwable? = null) : FootfallException(message, cause)

    /** The shopper has not allowed [purpose]; nothing was recorded (counted in [Status]). Not a bug: expected
     *  whenever consent is denied. */
    class ConsentDenied(val purpose: String, cause: Throwable? = null) :
        FootfallException("consent for purpose '$purpose' is not given; the event was not recorded", cause)

    /** The instance was closed; create a new one to record more. */
    class Closed(cause: Throwable? = null) : FootfallException("the SDK is closed", cause)

    /** A bug in the SDK or an app callback that failed unexpectedly; the SDK itself goes on. */
    class Internal(message: String, cause: Throwable? = null) : FootfallException(message, cause)

    /**
     * A wallet call was refused and nothing changed. [kind] says which refusal; [couponId] names the coupon when
     * one was asked for; [reasons] are the codes of a [WalletErrorKind.COUPON_UNUSABLE] refusal (`expired`,
     * `uses_exhausted`, `offline_limit`, `redeemed`, …), empty otherwise.
     */
    class Wallet(
        val kind: WalletErrorKind,
        val couponId: String?,
        val reasons: List<String>,
        message: String,
        cause: Throwable? = null,
    ) : FootfallException(message, cause)
}

/** Runs a call into the generated layer, turning its exceptions into [FootfallException]. */
internal inline fun <T> translating(block: () -> T): T =
    try {
        block()
    } catch (e: FfiException) {
        throw e.toFootfallException()
    } catch (e: InternalException) {
        throw FootfallException.Internal(e.message ?: "internal error", e)
    } catch (e: CharacterCodingException) {
        // The generated layer refuses strings that are not valid UTF-16 (a lone surrogate) before calling Rust.
        throw FootfallException.InvalidInput("text is not valid Unicode (a lone surrogate): ${e.message}", e)
    }

internal fun FfiException.toFootfallException(): FootfallException = when (this) {
    is FfiException.InvalidInput -> FootfallException.InvalidInput(reason, this)
    is FfiException.QueueFull -> FootfallException.QueueFull(this)
    is FfiException.Config -> FootfallException.Config(reason, this)
    is FfiException.Storage -> FootfallException.Storage(reason, retryable, this)
    is FfiException.Network -> FootfallException.Network(reason, this)
    is FfiException.CertificateInvalid -> FootfallException.CertificateInvalid(reason, this)
    is FfiException.ConsentDenied -> FootfallException.ConsentDenied(purpose, this)
    is FfiException.Closed -> FootfallException.Closed(this)
    is FfiException.Internal -> FootfallException.Internal(reason, this)
    is FfiException.Callback -> FootfallException.Internal("an app callback failed: $reason", this)
    is FfiException.Wallet -> FootfallException.Wallet(kind, couponId, reasons, "wallet: $detail", this)
}
