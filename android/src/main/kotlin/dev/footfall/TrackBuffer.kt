package dev.footfall

import java.util.UUID
import java.util.concurrent.ThreadLocalRandom
import dev.footfall.ffi.Footfall as FfiFootfall
import dev.footfall.ffi.StampedEvent

/**
 * The bounded buffer between `track()` on the app's threads and the native core. `track()` does on the caller's
 * thread only what its contract needs — the checks ([FootfallException.InvalidInput]), the consent decision from
 * the published status ([FootfallException.ConsentDenied]), the id (a UUIDv7 stamped here) and a slot in the
 * buffer ([FootfallException.QueueFull] when there is none, counted) — and allocates little more than the id it
 * returns. Encoding the properties and the JNA crossing happen on the `footfall-track` thread, one crossing per
 * batch ([FfiFootfall.trackBatch]), which keeps the order events were accepted in.
 *
 * Everything accepted reaches the core: [drain] hands over what is buffered and returns once the core has it;
 * [Core] drains before every other native call (so a flush, an identify or a consent change comes after the
 * events tracked before it) and on close.
 */
internal class TrackBuffer(
    private val native: FfiFootfall,
    private val consent: ConsentState,
    private val capacity: Int = CAPACITY,
    /** False in tests that drain by hand: nothing is handed over behind their back. */
    background: Boolean = true,
) {
    /** One set of slots: the buffer fills one while the batch before it is handed over from the other. */
    private class Slots(capacity: Int) {
        val names = arrayOfNulls<String>(capacity)
        /** A [Map] to encode, or properties already encoded (a large map, measured exactly on the caller's thread). */
        val properties = arrayOfNulls<Any>(capacity)
        val purposes = arrayOfNulls<String>(capacity)
        val ids = arrayOfNulls<String>(capacity)
        val times = LongArray(capacity)

        fun clear(count: Int) {
            names.fill(null, 0, count)
            properties.fill(null, 0, count)
            purposes.fill(null, 0, count)
            ids.fill(null, 0, count)
        }
    }

    private val lock = Object()

    // Guarded by lock.
    private var filling = Slots(capacity)
    private var count = 0
    private var queueFull = 0L
    private var consentRefused = 0L
    private var closed = false

    /** Why the core could not take the last batch (its database cannot be used): what `track()` answers then. */
    @Volatile
    private var failure: FootfallException? = null

    /** Held while a batch is taken and handed over: batches reach the core in the order they were filled. */
    private val handOver = Object()
    private var spare = Slots(capacity) // guarded by handOver

    private val thread: Thread? = if (!background) null else Thread(::run, "footfall-track").apply {
        isDaemon = true
        start()
    }

    /**
     * Accepts an event: checked, judged against the consent published last and stamped here. Returns its id.
     * [properties] is read again when the batch is encoded, off this thread: it must not change after the call.
     */
    fun track(name: String, properties: Map<*, *>, purpose: String): String {
        failure?.let { throw it }
        checkName(name)
        checkPurpose(purpose)
        val bound = Json.check(properties)
        val payload: Any = if (bound <= Json.MAX_BYTES) properties else encodeLarge(properties)
        if (denied(purpose)) {
            synchronized(lock) { consentRefused++ }
            throw FootfallException.ConsentDenied(purpose)
        }
        val now = System.currentTimeMillis()
        val id = uuidV7(now)
        synchronized(lock) {
            if (closed) throw FootfallException.Closed()
            val n = count
            if (n == capacity) {
                queueFull++
                throw FootfallException.QueueFull()
            }
            val slots = filling
            slots.names[n] = name
            slots.properties[n] = payload
            slots.purposes[n] = purpose
            slots.ids[n] = id
            slots.times[n] = now
            count = n + 1
            // Wake the hand-over thread for the first event of a batch and again when the buffer is a quarter full.
            if (n == 0 || n + 1 == capacity / 4) lock.notify()
        }
        return id
    }

    /** Hands everything buffered (and the refusals counted) to the core; returns once the core has it. */
    fun drain() {
        synchronized(handOver) {
            val batch: Slots
            val n: Int
            val full: Long
            val refused: Long
            synchronized(lock) {
                n = count
                full = queueFull
                refused = consentRefused
                if (n == 0 && full == 0L && refused == 0L) return
                batch = filling
                filling = spare
                count = 0
                queueFull = 0
                consentRefused = 0
            }
            spare = batch
            val events = ArrayList<StampedEvent>(n)
            for (i in 0 until n) {
                val encoded = try {
                    when (val p = batch.properties[i]) {
                        is String -> p
                        else -> Json.encodeObject(p as Map<*, *>)
                    }
                } catch (e: Exception) {
                    // The map changed after track(): into something JSON cannot hold, or while it was read
                    // (ConcurrentModificationException). Skipped, never thrown into the app's next call.
                    null
                } ?: continue
                events += StampedEvent(batch.ids[i]!!, batch.times[i], batch.names[i]!!, encoded, batch.purposes[i]!!)
            }
            batch.clear(n)
            try {
                native.trackBatch(events, full.toULong(), refused.toULong())
            } catch (e: dev.footfall.ffi.FootfallException) {
                // Closed, or the database cannot be used: what the core could not take is lost, as a direct
                // track() would have been refused; the next track() says why.
                if (e is dev.footfall.ffi.FootfallException.Storage) failure = e.toFootfallException()
            } catch (e: IllegalStateException) {
                // The handle was destroyed by close() meanwhile.
            }
        }
    }

    /** Refuses new events, hands over what is buffered and stops the hand-over thread. */
    fun close() {
        synchronized(lock) {
            closed = true
            lock.notifyAll()
        }
        drain()
        if (thread != null && Thread.currentThread() !== thread) thread.join()
    }

    private fun run() {
        while (true) {
            synchronized(lock) {
                while (count == 0 && !closed) lock.wait()
                if (closed) return
                // Let a batch gather unless the buffer is already a quarter full.
                if (count < capacity / 4) lock.wait(LINGER_MS)
            }
            drain()
        }
    }

    /** Denied by the status published last; unknown (not read yet, or a purpose it does not list) is accepted:
     *  the core judges at commit. */
    private fun denied(purpose: String): Boolean {
        if (purpose == Footfall.ESSENTIAL_PURPOSE) return false
        val status = consent.flow.value ?: return false
        if (!status.enforced) return false
        val purposes = status.purposes
        for (i in purposes.indices) {
            val p = purposes[i]
            if (p.id == purpose) return !p.allowed
        }
        return false
    }

    private fun encodeLarge(properties: Map<*, *>): String {
        val json = Json.encodeObject(properties)
        val size = Json.utf8Length(json)
        if (size > Json.MAX_BYTES) {
            throw FootfallException.InvalidInput("properties are $size bytes as JSON, over the limit of ${Json.MAX_BYTES}")
        }
        return json
    }

    companion object {
        /** Events the buffer holds before `track()` answers QueueFull. */
        const val CAPACITY = 10_000 // as many as the core's hand-off holds by default

        /** How long the first event of a batch waits for others before it is handed over. */
        const val LINGER_MS = 20L

        private const val MAX_NAME_CHARS = 200

        fun checkName(name: String) {
            if (name.isBlank()) throw FootfallException.InvalidInput("the event name is empty")
            var length = 0
            var i = 0
            while (i < name.length) {
                val c = name[i]
                if (c.isHighSurrogate() && i + 1 < name.length && name[i + 1].isLowSurrogate()) {
                    i++
                } else if (c.isSurrogate()) {
                    // UTF-8 cannot carry it: the crossing would refuse it, so refuse it here.
                    throw FootfallException.InvalidInput("the event name is not valid text (a lone surrogate)")
                }
                length++
                i++
            }
            if (length > MAX_NAME_CHARS) {
                throw FootfallException.InvalidInput("the event name is $length characters; the most is $MAX_NAME_CHARS")
            }
        }

        fun checkPurpose(purpose: String) {
            var ok = purpose.isNotEmpty() && purpose.length <= 64
            var i = 0
            while (ok && i < purpose.length) {
                val c = purpose[i]
                ok = c in 'a'..'z' || c in '0'..'9' || c == '_' || c == '-'
                i++
            }
            if (!ok) throw FootfallException.InvalidInput("invalid purpose '${purpose.take(80)}': [a-z0-9_-]{1,64}")
        }

        /** A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. */
        fun uuidV7(unixMs: Long): String {
            val random = ThreadLocalRandom.current()
            val high = (unixMs shl 16) or 0x7000L or (random.nextInt() and 0x0FFF).toLong()
            val low = (random.nextLong() and 0x3FFFFFFFFFFFFFFFL) or Long.MIN_VALUE
            return UUID(high, low).toString()
        }
    }
}
