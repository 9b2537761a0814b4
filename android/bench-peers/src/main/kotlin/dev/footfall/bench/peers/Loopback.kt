package dev.footfall.bench.peers

import com.sun.net.httpserver.HttpServer
import java.io.InputStream
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Path
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executors
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.util.zip.GZIPInputStream

/** Threads the harness itself runs (sinks, relays): left out of "every thread" allocation figures. */
const val HARNESS_THREAD = "harness-"

private fun harnessThreads(kind: String) = AtomicInteger().let { n ->
    java.util.concurrent.ThreadFactory { r -> Thread(r, "$HARNESS_THREAD$kind-${n.incrementAndGet()}").apply { isDaemon = true } }
}

/**
 * A loopback HTTP server that accepts any peer's batches: every POST is read whole, gunzipped when the peer says
 * it compressed, and the events in it counted by their name (each event names `product_viewed` once in every
 * peer's format). Answers 200 `{}`; Segment's settings request gets settings naming its destination (without an
 * apiHost, so the configured one stays in force).
 */
class Sink(private val eventName: String) : AutoCloseable {
    val events = AtomicLong()
    val bodyBytes = AtomicLong()
    val requests = ConcurrentHashMap<String, AtomicLong>()
    private val needle = "\"$eventName\"".toByteArray()
    private val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64)
    val port: Int get() = server.address.port
    val url: String get() = "http://127.0.0.1:$port"

    init {
        server.executor = Executors.newFixedThreadPool(4, harnessThreads("sink"))
        server.createContext("/") { exchange ->
            exchange.use {
                val raw = exchange.requestBody.readAllBytes()
                val path = exchange.requestURI.path
                requests.computeIfAbsent("${exchange.requestMethod} ${path.replace(Regex("/projects/[^/]+/"), "/projects/*/")}") { AtomicLong() }
                    .incrementAndGet()
                if (exchange.requestMethod == "GET" && !path.endsWith("/settings")) {
                    // Nothing else to fetch here (Footfall's /v1/config: "no configuration").
                    exchange.sendResponseHeaders(404, -1)
                    return@use
                }
                val answer = if (exchange.requestMethod == "GET") {
                    """{"integrations":{"Segment.io":{"apiKey":"bench"}},"plan":{},"edgeFunction":{}}"""
                } else {
                    bodyBytes.addAndGet(raw.size.toLong())
                    val gzip = exchange.requestHeaders["Content-Encoding"].orEmpty().any { it.contains("gzip") }
                    val body = if (gzip) GZIPInputStream(raw.inputStream()).use(InputStream::readAllBytes) else raw
                    events.addAndGet(count(body).toLong())
                    // -Dsink.dump=DIR keeps each SDK's first batch, to check what is counted.
                    System.getProperty("sink.dump")?.let { dump ->
                        val f = java.io.File(dump, path.trim('/').replace('/', '_') + ".json")
                        if (!f.exists()) f.writeBytes(body)
                    }
                    "{}"
                }
                val bytes = answer.toByteArray()
                exchange.responseHeaders.add("Content-Type", "application/json")
                exchange.sendResponseHeaders(200, bytes.size.toLong())
                exchange.responseBody.write(bytes)
            }
        }
        server.start()
    }

    private fun count(body: ByteArray): Int {
        var n = 0
        var i = 0
        outer@ while (i <= body.size - needle.size) {
            for (j in needle.indices) if (body[i + j] != needle[j]) { i++; continue@outer }
            n++
            i += needle.size
        }
        return n
    }

    override fun close() {
        server.stop(0)
        (server.executor as java.util.concurrent.ExecutorService).shutdownNow()
    }
}

/**
 * A TCP relay in front of a server that counts the bytes each side sends: what "bytes on the wire" means here,
 * identical for every SDK (request lines, headers and bodies as the client wrote them, compressed or not).
 */
class Relay(private val targetPort: Int) : AutoCloseable {
    val upBytes = AtomicLong()
    val downBytes = AtomicLong()
    private val server = ServerSocket(0, 64, InetAddress.getLoopbackAddress())
    val port: Int get() = server.localPort
    val url: String get() = "http://127.0.0.1:$port"
    private val threads = harnessThreads("relay")

    init {
        threads.newThread {
            while (!server.isClosed) {
                val client = try { server.accept() } catch (e: java.io.IOException) { break }
                val upstream = Socket(InetAddress.getLoopbackAddress(), targetPort)
                client.tcpNoDelay = true
                upstream.tcpNoDelay = true
                pump(client, upstream, upBytes)
                pump(upstream, client, downBytes)
            }
        }.start()
    }

    private fun pump(from: Socket, to: Socket, counter: AtomicLong) {
        threads.newThread {
            val buffer = ByteArray(64 * 1024)
            try {
                val input = from.getInputStream()
                val output = to.getOutputStream()
                while (true) {
                    val n = input.read(buffer)
                    if (n < 0) break
                    counter.addAndGet(n.toLong())
                    output.write(buffer, 0, n)
                }
            } catch (e: java.io.IOException) {
                // The other side closed: nothing more to relay.
            } finally {
                try { to.shutdownOutput() } catch (e: java.io.IOException) { }
            }
        }.start()
    }

    override fun close() = server.close()
}

/** The reference collector (`footfall collector serve`) as a child process on 127.0.0.1. */
class Collector(private val bin: Path, val db: Path) : AutoCloseable {
    private val process: Process
    val url: String

    init {
        process = ProcessBuilder(bin.toString(), "collector", "serve", "--listen", "127.0.0.1:0", "--db", db.toString())
            .redirectErrorStream(true).start()
        val lines = LinkedBlockingQueue<String>()
        // Keeps draining the output so the child never blocks on a full pipe.
        harnessThreads("collector-output").newThread {
            try {
                process.inputStream.bufferedReader().forEachLine { lines.put(it) }
            } catch (e: java.io.IOException) {
            }
        }.start()
        val listening = Regex("""footfall collector listening on (http://127\.0\.0\.1:\d+)""")
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
        var found: String? = null
        while (found == null) {
            val line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                ?: run { process.destroyForcibly(); error("the collector did not start") }
            found = listening.find(line)?.groupValues?.get(1)
        }
        url = found
    }

    val port: Int get() = url.substringAfterLast(':').toInt()

    fun cpuMs(): Long = process.toHandle().info().totalCpuDuration().map { it.toMillis() }.orElse(-1L)

    /** Events the collector has stored (`footfall collector stats`). */
    fun storedEvents(): Long {
        val p = ProcessBuilder(bin.toString(), "collector", "stats", "--db", db.toString()).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "collector stats failed: $out" }
        return Regex(""""events":(\d+)""").find(out)?.groupValues?.get(1)?.toLong() ?: error("no events in $out")
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
    }
}
