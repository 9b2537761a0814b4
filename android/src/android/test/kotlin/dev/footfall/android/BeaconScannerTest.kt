package dev.footfall.android

import android.Manifest
import android.bluetooth.BluetoothAdapter
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanSettings
import android.content.Intent
import android.location.LocationManager
import android.os.Looper
import androidx.lifecycle.ProcessLifecycleOwner
import java.time.Duration
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowBluetoothAdapter
import org.robolectric.shadows.ShadowBluetoothLeScanner

/**
 * [BeaconScanner] against Robolectric's Bluetooth: the real framework classes (ScanFilter, ScanSettings,
 * ScanRecord, PendingIntent, broadcasts) with shadows for the adapter and the LE scanner, which record the scans
 * started and let the test deliver results through the very ScanCallback the scanner registered. Time is the
 * main looper's: ticks happen when the test advances it, never by sleeping.
 */
class BeaconScannerTest : AndroidLayerTest() {
    private val sink = RecordingSink()
    private val scanners = mutableListOf<BeaconScanner>()

    private val adapter: BluetoothAdapter get() = app.bluetoothAdapter()

    @Before
    fun bluetoothOnWithPermissions() {
        shadowOf(adapter).setEnabled(true)
        shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION)
    }

    @After
    fun closeScanners() {
        scanners.forEach { it.close() }
        idleMainLooper()
        BeaconScanRegistry.resetForTesting()
    }

    private fun scanner(options: BeaconScanOptions = BeaconScanOptions()) =
        BeaconScanner(app, sink, options).also { scanners += it }

    private fun leShadow(): ShadowBluetoothLeScanner = Shadow.extract(adapter.bluetoothLeScanner)

    private fun callbackScans() = leShadow().activeScans.filter { it.scanCallback() != null }
    private fun pendingIntentScans() = leShadow().activeScans.filter { it.pendingIntent() != null }

    /** The ScanCallback the scanner registered with the stack (exactly one). */
    private fun registeredCallback(): ScanCallback = leShadow().scanCallbacks.single()

    private fun advance(ms: Long) = shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(ms))

    private fun matchesAny(filters: List<ScanFilter>, bytes: ByteArray) =
        filters.any { it.matches(scanResult(bytes, -60, 0)) }

    @Test
    fun `the foreground scan is low latency and filtered to iBeacon, AltBeacon and Eddystone`() {
        scanner().onForeground()

        val scan = callbackScans().single()
        assertEquals(ScannerState.Scanning, scanners.single().state.value)
        assertEquals(ScanSettings.SCAN_MODE_LOW_LATENCY, scan.scanSettings()!!.scanMode)
        assertEquals(0L, scan.scanSettings()!!.reportDelayMillis)
        val filters = scan.scanFilters()
        assertEquals(3, filters.size)
        val iBeacon = filters.single { it.manufacturerId == 0x004C }
        assertEquals("0215", iBeacon.manufacturerData!!.hex())
        assertEquals("ffff", iBeacon.manufacturerDataMask!!.hex())
        val altBeacon = filters.single { it.manufacturerId == 0x0118 }
        assertEquals("beac", altBeacon.manufacturerData!!.hex())
        assertEquals("ffff", altBeacon.manufacturerDataMask!!.hex())
        val eddystone = filters.single { it.serviceDataUuid != null }
        assertEquals("0000feaa-0000-1000-8000-00805f9b34fb", eddystone.serviceDataUuid.toString())
        // The framework's own matching: each beacon kind passes, another device's advertisement does not.
        assertTrue(matchesAny(filters, Adverts.iBeacon()))
        assertTrue(matchesAny(filters, Adverts.altBeacon()))
        assertTrue(matchesAny(filters, Adverts.eddystoneUid()))
        assertFalse(matchesAny(filters, Adverts.other()))
        assertFalse(matchesAny(filters, Adverts.altBeacon(companyId = 0x0059)))
    }

    @Test
    fun `a proximity UUID and an AltBeacon company id narrow the filters`() {
        scanner(BeaconScanOptions(iBeaconUuid = Adverts.STORE_UUID, altBeaconManufacturerId = 0x0059)).onForeground()

        val filters = callbackScans().single().scanFilters()
        assertEquals("0215" + Adverts.STORE_UUID.toString().replace("-", ""), filters.single { it.manufacturerId == 0x004C }.manufacturerData!!.hex())
        assertTrue(matchesAny(filters, Adverts.iBeacon()))
        assertFalse(matchesAny(filters, Adverts.iBeacon(uuid = java.util.UUID.randomUUID())))
        assertTrue(matchesAny(filters, Adverts.altBeacon(companyId = 0x0059)))
        assertFalse(matchesAny(filters, Adverts.altBeacon()))
    }

    @Test
    fun `results from the registered callback reach the sink with their bytes, RSSI and age`() {
        scanner().onForeground()
        val callback = registeredCallback()
        val iBeacon = Adverts.iBeacon()
        val eddystone = Adverts.eddystoneUid()
        val altBeacon = Adverts.altBeacon()

        callback.onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(iBeacon, -67, ageMs = 250))
        callback.onBatchScanResults(mutableListOf(scanResult(eddystone, -80, ageMs = 1_500), scanResult(altBeacon, -71, ageMs = 0)))
        // A controller timestamp slightly ahead of the clock: age 0, never negative.
        callback.onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(iBeacon, -90, ageMs = -3))

        assertEquals(
            listOf(
                SinkCall.Scanning(true),
                SinkCall.Advertisement(iBeacon.hex(), -67, 250),
                SinkCall.Advertisement(eddystone.hex(), -80, 1_500),
                SinkCall.Advertisement(altBeacon.hex(), -71, 0),
                SinkCall.Advertisement(iBeacon.hex(), -90, 0),
            ),
            sink.calls,
        )
    }

    @Test
    fun `a result the stack already holds is delivered through the filters at start`() {
        // ShadowBluetoothLeScanner hands held results to a new scan whose filters match them (ScanFilter.matches).
        leShadow().addScanResult(scanResult(Adverts.iBeacon(), -55, ageMs = 40))
        leShadow().addScanResult(scanResult(Adverts.other(), -40, ageMs = 40))
        scanner().onForeground()

        assertEquals(listOf(SinkCall.Scanning(true), SinkCall.Advertisement(Adverts.iBeacon().hex(), -55, 40)), sink.calls)
    }

    @Test
    fun `ticks come once per scan period as the looper advances, and stop in the background`() {
        val scanner = scanner()
        scanner.onForeground()
        advance(1_099)
        assertEquals("nothing before the first period ends", emptyList<SinkCall>(), sink.calls)
        advance(1)
        assertEquals(listOf(SinkCall.Scanning(true), SinkCall.Tick), sink.calls)
        advance(3 * 1_100)
        assertEquals(4, sink.ticks)

        scanner.onBackground()
        assertEquals(false, sink.lastScanning)
        assertTrue("the callback scan is stopped", callbackScans().isEmpty())
        advance(60_000)
        assertEquals("no tick in the background", 4, sink.ticks)

        sink.clear()
        scanner.onForeground()
        assertEquals(1, callbackScans().size)
        advance(1_100)
        assertEquals(listOf(SinkCall.Scanning(true), SinkCall.Tick), sink.calls)
    }

    @Test
    fun `the scan period is configurable`() {
        scanner(BeaconScanOptions(scanPeriodMs = 500)).onForeground()
        advance(2_000)
        assertEquals(4, sink.ticks)
    }

    @Test
    fun `the background scan is a PendingIntent scan whose deliveries reach the sink without ticks`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        // Robolectric reads no manifest in this build: register the receiver the library's manifest declares.
        app.registerReceiver(BeaconScanReceiver(), android.content.IntentFilter(BeaconScanReceiver.ACTION), android.content.Context.RECEIVER_NOT_EXPORTED)
        val scanner = scanner()
        scanner.onForeground()
        advance(1_100)
        scanner.onBackground()

        assertEquals(ScannerState.BackgroundScanning, scanner.state.value)
        assertTrue(callbackScans().isEmpty())
        val scan = pendingIntentScans().single()
        assertEquals(3, scan.scanFilters().size)
        assertTrue(matchesAny(scan.scanFilters(), Adverts.iBeacon()))
        assertEquals(ScanSettings.SCAN_MODE_LOW_POWER, scan.scanSettings()!!.scanMode)
        val pendingIntent = scan.pendingIntent()!!
        assertEquals(BeaconScanReceiver::class.java.name, shadowOf(pendingIntent).savedIntent.component!!.className)
        sink.clear()

        // What the Bluetooth stack does: fill the results into the app's (mutable) PendingIntent and send it.
        val iBeacon = Adverts.iBeacon(minor = 9)
        val eddystone = Adverts.eddystoneUid()
        val fillIn = Intent().putParcelableArrayListExtra(
            android.bluetooth.le.BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT,
            arrayListOf(scanResult(iBeacon, -77, ageMs = 4_000), scanResult(eddystone, -88, ageMs = 12_000)),
        )
        pendingIntent.send(app, 0, fillIn)
        idleMainLooper()
        advance(30_000)

        assertEquals(
            listOf(SinkCall.Advertisement(iBeacon.hex(), -77, 4_000), SinkCall.Advertisement(eddystone.hex(), -88, 12_000)),
            sink.calls,
        )
        assertEquals(ScannerState.BackgroundScanning, scanner.state.value)

        // Back in the foreground the PendingIntent scan stops and the callback scan takes over.
        scanner.onForeground()
        assertTrue(pendingIntentScans().isEmpty())
        assertEquals(1, callbackScans().size)
    }

    @Test
    fun `without background location the background scan is not started`() {
        val scanner = scanner()
        scanner.onForeground()
        advance(1_100)
        scanner.onBackground()

        assertEquals(ScannerState.NoPermission(listOf(Manifest.permission.ACCESS_BACKGROUND_LOCATION)), scanner.state.value)
        assertTrue(leShadow().activeScans.isEmpty())
        assertEquals(false, sink.lastScanning)
    }

    @Test
    fun `background scanning can be turned off`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        val scanner = scanner(BeaconScanOptions(backgroundScanning = false))
        scanner.onForeground()
        scanner.onBackground()
        assertEquals(ScannerState.Stopped, scanner.state.value)
        assertTrue(leShadow().activeScans.isEmpty())
    }

    @Test
    fun `missing permissions leave the scanner stopped with NoPermission, until refreshed`() {
        shadowOf(app).denyPermissions(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION)
        val scanner = scanner()
        scanner.onForeground()

        assertEquals(
            ScannerState.NoPermission(listOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.ACCESS_FINE_LOCATION)),
            scanner.state.value,
        )
        assertTrue(leShadow().activeScans.isEmpty())
        advance(5_000)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)

        // Only one of the two granted: still no scan.
        shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_SCAN)
        scanner.refresh()
        assertEquals(ScannerState.NoPermission(listOf(Manifest.permission.ACCESS_FINE_LOCATION)), scanner.state.value)
        assertTrue(leShadow().activeScans.isEmpty())

        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION)
        scanner.refresh()
        assertEquals(ScannerState.Scanning, scanner.state.value)
        assertEquals(1, callbackScans().size)
    }

    @Test
    fun `Bluetooth off is a state, and the scan resumes when Bluetooth comes back on`() {
        shadowOf(adapter).setEnabled(false)
        val scanner = scanner()
        scanner.onForeground()
        assertEquals(ScannerState.BluetoothOff, scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)

        shadowOf(adapter).setEnabled(true)
        assertTrue("nothing started before Android says Bluetooth is on", leShadow().activeScans.isEmpty())
        app.sendBroadcast(Intent(BluetoothAdapter.ACTION_STATE_CHANGED).putExtra(BluetoothAdapter.EXTRA_STATE, BluetoothAdapter.STATE_ON))
        idleMainLooper()
        assertEquals(ScannerState.Scanning, scanner.state.value)
        assertEquals(1, callbackScans().size)
        advance(1_100)
        assertEquals(true, sink.lastScanning)
        assertEquals(1, sink.ticks)

        // Turning off again: the stack drops the scan; the sink hears it and the ticks stop.
        shadowOf(adapter).setEnabled(false)
        app.sendBroadcast(Intent(BluetoothAdapter.ACTION_STATE_CHANGED).putExtra(BluetoothAdapter.EXTRA_STATE, BluetoothAdapter.STATE_TURNING_OFF))
        idleMainLooper()
        assertEquals(ScannerState.BluetoothOff, scanner.state.value)
        assertEquals(false, sink.lastScanning)
        advance(10_000)
        assertEquals(1, sink.ticks)
    }

    @Test
    fun `location off is a state with no scan (results would be withheld), and the scan resumes when it is back on`() {
        val location = shadowOf(app.getSystemService(LocationManager::class.java))
        location.setLocationEnabled(false)
        val scanner = scanner()
        scanner.onForeground()
        assertEquals(ScannerState.LocationOff, scanner.state.value)
        assertTrue(leShadow().activeScans.isEmpty())

        location.setLocationEnabled(true)
        app.sendBroadcast(Intent(LocationManager.MODE_CHANGED_ACTION))
        idleMainLooper()
        assertEquals(ScannerState.Scanning, scanner.state.value)
        advance(1_100)
        assertEquals(listOf(SinkCall.Scanning(false), SinkCall.Scanning(true), SinkCall.Tick), sink.calls)

        // Turned off while scanning: the ticks would tell the core every beacon had gone; stop instead.
        location.setLocationEnabled(false)
        app.sendBroadcast(Intent(LocationManager.MODE_CHANGED_ACTION))
        idleMainLooper()
        assertEquals(ScannerState.LocationOff, scanner.state.value)
        assertEquals(false, sink.lastScanning)
        assertTrue(callbackScans().isEmpty())
        advance(10_000)
        assertEquals(1, sink.ticks)
    }

    @Test
    fun `a device without Bluetooth is Unsupported, without a crash`() {
        ShadowBluetoothAdapter.setIsBluetoothSupported(false)
        val scanner = scanner()
        scanner.onForeground()
        scanner.onBackground()
        scanner.refresh()
        assertEquals(ScannerState.Unsupported, scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(false)), sink.calls)
    }

    @Test
    fun `onScanFailed becomes a Failed state and scanning(false), and refresh retries`() {
        val scanner = scanner()
        scanner.onForeground()
        advance(1_100)
        val callback = registeredCallback()

        callback.onScanFailed(ScanCallback.SCAN_FAILED_APPLICATION_REGISTRATION_FAILED)

        assertEquals(ScannerState.Failed(ScanCallback.SCAN_FAILED_APPLICATION_REGISTRATION_FAILED), scanner.state.value)
        assertEquals(listOf(SinkCall.Scanning(true), SinkCall.Tick, SinkCall.Scanning(false)), sink.calls)
        assertTrue(callbackScans().isEmpty())
        advance(5_000)
        assertEquals(1, sink.ticks)
        // A late result of the failed scan is not a sighting of a running scan.
        callback.onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(Adverts.iBeacon(), -60, 0))
        assertTrue(sink.advertisements.isEmpty())

        scanner.refresh()
        assertEquals(ScannerState.Scanning, scanner.state.value)
        assertEquals(1, callbackScans().size)
    }

    @Test
    fun `close stops every scan and the registration`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        val scanner = scanner()
        scanner.onForeground()
        assertNotNull(BeaconScanRegistry.current())
        scanner.onBackground()
        assertEquals(1, pendingIntentScans().size)

        scanner.close()
        assertEquals(ScannerState.Stopped, scanner.state.value)
        assertTrue(leShadow().activeScans.isEmpty())
        assertNull(BeaconScanRegistry.current())
        scanner.onForeground()
        assertTrue("a closed scanner stays closed", leShadow().activeScans.isEmpty())
    }

    @Test
    fun `a background scan a previous process left running is replaced, never doubled, and stopped in the foreground`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        // The old process went to the background, then died: its PendingIntent scan stays with the Bluetooth stack.
        BeaconScanner(app, RecordingSink()).onBackground()
        assertEquals(1, pendingIntentScans().size)
        BeaconScanRegistry.resetForTesting()

        // The new process, started by a delivery, is in the background too.
        val scanner = scanner()
        scanner.onBackground()
        assertEquals(1, pendingIntentScans().size)

        scanner.onForeground()
        assertTrue(pendingIntentScans().isEmpty())
        assertEquals(1, callbackScans().size)
    }

    @Test
    fun `installed, it follows the app between foreground and background`() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
        // What androidx.startup does in an app (see AppLifecycleFlusherTest): start ProcessLifecycleOwner.
        ProcessLifecycleOwner::class.java.getMethod("init\$lifecycle_process_release", android.content.Context::class.java).invoke(null, app)
        val scanner = scanner()
        scanner.install()
        idleMainLooper()
        assertEquals("no activity started: the app is in the background", ScannerState.BackgroundScanning, scanner.state.value)

        val activity = Robolectric.buildActivity(android.app.Activity::class.java).setup()
        idleMainLooper()
        assertEquals(ScannerState.Scanning, scanner.state.value)
        assertEquals(1, callbackScans().size)
        assertTrue(pendingIntentScans().isEmpty())
        advance(1_100)
        assertEquals(1, sink.ticks)

        activity.pause().stop()
        // ProcessLifecycleOwner waits before it calls the app stopped (a rotation is not a trip to the background).
        advance(1_000)
        assertEquals(ScannerState.BackgroundScanning, scanner.state.value)
        assertEquals(false, sink.lastScanning)
        assertEquals(1, pendingIntentScans().size)
        assertTrue(callbackScans().isEmpty())
        activity.destroy()
    }

    @Test
    fun `calls from another thread run on the main thread, and a throwing sink does not stop the scan`() {
        val throwing = object : BeaconSink {
            var ticks = 0
            override fun advertisement(bytes: ByteArray, rssi: Int, ageMs: Long) = throw IllegalStateException("sink bug")
            override fun scanTick() {
                ticks++
                throw IllegalStateException("sink bug")
            }
            override fun scanning(active: Boolean) = throw IllegalStateException("sink bug")
        }
        val scanner = BeaconScanner(app, throwing).also { scanners += it }
        val worker = Thread { scanner.onForeground() }
        worker.start()
        worker.join()
        assertEquals("posted, not run on the worker", ScannerState.Stopped, scanner.state.value)
        idleMainLooper()
        assertEquals(ScannerState.Scanning, scanner.state.value)

        registeredCallback().onScanResult(ScanSettings.CALLBACK_TYPE_ALL_MATCHES, scanResult(Adverts.iBeacon(), -60, 0))
        advance(3 * 1_100)
        assertEquals(3, throwing.ticks)
        assertEquals(ScannerState.Scanning, scanner.state.value)
    }

    @Test
    fun `the permissions a scan needs, by API level`() {
        val scan = Manifest.permission.BLUETOOTH_SCAN
        val fine = Manifest.permission.ACCESS_FINE_LOCATION
        val background = Manifest.permission.ACCESS_BACKGROUND_LOCATION
        assertEquals(listOf(fine), BeaconPermissions.required(24, background = false))
        assertEquals(listOf(fine), BeaconPermissions.required(28, background = true))
        assertEquals(listOf(fine, background), BeaconPermissions.required(29, background = true))
        assertEquals(listOf(fine), BeaconPermissions.required(30, background = false))
        assertEquals(listOf(scan, fine), BeaconPermissions.required(31, background = false))
        assertEquals(listOf(scan, fine, background), BeaconPermissions.required(35, background = true))
    }
}
