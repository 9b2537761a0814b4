package dev.footfall

import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assumptions

/**
 * A config for tests: uploads only on explicit flush and the consent policy only on an explicit refresh, so every
 * request is one the test asked for. Consent is enforced (the default): tests grant what they track.
 */
fun testConfig(
    dir: Path,
    endpoint: String?,
    apiKey: String? = null,
    automatic: Boolean = false,
    consent: ConsentSettings = ConsentSettings(policyRefreshIntervalMs = 0),
) = FootfallConfig(
    dataDir = dir.resolve("sdk").toString(),
    endpoint = endpoint,
    apiKey = apiKey,
    flushPolicy = FlushPolicy(automatic = automatic),
    appVersion = TEST_APP_VERSION,
    consent = consent,
)

const val TEST_APP_VERSION = "9.9.9-test"

/** Grants `analytics`, the default purpose, for tests about the queue and uploads. */
suspend fun Footfall.grantAnalytics(): ConsentOutcome = grant(listOf(Footfall.DEFAULT_PURPOSE))

/**
 * Flushes until the queue is drained or [within] passes. Only for tests where another process is restarted:
 * the first request may meet a connection to the old one.
 */
suspend fun Footfall.flushUntilDrained(within: Duration = Duration.ofSeconds(20)): FlushReport = withTimeout(within.toMillis()) {
    var report = flush()
    while (report.outcome != FlushOutcome.Drained) {
        delay(50)
        report = flush()
    }
    report
}

/** The string (or number, as text) at [key]; null when absent or JSON null. */
fun JsonObject.text(key: String): String? = get(key)?.takeIf { it !is JsonNull }?.jsonPrimitive?.content

/** The object at [key]. */
fun JsonObject.obj(key: String): JsonObject = getValue(key).jsonObject

/** The array at [key]. */
fun JsonObject.array(key: String): JsonArray = getValue(key).jsonArray

/** The TC string of the vector [name] in tests/tcf-vectors/vectors.json (decoded by the IAB's own library). */
fun tcfVector(name: String): String {
    val path = Paths.get(System.getProperty("footfall.tcf.vectors") ?: error("system property footfall.tcf.vectors is not set"))
    val vectors: JsonElement = kotlinx.serialization.json.Json.parseToJsonElement(Files.readString(path))
    return vectors.jsonObject.array("vectors").map { it.jsonObject }.first { it.text("name") == name }.text("tc_string")!!
}

/**
 * Runs [sql] on the SQLite database at [db] with the `sqlite3` command (to play an attacker editing the SDK's
 * storage). The test is skipped, not failed, where the command is not installed.
 */
fun sqlite(db: Path, sql: String) {
    val found = System.getenv("PATH").orEmpty().split(java.io.File.pathSeparator).any { Files.isExecutable(Paths.get(it, "sqlite3")) }
    Assumptions.assumeTrue(found, "the sqlite3 command is not installed")
    val process = ProcessBuilder("sqlite3", db.toString(), sql).redirectErrorStream(true).start()
    val out = process.inputStream.bufferedReader().readText()
    check(process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0) { "sqlite3 failed: $out" }
}
