package dev.footfall.android

/**
 * Where the scanner delivers what it hears; the SDK's proximity API implements it.
 *
 * [BeaconScanner] and [BeaconScanReceiver] call it on the main thread (where Android delivers scan callbacks and
 * broadcasts), so an implementation must return quickly: hand the bytes over, decode elsewhere. The scanner does
 * not decode advertisements: the core reads iBeacon, AltBeacon and Eddystone frames from the raw bytes itself, so
 * Android and iOS reach the same sighting through the same code.
 */
interface BeaconSink {
    /** One advertisement's raw bytes (ScanRecord.getBytes()), its RSSI, heard ageMs ago (elapsedRealtime based). */
    fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long)

    /** A scan cycle ended with scanning on: what was not heard in it was absent. */
    fun scanTick()

    /** Scanning stopped (background, Bluetooth off, permission missing) or started again. */
    fun scanning(active: Boolean)
}
