package dev.footfall

import java.util.concurrent.ConcurrentLinkedQueue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The SDK end to end through the idiomatic Kotlin API, the real native library and the reference collector. */
class FootfallTest : CollectorTest() {
    @Test
    fun `tracked events arrive with their names, properties and purpose`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            footfall.grant(listOf("analytics", "marketing"))
            val viewed = footfall.track(
                "product_viewed",
                linkedMapOf(
                    "sku" to "4901234567894",
                    "price" to 1980,
                    "ratio" to 0.5,
                    "big" to 9_007_199_254_740_993L,
                    "in_stock" to true,
                    "coupon" to null,
                    "tags" to listOf("shoes", "sale"),
                    "nested" to mapOf("quote" to "say \"hi\"\n", "emoji" to "😀 é", "empty" to emptyList<Any>()),
                ),
            )
            val offer = footfall.track("offer_shown", mapOf("offer" to "spring"), purpose = "marketing")
            val plain = footfall.track("app_opened")
            footfall.identify("user-42", mapOf("plan" to "gold"))
            val afterIdentify = footfall.track("checkout")
            footfall.reset()
            val afterReset = footfall.track("browse")

            val report = footfall.flush()
            assertEquals(FlushOutcome.Drained, report.outcome)
            assertEquals(6, report.delivered)
            assertEquals(0, report.remaining)

            val stored = collector.events().associateBy { it.text("id") }
            assertEquals(6, stored.size)
            val expected = Json.parseToJsonElement(
                """{"sku":"4901234567894","price":1980,"ratio":0.5,"big":9007199254740993,"in_stock":true,"coupon":null,
                   "tags":["shoes","sale"],"nested":{"quote":"say \"hi\"\n","emoji":"😀 é","empty":[]}}""",
            )
            stored.getValue(viewed).let {
                assertEquals("product_viewed", it.text("name"))
                assertEquals("analytics", it.text("purpose"))
                assertEquals(expected, it["properties"])
            }
            stored.getValue(offer).let {
                assertEquals("offer_shown", it.text("name"))
                assertEquals("marketing", it.text("purpose"))
                assertEquals(Json.parseToJsonElement("""{"offer":"spring"}"""), it["properties"])
            }
            assertEquals(Json.parseToJsonElement("{}"), stored.getValue(plain)["properties"])
            val identify = stored.values.single { it.text("type") == "identify" }
            assertEquals("user-42", identify.text("user_id"))
            assertEquals(Json.parseToJsonElement("""{"plan":"gold"}"""), identify["properties"])
            assertEquals(null, stored.getValue(plain).text("user_id"))
            assertEquals("user-42", stored.getValue(afterIdentify).text("user_id"))
            assertEquals(null, stored.getValue(afterReset).text("user_id"))
            assertNotEquals(stored.getValue(plain).text("anonymous_id"), stored.getValue(afterReset).text("anonymous_id"))

            val status = footfall.status()
            assertEquals(6, status.tracked)
            assertEquals(6, status.delivered)
            assertEquals(0, status.pending)
        }
    }

    @Test
    fun `a failing collector then a recovered one receives everything exactly once`() = runBlocking {
        val failing = collector("--fail-rate", "1")
        Footfall(testConfig(tmp, failing.url)).use { footfall ->
            footfall.grantAnalytics()
            val ids = (0 until 30).map { footfall.track("visit", mapOf("i" to it)) }
            val failed = footfall.flush()
            assertTrue(failed.outcome is FlushOutcome.RetryLater, "$failed")
            assertEquals(0, failed.delivered)
            assertEquals(30, failed.remaining)
            assertEquals(0, failing.stats().events)

            failing.close()
            val recovered = collector(listen = "127.0.0.1:${failing.port}")
            val report = footfall.flushUntilDrained()
            assertEquals(0, report.remaining)

            val stats = recovered.stats()
            assertEquals(30, stats.events)
            assertEquals(0, stats.duplicates)
            assertEquals(ids.toSet(), recovered.events().map { it.text("id") }.toSet())
            val status = footfall.status()
            assertEquals(30, status.delivered)
            assertTrue(status.retries >= 1, "$status")
        }
    }

    @Test
    fun `bad input is a typed exception and records nothing`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            footfall.grantAnalytics()
            fun deep(levels: Int): Map<String, Any?> = if (levels == 0) emptyMap() else mapOf("d" to deep(levels - 1))

            val messages = listOf(
                assertThrows<FootfallException.InvalidInput> { footfall.track("") },
                assertThrows<FootfallException.InvalidInput> { footfall.track("   ") },
                assertThrows<FootfallException.InvalidInput> { footfall.track("x".repeat(201)) },
                assertThrows<FootfallException.InvalidInput> { footfall.trackJson("e", "[1, 2, 3]") },
                assertThrows<FootfallException.InvalidInput> { footfall.trackJson("e", "\"text\"") },
                assertThrows<FootfallException.InvalidInput> { footfall.trackJson("e", "{not json") },
                assertThrows<FootfallException.InvalidInput> { footfall.track("e", deep(20)) },
                assertThrows<FootfallException.InvalidInput> { footfall.track("e", mapOf("big" to "x".repeat(40_000))) },
                assertThrows<FootfallException.InvalidInput> { footfall.track("e", mapOf("x" to Double.NaN)) },
                assertThrows<FootfallException.InvalidInput> { footfall.track("e", purpose = "Not A Purpose") },
                assertThrows<FootfallException.InvalidInput> { footfall.identify("") },
                assertThrows<FootfallException.InvalidInput> { footfall.track("lone\uD800surrogate") },
            ).map { it.message!! }
            assertTrue(messages[0].contains("empty"), messages[0])
            assertTrue(messages[3].contains("object"), messages[3])
            assertTrue(messages[6].contains("deep"), messages[6])
            assertTrue(messages[7].contains("limit"), messages[7])

            footfall.flushToDisk()
            val status = footfall.status()
            assertEquals(0, status.tracked)
            assertEquals(0, status.pending)
            val report = footfall.flush()
            assertEquals(0, report.delivered)
            assertEquals(0, collector.stats().events)
        }
    }

    @Test
    fun `close twice is safe and use after close throws Closed`() = runBlocking {
        val footfall = Footfall(testConfig(tmp, null))
        footfall.grantAnalytics()
        footfall.track("before_close")
        footfall.close()
        footfall.close()
        assertThrows<FootfallException.Closed> { footfall.track("after_close") }
        assertThrows<FootfallException.Closed> { footfall.status() }
        assertThrows<FootfallException.Closed> { footfall.reset() }
        assertThrows<FootfallException.Closed> { runBlocking { footfall.flush() } }
        assertThrows<FootfallException.Closed> { runBlocking { footfall.grantAnalytics() } }
        assertThrows<FootfallException.Closed> { runBlocking { footfall.exportData() } }

        // What was tracked before close() is durable: a new instance on the same directory sees it.
        Footfall(testConfig(tmp, null)).use { again ->
            assertEquals(1, again.status().pending)
            // No endpoint: recording works, uploading is a configuration error.
            assertThrows<FootfallException.Config> { runBlocking { again.flush() } }
        }

        // The native object itself: shutdown twice is safe, and every call after it is the Closed error.
        val native = dev.footfall.ffi.Footfall(testConfig(tmp.resolve("raw"), null))
        // Granted first: the core checks consent before it finds the queue closed, so a denied track would say so.
        native.grant(listOf("analytics"), dev.footfall.ffi.ConsentMethod.Api)
        native.shutdown()
        native.shutdown()
        assertThrows<dev.footfall.ffi.FootfallException.Closed> { native.track("x") }
        assertThrows<dev.footfall.ffi.FootfallException.Closed> { native.status() }
        assertThrows<dev.footfall.ffi.FootfallException.Closed> { runBlocking { native.flush() } }
        native.close()
    }

    @Test
    fun `a configuration that cannot work is a Config exception`() {
        assertThrows<FootfallException.Config> { Footfall(testConfig(tmp, "ftp://example.com")) }
        assertThrows<FootfallException.Config> { Footfall(testConfig(tmp, "http://example.com")) }
        assertThrows<FootfallException.Config> {
            Footfall(testConfig(tmp, null).copy(flushPolicy = FlushPolicy(countThreshold = 0)))
        }
    }

    @Test
    fun `the generated defaults are the SDK's defaults`() {
        val dir = tmp.toString()
        assertEquals(defaultConfig(dir), FootfallConfig(dataDir = dir))
    }

    @Test
    fun `many coroutines tracking concurrently lose nothing`() = runBlocking {
        val collector = collector()
        val config = FootfallConfig(
            dataDir = tmp.resolve("sdk").toString(),
            endpoint = collector.url,
            storageLimits = StorageLimits(maxEvents = 100_000),
        )
        Footfall(config).use { footfall ->
            footfall.grantAnalytics()
            val ids = ConcurrentLinkedQueue<String>()
            (0 until 50).map { c ->
                launch(Dispatchers.Default) {
                    repeat(200) { i -> ids.add(footfall.track("concurrent", mapOf("coroutine" to c, "i" to i))) }
                }
            }.joinAll()
            assertEquals(10_000, ids.size)
            assertEquals(10_000, ids.toSet().size, "ids are unique")

            // Background uploads ran meanwhile (automatic policy); an explicit flush takes the rest.
            val report = footfall.flush()
            assertEquals(FlushOutcome.Drained, report.outcome)
            assertEquals(0, report.remaining)

            val stats = collector.stats()
            assertEquals(10_000, stats.events)
            assertEquals(0, stats.duplicates)
            assertEquals(ids.toSet(), collector.events().map { it.text("id") }.toSet())
            val status = footfall.status()
            assertEquals(10_000, status.tracked)
            assertEquals(10_000, status.delivered)
            assertEquals(0, status.queueFullRejections)
        }
    }
}
