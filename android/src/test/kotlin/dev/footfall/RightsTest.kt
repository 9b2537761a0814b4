package dev.footfall

import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.boolean
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The shopper's rights through the Kotlin API: the export, and a deletion request that outlives the instance. */
class RightsTest : CollectorTest() {
    private fun JsonObject.ids(key: String, id: String = "id"): List<String?> = array(key).map { it.jsonObject.text(id) }

    @Test
    fun `the export holds the queued events and the consent records, a deletion reaches the collector after a restart`() = runBlocking {
        val collector = collector()
        val config = testConfig(tmp, collector.url)
        val oldAnonymousId: String
        val requestId: String
        Footfall(config).use { footfall ->
            val granted = footfall.grantAnalytics()
            val tracked = listOf(
                footfall.track("product_viewed", mapOf("sku" to "4901234567894")),
                footfall.identify("shopper-42", mapOf("tier" to "gold")),
                footfall.track("cart_viewed"),
            )

            val export = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals(tracked, export.ids("events"))
            val viewed = export.array("events").first().jsonObject
            assertEquals("product_viewed", viewed.text("name"))
            assertEquals("analytics", viewed.text("purpose"))
            assertEquals("4901234567894", viewed.obj("properties").text("sku"))
            assertEquals("shopper-42", export.text("userId"))
            val consent = export.obj("consent")
            assertEquals(listOf(granted.recordId), consent.ids("records", "record_id"))
            assertTrue(consent.getValue("verified").jsonPrimitive.boolean)
            assertNotNull(consent["status"])
            assertEquals(0, export.array("rightsRequests").size)
            oldAnonymousId = export.text("anonymousId")!!

            requestId = footfall.requestDeletion()
            val request = footfall.rightsRequests().single()
            assertEquals(requestId, request.requestId)
            assertEquals("deletion", request.kind)
            assertEquals(RightsState.RECEIVED, request.state)

            // Wiped at once, under a new anonymous id; the consent log stays as the proof.
            val after = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals(emptyList<String>(), after.ids("events"))
            assertNull(after.text("userId"))
            assertNotEquals(oldAnonymousId, after.text("anonymousId"))
            assertEquals(listOf(granted.recordId), after.obj("consent").ids("records", "record_id"))
            assertEquals(listOf(requestId), after.ids("rightsRequests", "requestId"))
            assertEquals(0, footfall.status().pending)
        }
        // Uploads happen only on an explicit flush in these tests: nothing was sent yet.
        assertEquals(emptyList<JsonObject>(), collector.deletions())

        Footfall(config).use { footfall ->
            assertEquals(RightsState.RECEIVED, footfall.rightsRequests().single().state)
            val report = footfall.flush()
            assertEquals(0, report.delivered)

            val stored = collector.deletions().single()
            assertEquals(requestId, stored.text("request_id"))
            assertTrue(oldAnonymousId in stored.array("anonymous_ids").map { it.jsonPrimitive.content }, "$stored")
            assertEquals("shopper-42", stored.text("user_id"))
            val acknowledged = footfall.rightsRequests().single()
            assertEquals(RightsState.ACKNOWLEDGED, acknowledged.state)
            assertNull(acknowledged.lastError)
            assertTrue(acknowledged.updatedAtMs >= acknowledged.createdAtMs)

            // None of the wiped events ever arrives; the request is not sent twice.
            footfall.flush()
            assertEquals(0, collector.stats().events)
            assertEquals(0, collector.deletions().single().text("duplicates")!!.toLong())
        }
    }
}
