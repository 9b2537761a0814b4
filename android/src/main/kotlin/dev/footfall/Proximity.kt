package dev.footfall

import java.time.Instant
import java.util.UUID
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Store proximity of a [Footfall] instance ([Footfall.proximity]): beacon sightings become store visits (enter,
 * dwell, exit), the campaign rules make offers for them, and expected click-and-collect pickups are recognised
 * when the shopper arrives. The zones and campaigns come from [FootfallConfig.proximity] (bundled with the app)
 * and the server. Everything is gated on the `location` purpose: without it readings are dropped and nothing is
 * kept, and withdrawing it deletes the visits.
 *
 * The app runs the BLE scan and feeds what it hears: [advertisement] for each scan result, [scanTick] at the end
 * of each scan period, [scanning] when scanning stops (background, Bluetooth off, permission revoked) or starts.
 *
 * **Ingestion is not suspending.** [advertisement], [identity], [scanTick] and [scanning] never wait for the disk
 * or the network: they take one in-memory lock in the SDK and hand what changed to its writer thread, in a few
 * microseconds. A `ScanCallback` runs on a binder or the main thread and cannot suspend; making the caller launch
 * a coroutine per advertisement would cost more than the call and could reorder readings. So they are plain
 * functions, safe on any thread (like [Footfall.track]). Reads and writes of the database ([visits],
 * [expectPickup], [pickups], [status]) suspend and run on the SDK's IO dispatcher.
 *
 * ```kotlin
 * override fun onScanResult(type: Int, result: ScanResult) {
 *     val ageMs = (SystemClock.elapsedRealtimeNanos() - result.timestampNanos) / 1_000_000
 *     runCatching { footfall.proximity.advertisement(result.scanRecord!!.bytes, result.rssi, ageMs) }
 * }
 * scope.launch { footfall.proximity.offers.collect { offer -> notify(offer) } }
 * scope.launch { footfall.proximity.visits.collect { visits -> adapter.submitList(visits) } }
 * ```
 */
class Proximity internal constructor(private val core: Core) {
    /**
     * The latest visits (newest first, at most [VISITS_SHOWN]), kept current: read at start-up, then read again
     * after every visit change (enter, dwell, exit) and every consent change (withdrawing `location` deletes
     * them). Empty until the first read is done.
     */
    val visits: StateFlow<List<Visit>> = core.proximityState.visits

    /**
     * Each offer the campaign rules make, once, as it is made (durable, before the visit's next change). Hot: a
     * collector sees the offers made while it collects; use `onSubscription` to know it is in place. A slow
     * collector loses the oldest beyond a buffer of 64.
     */
    val offers: SharedFlow<Offer> = core.proximityState.offers.asSharedFlow()

    /** Each expected pickup the shopper arrived for, once per order, as it is recognised. Hot, like [offers]. */
    val arrivals: SharedFlow<Pickup> = core.proximityState.arrivals.asSharedFlow()

    /**
     * Android's path: one BLE advertisement (the scan record's bytes: iBeacon or Eddystone-UID) heard at [rssi]
     * dBm, [ageMs] milliseconds ago (`elapsedRealtimeNanos()` minus the result's `timestampNanos`). Not
     * suspending: see the class documentation.
     *
     * @throws FootfallException.InvalidInput when the frame names no beacon, or a number is out of range; nothing
     *   is kept.
     * @throws FootfallException.Closed after [Footfall.close].
     */
    fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long = 0): Ingested {
        val dbm = rssi(rssi)
        val age = age(ageMs)
        return core.call { it.proximityAdvertisement(bytes, dbm, age) }
    }

    /**
     * A beacon identified by its proximity UUID (either case), major and minor, heard at [rssi] dBm (not 0) [ageMs]
     * milliseconds ago: what iOS ranging reports, and what an app that parses frames itself has. Not suspending.
     *
     * @throws FootfallException.InvalidInput for a malformed UUID, an RSSI of 0 or a number out of range.
     */
    fun identity(uuid: String, major: Int, minor: Int, rssi: Int, ageMs: Long = 0): Ingested {
        val majorId = ushort("major", major)
        val minorId = ushort("minor", minor)
        val dbm = rssi(rssi)
        val age = age(ageMs)
        return core.call { it.proximityIdentity(uuid, majorId, minorId, dbm, age) }
    }

    /** [identity] with the UUID as a [UUID]. */
    fun identity(uuid: UUID, major: Int, minor: Int, rssi: Int, ageMs: Long = 0): Ingested =
        identity(uuid.toString(), major, minor, rssi, ageMs)

    /** A scan period ended with scanning on: what was not heard in it was absent. Once per period. */
    fun scanTick(): Ingested = core.call { it.proximityScanTick() }

    /**
     * Scanning stopped (the app went to the background, Bluetooth is off, permission was revoked) or started
     * again. Time while it is stopped is unknown: it never counts as absence, so a visit neither ends nor
     * repeats because of it.
     */
    fun scanning(active: Boolean): Ingested = core.call { it.proximityScanning(active) }

    /** The latest [limit] visits, newest first. */
    suspend fun visits(limit: Int = VISITS_SHOWN): List<Visit> {
        if (limit < 0) throw FootfallException.InvalidInput("limit must not be negative, got $limit")
        return core.io { it.proximityVisits(limit.toUInt()) }
    }

    /** Counters since the instance started, the configuration's size and version, and the zones the shopper is in. */
    suspend fun status(): ProximityStatus = core.io { it.proximityStatus() }

    /**
     * Click-and-collect: watch for the shopper entering one of [store]'s zones between [from] and [until]. The
     * arrival is told once per order on [arrivals]; calling this again for the same order moves its window until
     * it has arrived. Returns once the expectation is durable.
     *
     * @throws FootfallException.InvalidInput for an empty or oversized order or store id, or a window that ends
     *   before it starts.
     */
    suspend fun expectPickup(orderId: String, store: String, from: Instant, until: Instant) {
        val fromMs = epochMillis("from", from)
        val untilMs = epochMillis("until", until)
        core.io { it.expectPickup(orderId, store, fromMs, untilMs) }
    }

    /** [expectPickup] with the window as a range: `expectPickup("order-7", "tokyo-1", now..now.plusSeconds(3600))`. */
    suspend fun expectPickup(orderId: String, store: String, window: ClosedRange<Instant>) =
        expectPickup(orderId, store, window.start, window.endInclusive)

    /** Every expected pickup, arrived or not. */
    suspend fun pickups(): List<Pickup> = core.io { it.pickups() }

    companion object {
        /** How many visits [visits] holds. */
        const val VISITS_SHOWN = 20
    }
}

// Conversions to the FFI's fixed-width types: a value that does not fit is refused, never wrapped.

private fun rssi(dbm: Int): Short {
    if (dbm !in Short.MIN_VALUE..Short.MAX_VALUE) throw FootfallException.InvalidInput("rssi $dbm dBm is out of range")
    return dbm.toShort()
}

private fun ushort(name: String, value: Int): UShort {
    if (value !in 0..0xFFFF) throw FootfallException.InvalidInput("$name must be 0-65535, got $value")
    return value.toUShort()
}

private fun age(ms: Long): ULong {
    if (ms < 0) throw FootfallException.InvalidInput("ageMs must not be negative, got $ms")
    return ms.toULong()
}

private fun epochMillis(name: String, at: Instant): Long = try {
    at.toEpochMilli()
} catch (e: ArithmeticException) {
    throw FootfallException.InvalidInput("$name is out of range: $at")
}

/**
 * The observable side of [Proximity]: the visit list behind [Proximity.visits], re-read (off the SDK's threads) after
 * each change told, and the offers and arrivals as they are told. One reader takes the requests in order, and
 * requests made while it reads fold into one more read, so the last list published is read after the last change.
 */
internal class ProximityState {
    private val state = MutableStateFlow<List<Visit>>(emptyList())
    val visits: StateFlow<List<Visit>> = state.asStateFlow()

    /** Pending re-reads of the visits (conflated: one pending request covers any number of changes). */
    val reads = Channel<Unit>(Channel.CONFLATED)

    val offers = MutableSharedFlow<Offer>(extraBufferCapacity = BUFFER, onBufferOverflow = BufferOverflow.DROP_OLDEST)
    val arrivals = MutableSharedFlow<Pickup>(extraBufferCapacity = BUFFER, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    /** A change that may have changed the visits; called on an SDK thread, so it only asks for a read. */
    fun changed() {
        reads.trySend(Unit)
    }

    /** A read's list; only the reader calls it, in order. */
    fun publish(visits: List<Visit>) {
        state.value = visits
    }

    private companion object {
        const val BUFFER = 64
    }
}
