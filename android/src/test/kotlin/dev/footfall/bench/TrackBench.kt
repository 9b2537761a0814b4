package dev.footfall.bench

import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.FootfallException
import java.nio.file.Files
import java.util.Comparator
import kotlinx.coroutines.runBlocking

/**
 * `track()` through JNA, as an app calls it: one JSON line with p50/p99 latency in nanoseconds.
 * Not a test; run with scripts/bench-kotlin.sh (release library). Args: [calls] [warm-up calls].
 */
fun main(args: Array<String>) {
    val calls = args.getOrNull(0)?.toInt() ?: 100_000
    val warmUp = args.getOrNull(1)?.toInt() ?: 20_000
    val dir = Files.createTempDirectory("footfall-bench")
    try {
        // No endpoint: the benchmark measures the call, not uploads. Limits sized so nothing is evicted.
        val config = FootfallConfig(
            dataDir = dir.toString(),
            storageLimits = dev.footfall.StorageLimits(maxEvents = 10_000_000, maxBytes = 4_000_000_000),
        )
        Footfall(config).use { footfall ->
            // Consent is enforced and default-deny: measure the call an app makes once the shopper has agreed.
            runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
            val properties = mapOf("sku" to "4901234567894", "price" to 1980, "currency" to "JPY", "store_id" to "tokyo-shibuya-01", "list" to "search")
            fun trackOne(): Long {
                while (true) {
                    val start = System.nanoTime()
                    try {
                        footfall.track("product_viewed", properties)
                        return System.nanoTime() - start
                    } catch (e: FootfallException.QueueFull) {
                        // The writer is behind; let it catch up and measure the retry instead.
                        footfall.flushToDisk()
                    }
                }
            }
            repeat(warmUp) { trackOne() }
            footfall.flushToDisk()
            val latencies = LongArray(calls)
            val started = System.nanoTime()
            for (i in 0 until calls) latencies[i] = trackOne()
            val elapsed = System.nanoTime() - started
            footfall.flushToDisk()
            latencies.sort()
            fun percentile(p: Double) = latencies[((latencies.size - 1) * p).toInt()]
            println(
                """{"calls":$calls,"warm_up":$warmUp,"kotlin_track_p50_ns":${percentile(0.50)},""" +
                    """"kotlin_track_p99_ns":${percentile(0.99)},"kotlin_track_mean_ns":${elapsed / calls},""" +
                    """"tracked":${footfall.status().tracked}}""",
            )
        }
    } finally {
        Files.walk(dir).sorted(Comparator.reverseOrder()).forEach { Files.deleteIfExists(it) }
    }
}
