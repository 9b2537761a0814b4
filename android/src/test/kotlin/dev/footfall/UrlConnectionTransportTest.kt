package dev.footfall

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The platform transport the Android library uses by default (it ships without the built-in HTTPS client). */
class UrlConnectionTransportTest : CollectorTest() {
    @Test
    fun `HttpURLConnection carries the uploads`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url, apiKey = "key-1"), UrlConnectionTransport()).use { footfall ->
            footfall.grantAnalytics()
            val ids = (0 until 25).map { footfall.track("via_url_connection", mapOf("i" to it)) }
            val report = footfall.flush()
            assertEquals(FlushOutcome.Drained, report.outcome)
            assertEquals(25, report.delivered)
            assertEquals(ids.toSet(), collector.events().map { it["id"]!!.jsonPrimitive.content }.toSet())
        }
    }

    @Test
    fun `an error status and its body reach the SDK`() = runBlocking {
        val collector = collector("--api-key", "right-key")
        Footfall(testConfig(tmp, collector.url, apiKey = "wrong-key"), UrlConnectionTransport()).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            val refused = footfall.flush()
            assertTrue(refused.outcome is FlushOutcome.Paused, "$refused")
            assertEquals(0, collector.stats().events)
        }
    }

    @Test
    fun `no answer at all is a retry, the data kept`() = runBlocking {
        // Nothing listens on port 9 of the loopback address: the connection is refused.
        Footfall(testConfig(tmp, "http://127.0.0.1:9"), UrlConnectionTransport()).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("e")
            assertTrue(footfall.flush().outcome is FlushOutcome.RetryLater)
            assertEquals(1, footfall.status().pending)
        }
    }
}
