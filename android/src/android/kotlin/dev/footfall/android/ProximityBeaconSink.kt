package dev.footfall.android

import dev.footfall.Footfall
import dev.footfall.FootfallException

/**
 * Feeds what [BeaconScanner] hears into the SDK's store proximity ([Footfall.proximity]): the core parses the
 * frames, smooths, decides visits and offers; this class only forwards.
 *
 * ```kotlin
 * val scanner = BeaconScanner(context, ProximityBeaconSink(footfall), BeaconScanOptions(iBeaconUuid = storeUuid))
 * scanner.install()                       // follows the app between foreground and background
 * scope.launch { footfall.proximity.offers.collect { offer -> showOffer(offer) } }
 * ```
 *
 * It never throws at the scanner: a frame the core refuses (a device that matched a hardware filter but is not a
 * beacon: counted in `proximity.status().refused`), or a call after [Footfall.close], is dropped. The calls are
 * cheap (an in-memory lock in the core, no disk), so running them on the main thread, where Android delivers scan
 * results, is fine.
 */
class ProximityBeaconSink(private val footfall: Footfall) : BeaconSink {
    override fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long) {
        forward { footfall.proximity.advertisement(bytes, rssi, ageMs) }
    }

    override fun scanTick() {
        forward { footfall.proximity.scanTick() }
    }

    override fun scanning(active: Boolean) {
        forward { footfall.proximity.scanning(active) }
    }

    private inline fun forward(call: () -> Unit) {
        try {
            call()
        } catch (e: FootfallException) {
            // Refused input or a closed instance: nothing to do at the scanner (never a crash in the host app).
        }
    }
}
