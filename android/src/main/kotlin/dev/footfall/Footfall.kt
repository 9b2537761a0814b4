package dev.footfall

import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import dev.footfall.ffi.LogSink as FfiLogSink
import dev.footfall.ffi.TrackedEvent

/**
 * The Footfall SDK: an offline-first event queue that survives app kills and uploads in batches, gated on the
 * shopper's consent ([FootfallConsent]), with their data rights ([FootfallRights]), a coupon wallet ([wallet]) and
 * store proximity ([proximity]).
 *
 * Create one instance per data directory and keep it for the life of the process; [close] it (or use
 * `use {}`) when done. All methods are thread-safe.
 *
 * ```kotlin
 * val footfall = Footfall(FootfallConfig(dataDir = filesDir.path + "/footfall", endpoint = "https://collect.example"))
 * footfall.grant(listOf("analytics"))   // suspends; consent is default-deny
 * footfall.track("product_viewed", mapOf("sku" to "4901234567894", "price" to 1980))
 * scope.launch { footfall.events.collect { event -> log(event) } }
 * val report = footfall.flush()   // suspends; the upload runs on the SDK's own thread
 * ```
 */
class Footfall private constructor(private val core: Core) :
    AutoCloseable,
    FootfallConsent by ConsentCalls(core),
    FootfallRights by RightsCalls(core) {

    /**
     * Starts an instance. No disk or network I/O happens on the calling thread.
     *
     * @param config where the queue lives, where it uploads to, its limits, how consent is gated and the
     *   wallet's issuer key set.
     * @param transport the app's HTTP client; null uses the built-in HTTPS client.
     * @param deviceSigner the wallet's device key in hardware (on Android `KeystoreDeviceSigner`); null keeps a
     *   software key in the SDK's database.
     * @param keyProvider the platform's key store that wraps the key personal data is encrypted with on disk (on
     *   Android `AndroidKeystoreKeyProvider`); null keeps the wrapping key in a file in [FootfallConfig.dataDir].
     *   Pass the same one on every start: a database is refused by another ([KeyProvider.storeName]).
     * @throws FootfallException.Config when the configuration cannot work.
     */
    constructor(
        config: FootfallConfig,
        transport: HttpTransport? = null,
        deviceSigner: DeviceSigner? = null,
        keyProvider: KeyProvider? = null,
    ) : this(Core(config, transport, deviceSigner, keyProvider))

    /** The coupon wallet: on when [FootfallConfig.walletKeyset] is set. */
    val wallet: Wallet = Wallet(core)

    /** Store proximity (visits, offers, pickups): zones from [FootfallConfig.proximity] and the server, gated on
     *  `location`. */
    val proximity: Proximity = Proximity(core)

    /**
     * What the SDK does with the data (delivered, dead-lettered, retry scheduled, paused) and consent changes, as
     * they happen. Hot: collectors see the events emitted while they collect; the events of a [flush] are emitted
     * before it returns, a [FootfallEvent.ConsentChanged] before the change returns. A slow collector loses the
     * oldest events beyond a buffer of 256 rather than slowing the SDK. Use `onSubscription` to know when a
     * collector is in place.
     */
    val events: SharedFlow<FootfallEvent> = core.events.asSharedFlow()

    /**
     * Records an event and returns its id at once; it never waits for disk or network, nor crosses into the native
     * library: the event is checked, judged against the consent status published last ([consent]) and stamped
     * with its id here, then handed to the core with others in a batch, off the calling thread. Everything
     * accepted is handed over before [flush], [flushToDisk], [close] and any other call returns.
     *
     * [properties] is encoded on the SDK's thread after the call: do not change the map once it is passed.
     *
     * @param name what happened, e.g. `product_viewed` (1–200 characters).
     * @param properties the event's details: nested maps, lists, strings, numbers, booleans and null.
     * @param purpose the consent purpose the event serves (`[a-z0-9_-]{1,64}`); `essential` is never gated.
     * @throws FootfallException.InvalidInput when the name, properties or purpose are refused; nothing is recorded.
     * @throws FootfallException.ConsentDenied when the shopper has not allowed [purpose] (as last published on
     *   [consent]); nothing is recorded. While the status is not known yet the event is accepted and the core
     *   judges it before storing it, as it does for a purpose the status does not list.
     * @throws FootfallException.QueueFull when the buffer in front of the core is full (counted in [Status]).
     * @throws FootfallException.Closed after [close].
     */
    fun track(name: String, properties: Map<String, Any?> = emptyMap(), purpose: String = DEFAULT_PURPOSE): String {
        if (core.closed.get()) throw FootfallException.Closed()
        return core.tracks.track(name, properties, purpose)
    }

    /**
     * [track] with the properties already written as a JSON object (`{"sku":"…"}`). The text is checked by the
     * core, so this call crosses into it at once (after the events buffered before it).
     *
     * @throws FootfallException.InvalidInput when the text is not a JSON object, or is too large or too deep.
     */
    fun trackJson(name: String, propertiesJson: String, purpose: String = DEFAULT_PURPOSE): String =
        core.call { it.trackEvent(TrackedEvent(name, propertiesJson, purpose)) }

    /**
     * Signs the shopper in: what is tracked from now on, and the wallet, name [userId]. The identify message with
     * [traits] serves the purpose `analytics`: returns its id, or null while that is denied (no message is recorded,
     * and the sign-in stands all the same).
     */
    fun identify(userId: String, traits: Map<String, Any?> = emptyMap()): String? =
        core.call { it.identify(userId, Json.encodeObject(traits)) }

    /** Forgets the user: a new anonymous id and a new session for everything tracked after. */
    fun reset(): Unit = core.call { it.reset() }

    /**
     * Uploads what is queued now (only purposes allowed now) and reports the outcome; consent records and
     * deletion requests go in the same pass. The upload runs on the SDK's sync thread; cancelling the calling
     * coroutine stops waiting, not the upload, which finishes (or is retried) on its own.
     *
     * @throws FootfallException.Config when no endpoint is configured.
     */
    suspend fun flush(): FlushReport = core.native { it.flush() }.toFlushReport()

    /**
     * Tells the SDK the device's network came back: uploads waiting out a backoff after a failure (or the hour
     * after a refused certificate) try at once (a server's Retry-After and a pause for credentials still hold). Never
     * blocks; calls coalesce. The Android layer's [dev.footfall.android.NetworkWatcher] calls it for you.
     */
    fun networkAvailable(): Unit = core.call { it.networkAvailable() }

    /** Blocks until everything tracked before the call is durable on disk (a few ms; not on the main thread). */
    fun flushToDisk(): Unit = core.call { it.flushToDisk() }

    /** The queue and the sync history, read from storage (blocking, brief). */
    fun status(): Status = core.call { it.status() }

    /**
     * Re-encrypts everything the SDK keeps encrypted under a new data key, wrapped by the [KeyProvider]'s key as it
     * is now (call it after rotating the Keystore key). Events tracked before the call are included. Returns the new
     * key's id, or null when encryption is off. Runs on the IO dispatcher.
     */
    suspend fun rotateEncryptionKey(): Long? = core.io { it.rotateEncryptionKey() }?.toLong()

    /** The most recent events the server refused, newest first. */
    fun deadLetters(limit: Int = 100): List<DeadLetter> {
        if (limit < 0) throw FootfallException.InvalidInput("limit must not be negative, got $limit")
        return core.call { it.deadLetters(limit.toUInt()) }
    }

    /**
     * Commits what was tracked, stops the SDK's threads and releases the database and the native handle.
     * Safe to call more than once; every other method then throws [FootfallException.Closed].
     */
    override fun close(): Unit = core.close()

    companion object {
        /** The purpose of events tracked without one. */
        const val DEFAULT_PURPOSE = "analytics"

        /** The purpose that is never gated by consent: only for what the app needs to work or must record by law. */
        const val ESSENTIAL_PURPOSE = "essential"

        /**
         * Sends the SDK's log records at [level] and above to [sink], for the whole process; null stops it.
         * The sink runs on SDK threads and must not call back into the SDK. Records never contain event data.
         */
        @JvmStatic
        fun setLogSink(level: LogLevel = LogLevel.INFO, sink: ((LogRecord) -> Unit)?) {
            val adapter = sink?.let { fn ->
                object : FfiLogSink {
                    override fun log(record: LogRecord) = fn(record)
                }
            }
            translating { dev.footfall.ffi.setLogSink(adapter, level) }
        }
    }
}
