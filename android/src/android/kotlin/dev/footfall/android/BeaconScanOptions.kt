package dev.footfall.android

import java.util.UUID

/**
 * How [BeaconScanner] scans.
 *
 * @param iBeaconUuid the store's iBeacon proximity UUID: the hardware filter then passes only that UUID's beacons
 *   (fewer wake-ups, less to decode). Null passes every iBeacon.
 * @param altBeaconManufacturerId the company id AltBeacon frames carry in their manufacturer data: the beacon
 *   vendor's Bluetooth SIG id, 0x0118 (Radius Networks) by default.
 * @param scanPeriodMs how often the sink gets [BeaconSink.scanTick] while the foreground scan runs; an advertiser
 *   at the usual 100 ms–1 s interval is heard at least once per default period (1100 ms).
 * @param backgroundScanning keep a PendingIntent scan while the app is in the background (API 26+; needs
 *   ACCESS_BACKGROUND_LOCATION on API 29+, which the app declares itself: see [BeaconPermissions]).
 */
data class BeaconScanOptions(
    val iBeaconUuid: UUID? = null,
    val altBeaconManufacturerId: Int = RADIUS_NETWORKS,
    val scanPeriodMs: Long = DEFAULT_SCAN_PERIOD_MS,
    val backgroundScanning: Boolean = true,
) {
    init {
        require(scanPeriodMs > 0) { "scanPeriodMs must be positive" }
        require(altBeaconManufacturerId in 0..0xFFFF) { "altBeaconManufacturerId is a 16-bit company id" }
    }

    companion object {
        const val DEFAULT_SCAN_PERIOD_MS = 1100L

        /** Radius Networks' company id, the usual AltBeacon manufacturer id. */
        const val RADIUS_NETWORKS = 0x0118
    }
}
