package dev.footfall.bench.peers

import java.io.File
import java.lang.management.ManagementFactory
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.util.concurrent.locks.LockSupport

/**
 * Footfall and its peers in one JVM, each against a loopback server (Footfall: the reference collector; peers: a
 * [Sink] that speaks enough of their batch APIs). Not a test; run with scripts/bench-peers.sh.
 *
 * `run RUN CALLS WARM_UP E2E_EVENTS FOOTFALL_BIN [sdk,…]`: for each SDK (the order rotated by RUN), one JSON line:
 * - on the caller's thread, CALLS `track()` calls timed one by one after WARM_UP: p50/p99/p99.9, calls/s, bytes
 *   allocated per call by the caller's thread and by every SDK thread (the harness's server threads left out,
 *   counted until everything tracked was delivered);
 * - end to end, on a fresh instance: E2E_EVENTS tracked, the SDK's flush, until the server has stored them all:
 *   delivered events/s and the bytes the client sent per event (through a counting [Relay]).
 *
 * A call an SDK refuses for lack of room (Footfall's `QueueFull`) is retried ([trackAccepted]); the call's time
 * runs from the first attempt until it is accepted, as a blocking SDK's would.
 *
 * `summarize FILE`: the median and range of every figure over the runs in FILE, as a table.
 */
fun main(args: Array<String>) {
    when (args.firstOrNull()) {
        // Some peers leave non-daemon threads behind after shutdown: end the JVM once every line is printed.
        "run" -> run(args).also { kotlin.system.exitProcess(0) }
        "summarize" -> summarize(File(args[1]).readLines().filter { it.startsWith("{") })
        else -> error("usage: run RUN CALLS WARM_UP E2E_EVENTS FOOTFALL_BIN [sdk,...] | summarize FILE")
    }
}

private fun run(args: Array<String>) {
    val runIndex = args[1].toInt()
    val calls = args[2].toInt()
    val warmUp = args[3].toInt()
    val e2eEvents = args[4].toInt()
    val bin = Paths.get(args[5])
    val only = args.getOrNull(6)?.split(',')?.toSet()
    val kinds = if (only == null) KINDS else (KINDS + EXTRA_KINDS).filter { it.name in only }
    val order = kinds.indices.map { kinds[(it + runIndex) % kinds.size] }
    for (kind in order) {
        val load = loadAverage()
        val caller = measureCaller(kind, bin, calls, warmUp)
        val e2e = measureEndToEnd(kind, bin, e2eEvents)
        val fields = linkedMapOf<String, Any>(
            "sdk" to kind.name, "version" to kind.version, "run" to runIndex, "load1" to load,
            "java" to System.getProperty("java.runtime.version"), "calls" to calls, "warm_up" to warmUp,
        )
        fields.putAll(caller)
        fields.putAll(e2e)
        fields["load1_after"] = loadAverage()
        println(fields.entries.joinToString(",", "{", "}") { (k, v) -> "\"$k\":" + if (v is String) "\"$v\"" else "$v" })
        System.out.flush()
    }
}

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

/** Bytes allocated so far by each live thread that is not the harness's own. */
private fun sdkThreadBytes(): Map<Long, Long> {
    val ids = threads.allThreadIds
    val bytes = threads.getThreadAllocatedBytes(ids)
    val infos = threads.getThreadInfo(ids)
    val out = HashMap<Long, Long>()
    for (i in ids.indices) {
        val name = infos[i]?.threadName ?: continue
        if (bytes[i] >= 0 && !name.startsWith(HARNESS_THREAD)) out[ids[i]] = bytes[i]
    }
    return out
}

private fun since(before: Map<Long, Long>): Long = sdkThreadBytes().entries.sumOf { (id, b) -> b - (before[id] ?: 0L) }

private var refusals = 0L

/** One accepted `track()`: while the SDK refuses it for lack of room, retried after yielding the core (the SDK's
 *  own threads make the room), then after short sleeps so a long wait does not burn a core. */
private fun trackAccepted(sdk: Sdk) {
    var tries = 0
    while (!sdk.track()) {
        refusals++
        if (++tries < 100) Thread.yield() else LockSupport.parkNanos(20_000)
    }
}

private fun measureCaller(kind: SdkKind, bin: Path, calls: Int, warmUp: Int): Map<String, Any> = withDir { dir ->
    val (sdk, wire) = kind.open(dir, bin, false)
    try {
        sdk.ready()
        repeat(warmUp) { trackAccepted(sdk) }
        sdk.flush()
        awaitDelivered(sdk, warmUp.toLong())
        refusals = 0
        val latencies = LongArray(calls)
        val everyBefore = sdkThreadBytes()
        val callerBefore = threads.currentThreadAllocatedBytes
        val start = System.nanoTime()
        for (i in 0 until calls) {
            val t0 = System.nanoTime()
            trackAccepted(sdk)
            latencies[i] = System.nanoTime() - t0
        }
        val elapsed = System.nanoTime() - start
        val callerBytes = threads.currentThreadAllocatedBytes - callerBefore
        val retried = refusals
        sdk.flush()
        val delivered = awaitDelivered(sdk, (warmUp + calls).toLong())
        val everyBytes = since(everyBefore)
        latencies.sort()
        fun pct(p: Double) = latencies[((latencies.size - 1) * p).toInt()]
        mapOf(
            "p50_ns" to pct(0.50), "p99_ns" to pct(0.99), "p999_ns" to pct(0.999),
            "calls_per_s" to (calls * 1e9 / elapsed).toLong(),
            "caller_bytes_per_call" to callerBytes / calls,
            "every_thread_bytes_per_call" to everyBytes / calls,
            "refusals" to retried,
            "caller_run_delivered" to delivered - warmUp,
        ).also { System.err.println("${kind.name}: caller phase requests ${wire.sink?.requests ?: "(collector)"}") }
    } finally {
        sdk.close()
        wire.close()
    }
}

private fun measureEndToEnd(kind: SdkKind, bin: Path, events: Int): Map<String, Any> = withDir { dir ->
    val (sdk, wire) = kind.open(dir, bin, true)
    try {
        sdk.ready()
        val upBefore = wire.relay!!.upBytes.get()
        val cpuBefore = threadCpu()
        val start = System.nanoTime()
        repeat(events) { trackAccepted(sdk) }
        val tracked = System.nanoTime() - start
        sdk.flush()
        val flushed = System.nanoTime() - start
        val delivered = awaitDelivered(sdk, events.toLong())
        val elapsed = System.nanoTime() - start
        val fields = linkedMapOf<String, Any>(
            "e2e_events" to events,
            "e2e_delivered" to delivered,
            "e2e_track_ms" to tracked / 1_000_000,
            "e2e_flush_returned_ms" to flushed / 1_000_000,
            "e2e_ms" to elapsed / 1_000_000,
            "e2e_events_per_s" to (delivered * 1e9 / elapsed).toLong(),
            "wire_bytes_per_event" to "%.1f".format((wire.relay.upBytes.get() - upBefore).toDouble() / delivered).toDouble(),
        )
        wire.sink?.let { fields["body_bytes_per_event"] = "%.1f".format(it.bodyBytes.get().toDouble() / delivered).toDouble() }
        System.err.println("${kind.name}: e2e requests ${wire.sink?.requests ?: "(collector)"}")
        // Where the end-to-end time went: CPU per thread of this process (the native core's threads included),
        // harness threads summed apart; the collector's own CPU is added by the Footfall adapter.
        val cpu = threadCpu().map { (name, ms) -> name to ms - (cpuBefore[name] ?: 0L) }.filter { it.second > 0 }
        val harness = cpu.filter { it.first.startsWith("harness-") || it.first == "main" || it.first == "java" }.sumOf { it.second }
        val sdkThreads = cpu.filter { !(it.first.startsWith("harness-") || it.first == "main" || it.first == "java") }.sortedByDescending { it.second }
        fields["e2e_cpu_ms_sdk_threads"] = sdkThreads.sumOf { it.second }
        fields["e2e_cpu_ms_caller"] = cpu.firstOrNull { it.first == "main" || it.first == "java" }?.second ?: 0L
        fields["e2e_cpu_ms_harness"] = harness - ((fields["e2e_cpu_ms_caller"] as Long))
        sdk.serverCpuMs()?.let { fields["e2e_cpu_ms_server"] = it }
        System.err.println("${kind.name}: e2e CPU ms by thread: " + sdkThreads.take(8).joinToString { "${it.first}=${it.second}" })
        fields
    } finally {
        sdk.close()
        wire.close()
    }
}

/** Waits until the server has stored [expected] events, asking the SDK to flush again each second nothing
 *  arrives; gives up after 15 s without progress or 60 s in all (PostHog's queue thread slows down as its
 *  backlog grows: it took 181 s to deliver 100 000). Returns what the server has stored. */
private fun awaitDelivered(sdk: Sdk, expected: Long): Long {
    val deadline = System.nanoTime() + 60_000_000_000L
    var last = -1L
    var lastMove = System.nanoTime()
    var lastFlush = lastMove
    while (true) {
        val now = sdk.delivered()
        if (now >= expected) return now
        val t = System.nanoTime()
        if (t > deadline) return now
        if (now != last) {
            last = now
            lastMove = t
        } else if (t - lastMove > 15_000_000_000L || t > deadline) {
            return now
        }
        if (t - maxOf(lastMove, lastFlush) > 1_000_000_000L) {
            sdk.flush()
            lastFlush = t
        }
        Thread.sleep(2)
    }
}

/** CPU time (ms) of this process's threads by name (same-named threads summed), from /proc. */
private fun threadCpu(): Map<String, Long> {
    val tick = 10L // USER_HZ is 100 on Linux
    val out = HashMap<String, Long>()
    File("/proc/self/task").listFiles()?.forEach { task ->
        try {
            val name = File(task, "comm").readText().trim().replace(Regex("""-?\d+$"""), "")
            val stat = File(task, "stat").readText()
            val f = stat.substring(stat.lastIndexOf(')') + 2).split(' ')
            out.merge(name, (f[11].toLong() + f[12].toLong()) * tick, Long::plus)
        } catch (e: java.io.IOException) {
            // The thread ended meanwhile.
        }
    }
    return out
}

private fun loadAverage(): String = File("/proc/loadavg").readText().split(' ')[0]

private fun <T> withDir(block: (Path) -> T): T {
    val dir = Files.createTempDirectory("footfall-peers")
    try {
        return block(dir)
    } finally {
        // An SDK may still be deleting its own files after close: best effort.
        dir.toFile().deleteRecursively()
    }
}

/** Median and range over the runs, per SDK, of the figures the table reports. */
private fun summarize(lines: List<String>) {
    val pair = Regex(""""([a-z0-9_]+)":("[^"]*"|[-0-9.]+)""")
    val rows = lines.map { line -> pair.findAll(line).associate { it.groupValues[1] to it.groupValues[2].trim('"') } }
    val columns = listOf(
        "p50_ns" to "p50 ns", "p99_ns" to "p99 ns", "p999_ns" to "p99.9 ns", "calls_per_s" to "calls/s",
        "caller_bytes_per_call" to "B/call caller", "every_thread_bytes_per_call" to "B/call all SDK threads",
        "e2e_events_per_s" to "e2e events/s", "wire_bytes_per_event" to "wire B/event",
    )
    println("| SDK | runs | " + columns.joinToString(" | ") { it.second } + " |")
    println("|---|---|" + columns.joinToString("") { "---|" })
    for ((sdk, runs) in rows.groupBy { it.getValue("sdk") }) {
        val cells = columns.map { (key, _) ->
            val values = runs.mapNotNull { it[key]?.toDoubleOrNull() }.sorted()
            if (values.isEmpty()) "—" else {
                fun f(v: Double) = if (v >= 100) "%,d".format(v.toLong()) else "%.1f".format(v)
                "${f(values[values.size / 2])} (${f(values.first())}–${f(values.last())})"
            }
        }
        println("| $sdk | ${runs.size} | " + cells.joinToString(" | ") + " |")
    }
    for (r in rows.filter { it["e2e_delivered"] != it["e2e_events"] }) {
        println("\nrun ${r["run"]} ${r["sdk"]}: ${r["e2e_delivered"]} of ${r["e2e_events"]} delivered end to end")
    }
    // "Every SDK thread" counts until the caller phase's events were delivered; where they were not (the wait
    // gives up after 60 s), it covers only the work done until then.
    for (r in rows.filter { it["caller_run_delivered"] != it["calls"] }) {
        println("\nrun ${r["run"]} ${r["sdk"]}: ${r["caller_run_delivered"]} of ${r["calls"]} caller-phase events delivered; its every-thread bytes are partial")
    }
    println("\nload average (1 min) at each SDK's start: " + rows.joinToString(", ") { "${it["sdk"]} ${it["load1"]}" })
}
