package dev.footfall.android

import android.bluetooth.le.ScanResult
import java.util.concurrent.atomic.AtomicLong

/**
 * How [BeaconScanReceiver], which Android instantiates from the manifest, finds the [BeaconScanner] that started
 * the background scan: one registration for the process, set when the scanner starts listening and cleared when
 * it closes.
 *
 * A PendingIntent scan outlives the process that started it: Android may kill the app in the background and
 * start a new process just to deliver the next results. That process runs `Application.onCreate` first, so an app
 * that creates its [BeaconScanner] there (the documented place) is registered in time. If nothing registered
 * (the scanner is created later, or not at all in that process), the delivery is dropped and counted in
 * [droppedResults]: never a crash, never a queue (the results' ages would be meaningless by the time something
 * registers). The next foreground start clears the leftover background scan.
 */
object BeaconScanRegistry {
    /** What the receiver talks to: the registered scanner's background side. */
    internal interface Target {
        /** A background delivery's results (main thread). */
        fun onBackgroundResults(results: List<ScanResult>)

        /** A background delivery's `EXTRA_ERROR_CODE`: Android ended the scan. */
        fun onBackgroundError(errorCode: Int)
    }

    @Volatile
    private var target: Target? = null

    private val dropped = AtomicLong()

    /** Background scan results that reached this process while no scanner was registered, since the process started. */
    @JvmStatic
    val droppedResults: Long
        get() = dropped.get()

    internal fun current(): Target? = target

    @Synchronized
    internal fun register(target: Target) {
        this.target = target
    }

    /** Clears the registration if it is still [target]'s (a newer scanner may have replaced it). */
    @Synchronized
    internal fun unregister(target: Target) {
        if (this.target === target) this.target = null
    }

    internal fun drop(count: Int) {
        dropped.addAndGet(count.toLong())
    }

    /** Tests only: a fresh process. */
    internal fun resetForTesting() {
        target = null
        dropped.set(0)
    }
}
