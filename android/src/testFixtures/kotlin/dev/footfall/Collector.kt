package dev.footfall

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long

/**
 * The reference collector (`footfall collector serve`) as a child process on 127.0.0.1, and its read-only
 * views (`stats`, `events`, `deletions`, `consent-records`, `redemptions`) to check what arrived; with
 * `--issuer-key` it is also the wallet's issuer ([addCoupon], [keyset]).
 */
class Collector private constructor(private val process: Process, val url: String, val db: Path) : AutoCloseable {
    val port: Int = url.substringAfterLast(':').trimEnd('/').toInt()

    /** `{"events":N,"duplicates":N,"batches":N}` from the collector's database. */
    fun stats(): Stats {
        val o = Json.parseToJsonElement(run("collector", "stats", "--db", db.toString()).trim()).jsonObject
        return Stats(o.getValue("events").jsonPrimitive.long, o.getValue("duplicates").jsonPrimitive.long, o.getValue("batches").jsonPrimitive.long)
    }

    /** Every stored event (id, name, properties, purpose, timestamp, …). */
    fun events(): List<JsonObject> = lines("collector", "events", "--db", db.toString())

    /** Every stored deletion request (request_id, anonymous_ids, user_id, …). */
    fun deletions(): List<JsonObject> = lines("collector", "deletions", "--db", db.toString())

    /** Every stored consent record (record_id, subject_id, hash, the sealed record, …). */
    fun consentRecords(): List<JsonObject> = lines("collector", "consent-records", "--db", db.toString())

    /** Every redemption the wallet issuer decided (redemption_id, coupon_id, serial, device, counter, status, …);
     *  needs `serve --issuer-key`. */
    fun redemptions(): List<JsonObject> = lines("collector", "redemptions", "--db", db.toString())

    /** The wallet issuer's public key set, as an app pins it and a till loads it. */
    fun keyset(): String = run("collector", "keyset", "--db", db.toString()).trim()

    /** Issues a coupon to every holder: `footfall collector coupon add` with [id], [title], [discount] (`10%`, or
     *  `300 JPY`) and the store-local [lastDay] in [zone]; extra flags as given. */
    fun addCoupon(id: String, title: String, discount: String, lastDay: java.time.LocalDate, zone: String, vararg flags: String) {
        run(
            "collector", "coupon", "add", "--db", db.toString(), "--id", id, "--title", title, "--discount", discount,
            "--valid-until-local", lastDay.toString(), "--zone", zone, *flags,
        )
    }

    private fun lines(vararg args: String): List<JsonObject> =
        run(*args).lineSequence().filter { it.isNotBlank() }.map { Json.parseToJsonElement(it).jsonObject }.toList()

    /** Stops the process and waits for it, so the port and the database are free afterwards. */
    override fun close() {
        if (!process.isAlive) return
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
        }
    }

    data class Stats(val events: Long, val duplicates: Long, val batches: Long)

    companion object {
        val bin: Path = Paths.get(
            System.getProperty("footfall.bin") ?: error("system property footfall.bin is not set (run scripts/test-kotlin.sh)"),
        ).also { require(Files.isExecutable(it)) { "$it is not an executable: build footfall-cli first" } }

        private val LISTENING = Regex("""footfall collector listening on (http://127\.0\.0\.1:\d+)""")

        /** Starts a collector on [listen] (a fresh port by default) storing into [db]; extra flags as given. */
        fun start(db: Path, vararg flags: String, listen: String = "127.0.0.1:0"): Collector {
            val command = listOf(bin.toString(), "collector", "serve", "--listen", listen, "--db", db.toString()) + flags
            val process = ProcessBuilder(command).redirectErrorStream(true).start()
            val lines = LinkedBlockingQueue<String>()
            // Keeps draining the output so the child never blocks on a full pipe.
            Thread({
                try {
                    process.inputStream.bufferedReader().useLines { seq -> seq.forEach { lines.put(it) } }
                } catch (e: java.io.IOException) {
                    // The stream is closed when the collector is stopped: nothing more to read.
                }
                lines.put(EOF)
            }, "collector-output").apply { isDaemon = true }.start()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
            val seen = StringBuilder()
            while (true) {
                val left = deadline - System.nanoTime()
                val line = if (left > 0) lines.poll(left, TimeUnit.NANOSECONDS) else null
                if (line == null || line == EOF) {
                    process.destroyForcibly()
                    error("collector did not start (${command.joinToString(" ")}):\n$seen")
                }
                seen.appendLine(line)
                LISTENING.find(line)?.let { return Collector(process, it.groupValues[1], db) }
            }
        }

        private const val EOF = "\u0000eof"

        fun run(vararg args: String): String {
            val process = ProcessBuilder(listOf(bin.toString()) + args).redirectErrorStream(true).start()
            val out = process.inputStream.bufferedReader().readText()
            check(process.waitFor(30, TimeUnit.SECONDS)) { "footfall ${args.joinToString(" ")} hung" }
            check(process.exitValue() == 0) { "footfall ${args.joinToString(" ")} failed: $out" }
            return out
        }
    }
}
