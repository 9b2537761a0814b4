package dev.footfall.android

import android.Manifest
import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanCallback
import android.content.Intent
import javax.xml.parsers.DocumentBuilderFactory
import java.io.File
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.robolectric.Shadows.shadowOf
import org.w3c.dom.Element

/**
 * [BeaconScanReceiver] as Android runs it: instantiated from the manifest, in a process that may have been started
 * just for this delivery, finding its scanner through [BeaconScanRegistry].
 */
class BeaconScanReceiverTest : AndroidLayerTest() {
    private val sink = RecordingSink()

    @Before
    fun freshProcess() {
        BeaconScanRegistry.resetForTesting()
    }

    @After
    fun forget() {
        BeaconScanRegistry.resetForTesting()
    }

    private fun delivery(vararg results: android.bluetooth.le.ScanResult): Intent =
        Intent(app, BeaconScanReceiver::class.java).setAction(BeaconScanReceiver.ACTION)
            .putParcelableArrayListExtra(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT, arrayListOf(*results))

    /** A scanner in the background, registered, as after `onBackground()` in a live process. */
    private fun backgroundScanner(): BeaconScanner {
        shadowOf(app.bluetoothAdapter()).setEnabled(true)
        shadowOf(app).grantPermissions(
            Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_BACKGROUND_LOCATION,
        )
        return BeaconScanner(app, sink).also { it.onBackground() }
    }

    @Test
    fun `a delivery reaches the registered scanner's sink`() {
        val scanner = backgroundScanner()
        assertEquals(ScannerState.BackgroundScanning, scanner.state.value)
        sink.clear()
        val altBeacon = Adverts.altBeacon()

        BeaconScanReceiver().onReceive(app, delivery(scanResult(altBeacon, -70, ageMs = 2_000)))

        assertEquals(listOf(SinkCall.Advertisement(altBeacon.hex(), -70, 2_000)), sink.calls)
        assertEquals(0L, BeaconScanRegistry.droppedResults)
        scanner.close()
    }

    @Test
    fun `with nothing registered (a process started by the delivery) results are dropped and counted`() {
        BeaconScanReceiver().onReceive(app, delivery(scanResult(Adverts.iBeacon(), -70, 10), scanResult(Adverts.eddystoneUid(), -75, 10)))
        BeaconScanReceiver().onReceive(app, delivery(scanResult(Adverts.iBeacon(), -71, 10)))
        BeaconScanReceiver().onReceive(app, Intent(BeaconScanReceiver.ACTION).putExtra(BluetoothLeScanner.EXTRA_ERROR_CODE, 2))

        assertEquals(3L, BeaconScanRegistry.droppedResults)
        assertTrue(sink.calls.isEmpty())
    }

    @Test
    fun `an error code ends the background scan as a Failed state`() {
        val scanner = backgroundScanner()
        BeaconScanReceiver().onReceive(
            app,
            Intent(BeaconScanReceiver.ACTION).putExtra(BluetoothLeScanner.EXTRA_ERROR_CODE, ScanCallback.SCAN_FAILED_INTERNAL_ERROR),
        )
        assertEquals(ScannerState.Failed(ScanCallback.SCAN_FAILED_INTERNAL_ERROR), scanner.state.value)
        assertEquals(false, sink.lastScanning)
        scanner.close()
    }

    @Test
    fun `other intents, empty deliveries and a throwing sink do not crash the app`() {
        val throwing = object : BeaconSink {
            override fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long) = throw IllegalStateException("sink bug")
            override fun scanTick() = Unit
            override fun scanning(active: Boolean) = Unit
        }
        shadowOf(app.bluetoothAdapter()).setEnabled(true)
        shadowOf(app).grantPermissions(
            Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_BACKGROUND_LOCATION,
        )
        val scanner = BeaconScanner(app, throwing).also { it.onBackground() }

        BeaconScanReceiver().onReceive(app, Intent("some.other.ACTION"))
        BeaconScanReceiver().onReceive(app, Intent(BeaconScanReceiver.ACTION))
        BeaconScanReceiver().onReceive(app, delivery(scanResult(Adverts.iBeacon(), -70, 10)))

        assertEquals(ScannerState.BackgroundScanning, scanner.state.value)
        scanner.close()
    }

    @Test
    fun `the library manifest declares the receiver unexported and the scan permissions, never neverForLocation`() {
        val file = listOf(File("AndroidManifest.xml"), File("src/android/AndroidManifest.xml")).first { it.isFile }
        val doc = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }.newDocumentBuilder().parse(file)
        val android = "http://schemas.android.com/apk/res/android"
        fun elements(tag: String) = doc.getElementsByTagName(tag).let { list -> (0 until list.length).map { list.item(it) as Element } }

        val receiver = elements("receiver").single { it.getAttributeNS(android, "name") == BeaconScanReceiver::class.java.name }
        assertEquals("false", receiver.getAttributeNS(android, "exported"))
        val permissions = elements("uses-permission").associate {
            it.getAttributeNS(android, "name") to it.getAttributeNS(android, "maxSdkVersion")
        }
        assertEquals("", permissions[Manifest.permission.BLUETOOTH_SCAN])
        assertEquals("", permissions[Manifest.permission.ACCESS_FINE_LOCATION])
        assertEquals("30", permissions[Manifest.permission.BLUETOOTH])
        assertEquals("30", permissions[Manifest.permission.BLUETOOTH_ADMIN])
        // neverForLocation would make Android strip beacon advertisements from the results.
        elements("uses-permission").forEach {
            assertFalse(it.getAttributeNS(android, "usesPermissionFlags").contains("neverForLocation"))
        }
    }
}
