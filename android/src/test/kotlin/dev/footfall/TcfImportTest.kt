package dev.footfall

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * TCF import mode with real TC strings from tests/tcf-vectors (encoded and decoded by the IAB's own library):
 * `core-range-vendors` consents to TCF purposes 1–11 (analytics, personalization and marketing map to granted;
 * location needs special feature 1, which it does not opt in), `core-minimal` consents to nothing.
 */
class TcfImportTest : CollectorTest() {
    private val everything = tcfVector("core-range-vendors")
    private val nothing = tcfVector("core-minimal")

    @Test
    fun `the CMP's TC string decides the mapped purposes, once, and the app cannot override it`() = runBlocking {
        val collector = collector()
        val config = testConfig(tmp, collector.url, consent = ConsentSettings(policyRefreshIntervalMs = 0, tcfImport = true))
        Footfall(config).use { footfall ->
            assertTrue(footfall.consentStatus().tcfImport)
            // Every built-in purpose is the CMP's: Footfall's own prompts have nothing to ask.
            assertEquals(PromptReason.UP_TO_DATE, footfall.needsPrompt().reason)
            assertThrows<FootfallException.ConsentDenied> { footfall.track("product_viewed") }

            val imported = footfall.importTcf(everything)
            assertEquals(TcfImportResult.RECORDED, imported.result)
            assertEquals(
                mapOf("analytics" to true, "personalization" to true, "marketing" to true, "location" to false),
                imported.decisions,
            )
            assertEquals(setOf("analytics", "personalization", "marketing"), imported.outcome.nowAllowed.toSet())
            assertTrue(footfall.isAllowed("analytics"))
            assertEquals(true, footfall.consent.value?.purpose("analytics")?.allowed)

            // The same answer again records nothing.
            val again = footfall.importTcf(everything, gdprApplies = true)
            assertEquals(TcfImportResult.UNCHANGED, again.result)
            assertNull(again.outcome.recordId)
            val log = footfall.consentLog()
            assertEquals(listOf(imported.outcome.recordId), log.records.map { it.recordId })
            assertEquals(ConsentMethod.TcfImport(cmpId = 300), log.records.single().method)

            // The app cannot decide what the CMP decides, nor feed it garbage.
            val overridden = assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.grant(listOf("analytics")) } }
            assertTrue(overridden.message!!.contains("decided by the app's CMP"), overridden.message)
            assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.deny(listOf("marketing")) } }
            val garbage = assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.importTcf("not-a-tc-string") } }
            assertTrue(garbage.message!!.contains("TC string"), garbage.message)
            assertTrue(footfall.isAllowed("analytics"))
            // Outside GDPR the CMP's string is not imported.
            assertEquals(TcfImportResult.GDPR_DOES_NOT_APPLY, footfall.importTcf(nothing, gdprApplies = false).result)
            assertTrue(footfall.isAllowed("analytics"))

            val delivered = footfall.track("product_viewed", mapOf("sku" to "1"))
            assertEquals(1, footfall.flush().delivered)

            // The shopper withdraws in the CMP: what was queued meanwhile is purged and never arrives.
            footfall.track("product_viewed", mapOf("sku" to "2"))
            val withdrawn = footfall.importTcf(nothing)
            assertEquals(TcfImportResult.RECORDED, withdrawn.result)
            assertTrue(withdrawn.decisions.values.none { it })
            assertEquals(1, withdrawn.outcome.purged)
            assertTrue("analytics" in withdrawn.outcome.nowDenied)
            assertEquals(0, footfall.flush().delivered)
            assertEquals(listOf(delivered), collector.events().map { it.text("id") })

            // The CMP removes its string (consent reset): its grants are withdrawn.
            footfall.importTcf(everything)
            val cleared = footfall.importTcf(null)
            assertEquals(TcfImportResult.CLEARED, cleared.result)
            assertFalse(footfall.isAllowed("analytics"))
            assertEquals(TcfImportResult.UNCHANGED, footfall.importTcf("").result)

            val proof = footfall.consentLog()
            assertTrue(proof.verified)
            assertTrue(proof.records.all { it.method == ConsentMethod.TcfImport(cmpId = 300) }, "${proof.records}")
        }
    }
}
