package dev.footfall

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import dev.footfall.ffi.ConsentMethod as FfiConsentMethod
import dev.footfall.ffi.Footfall as FfiFootfall

/** `track()` through the buffer in front of the core: what is answered on the caller's thread, and that what is
 *  accepted reaches the collector with the id returned, in order, across batches and on close. */
class TrackBufferTest : CollectorTest() {
    /** A buffer with no hand-over thread: the test decides when batches cross. */
    private fun <T> withBuffer(endpoint: String?, capacity: Int, block: (FfiFootfall, TrackBuffer) -> T): T =
        FfiFootfall(testConfig(tmp, endpoint), null, null, null).use { native ->
            native.grant(listOf(Footfall.DEFAULT_PURPOSE), FfiConsentMethod.Api)
            val buffer = TrackBuffer(native, ConsentState(), capacity, background = false)
            try {
                block(native, buffer)
            } finally {
                buffer.close()
                native.shutdown()
            }
        }

    @Test
    fun `a full buffer refuses with QueueFull, counted, and keeps what it accepted`() {
        withBuffer(null, capacity = 3) { native, buffer ->
            repeat(3) { buffer.track("accepted", mapOf("i" to it), Footfall.DEFAULT_PURPOSE) }
            assertThrows<FootfallException.QueueFull> { buffer.track("refused", emptyMap<String, Any>(), Footfall.DEFAULT_PURPOSE) }
            buffer.drain()
            buffer.track("after_the_drain", emptyMap<String, Any>(), Footfall.DEFAULT_PURPOSE)
            buffer.drain()
            native.flushToDisk()
            val status = native.status()
            assertEquals(4L, status.pending)
            assertEquals(1L, status.queueFullRejections)
        }
    }

    @Test
    fun `ids returned are the ids delivered, in order across batches`() = runBlocking {
        val collector = collector()
        val ids = withBuffer(collector.url, capacity = 100) { native, buffer ->
            val ids = mutableListOf<String>()
            repeat(3) { batch ->
                repeat(5) { i -> ids += buffer.track("viewed", mapOf("batch" to batch, "i" to i), Footfall.DEFAULT_PURPOSE) }
                buffer.drain()
            }
            runBlocking { native.flush() }
            ids
        }
        val events = collector.events()
        assertEquals(ids, events.map { it.text("id") }, "the ids track() returned, in the order it returned them")
        assertEquals(listOf(0, 0, 0, 0, 0, 1), events.take(6).map { it.obj("properties").text("batch")!!.toInt() })
    }

    @Test
    fun `a denied purpose is refused at track, synchronously, and counted`() = runBlocking {
        Footfall(testConfig(tmp, null)).use { footfall ->
            footfall.deny(listOf(Footfall.DEFAULT_PURPOSE))
            // The status the deny published is what track() judges by: no crossing, no wait.
            assertThrows<FootfallException.ConsentDenied> { footfall.track("viewed") }
            footfall.track("needed", purpose = Footfall.ESSENTIAL_PURPOSE)
            footfall.flushToDisk()
            val status = footfall.status()
            assertEquals(1L, status.consentRefused)
            assertEquals(1L, status.pending)
        }
    }

    @Test
    fun `close hands over everything tracked`() {
        val config = testConfig(tmp, null)
        val ids = Footfall(config).use { footfall ->
            runBlocking { footfall.grantAnalytics() }
            (0 until 500).map { footfall.track("viewed", mapOf("i" to it)) }
        }
        assertEquals(500, ids.toSet().size)
        Footfall(config).use { footfall -> assertEquals(500L, footfall.status().pending) }
    }

    @Test
    fun `a map that fails when the batch reads it is skipped, and the events around it are kept`() {
        // Readable once (track()'s checks), failing the second time (the encoding), as a map the app changes
        // concurrently can.
        val failing = object : AbstractMap<String, Any>() {
            private val real = mapOf("sku" to "1")
            private var iterations = 0
            override val entries: Set<Map.Entry<String, Any>> = object : AbstractSet<Map.Entry<String, Any>>() {
                override val size get() = real.size
                override fun iterator(): Iterator<Map.Entry<String, Any>> =
                    if (iterations++ == 0) real.entries.iterator() else throw ConcurrentModificationException()
            }
        }
        withBuffer(null, capacity = 10) { native, buffer ->
            buffer.track("before", emptyMap<String, Any>(), Footfall.DEFAULT_PURPOSE)
            buffer.track("changed", failing, Footfall.DEFAULT_PURPOSE)
            buffer.track("after", emptyMap<String, Any>(), Footfall.DEFAULT_PURPOSE)
            buffer.drain() // must not throw into the caller
            native.flushToDisk()
            assertEquals(2L, native.status().pending)
        }
    }

    @Test
    fun `bad input and a closed instance answer on the caller's thread`() {
        Footfall(testConfig(tmp, null)).use { footfall ->
            assertThrows<FootfallException.InvalidInput> { footfall.track("e", mapOf("x" to Any())) }
            assertThrows<FootfallException.InvalidInput> { footfall.track("e", mapOf("x" to listOf(Float.POSITIVE_INFINITY))) }
            footfall.close()
            assertThrows<FootfallException.Closed> { footfall.track("e") }
        }
    }

    @Test
    fun `ids are version 7 UUIDs stamped with the time`() {
        val before = System.currentTimeMillis()
        val id = java.util.UUID.fromString(TrackBuffer.uuidV7(before))
        assertEquals(7, id.version())
        assertEquals(2, id.variant())
        assertEquals(before, id.mostSignificantBits ushr 16)
    }
}
