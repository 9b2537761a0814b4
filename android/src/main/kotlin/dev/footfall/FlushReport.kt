package dev.footfall

import java.time.Instant
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import dev.footfall.ffi.FlushOutcome as FfiOutcome
import dev.footfall.ffi.FlushReport as FfiReport

/** What a [Footfall.flush] achieved. */
data class FlushReport(
    val delivered: Long,
    val deadLettered: Long,
    /** Events the server said it already had. */
    val duplicates: Long,
    /** Events still queued after the pass. */
    val remaining: Long,
    val outcome: FlushOutcome,
)

/** How a flush ended. */
sealed class FlushOutcome {
    /** Nothing is left to send. */
    data object Drained : FlushOutcome()

    /** A transient failure; data is kept and the next attempt is due after [retryAfter]. */
    data class RetryLater(val retryAfter: Duration, val reason: String) : FlushOutcome()

    /** Uploads are paused (credentials, endpoint or the server's TLS certificate refused); data is kept. */
    data class Paused(val reason: String) : FlushOutcome()

    /**
     * The server asked (Retry-After) that nothing be sent before [until]: not even [Footfall.flush] sends until
     * then, in this process or after a relaunch. Data is kept.
     */
    data class Held(val retryAfter: Duration, val until: Instant, val reason: String) : FlushOutcome()
}

internal fun FfiReport.toFlushReport() = FlushReport(
    delivered = delivered,
    deadLettered = deadLettered,
    duplicates = duplicates,
    remaining = remaining,
    outcome = when (val o = outcome) {
        is FfiOutcome.Drained -> FlushOutcome.Drained
        is FfiOutcome.RetryLater -> FlushOutcome.RetryLater(o.afterMs.milliseconds, o.reason)
        is FfiOutcome.Paused -> FlushOutcome.Paused(o.reason)
        is FfiOutcome.Held -> FlushOutcome.Held(o.afterMs.milliseconds, Instant.ofEpochMilli(o.untilMs), o.reason)
    },
)
