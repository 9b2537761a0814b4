package dev.footfall

import dev.footfall.ffi.KeyProvider as FfiKeyProvider
import dev.footfall.ffi.KeyProviderException as FfiKeyProviderException

/**
 * The key that wraps the SDK's data key, kept by the platform. The SDK seals event properties, traits and user ids
 * on disk with AES-256-GCM under a random data key, and stores that data key only as [wrap] returned it. Pass one
 * to [Footfall] to keep the wrapping key in the platform's key store: on Android,
 * `dev.footfall.android.AndroidKeystoreKeyProvider` (Android Keystore; the key never leaves it, nor the device).
 * Without one the SDK keeps the wrapping key in a file next to its database, which is weaker: whoever can read the
 * app's files (a backup, a rooted phone) reads both.
 *
 * Pass the same provider on every start: a database wrapped under one [storeName] is refused
 * ([FootfallException.Config]) by a provider with another, rather than taken for a lost key. A database of the
 * default key file (an app that shipped without a provider) is moved to the provider once, and the file deleted.
 *
 * Called on the SDK's writer thread, never the app's: [unwrap] when the database opens, [wrap] when its data key is
 * made (the first start, and after a lost key). What they throw decides what happens to the data:
 * [KeyProviderException.Lost] deletes what was sealed and starts over (counted in [Status.keyResets]);
 * [KeyProviderException.Unavailable], and anything else thrown, resets nothing and the SDK retries the open (until
 * then the SDK's calls wait or fail with [FootfallException.Storage], `retryable`). Throw `Lost` only when the key is
 * certainly gone.
 */
interface KeyProvider {
    /**
     * Which key store this is, e.g. `android-keystore`: stored with the wrapped key, so it must never change for the
     * life of an install (not with the hardware the key landed in, nor between app versions). Read once, when the
     * instance is made: an exception there fails that constructor with a configuration error.
     */
    val storeName: String

    /** [dataKey] (32 random bytes) encrypted under the platform's key, as the bytes to store. */
    fun wrap(dataKey: ByteArray): ByteArray

    /** The data key back from what [wrap] returned, in this install or in the one a backup came from. */
    fun unwrap(wrapped: ByteArray): ByteArray
}

/** Why a [KeyProvider] could not wrap or unwrap the data key. */
sealed class KeyProviderException(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /**
     * Not now: the device is still locked after a restart, the user has not authenticated, the key store is busy.
     * Nothing is reset; the SDK retries.
     */
    class Unavailable(message: String, cause: Throwable? = null) : KeyProviderException(message, cause)

    /**
     * Gone for good: the key was invalidated or deleted, the app's data was restored on a device that never had it,
     * or it no longer opens what it wrapped. What it protected can never be read again, so the SDK deletes the
     * sealed data (queued events, the user id), starts over under a new key and counts it in [Status.keyResets].
     */
    class Lost(message: String, cause: Throwable? = null) : KeyProviderException(message, cause)
}

/**
 * Adapts the app's provider to the generated interface. [KeyProviderException]s cross as the FFI's two cases;
 * anything else thrown is [KeyProviderException.Unavailable]: a surprise must never delete data.
 */
internal class KeyProviderAdapter(private val provider: KeyProvider) : FfiKeyProvider {
    override fun wrap(dataKey: ByteArray): ByteArray = crossing { provider.wrap(dataKey) }

    override fun unwrap(wrapped: ByteArray): ByteArray = crossing { provider.unwrap(wrapped) }

    override fun describe(): String = provider.storeName

    private inline fun crossing(block: () -> ByteArray): ByteArray =
        try {
            block()
        } catch (e: KeyProviderException.Lost) {
            throw FfiKeyProviderException.Lost(e.describe())
        } catch (e: KeyProviderException.Unavailable) {
            throw FfiKeyProviderException.Unavailable(e.describe())
        } catch (e: Exception) {
            throw FfiKeyProviderException.Unavailable("${e.javaClass.name}: ${e.describe()}")
        }

    /** The message, with its cause's when there is one (the key store's own words: no key material in them). */
    private fun Throwable.describe(): String {
        val own = message ?: "no message"
        val cause = cause ?: return own
        return "$own (${cause.javaClass.simpleName}: ${cause.message ?: "no message"})"
    }
}
