package dev.footfall

import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Consent through the Kotlin API: gating what reaches the collector, prompts that follow the served policy,
 *  the consent flow and events, and the errors of the API. */
class ConsentTest : CollectorTest() {
    @Test
    fun `denied analytics never reaches the collector, granted does, withdrawn before the flush is purged`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            // consentStatus() waits until the SDK has read its consent log: from then on track() knows the answer.
            val initial = footfall.consentStatus()
            assertTrue(initial.enforced)
            assertFalse(initial.tcfImport)
            assertEquals(false, initial.purpose("analytics")?.allowed)
            assertEquals(null, initial.purpose("analytics")?.decision)
            assertFalse(footfall.isAllowed("analytics"))
            assertTrue(footfall.isAllowed(Footfall.ESSENTIAL_PURPOSE))

            // Default deny: refused with the purpose, nothing recorded; essential is never gated.
            val refused = assertThrows<FootfallException.ConsentDenied> { footfall.track("product_viewed") }
            assertEquals("analytics", refused.purpose)
            // Signing in needs no consent; the identify message it would record does.
            assertNull(footfall.identify("shopper-1", mapOf("tier" to "gold")))
            assertThrows<FootfallException.ConsentDenied> { footfall.track("offer_shown", purpose = "marketing") }
            val receipt = footfall.track("receipt_viewed", purpose = Footfall.ESSENTIAL_PURPOSE)
            assertEquals(1, footfall.flush().delivered)
            assertEquals(listOf(receipt), collector.events().map { it.text("id") })
            assertEquals("shopper-1", collector.events().single().text("user_id"), "the sign-in stood")

            val granted = footfall.grantAnalytics()
            assertEquals(listOf("analytics"), granted.nowAllowed)
            assertEquals(0, granted.purged)
            assertNotNull(granted.recordId)
            assertTrue(footfall.isAllowed("analytics"))
            val viewed = footfall.track("product_viewed", mapOf("sku" to "4901234567894"))
            assertEquals(1, footfall.flush().delivered)

            // Tracked, then withdrawn before any flush: the withdrawal purges them, none ever arrives.
            repeat(3) { footfall.track("product_viewed", mapOf("i" to it)) }
            val withdrawn = footfall.deny(listOf("analytics"), ConsentMethod.Settings)
            assertEquals(3, withdrawn.purged)
            assertEquals(listOf("analytics"), withdrawn.nowDenied)
            assertThrows<FootfallException.ConsentDenied> { footfall.track("product_viewed") }
            val report = footfall.flush()
            assertEquals(0, report.delivered)
            assertEquals(0, report.remaining)

            assertEquals(setOf(receipt, viewed), collector.events().map { it.text("id") }.toSet())
            val status = footfall.status()
            assertEquals(4, status.consentRefused)
            assertEquals(3, status.purgedByConsent)
            assertEquals(0, status.pending)
        }
    }

    @Test
    fun `needsPrompt follows the policy file the collector serves, with the reason`() = runBlocking {
        val policyFile = tmp.resolve("policy.json")
        fun writePolicy(version: Int, marketingChangedIn: Int = 0, promptEnabled: Boolean = true, extra: String = "") =
            Files.writeString(
                policyFile,
                """{"consent":{"policyVersion":$version,"noticeHash":"sha256:notice-$version",
                   "purposes":[{"id":"analytics"},{"id":"marketing","materialChangeVersion":$marketingChangedIn}$extra],
                   "prompts":[{"id":"main","enabled":$promptEnabled,"purposes":["analytics","marketing"]}]}}""",
            )
        writePolicy(1)
        val collector = collector("--config", policyFile.toString())
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            // Before any policy arrives, the built-in one asks about every built-in purpose.
            val builtIn = footfall.needsPrompt()
            assertEquals("default", builtIn.promptId)
            assertEquals(PromptReason.NO_DECISION, builtIn.reason)

            assertEquals(PolicyRefresh(changed = true, policyVersion = 1), footfall.refreshConsentPolicy())
            assertEquals(1L, footfall.consent.value?.policyVersion)
            assertEquals(PromptNeed("main", PromptReason.NO_DECISION, listOf("analytics", "marketing")), footfall.needsPrompt())

            footfall.promptShown("main")
            footfall.setConsent(mapOf("analytics" to true, "marketing" to true), ConsentMethod.Prompt("main"))
            assertEquals(PromptNeed(null, PromptReason.UP_TO_DATE, emptyList()), footfall.needsPrompt())
            // The same file again: the ETag matches, nothing changes (the version in force is reported).
            assertEquals(PolicyRefresh(changed = false, policyVersion = 1), footfall.refreshConsentPolicy())

            // The product team changes the marketing notice materially: the old grant no longer counts.
            writePolicy(2, marketingChangedIn = 2)
            assertEquals(PolicyRefresh(changed = true, policyVersion = 2), footfall.refreshConsentPolicy())
            assertEquals(PromptNeed("main", PromptReason.POLICY_MATERIAL_CHANGE, listOf("marketing")), footfall.needsPrompt())
            assertFalse(footfall.isAllowed("marketing"))
            assertTrue(footfall.isAllowed("analytics"))
            val marketing = footfall.consent.value!!.purpose("marketing")!!
            assertEquals(Triple(false, true, false), Triple(marketing.allowed, marketing.decision, marketing.decisionValid))

            // ... and switches the prompt off: still needed, no prompt offered.
            writePolicy(2, marketingChangedIn = 2, promptEnabled = false)
            assertTrue(footfall.refreshConsentPolicy().changed)
            assertEquals(PromptNeed(null, PromptReason.PROMPT_DISABLED, listOf("marketing")), footfall.needsPrompt())

            // Decided again in the settings, then a purpose the shopper was never asked about appears.
            footfall.grant(listOf("marketing"), ConsentMethod.Settings)
            assertEquals(PromptReason.UP_TO_DATE, footfall.needsPrompt().reason)
            writePolicy(3, marketingChangedIn = 2, extra = """,{"id":"loyalty_sync"}""")
            assertEquals(PolicyRefresh(changed = true, policyVersion = 3), footfall.refreshConsentPolicy())
            assertEquals(PromptNeed(null, PromptReason.PROMPT_DISABLED, listOf("loyalty_sync")), footfall.needsPrompt())
            Files.writeString(policyFile, Files.readString(policyFile).replace("""["analytics","marketing"]""", """["analytics","marketing","loyalty_sync"]"""))
            assertTrue(footfall.refreshConsentPolicy().changed)
            assertEquals(PromptNeed("main", PromptReason.NEW_PURPOSE, listOf("loyalty_sync")), footfall.needsPrompt())
        }
    }

    @Test
    fun `the consent log is hash-chained, verifies, reaches the collector and shows tampering`() = runBlocking {
        val collector = collector()
        val config = testConfig(tmp, collector.url)
        val decided = Footfall(config).use { footfall ->
            footfall.promptShown("default")
            val granted = footfall.grant(listOf("analytics", "marketing"), ConsentMethod.Prompt("default"))
            val denied = footfall.deny(listOf("marketing"), ConsentMethod.Settings)
            footfall.setConsentContext(Jurisdiction.GDPR)   // a setting, not a record

            val log = footfall.consentLog()
            assertTrue(log.verified, log.problem)
            assertNull(log.problem)
            assertEquals(3, log.records.size)
            val (shown, grant, deny) = log.records
            assertEquals(ConsentRecordKind.PROMPT_SHOWN, shown.kind)
            assertEquals(ConsentMethod.Prompt("default"), shown.method)
            assertEquals(emptyMap<String, Boolean>(), shown.decisions)
            assertEquals(ConsentRecordKind.DECISION, grant.kind)
            assertEquals(granted.recordId, grant.recordId)
            assertEquals(mapOf("analytics" to true, "marketing" to true), grant.decisions)
            assertEquals(ConsentMethod.Prompt("default"), grant.method)
            assertEquals(denied.recordId, deny.recordId)
            assertEquals(mapOf("marketing" to false), deny.decisions)
            assertEquals(ConsentMethod.Settings, deny.method)
            for ((previous, record) in log.records.zipWithNext()) {
                assertEquals(previous.hash, record.prevHash, "each record names the hash of the one before")
                assertTrue(record.timestampMs >= previous.timestampMs)
            }
            assertTrue(log.records.all { it.appVersion == TEST_APP_VERSION && it.sdkVersion.isNotEmpty() })
            assertEquals(1, log.records.map { it.subjectId }.toSet().size)
            assertEquals(Jurisdiction.UNKNOWN, deny.jurisdiction)
            assertEquals(Jurisdiction.GDPR, footfall.consentStatus().jurisdiction)

            // The receipts go in the essential lane of the next upload pass, whatever the consent state.
            footfall.flush()
            assertEquals(log.records.map { it.recordId }.toSet(), collector.consentRecords().map { it.text("record_id") }.toSet())
            log.records
        }

        // Edit a stored record behind the SDK's back: the chain no longer verifies.
        val db = Path.of(config.dataDir, "footfall.db")
        sqlite(db, """UPDATE consent_log SET body = replace(body, '"marketing":false', '"marketing":true')""")
        Footfall(config).use { footfall ->
            val log = footfall.consentLog()
            assertFalse(log.verified)
            assertNotNull(log.problem)
            assertEquals(decided.map { it.recordId }, log.records.map { it.recordId })
        }
    }

    @Test
    fun `consent changes are told on the events flow and the consent state flow follows them`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            // The first status arrives by itself, read in the background after construction.
            val first = withTimeout(10_000) { footfall.consent.filterNotNull().first() }
            assertEquals(false, first.purpose("analytics")?.allowed)

            val received = Channel<FootfallEvent>(Channel.UNLIMITED)
            val subscribed = CompletableDeferred<Unit>()
            val collecting = launch(Dispatchers.Default) {
                footfall.events.onSubscription { subscribed.complete(Unit) }.collect { received.send(it) }
            }
            withTimeout(10_000) { subscribed.await() }

            val granted = footfall.grantAnalytics()
            val grantEvent = withTimeout(10_000) { received.receive() } as FootfallEvent.ConsentChanged
            assertEquals(FootfallEvent.ConsentChanged(granted.recordId, listOf("analytics"), emptyList(), 0, grantEvent.status), grantEvent)
            // Published with the change, before grant() returned: the status the event carries, nothing re-read.
            assertEquals(grantEvent.status, footfall.consent.value)
            assertTrue(grantEvent.status.revision > first.revision, "a change carries a newer revision")
            assertEquals(true, footfall.consent.value?.purpose("analytics")?.allowed)
            assertEquals(true, footfall.consent.value?.googleConsentMode?.analyticsStorage)

            footfall.track("a")
            footfall.track("b")
            val denied = footfall.deny(listOf("analytics"))
            val denyEvent = withTimeout(10_000) { received.receive() } as FootfallEvent.ConsentChanged
            assertEquals(FootfallEvent.ConsentChanged(denied.recordId, emptyList(), listOf("analytics"), 2, denyEvent.status), denyEvent)
            assertEquals(denyEvent.status, footfall.consent.value)
            assertEquals(false, footfall.consent.value?.purpose("analytics")?.allowed)

            // A context change that allows something is told too, without a record.
            footfall.setConsentContext(Jurisdiction.CCPA)
            val optOut = withTimeout(10_000) { received.receive() } as FootfallEvent.ConsentChanged
            assertNull(optOut.recordId)
            assertTrue("personalization" in optOut.nowAllowed, "$optOut")
            assertEquals(true, footfall.consent.value?.optOutMode)
            assertEquals(Jurisdiction.CCPA, footfall.consent.value?.jurisdiction)

            collecting.cancelAndJoin()
            assertTrue(received.tryReceive().isFailure, "no other event")
        }
    }

    @Test
    fun `a child's marketing never opens and only analytics they were granted reaches the collector`() = runBlocking {
        val collector = collector()
        Footfall(testConfig(tmp, collector.url)).use { footfall ->
            footfall.grant(listOf("marketing"))
            footfall.track("ad_seen", purpose = "marketing")
            val child = footfall.setConsentContext(Jurisdiction.CCPA, ageBand = AgeBand.UNDER13)
            assertEquals(listOf("marketing"), child.nowDenied)
            assertEquals(1, child.purged)
            footfall.grant(listOf("marketing", "analytics"))
            assertThrows<FootfallException.ConsentDenied> { footfall.track("ad_seen", purpose = "marketing") }
            val viewed = footfall.track("product_viewed")
            val status = footfall.consentStatus()
            assertEquals(AgeBand.UNDER13, status.ageBand)
            assertFalse(status.googleConsentMode.adStorage)
            assertTrue("marketing" !in footfall.needsPrompt().purposes, "a child is not asked about what cannot open")
            footfall.flush()
            assertEquals(listOf(viewed), collector.events().map { it.text("id") })
        }
    }

    @Test
    fun `a policy fetched in the background at start-up reaches the consent flow`() = runBlocking {
        val policyFile = tmp.resolve("policy.json")
        Files.writeString(
            policyFile,
            """{"consent":{"policyVersion":7,"purposes":[{"id":"analytics"}],"prompts":[{"id":"main","enabled":true,"purposes":["analytics"]}]}}""",
        )
        val collector = collector("--config", policyFile.toString())
        // The default schedule: fetched at start-up, then hourly.
        Footfall(testConfig(tmp, collector.url, consent = ConsentSettings())).use { footfall ->
            // Nobody calls into the SDK: the sync thread applies the policy, tells ConsentChanged, the flow re-reads.
            val status = withTimeout(10_000) { footfall.consent.first { it?.policyVersion == 7L } }!!
            assertEquals(listOf("analytics"), status.purposes.map { it.id })
            assertEquals(PromptNeed("main", PromptReason.NO_DECISION, listOf("analytics")), footfall.needsPrompt())
        }
    }

    @Test
    fun `misuse of the consent API is a typed exception and changes nothing`() = runBlocking {
        Footfall(testConfig(tmp, null)).use { footfall ->
            val empty = assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.grant(emptyList()) } }
            assertTrue(empty.message!!.contains("purpose"), empty.message)
            val essential = assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.deny(listOf("essential")) } }
            assertTrue(essential.message!!.contains("never gated"), essential.message)
            assertThrows<FootfallException.InvalidInput> { runBlocking { footfall.grant(listOf("Not A Purpose")) } }
            val claimed = assertThrows<FootfallException.InvalidInput> {
                runBlocking { footfall.grant(listOf("analytics"), ConsentMethod.TcfImport(cmpId = 1)) }
            }
            assertTrue(claimed.message!!.contains("importTcf"), claimed.message)
            val policy = assertThrows<FootfallException.Config> { runBlocking { footfall.applyConsentPolicy("""{"consent":{"policyVersion":"x"}}""") } }
            assertTrue(policy.message!!.contains("expected shape"), policy.message)
            val tcf = assertThrows<FootfallException.Config> { runBlocking { footfall.importTcf(tcfVector("core-range-vendors")) } }
            assertTrue(tcf.message!!.contains("TCF import mode is off"), tcf.message)
            assertThrows<FootfallException.Config> { runBlocking { footfall.refreshConsentPolicy() } }   // no endpoint

            val log = footfall.consentLog()
            assertEquals(0, log.records.size)
            assertTrue(log.verified)
            assertFalse(footfall.isAllowed("analytics"))
        }
    }
}
