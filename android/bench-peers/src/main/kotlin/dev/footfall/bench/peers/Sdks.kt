package dev.footfall.bench.peers

import com.posthog.PostHog
import com.posthog.PostHogConfig
import com.posthog.PostHogInterface
import com.rudderstack.sdk.java.analytics.RudderAnalytics
import com.rudderstack.sdk.java.analytics.messages.TrackMessage
import com.segment.analytics.kotlin.core.Analytics
import com.segment.analytics.kotlin.core.Configuration
import com.segment.analytics.kotlin.core.RequestFactory
import com.segment.analytics.kotlin.core.Telemetry
import dev.footfall.FlushPolicy
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.FootfallException
import dev.footfall.StorageLimits
import java.net.HttpURLConnection
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import kotlinx.serialization.json.putJsonArray

/** The event every SDK tracks. */
const val EVENT = "product_viewed"

/** The app's properties, built once outside the measured calls, the same content for every SDK; each SDK gets
 *  them in the type its `track()` takes (a Map, or kotlinx JSON for Segment). */
val PROPERTIES: Map<String, Any> = mapOf("sku" to "4901234567894", "price" to 1980, "tags" to listOf("sale", "new"))
val SEGMENT_PROPERTIES: JsonObject = buildJsonObject {
    put("sku", "4901234567894")
    put("price", 1980)
    putJsonArray("tags") { add(JsonPrimitive("sale")); add(JsonPrimitive("new")) }
}

/**
 * The same upload settings for every SDK, as far as each one has the knob: upload once 1 000 events are pending or
 * every second, at most 1 000 events per request (`-Dbench.batch=N` changes both for every SDK), nothing dropped for
 * lack of room.
 */
val BATCH: Int = System.getProperty("bench.batch")?.toInt() ?: 1_000

/** One SDK instance pointed at a loopback server. */
interface Sdk : AutoCloseable {
    /** One `track()` as an app calls it; false when the SDK refused it for lack of room (retried by the caller). */
    fun track(): Boolean

    /** Asks the SDK to upload what it holds (each SDK's own flush). */
    fun flush()

    /** Events the server has stored so far. */
    fun delivered(): Long

    /** Returns once the SDK is started as an app would have it before its first events (not timed). */
    fun ready() {}

    /** CPU the server process has used so far, when it is a process of its own (the collector). */
    fun serverCpuMs(): Long? = null
}

class SdkKind(val name: String, val version: String, val open: (dir: Path, bin: Path, viaRelay: Boolean) -> Pair<Sdk, Wire>)

/** What reached the server: the relay's counts when one is used, the sink's body bytes for peers. */
class Wire(val relay: Relay?, val sink: Sink?) : AutoCloseable {
    override fun close() {
        relay?.close()
        sink?.close()
    }
}

private fun sinkAndUrl(viaRelay: Boolean): Pair<Wire, String> {
    val sink = Sink(EVENT)
    val relay = if (viaRelay) Relay(sink.port) else null
    return Wire(relay, sink) to (relay?.url ?: sink.url)
}

/** The SDKs compared by default. */
val KINDS = listOf(
    SdkKind("footfall", "0.1.0 (this tree)") { dir, bin, viaRelay -> openFootfall(dir, bin, viaRelay, toCollector = true) },
    SdkKind("segment", "analytics-kotlin core 1.27.0") { dir, _, viaRelay -> openSegment(dir, viaRelay) },
    SdkKind("posthog", "posthog (JVM core) 6.13.1") { dir, _, viaRelay -> openPostHog(dir, viaRelay) },
    SdkKind("rudderstack-java", "RudderStack Java SDK 3.1.2 (stand-in: the Kotlin core does not resolve)") { _, _, viaRelay ->
        openRudderStack(viaRelay)
    },
)

/** Diagnostics, named explicitly: Footfall uploading to the harness's sink instead of the collector (what the
 *  SDK side costs without the collector's ingest). */
val EXTRA_KINDS = listOf(
    SdkKind("footfall-to-sink", "0.1.0 (this tree), to the loopback sink") { dir, bin, viaRelay ->
        openFootfall(dir, bin, viaRelay, toCollector = false)
    },
)

private fun openFootfall(dir: Path, bin: Path, viaRelay: Boolean, toCollector: Boolean): Pair<Sdk, Wire> {
    val collector = if (toCollector) Collector(bin, dir.resolve("collector.db")) else null
    val sink = if (toCollector) null else Sink(EVENT)
    val server = collector?.port ?: sink!!.port
    val relay = if (viaRelay) Relay(server) else null
    val footfall = Footfall(
        FootfallConfig(
            dataDir = dir.resolve("sdk").toString(),
            endpoint = relay?.url ?: "http://127.0.0.1:$server",
            storageLimits = StorageLimits(maxEvents = 10_000_000, maxBytes = 4_000_000_000),
            flushPolicy = FlushPolicy(
                countThreshold = BATCH.toLong(),
                intervalMs = 1_000,
                // -Dfootfall.automatic=false: only the explicit flush uploads (to take the end-to-end time apart).
                automatic = System.getProperty("footfall.automatic") != "false",
                maxBatchEvents = BATCH.toLong(),
                maxBatchBytes = System.getProperty("footfall.maxBatchBytes")?.toLong() ?: 512_000,
            ),
        ),
    )
    // Consent is enforced and default-deny: measure the call an app makes once the shopper has agreed.
    runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
    val sdk = object : Sdk {
        override fun track(): Boolean = try {
            footfall.track(EVENT, PROPERTIES)
            true
        } catch (e: FootfallException.QueueFull) {
            false
        }

        override fun flush() {
            runBlocking { footfall.flush() }
        }

        override fun delivered() = collector?.storedEvents() ?: sink!!.events.get()

        override fun serverCpuMs() = collector?.cpuMs()

        override fun close() {
            footfall.close()
            collector?.close()
        }
    }
    return sdk to Wire(relay, sink)
}

private fun openSegment(dir: Path, viaRelay: Boolean): Pair<Sdk, Wire> {
    // Segment's telemetry reports to its own host: off, so nothing leaves the machine.
    Telemetry.enable = false
    val (wire, url) = sinkAndUrl(viaRelay)
    val host = url.removePrefix("http://")
    val writeKey = "bench-" + dir.fileName
    val analytics = Analytics(
        Configuration(
            writeKey = writeKey,
            application = "footfall-bench",
            apiHost = host,
            cdnHost = host,
            flushAt = BATCH,
            flushInterval = 1,
            requestFactory = PlainHttp(),
        ),
    )
    val sdk = object : Sdk {
        override fun track(): Boolean {
            analytics.track(EVENT, SEGMENT_PROPERTIES)
            return true
        }

        override fun flush() = analytics.flush()
        override fun delivered() = wire.sink!!.events.get()

        // Until its settings arrive Segment holds events in a startup queue that drops all but 1 000: an app
        // tracks after start-up, so wait for the settings (and their processing) first.
        override fun ready() {
            while (wire.sink!!.requests.keys.none { it.endsWith("/settings") }) Thread.sleep(5)
            Thread.sleep(500)
        }
        override fun close() {
            analytics.shutdown()
            // Its default storage is a directory per write key under /tmp.
            java.io.File("/tmp/analytics-kotlin/$writeKey").deleteRecursively()
        }
    }
    return sdk to wire
}

private fun openPostHog(dir: Path, viaRelay: Boolean): Pair<Sdk, Wire> {
    val (wire, url) = sinkAndUrl(viaRelay)
    val config = PostHogConfig(apiKey = "bench-" + dir.fileName, host = url).apply {
        // No flags or remote config fetched: only batches go out.
        remoteConfig = false
        preloadFeatureFlags = false
        sendFeatureFlagEvent = false
        flushAt = BATCH
        maxBatchSize = BATCH
        flushIntervalSeconds = 1
        maxQueueSize = 10_000_000 // the default (1 000) drops the oldest events
        // Without a storage directory the JVM core queues nothing (PostHogQueue.addEventSync).
        storagePrefix = dir.resolve("posthog").toString()
    }
    val posthog: PostHogInterface = PostHog.with(config)
    val sdk = object : Sdk {
        override fun track(): Boolean {
            posthog.capture(EVENT, properties = PROPERTIES)
            return true
        }

        override fun flush() = posthog.flush()
        override fun delivered() = wire.sink!!.events.get()
        override fun close() = posthog.close()
    }
    return sdk to wire
}

private fun openRudderStack(viaRelay: Boolean): Pair<Sdk, Wire> {
    val (wire, url) = sinkAndUrl(viaRelay)
    val rudder = RudderAnalytics.builder("bench")
        .setDataPlaneUrl(url)
        .flushQueueSize(BATCH)
        .flushInterval(1, TimeUnit.SECONDS)
        .build()
    val sdk = object : Sdk {
        override fun track(): Boolean {
            rudder.enqueue(TrackMessage.builder(EVENT).anonymousId("bench-user").properties(PROPERTIES))
            return true
        }

        override fun flush() = rudder.flush()
        override fun delivered() = wire.sink!!.events.get()
        override fun close() = rudder.shutdown()
    }
    return sdk to wire
}

/** Segment's request factory builds https:// URLs; the loopback sink speaks plain HTTP. */
private class PlainHttp : RequestFactory() {
    override fun openConnection(url: String): HttpURLConnection = super.openConnection(url.replaceFirst("https://", "http://"))
}
