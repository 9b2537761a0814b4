package dev.footfall.android

import android.bluetooth.le.ScanResult
import android.os.SystemClock

/**
 * How old [result] is, in milliseconds, measured as Android stamps results: on the elapsed-realtime clock (which
 * counts deep sleep), so a background batch delivered late carries its real age. Never negative (a result stamped
 * after [nowNanos], as a controller clock may, is fresh).
 */
internal fun ageMs(result: ScanResult, nowNanos: Long = SystemClock.elapsedRealtimeNanos()): Long =
    ((nowNanos - result.timestampNanos) / 1_000_000L).coerceAtLeast(0L)

/**
 * Hands [result]'s raw advertisement to the sink. A result without a scan record (which Android does not produce
 * for filtered scans, but the type allows) carries nothing to decode: skipped, false.
 */
internal fun BeaconSink.deliver(result: ScanResult, nowNanos: Long = SystemClock.elapsedRealtimeNanos()): Boolean {
    val bytes = result.scanRecord?.bytes ?: return false
    advertisement(bytes, result.rssi, ageMs(result, nowNanos))
    return true
}
