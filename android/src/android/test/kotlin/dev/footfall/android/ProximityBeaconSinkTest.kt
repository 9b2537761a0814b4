package dev.footfall.android

import android.Manifest
import android.bluetooth.le.ScanSettings
import android.os.Looper
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.VisitPhase
import java.time.Duration
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowBluetoothLeScanner

/**
 * The Android path end to end: scan results delivered through Robolectric's Bluetooth shadows reach the real
 * native core through [ProximityBeaconSink], which parses the frames, and two near readings with a scan tick
 * after each open a visit there. A non-beacon result and a closed instance never throw at the scanner.
 */
class ProximityBeaconSinkTest : AndroidLayerTest() {
    private val scanners = mutableListOf<BeaconScanner>()

    @After
    fun closeScanners() {
        scanners.forEach { it.close() }
        idleMainLooper()
        BeaconScanRegistry.resetForTesting()
    }

    private fun open(): Footfall {
        val zone = """{"id": "entrance", "store": "s1", "enterRssi": -75,
            "beacons": ["${Adverts.STORE_UUID}:1:7"]}"""
        val config = manual(FootfallConfig(dataDir = tmp.newFolder("sdk").path, endpoint = null))
            .copy(proximity = """{"proximity": {"version": 1, "zones": [$zone]}}""")
        return Footfall(config).also { footfall ->
            footfall.flushToDisk()
            runBlocking { footfall.grant(listOf("location")) }
        }
    }

    private fun scanner(footfall: Footfall): BeaconScanner {
        shadowOf(app.bluetoothAdapter()).setEnabled(true)
        shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION)
        return BeaconScanner(app, ProximityBeaconSink(footfall)).also { scanners += it }
    }

    private fun leShadow(): ShadowBluetoothLeScanner = Shadow.extract(app.bluetoothAdapter().bluetoothLeScanner)

    @Test
    fun `scan results through the shadows open a visit in the core`() {
        open().use { footfall ->
            scanner(footfall).onForeground()
            val callback = leShadow().scanCallbacks.single()
            callback.onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(Adverts.other(), -50, 0))
            repeat(2) {
                callback.onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(Adverts.iBeacon(), -62, 0))
                shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(1_100))
            }
            footfall.flushToDisk()
            val visits = runBlocking { footfall.proximity.visits(10) }
            assertEquals(1, visits.size)
            assertEquals("entrance", visits.single().zone)
            assertEquals(VisitPhase.ENTERED, visits.single().phase)
            val status = runBlocking { footfall.proximity.status() }
            assertEquals("the Microsoft advertisement is refused by the core, not thrown", 1L, status.refused)
            assertTrue(status.processed >= 4L)
        }
    }

    @Test
    fun `a closed instance never throws at the scanner`() {
        val footfall = open()
        val sink = ProximityBeaconSink(footfall)
        footfall.close()
        sink.advertisement(Adverts.iBeacon(), -60, 0)
        sink.scanTick()
        sink.scanning(false)
    }
}
