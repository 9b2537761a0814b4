package dev.footfall.android

import android.Manifest
import android.app.PendingIntent
import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanSettings
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Before
import org.junit.Test
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements

/**
 * A Bluetooth stack that refuses: startScan throws (SecurityException when a permission was revoked between the
 * check and the call, IllegalStateException when the adapter went off) or returns an error code. The scanner turns
 * each into a state and `scanning(false)`; the test itself failing with the exception is what a crash would be.
 */
@Config(shadows = [RefusingLeScanner::class])
class BeaconScannerRefusalTest : AndroidLayerTest() {
    private val sink = RecordingSink()

    @Before
    fun bluetoothOnWithPermissions() {
        shadowOf(app.bluetoothAdapter()).setEnabled(true)
        shadowOf(app).grantPermissions(
            Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_BACKGROUND_LOCATION,
        )
    }

    @After
    fun reset() {
        RefusingLeScanner.refusal = null
        RefusingLeScanner.code = 0
        BeaconScanRegistry.resetForTesting()
    }

    private fun refusedWith(refusal: RuntimeException?, code: Int = 0): BeaconScanner {
        RefusingLeScanner.refusal = refusal
        RefusingLeScanner.code = code
        return BeaconScanner(app, sink)
    }

    @Test
    fun `a SecurityException from startScan is NoPermission, not a crash`() {
        val scanner = refusedWith(SecurityException("Need android.permission.BLUETOOTH_SCAN"))
        scanner.onForeground()
        // The check passed (nothing is missing as far as the app can tell), the stack still refused.
        assertEquals(ScannerState.NoPermission(emptyList()), scanner.state.value)
        scanner.onBackground()
        assertEquals(ScannerState.NoPermission(emptyList()), scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)
        scanner.close()
    }

    @Test
    fun `an IllegalStateException from startScan (adapter off meanwhile) is BluetoothOff`() {
        val scanner = refusedWith(IllegalStateException("BT Adapter is not turned ON"))
        scanner.onForeground()
        assertEquals(ScannerState.BluetoothOff, scanner.state.value)
        scanner.onBackground()
        assertEquals(ScannerState.BluetoothOff, scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)
        scanner.close()
    }

    @Test
    fun `any other exception is an internal failure, and an error code from the PendingIntent scan is Failed`() {
        val scanner = refusedWith(NullPointerException("binder gone"))
        scanner.onForeground()
        assertEquals(ScannerState.Failed(ScanCallback.SCAN_FAILED_INTERNAL_ERROR), scanner.state.value)

        RefusingLeScanner.refusal = null
        RefusingLeScanner.code = ScanCallback.SCAN_FAILED_OUT_OF_HARDWARE_RESOURCES
        scanner.onBackground()
        assertEquals(ScannerState.Failed(ScanCallback.SCAN_FAILED_OUT_OF_HARDWARE_RESOURCES), scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)
        scanner.close()
    }
}

/** Replaces Robolectric's ShadowBluetoothLeScanner for [BeaconScannerRefusalTest]. */
@Implements(BluetoothLeScanner::class)
class RefusingLeScanner {
    companion object {
        @JvmStatic var refusal: RuntimeException? = null
        @JvmStatic var code: Int = 0
    }

    @Implementation
    fun startScan(filters: List<ScanFilter>?, settings: ScanSettings?, callback: ScanCallback?) {
        refusal?.let { throw it }
    }

    @Implementation
    fun startScan(filters: List<ScanFilter>?, settings: ScanSettings?, callbackIntent: PendingIntent?): Int {
        refusal?.let { throw it }
        return code
    }

    @Implementation
    fun stopScan(callback: ScanCallback?) {
        refusal?.let { throw it }
    }

    @Implementation
    fun stopScan(callbackIntent: PendingIntent?) {
        refusal?.let { throw it }
    }
}
