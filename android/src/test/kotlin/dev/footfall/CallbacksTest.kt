package dev.footfall

import java.io.IOException
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNotSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import dev.footfall.ffi.ConsentMethod as FfiMethod
import dev.footfall.ffi.EventListener as FfiListener
import dev.footfall.ffi.Footfall as FfiFootfall
import dev.footfall.ffi.FootfallEvent as FfiEvent

/** Everything Rust calls back into: the log sink, the event listener and flow, and an app-provided transport. */
class CallbacksTest : CollectorTest() {
    @AfterEach
    fun resetLogSink() {
        Footfall.setLogSink(sink = null)
    }


    @Test
    fun `the log sink receives the core's records on Rust threads, filtered by level, without event data`() = runBlocking {
        val testThread = Thread.currentThread()
        val records = ConcurrentLinkedQueue<Pair<LogRecord, Thread>>()
        Footfall.setLogSink(LogLevel.DEBUG) { records.add(it to Thread.currentThread()) }
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("secret_event", mapOf("sku" to "secret-sku-123"))
            assertEquals(1, footfall.flush().delivered)

            // Logged on the SDK's sync thread before the flush returned.
            val attempt = records.firstOrNull { it.first.message.startsWith("upload attempt") }
            assertNotNull(attempt, "records: ${records.map { it.first }}")
            val (record, thread) = attempt!!
            assertEquals(LogLevel.DEBUG, record.level)
            assertEquals("footfall_core::sync::uploader", record.target)
            assertTrue(record.message.contains("status=200"), record.message)
            assertNotSame(testThread, thread)
            assertTrue(thread.name != testThread.name, thread.name)
            assertTrue(records.none { it.first.message.contains("secret") }, "event data never reaches the log")

            // Above DEBUG, the per-request record is filtered out in Rust.
            records.clear()
            Footfall.setLogSink(LogLevel.INFO) { records.add(it to Thread.currentThread()) }
            footfall.track("another")
            assertEquals(1, footfall.flush().delivered)
            assertTrue(records.none { it.first.level == LogLevel.DEBUG }, "records: ${records.map { it.first }}")
        }
        // A retry is logged at INFO, with its reason.
        records.clear()
        val failing = collector("--fail-rate", "1")
        Footfall(testConfig(tmp.resolve("second"), failing.url)).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            assertTrue(footfall.flush().outcome is FlushOutcome.RetryLater)
        }
        val retry = records.map { it.first }.firstOrNull { it.message.startsWith("upload failed; will retry") }
        assertNotNull(retry, "records: ${records.map { it.first }}")
        assertEquals(LogLevel.INFO, retry!!.level)
        assertTrue(retry.message.contains("reason=HTTP 503"), retry.message)
    }

    @Test
    fun `the event listener is called on Rust threads with delivered, retry and pause results`() = runBlocking {
        val testThread = Thread.currentThread()
        val seen = ConcurrentLinkedQueue<Pair<FfiEvent, Thread>>()
        val listener = object : FfiListener {
            override fun onEvent(event: FfiEvent) {
                seen.add(event to Thread.currentThread())
            }
        }
        val failing = collector("--fail-rate", "1")
        FfiFootfall(testConfig(tmp.resolve("a"), failing.url), null, listener).use { native ->
            native.grant(listOf("analytics"), FfiMethod.Api)
            // The grant is told first, on the writer thread, before grant() returns.
            val (granted, writer) = seen.single()
            assertEquals(listOf("analytics"), (granted as FfiEvent.ConsentChanged).nowAllowed)
            assertEquals(0, granted.purged)
            assertNotSame(testThread, writer)
            seen.clear()
            native.track("e")
            native.track("f")
            native.flush()
            val (event, thread) = seen.single()
            val retry = event as FfiEvent.RetryScheduled
            assertTrue(retry.reason.startsWith("HTTP 503"), retry.reason)
            assertTrue(retry.afterMs > 0, "$retry")
            assertNotSame(testThread, thread)
            assertTrue(thread.name != testThread.name, thread.name)
            native.shutdown()
        }

        seen.clear()
        val good = collector()
        FfiFootfall(testConfig(tmp.resolve("b"), good.url), null, listener).use { native ->
            native.grant(listOf("analytics"), FfiMethod.Api)
            seen.clear()
            native.track("e")
            native.track("f")
            native.flush()
            assertEquals(listOf(FfiEvent.Delivered(count = 2, duplicates = 0)), seen.map { it.first })
            native.shutdown()
        }

        seen.clear()
        val guarded = collector("--api-key", "right-key")
        FfiFootfall(testConfig(tmp.resolve("c"), guarded.url, apiKey = "wrong-key"), null, listener).use { native ->
            native.grant(listOf("analytics"), FfiMethod.Api)
            seen.clear()
            native.track("e")
            native.flush()
            val paused = seen.single().first as FfiEvent.Paused
            assertTrue(paused.reason.startsWith("HTTP 401"), paused.reason)
            native.shutdown()
        }
    }

    @Test
    fun `a listener that throws does not break the SDK`() = runBlocking {
        val calls = AtomicInteger()
        val listener = object : FfiListener {
            override fun onEvent(event: FfiEvent) {
                calls.incrementAndGet()
                throw IllegalStateException("listener bug")
            }
        }
        val collector = collector()
        FfiFootfall(testConfig(tmp, collector.url), null, listener).use { native ->
            native.grant(listOf("analytics"), FfiMethod.Api)   // told too: the listener throws on it as well
            repeat(3) {
                native.track("e")
                assertEquals(1, native.flush().delivered)
            }
            native.shutdown()
        }
        assertEquals(1 + 3, calls.get())
        assertEquals(3, collector.stats().events)
    }

    @Test
    fun `the events flow tells pauses and deliveries before flush returns`() = runBlocking {
        val collector = collector("--api-key", "right-key")
        suspend fun eventsOf(apiKey: String): Pair<FlushReport, FootfallEvent> =
            Footfall(testConfig(tmp, collector.url, apiKey = apiKey)).use { footfall ->
                footfall.grantAnalytics()   // before the collector subscribes: its ConsentChanged is not seen
                val received = Channel<FootfallEvent>(Channel.UNLIMITED)
                val subscribed = CompletableDeferred<Unit>()
                val collecting = launch(Dispatchers.Default) {
                    footfall.events.onSubscription { subscribed.complete(Unit) }.collect { received.send(it) }
                }
                withTimeout(10_000) { subscribed.await() }
                footfall.track("e", mapOf("n" to 1))
                val report = footfall.flush()
                val event = withTimeout(10_000) { received.receive() }
                collecting.cancelAndJoin()
                report to event
            }

        val (refused, paused) = eventsOf("wrong-key")
        assertTrue(refused.outcome is FlushOutcome.Paused, "$refused")
        assertTrue(paused is FootfallEvent.Paused && paused.reason.startsWith("HTTP 401"), "$paused")

        // The same queue with the right key: the kept event and the new one are delivered.
        val (delivered, event) = eventsOf("right-key")
        assertEquals(2, delivered.delivered)
        assertEquals(FootfallEvent.Delivered(count = 2, duplicates = 0), event)
    }

    @Test
    fun `a Kotlin HttpTransport carries the uploads`() = runBlocking {
        val collector = collector()
        val transport = JavaHttpTransport()
        Footfall(testConfig(tmp, collector.url, apiKey = "key-1"), transport).use { footfall ->
            footfall.grantAnalytics()
            val ids = (0 until 25).map { footfall.track("via_kotlin", mapOf("i" to it)) }
            val report = footfall.flush()
            assertEquals(25, report.delivered)
            assertEquals(FlushOutcome.Drained, report.outcome)
            assertTrue(transport.calls.get() >= 1)
            val request = transport.requests.first()
            assertEquals("POST", request.method)
            assertEquals("${collector.url}/v1/batch", request.url)
            assertTrue(request.headers.any { it.name.equals("Content-Encoding", true) && it.value == "gzip" })
            assertTrue(request.headers.any { it.name.equals("Authorization", true) && it.value == "Basic a2V5LTE6" })
            assertEquals(25, collector.stats().events)
            assertEquals(ids.toSet(), collector.events().map { it["id"]!!.jsonPrimitive.content }.toSet())
        }
    }

    @Test
    fun `a transport that throws is retried and the data kept`() = runBlocking {
        val collector = collector()
        val transport = JavaHttpTransport()
        Footfall(testConfig(tmp, collector.url), transport).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            transport.failWith = IOException("no route to the collector")
            val failed = footfall.flush()
            val outcome = failed.outcome as FlushOutcome.RetryLater
            assertTrue(outcome.reason.contains("no route to the collector"), outcome.reason)

            // An exception the transport does not declare takes the same path instead of crashing.
            transport.failWith = IllegalArgumentException("transport bug")
            val buggy = footfall.flush().outcome as FlushOutcome.RetryLater
            assertTrue(buggy.reason.contains("transport bug"), buggy.reason)

            transport.failWith = null
            assertEquals(1, footfall.flush().delivered)
            assertEquals(1, collector.stats().events)
        }
    }

    @Test
    fun `code after flush never runs on the SDK's own threads, whatever the caller's dispatcher`() =
        runBlocking(Dispatchers.Unconfined) {
            val collector = collector()
            val testThread = Thread.currentThread()
            Footfall(testConfig(tmp, collector.url)).use { footfall ->
                footfall.grantAnalytics()
                footfall.track("e")
                assertEquals(1, footfall.flush().delivered)
                // The SDK's threads reach the JVM through JNA under generic names: what is allowed is the caller's
                // own thread or a coroutine worker, never the thread the native call completed on.
                val after = Thread.currentThread()
                assertTrue(after == testThread || after.name.startsWith("DefaultDispatcher-worker"), "resumed on ${after.name}")
            }
        }

    @Test
    fun `a server's Retry-After holds even an explicit flush and says until when`() = runBlocking {
        val collector = collector()
        val transport = JavaHttpTransport()
        Footfall(testConfig(tmp, collector.url), transport).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            transport.answer = HttpResponse(503, listOf(HttpHeader("Retry-After", "120")), ByteArray(0))
            val before = java.time.Instant.now()
            val held = footfall.flush().outcome as FlushOutcome.Held
            assertEquals(120_000L, held.retryAfter.inWholeMilliseconds)
            assertTrue(java.time.Duration.between(before, held.until).seconds in 115..125, "${held.until}")
            assertTrue(held.reason.startsWith("HTTP 503"), held.reason)
            assertEquals(LaneCondition.HELD, footfall.status().eventLane.state)

            // The server is fine again, but the hold binds: nothing is sent, not even on an explicit flush.
            transport.answer = null
            val calls = transport.calls.get()
            assertTrue(footfall.flush().outcome is FlushOutcome.Held)
            assertEquals(calls, transport.calls.get())
            assertEquals(0, collector.stats().events)
        }
    }

    @Test
    fun `a refused certificate from the app's transport pauses uploads instead of retrying`() = runBlocking {
        val collector = collector()
        val transport = JavaHttpTransport()
        Footfall(testConfig(tmp, collector.url), transport).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            transport.failWith = javax.net.ssl.SSLHandshakeException("PKIX path building failed").apply {
                initCause(java.security.cert.CertificateException("unable to find valid certification path"))
            }
            val paused = footfall.flush().outcome as FlushOutcome.Paused
            assertTrue(paused.reason.contains("certificate") && paused.reason.contains("PKIX"), paused.reason)
            val lane = footfall.status().eventLane
            assertEquals(LaneCondition.CERTIFICATE_INVALID, lane.state)
            assertNotNull(lane.until, "background uploads wait until a stated time")

            // A handshake that failed for another reason is a network blip, retried as before.
            transport.failWith = javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake")
            assertTrue(footfall.flush().outcome is FlushOutcome.RetryLater)

            transport.failWith = null
            assertEquals(1, footfall.flush().delivered)
            assertEquals(LaneCondition.OK, footfall.status().eventLane.state)
        }
    }

    @Test
    fun `cancelling a flush stops the waiting, not the upload`() = runBlocking {
        val collector = collector()
        val transport = JavaHttpTransport()
        val gate = CompletableDeferred<Unit>()
        transport.gate = gate
        Footfall(testConfig(tmp, collector.url), transport).use { footfall ->
            footfall.grantAnalytics()
            val ids = (0 until 5).map { footfall.track("e", mapOf("i" to it)) }
            val flushing = launch(Dispatchers.Default) { footfall.flush() }
            withTimeout(10_000) { transport.entered.await() }
            flushing.cancelAndJoin()
            gate.complete(Unit)

            // Queued behind the pass the cancelled call started, which still delivers everything.
            val report = footfall.flush()
            assertEquals(0, report.remaining)
            assertEquals(FlushOutcome.Drained, report.outcome)
            val stats = collector.stats()
            assertEquals(5, stats.events)
            assertEquals(0, stats.duplicates)
            assertEquals(ids.toSet(), collector.events().map { it["id"]!!.jsonPrimitive.content }.toSet())
        }
    }
}
