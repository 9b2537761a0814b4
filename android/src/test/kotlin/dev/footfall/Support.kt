package dev.footfall

import java.nio.file.Path
import java.time.Duration
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout

/** A config for tests: uploads only on explicit flush, so every request is one the test asked for. */
fun testConfig(dir: Path, endpoint: String?, apiKey: String? = null, automatic: Boolean = false) = FootfallConfig(
    dataDir = dir.resolve("sdk").toString(),
    endpoint = endpoint,
    apiKey = apiKey,
    flushPolicy = FlushPolicy(automatic = automatic),
)

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
