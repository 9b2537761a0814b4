package dev.footfall

import java.nio.file.Path
import java.time.Instant
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Store proximity through the Kotlin API on the real native library: readings become visits on the flow, offers
 * and pickup arrivals are told once, `location` gates everything and its withdrawal deletes the visits, bad input
 * is a typed error. The SDK's monotonic clock is real here, so a visit is entered with the zone's default 2 of 4
 * near readings, and nothing waits for an exit (30 s of observed absence); the core's own tests drive time.
 */
class ProximityTest {
    @TempDir
    lateinit var tmp: Path

    private fun config(campaigns: String = "[]") =
        testConfig(tmp, endpoint = null).copy(proximity = proximityDocument(campaigns), timeZone = "Asia/Tokyo")

    /** An instance whose start-up job has run (visits from a last run restored), with [purposes] granted. */
    private suspend fun open(campaigns: String = "[]", purposes: List<String> = listOf("location", "analytics")): Footfall {
        val footfall = Footfall(config(campaigns))
        footfall.flushToDisk()
        footfall.grant(purposes)
        return footfall
    }

    /** Two scan periods each hearing the entrance beacon near (-62 dBm): 2 of 4 near readings enter the zone. */
    private fun Footfall.walkIn() {
        repeat(2) {
            assertEquals(Ingested.PROCESSED, proximity.identity(BEACON_UUID, 1, 2, rssi = -62))
            assertEquals(Ingested.PROCESSED, proximity.scanTick())
        }
    }

    @Test
    fun `a walk-in becomes a visit on the flow, in the status and in the events`() = scoped {
        open().use { footfall ->
            val events = footfall.events.subscribed(this)
            assertEquals(Ingested.PROCESSED, footfall.proximity.identity(BEACON_UUID, 1, 2, rssi = -62))
            assertEquals(emptyList<Visit>(), footfall.proximity.visits(10), "one near reading is not an enter")
            // The second near reading arrives as an advertisement: Android's path, an iBeacon frame.
            assertEquals(Ingested.PROCESSED, footfall.proximity.advertisement(ibeacon(major = 1, minor = 2), rssi = -62))
            val visits = withTimeout(10_000) { footfall.proximity.visits.first { it.isNotEmpty() } }
            val visit = visits.single()
            assertEquals(Triple("tokyo-1/entrance", "tokyo-1", VisitPhase.ENTERED), Triple(visit.zone, visit.store, visit.phase))
            assertTrue(Instant.parse(visit.enteredAt) in Instant.now().minusSeconds(60)..Instant.now(), visit.enteredAt)
            assertNull(visit.exitedAt)
            assertEquals(visits, footfall.proximity.visits(10))
            val told = withTimeout(10_000) { events.receiveFirst<FootfallEvent.VisitChanged>() }
            assertEquals(visit, told.visit)

            val status = footfall.proximity.status()
            assertEquals(listOf(ZonePresence("tokyo-1/entrance", visit.id)), status.inside)
            assertEquals(Triple(1L, 0L, 1L), Triple(status.zones, status.campaigns, status.configVersion))
            assertEquals(2L, status.processed)
            assertEquals(0L, status.withoutConsent)
        }
    }

    @Test
    fun `stopping the scan keeps the visit, withdrawing location deletes it and stops processing`() = scoped {
        open().use { footfall ->
            footfall.walkIn()
            val visit = withTimeout(10_000) { footfall.proximity.visits.first { it.isNotEmpty() } }.single()
            assertEquals(Ingested.PROCESSED, footfall.proximity.scanning(false))
            assertEquals(Ingested.PROCESSED, footfall.proximity.scanning(true))
            val after = footfall.proximity.visits(10).single()
            assertEquals(Pair(visit.id, VisitPhase.ENTERED), Pair(after.id, after.phase), "unknown time is not absence")
            assertEquals(1, footfall.proximity.status().inside.size)

            footfall.deny(listOf("location"))
            assertEquals(emptyList<Visit>(), footfall.proximity.visits(10), "the withdrawal deleted the visit")
            withTimeout(10_000) { footfall.proximity.visits.first { it.isEmpty() } }
            assertEquals(Ingested.NO_CONSENT, footfall.proximity.identity(BEACON_UUID, 1, 2, rssi = -62))
            assertEquals(Ingested.NO_CONSENT, footfall.proximity.scanTick())
            assertEquals(emptyList<ZonePresence>(), footfall.proximity.status().inside, "no presence outlives it")
        }
    }

    @Test
    fun `without location nothing is processed or kept`() = scoped {
        open(purposes = listOf("analytics")).use { footfall ->
            repeat(4) {
                assertEquals(Ingested.NO_CONSENT, footfall.proximity.identity(BEACON_UUID, 1, 2, rssi = -60))
                assertEquals(Ingested.NO_CONSENT, footfall.proximity.scanTick())
            }
            assertEquals(emptyList<Visit>(), footfall.proximity.visits(10))
            val status = footfall.proximity.status()
            assertEquals(Pair(0L, 8L), Pair(status.processed, status.withoutConsent))
            assertEquals(emptyList<ZonePresence>(), status.inside)
        }
    }

    @Test
    fun `an offer for the visit arrives on the offers flow once`() = scoped {
        open(campaigns = WELCOME).use { footfall ->
            val offers = footfall.proximity.offers.subscribed(this)
            footfall.walkIn()
            val offer = withTimeout(10_000) { offers.receive() }
            assertEquals(Triple("welcome", "tokyo-1/entrance", "offer.welcome.title"), Triple(offer.campaignId, offer.zone, offer.title))
            assertEquals("offer.welcome.body", offer.body)
            val visit = withTimeout(10_000) { footfall.proximity.visits.first { it.isNotEmpty() } }.single()
            assertEquals(visit.id, offer.visitId)
            assertNull(offer.couponId)
            // More readings in the same visit make no second offer (one per campaign and visit).
            footfall.walkIn()
            footfall.flushToDisk()
            assertNull(offers.tryReceive().getOrNull())
            assertEquals(1L, footfall.proximity.status().campaigns)
        }
    }

    @Test
    fun `a pickup arrives when the shopper enters its store inside the window`() = scoped {
        open().use { footfall ->
            val now = Instant.now()
            footfall.proximity.expectPickup("order-7", "tokyo-1", now.minusSeconds(60)..now.plusSeconds(3_600))
            footfall.proximity.expectPickup("order-8", "osaka-2", now.minusSeconds(60), now.plusSeconds(3_600))
            val arrivals = footfall.proximity.arrivals.subscribed(this)
            footfall.walkIn()
            val arrived = withTimeout(10_000) { arrivals.receive() }
            assertEquals(Pair("order-7", "tokyo-1"), Pair(arrived.orderId, arrived.store))
            assertNotNull(arrived.arrivedAt)
            val visit = withTimeout(10_000) { footfall.proximity.visits.first { it.isNotEmpty() } }.single()
            assertEquals(visit.id, arrived.visitId)
            val pickups = footfall.proximity.pickups().associateBy { it.orderId }
            assertEquals(setOf("order-7", "order-8"), pickups.keys)
            assertEquals(arrived.arrivedAt, pickups.getValue("order-7").arrivedAt)
            assertNull(pickups.getValue("order-8").arrivedAt, "another store's pickup has not arrived")
        }
    }

    @Test
    fun `bad frames and bad input are InvalidInput and change nothing`() = scoped {
        open().use { footfall ->
            val p = footfall.proximity
            for (frame in listOf(byteArrayOf(0x02, 0x01), byteArrayOf(0x1a, 0xff.toByte(), 0x4c, 0x00, 0x02, 0x15), byteArrayOf())) {
                assertThrows<FootfallException.InvalidInput> { p.advertisement(frame, rssi = -60) }
            }
            assertThrows<FootfallException.InvalidInput> { p.identity("not-a-uuid", 1, 2, rssi = -60) }
            assertThrows<FootfallException.InvalidInput> { p.identity(BEACON_UUID, 1, 2, rssi = 0) }
            assertEquals(5L, p.status().refused, "the SDK counted what it refused")
            // Numbers the FFI cannot carry are refused here, before the call.
            assertThrows<FootfallException.InvalidInput> { p.identity(BEACON_UUID, 70_000, 2, rssi = -60) }
            assertThrows<FootfallException.InvalidInput> { p.advertisement(ibeacon(1, 2), rssi = -60, ageMs = -1) }
            assertThrows<FootfallException.InvalidInput> { p.visits(-1) }
            val now = Instant.now()
            assertThrows<FootfallException.InvalidInput> { p.expectPickup("", "tokyo-1", now, now.plusSeconds(60)) }
            assertThrows<FootfallException.InvalidInput> { p.expectPickup("order-1", "tokyo-1", now, now.minusSeconds(60)) }
            assertEquals(emptyList<Pickup>(), p.pickups())
            assertEquals(emptyList<Visit>(), p.visits(10))
            assertEquals(0L, p.status().processed)
        }
    }

    @Test
    fun `a proximity document or time zone that cannot be read refuses the configuration`() {
        val badDocument = assertThrows<FootfallException.Config> {
            Footfall(config().copy(proximity = """{"proximity": {"version": 1, "zones": [{"id": "x"}]}}"""))
        }
        assertTrue(badDocument.message!!.contains("proximity"), badDocument.message)
        val badZone = assertThrows<FootfallException.Config> { Footfall(config().copy(timeZone = "Mars/Olympus")) }
        assertTrue(badZone.message!!.contains("Mars/Olympus"), badZone.message)
    }

    @Test
    fun `after close ingestion throws Closed`() = scoped {
        val footfall = open()
        footfall.close()
        assertThrows<FootfallException.Closed> { footfall.proximity.scanTick() }
        assertThrows<FootfallException.Closed> { footfall.proximity.identity(BEACON_UUID, 1, 2, rssi = -62) }
        assertThrows<FootfallException.Closed> { footfall.proximity.visits() }
    }
}

/** [runBlocking] that ends the collectors [subscribed] started once [body] is done. */
fun scoped(body: suspend CoroutineScope.() -> Unit) = runBlocking {
    body()
    coroutineContext.cancelChildren()
}

const val BEACON_UUID = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6"

/** A bundled proximity document: one zone at the tokyo-1 entrance (beacon 1/2, near at -75 dBm or better, the
 *  default 2 of 4 readings to enter) and [campaigns]. */
fun proximityDocument(campaigns: String = "[]") = """
    {"proximity": {"version": 1, "zones": [{"id": "tokyo-1/entrance", "store": "tokyo-1", "timeZone": "Asia/Tokyo",
      "beacons": ["$BEACON_UUID:1:2"], "enterRssi": -75}], "campaigns": $campaigns}}
""".trimIndent()

/** A campaign that makes an offer on entering the zone (at most 5 in 7 days). */
const val WELCOME = """[{"id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 1,
  "cap": {"count": 5, "windowDays": 7}, "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body"}}]"""

/** An iBeacon advertisement (flags, then Apple's manufacturer data) for [BEACON_UUID] with [major] and [minor]. */
fun ibeacon(major: Int, minor: Int): ByteArray {
    val uuid = BEACON_UUID.replace("-", "").chunked(2).map { it.toInt(16).toByte() }
    val head = byteArrayOf(0x02, 0x01, 0x06, 0x1a, 0xff.toByte(), 0x4c, 0x00, 0x02, 0x15)
    val ids = byteArrayOf((major shr 8).toByte(), major.toByte(), (minor shr 8).toByte(), minor.toByte(), (-59).toByte())
    return head + uuid.toByteArray() + ids
}

/** Collects this hot flow into a channel from now on, subscribed before this returns, until [scope] is cancelled. */
suspend fun <T> SharedFlow<T>.subscribed(scope: CoroutineScope): Channel<T> {
    val received = Channel<T>(Channel.UNLIMITED)
    val subscribed = CompletableDeferred<Unit>()
    scope.launch(Dispatchers.Default) {
        onSubscription { subscribed.complete(Unit) }.collect { received.send(it) }
    }
    withTimeout(10_000) { subscribed.await() }
    return received
}

/** The first received element of type [E], skipping others. */
suspend inline fun <reified E> Channel<in E>.receiveFirst(): E {
    while (true) {
        val next = receive()
        if (next is E) return next
    }
}
