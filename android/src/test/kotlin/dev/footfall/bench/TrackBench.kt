package dev.footfall.bench

import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.FootfallException
import dev.footfall.ffi.ConsentMethod
import dev.footfall.ffi.TrackedEvent
import java.lang.management.ManagementFactory
import java.nio.file.Files
import java.nio.file.Path
import java.util.Comparator
import kotlinx.coroutines.runBlocking
import dev.footfall.ffi.Footfall as NativeFootfall

/**
 * `track()` through JNA, as an app calls it, with the raw FFI crossings it is made of as baselines measured in the
 * same run: one JSON line with p50/p99/p99.9 latency in nanoseconds and the bytes allocated on the calling thread per
 * call (`com.sun.management.ThreadMXBean.getCurrentThreadAllocatedBytes`, the retries after a `QueueFull` included).
 *
 * - `kotlin_track`: `Footfall.track(name, Map)` as an app calls it;
 * - `per_call_crossing`: what `Footfall.track` did before the buffered hand-off — properties encoded to JSON on the
 *   caller's thread, then one `trackEvent` crossing per call;
 * - `ffi_three_strings`: the generated `track(name, propertiesJson, purpose)` — three string buffers cross;
 * - `ffi_one_record`: the generated `trackEvent(TrackedEvent)` — one record buffer crosses.
 *
 * Not a test; run with scripts/bench-kotlin.sh (release library). Args: [calls] [warm-up calls].
 */
fun main(args: Array<String>) {
    val calls = args.getOrNull(0)?.toInt() ?: 100_000
    val warmUp = args.getOrNull(1)?.toInt() ?: 20_000
    val properties = mapOf("sku" to "4901234567894", "price" to 1980, "currency" to "JPY", "store_id" to "tokyo-shibuya-01", "list" to "search")
    val json = """{"sku":"4901234567894","price":1980,"currency":"JPY","store_id":"tokyo-shibuya-01","list":"search"}"""
    val results = linkedMapOf<String, Measured>()
    results["kotlin_track"] = measureLayer(calls, warmUp) { it.track("product_viewed", properties) }
    // What `Footfall.track` did before the buffered hand-off: encode on the caller's thread, one crossing per call.
    results["per_call_crossing"] = measureNative(calls, warmUp) {
        it.trackEvent(TrackedEvent("product_viewed", dev.footfall.Json.encodeObject(properties), Footfall.DEFAULT_PURPOSE))
    }
    results["ffi_three_strings"] = measureNative(calls, warmUp) { it.track("product_viewed", json, Footfall.DEFAULT_PURPOSE) }
    results["ffi_one_record"] = measureNative(calls, warmUp) {
        it.trackEvent(TrackedEvent("product_viewed", json, Footfall.DEFAULT_PURPOSE))
    }
    fun percentile(latencies: LongArray, p: Double) = latencies[((latencies.size - 1) * p).toInt()]
    val fields = mutableListOf(""""calls":$calls""", """"warm_up":$warmUp""")
    for ((name, measured) in results) {
        fields += """"${name}_p50_ns":${percentile(measured.latencies, 0.50)}"""
        fields += """"${name}_p99_ns":${percentile(measured.latencies, 0.99)}"""
        fields += """"${name}_p999_ns":${percentile(measured.latencies, 0.999)}"""
        fields += """"${name}_bytes_per_call":${measured.bytesPerCall}"""
        fields += """"${name}_every_thread_bytes_per_call":${measured.everyThreadBytesPerCall}"""
    }
    val threeStrings = percentile(results.getValue("ffi_three_strings").latencies, 0.50).toDouble()
    val oneRecord = percentile(results.getValue("ffi_one_record").latencies, 0.50)
    fields += """"one_record_vs_three_strings_p50":${"%.2f".format(oneRecord / threeStrings)}"""
    println(fields.joinToString(",", "{", "}"))
}

/** The idiomatic layer, on a fresh instance with analytics granted. */
private fun measureLayer(calls: Int, warmUp: Int, track: (Footfall) -> Unit): Measured = withDir { dir ->
    Footfall(config(dir)).use { footfall ->
        // Consent is enforced and default-deny: measure the call an app makes once the shopper has agreed.
        runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        timed(calls, warmUp, footfall::flushToDisk) {
            try {
                track(footfall)
                true
            } catch (e: FootfallException.QueueFull) {
                false
            }
        }
    }
}

/** The generated bindings alone, on a fresh instance with analytics granted. */
private fun measureNative(calls: Int, warmUp: Int, track: (NativeFootfall) -> Unit): Measured = withDir { dir ->
    NativeFootfall(config(dir), null, null).use { native ->
        native.grant(listOf(Footfall.DEFAULT_PURPOSE), ConsentMethod.Api)
        timed(calls, warmUp, native::flushToDisk) {
            try {
                track(native)
                true
            } catch (e: dev.footfall.ffi.FootfallException.QueueFull) {
                false
            }
        }.also { native.shutdown() }
    }
}

/** No endpoint: the benchmark measures the call, not uploads. Limits sized so nothing is evicted. */
private fun config(dir: Path) = FootfallConfig(
    dataDir = dir.toString(),
    storageLimits = dev.footfall.StorageLimits(maxEvents = 10_000_000, maxBytes = 4_000_000_000),
)

/** Sorted latencies of a run, the bytes the calling thread allocated per call and those every thread allocated
 *  per call (the hand-over thread's encoding and crossing included; the drain after the run too). */
private class Measured(val latencies: LongArray, val bytesPerCall: Long, val everyThreadBytesPerCall: Long)

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

/** Sorted latencies of [calls] calls after [warmUp]; a call refused with QueueFull lets the writer catch up and
 *  the retry is measured instead. */
private fun timed(calls: Int, warmUp: Int, drain: () -> Unit, trackOnce: () -> Boolean): Measured {
    fun one(): Long {
        while (true) {
            val start = System.nanoTime()
            if (trackOnce()) return System.nanoTime() - start
            drain()
        }
    }
    repeat(warmUp) { one() }
    drain()
    val latencies = LongArray(calls)
    val everyThreadBefore = allocatedByEveryThread()
    val allocatedBefore = threads.currentThreadAllocatedBytes
    for (i in 0 until calls) latencies[i] = one()
    val allocated = threads.currentThreadAllocatedBytes - allocatedBefore
    drain()
    val everyThread = allocatedByEveryThread() - everyThreadBefore
    latencies.sort()
    return Measured(latencies, allocated / calls, everyThread / calls)
}

/** Bytes allocated so far by the threads alive now (the SDK's hand-over thread lives as long as the instance). */
private fun allocatedByEveryThread(): Long = threads.getThreadAllocatedBytes(threads.allThreadIds).filter { it > 0 }.sum()

private fun <T> withDir(block: (Path) -> T): T {
    val dir = Files.createTempDirectory("footfall-bench")
    try {
        return block(dir)
    } finally {
        Files.walk(dir).sorted(Comparator.reverseOrder()).forEach { Files.deleteIfExists(it) }
    }
}
