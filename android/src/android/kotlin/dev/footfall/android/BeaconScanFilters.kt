package dev.footfall.android

import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanSettings
import android.os.ParcelUuid
import java.nio.ByteBuffer
import java.util.UUID

/**
 * The hardware scan filters and settings of [BeaconScanner].
 *
 * Filters are not an optimisation here: since Android 8.1 an unfiltered scan is stopped while the screen is off,
 * and a PendingIntent scan without filters delivers nothing useful. The controller matches them, so the app is
 * woken only for beacon frames:
 * - iBeacon: Apple's manufacturer data (company 0x004C) starting `02 15` (type, length), then the proximity UUID
 *   when the app gave one;
 * - AltBeacon: the configured company id's manufacturer data starting `BE AC`;
 * - Eddystone: service data for the 16-bit UUID 0xFEAA (any frame: UID, URL, TLM, EID).
 */
internal object BeaconScanFilters {
    const val APPLE = 0x004C

    /** The Eddystone service UUID (0xFEAA in the Bluetooth base UUID). */
    val EDDYSTONE: ParcelUuid = ParcelUuid.fromString("0000FEAA-0000-1000-8000-00805F9B34FB")

    private val IBEACON_PREFIX = byteArrayOf(0x02, 0x15)
    private val ALTBEACON_PREFIX = byteArrayOf(0xBE.toByte(), 0xAC.toByte())

    fun filters(options: BeaconScanOptions): List<ScanFilter> = listOf(
        iBeacon(options.iBeaconUuid),
        manufacturerPrefix(options.altBeaconManufacturerId, ALTBEACON_PREFIX),
        ScanFilter.Builder().setServiceData(EDDYSTONE, ByteArray(0)).build(),
    )

    /** The foreground scan: low latency, every advertisement reported at once (no batching). */
    fun foreground(): ScanSettings = ScanSettings.Builder()
        .setScanMode(ScanSettings.SCAN_MODE_LOW_LATENCY)
        .setCallbackType(ScanSettings.CALLBACK_TYPE_ALL_MATCHES)
        .setReportDelay(0)
        .build()

    /** The background scan: low power; Android batches and throttles its deliveries anyway. */
    fun background(): ScanSettings = ScanSettings.Builder()
        .setScanMode(ScanSettings.SCAN_MODE_LOW_POWER)
        .setCallbackType(ScanSettings.CALLBACK_TYPE_ALL_MATCHES)
        .setReportDelay(0)
        .build()

    private fun iBeacon(uuid: UUID?): ScanFilter {
        if (uuid == null) return manufacturerPrefix(APPLE, IBEACON_PREFIX)
        val data = ByteBuffer.allocate(18).put(IBEACON_PREFIX)
            .putLong(uuid.mostSignificantBits).putLong(uuid.leastSignificantBits).array()
        return ScanFilter.Builder().setManufacturerData(APPLE, data, ByteArray(data.size) { 0xFF.toByte() }).build()
    }

    private fun manufacturerPrefix(companyId: Int, prefix: ByteArray): ScanFilter =
        ScanFilter.Builder().setManufacturerData(companyId, prefix, ByteArray(prefix.size) { 0xFF.toByte() }).build()
}
