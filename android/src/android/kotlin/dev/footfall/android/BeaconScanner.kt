package dev.footfall.android

import android.annotation.SuppressLint
import android.app.PendingIntent
import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothManager
import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanResult
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.location.LocationManager
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.provider.Settings
import android.util.Log
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Listens for store beacons (iBeacon, AltBeacon, Eddystone) over Bluetooth LE and feeds what it hears to a
 * [BeaconSink], the SDK's proximity API. It never decodes: the core reads the raw advertisements.
 *
 * - **Foreground**: a callback scan in low-latency mode with hardware filters ([BeaconScanFilters]); every result
 *   goes to the sink with its age, and every [BeaconScanOptions.scanPeriodMs] the sink gets a
 *   [BeaconSink.scanTick] ("what you did not hear was absent"). [BeaconSink.scanning] (true) is told when results
 *   or ticks really flow, not when the scan is merely requested: a scan Android refuses a moment later never
 *   looks like a store left.
 * - **Background**: a PendingIntent scan (API 26+) delivering to [BeaconScanReceiver], which survives the process.
 *   Android batches and throttles those deliveries, so the sink gets their advertisements but no ticks and stays
 *   `scanning(false)`: the core cannot know what was absent in between.
 * - **Never a crash**: permissions are checked before every start ([BeaconPermissions]); a missing permission,
 *   Bluetooth or the location setting off, no adapter, a refused scan or an exception from the Bluetooth stack
 *   becomes a [state] and `scanning(false)`. When Bluetooth or location comes back on the scanner resumes by
 *   itself.
 *
 * ```kotlin
 * // Application.onCreate, so a process Android starts for a background delivery finds it (BeaconScanRegistry)
 * val scanner = BeaconScanner(this, proximitySink).also { it.install() }
 * // after the permission prompt:
 * scanner.refresh()
 * ```
 *
 * All work happens on the main thread, where Android delivers scan callbacks and broadcasts and where
 * [ProcessLifecycleOwner] must be observed; ticks are posted to the main looper (so Robolectric's paused looper
 * drives them in tests). The public methods may be called from any thread.
 *
 * @param context any context; only its application context is kept.
 * @param sink where advertisements, ticks and the scanning flag go (called on the main thread).
 * @param options filters, scan period, background scanning.
 */
class BeaconScanner @JvmOverloads constructor(
    context: Context,
    private val sink: BeaconSink,
    private val options: BeaconScanOptions = BeaconScanOptions(),
) : AutoCloseable {
    private val appContext: Context = context.applicationContext
    private val handler = Handler(Looper.getMainLooper())

    private val mutableState = MutableStateFlow<ScannerState>(ScannerState.Stopped)

    /** What the scanner is doing now, and why not when it is not scanning. */
    val state: StateFlow<ScannerState> = mutableState.asStateFlow()

    private enum class Mode { OFF, FOREGROUND, BACKGROUND }

    // Everything below is touched on the main thread only.
    private var mode = Mode.OFF
    private var closed = false
    private var listening = false
    private var followingApp = false

    /** The scanner the callback scan runs on, while it runs. */
    private var foregroundScanner: BluetoothLeScanner? = null

    /** The scanner the PendingIntent scan was started on, while it runs. */
    private var backgroundScanner: BluetoothLeScanner? = null

    /** The last value given to [BeaconSink.scanning]; null before the first. */
    private var reported: Boolean? = null

    private val callback = object : ScanCallback() {
        override fun onScanResult(callbackType: Int, result: ScanResult) = onMain { foregroundResults(listOf(result)) }

        override fun onBatchScanResults(results: MutableList<ScanResult>) {
            val copy = results.toList()
            onMain { foregroundResults(copy) }
        }

        override fun onScanFailed(errorCode: Int) = onMain {
            if (foregroundScanner == null) return@onMain
            stopForeground()
            stopped(ScannerState.Failed(errorCode))
        }
    }

    /** One scan period ended while the callback scan runs. Never posted in the background. */
    private val tick = object : Runnable {
        override fun run() {
            if (foregroundScanner == null) return
            guarded {
                report(true)
                sink.scanTick()
            }
            handler.postDelayed(this, options.scanPeriodMs)
        }
    }

    private val registration = object : BeaconScanRegistry.Target {
        override fun onBackgroundResults(results: List<ScanResult>) = onMain {
            if (!closed) guarded { results.forEach { sink.deliver(it) } }
        }

        override fun onBackgroundError(errorCode: Int) = onMain {
            if (mode != Mode.BACKGROUND || backgroundScanner == null) return@onMain
            backgroundScanner = null
            stopped(ScannerState.Failed(errorCode))
        }
    }

    /**
     * Bluetooth turned on: resume; turning off: the stack drops our scans, say so. Location turned on: resume;
     * off: stop, since Android would withhold every result while the ticks went on.
     */
    private val deviceSettings = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            if (closed) return
            when (intent.action) {
                BluetoothAdapter.ACTION_STATE_CHANGED -> when (intent.getIntExtra(BluetoothAdapter.EXTRA_STATE, BluetoothAdapter.ERROR)) {
                    BluetoothAdapter.STATE_ON -> apply()
                    BluetoothAdapter.STATE_TURNING_OFF, BluetoothAdapter.STATE_OFF -> {
                        stopForeground()
                        backgroundScanner = null
                        if (mode != Mode.OFF) stopped(ScannerState.BluetoothOff)
                    }
                }
                LocationManager.MODE_CHANGED_ACTION -> if (locationEnabled()) {
                    apply()
                } else if (mode != Mode.OFF) {
                    stopForeground()
                    stopBackground()
                    stopped(ScannerState.LocationOff)
                }
            }
        }
    }

    private val appLifecycle = object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) = onForeground()

        override fun onStop(owner: LifecycleOwner) = onBackground()
    }

    /**
     * Follows the app from now on: scans in the foreground while any activity is started ([ProcessLifecycleOwner]),
     * in the background otherwise (the state it finds the process in decides the first scan). Without [install],
     * call [onForeground] and [onBackground] yourself.
     */
    fun install() = onMain {
        if (closed || followingApp) return@onMain
        followingApp = true
        val lifecycle = ProcessLifecycleOwner.get().lifecycle
        lifecycle.addObserver(appLifecycle) // dispatches ON_START now if the app is already in the foreground
        if (!lifecycle.currentState.isAtLeast(Lifecycle.State.STARTED)) onBackground()
    }

    /** The app is in the foreground: callback scan with ticks (the background scan, even a previous process's, stops). */
    fun onForeground() = onMain { switchTo(Mode.FOREGROUND) }

    /** The app went to the background: `scanning(false)`, and the PendingIntent scan when allowed. */
    fun onBackground() = onMain { switchTo(Mode.BACKGROUND) }

    /**
     * Tries again what the current mode wants, e.g. after the app obtained a permission or the user fixed what
     * [state] reported. Does nothing to a scan that is running.
     */
    fun refresh() = onMain { if (!closed) apply() }

    /** Stops scanning (foreground and background), stops listening for Bluetooth and the app; final. */
    override fun close() = onMain {
        if (closed) return@onMain
        mode = Mode.OFF
        apply()
        closed = true
        if (followingApp) ProcessLifecycleOwner.get().lifecycle.removeObserver(appLifecycle)
        followingApp = false
        if (listening) {
            guarded { appContext.unregisterReceiver(deviceSettings) }
            BeaconScanRegistry.unregister(registration)
            listening = false
        }
    }

    private fun switchTo(target: Mode) {
        if (closed) return
        listen()
        if (mode == target) return apply()
        mode = target
        apply()
    }

    /** Receives background deliveries, Bluetooth and location setting changes from the first switch on. */
    private fun listen() {
        if (listening) return
        listening = true
        BeaconScanRegistry.register(registration)
        val filter = IntentFilter(BluetoothAdapter.ACTION_STATE_CHANGED).apply { addAction(LocationManager.MODE_CHANGED_ACTION) }
        guarded {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                // Sent by the system only: other apps need not (and cannot, not exported) reach it.
                appContext.registerReceiver(deviceSettings, filter, null, handler, Context.RECEIVER_NOT_EXPORTED)
            } else {
                appContext.registerReceiver(deviceSettings, filter, null, handler)
            }
        }
    }

    /** Brings the scans in line with [mode]; a scan already running in the right mode is left alone. */
    private fun apply() {
        when (mode) {
            Mode.OFF -> {
                stopForeground()
                stopBackground()
                stopped(ScannerState.Stopped)
            }
            Mode.FOREGROUND -> {
                if (foregroundScanner != null) return
                stopBackground()
                startForeground()
            }
            Mode.BACKGROUND -> {
                if (backgroundScanner != null) return
                stopForeground()
                // A previous process's PendingIntent scan is the same scan: replace it rather than add a second.
                stopBackground()
                startBackground()
            }
        }
    }

    @SuppressLint("MissingPermission") // checked by usableScanner (BeaconPermissions); a refusal is caught
    private fun startForeground() {
        val scanner = usableScanner(background = false) ?: return
        // Set first: a stack may deliver results it already holds from within startScan.
        foregroundScanner = scanner
        if (!startSafely { scanner.startScan(BeaconScanFilters.filters(options), BeaconScanFilters.foreground(), callback) }) {
            foregroundScanner = null
            return
        }
        mutableState.value = ScannerState.Scanning
        handler.postDelayed(tick, options.scanPeriodMs)
    }

    @SuppressLint("MissingPermission") // checked by usableScanner (BeaconPermissions); a refusal is caught
    private fun startBackground() {
        // The callback scan is over: whatever the background brings, the core no longer gets ticks.
        report(false)
        if (!options.backgroundScanning || Build.VERSION.SDK_INT < Build.VERSION_CODES.O) {
            return stopped(ScannerState.Stopped)
        }
        val scanner = usableScanner(background = true) ?: return
        var code = 0
        if (!startSafely { code = scanner.startScan(BeaconScanFilters.filters(options), BeaconScanFilters.background(), pendingIntent()) }) return
        if (code != 0) return stopped(ScannerState.Failed(code))
        backgroundScanner = scanner
        mutableState.value = ScannerState.BackgroundScanning
    }

    /** Stops the callback scan and its ticks (an exception from a stack that is gone already is no news). */
    @SuppressLint("MissingPermission") // checked by usableScanner (BeaconPermissions); a refusal is caught
    private fun stopForeground() {
        handler.removeCallbacks(tick)
        val scanner = foregroundScanner ?: return
        foregroundScanner = null
        guarded { scanner.stopScan(callback) }
    }

    /**
     * Stops the PendingIntent scan, this process's or one a previous process left running (the PendingIntent is
     * the same: same component, action and request code).
     */
    @SuppressLint("MissingPermission") // checked by usableScanner (BeaconPermissions); a refusal is caught
    private fun stopBackground() {
        val scanner = backgroundScanner ?: adapter()?.takeIf { safe { it.isEnabled } == true }?.let { safe { it.bluetoothLeScanner } }
        backgroundScanner = null
        if (scanner == null || Build.VERSION.SDK_INT < Build.VERSION_CODES.O) return
        guarded { scanner.stopScan(pendingIntent()) }
    }

    /** The LE scanner when the device, the permissions and Bluetooth allow a scan; otherwise the state says why. */
    private fun usableScanner(background: Boolean): BluetoothLeScanner? {
        val adapter = adapter() ?: return null.also { stopped(ScannerState.Unsupported) }
        val missing = BeaconPermissions.missing(appContext, background)
        if (missing.isNotEmpty()) return null.also { stopped(ScannerState.NoPermission(missing)) }
        if (safe { adapter.isEnabled } != true) return null.also { stopped(ScannerState.BluetoothOff) }
        if (!locationEnabled()) return null.also { stopped(ScannerState.LocationOff) }
        // Null while Bluetooth is turning on or off: ACTION_STATE_CHANGED will bring us back.
        return safe { adapter.bluetoothLeScanner } ?: null.also { stopped(ScannerState.BluetoothOff) }
    }

    /** Runs a startScan; the stack's refusals become states. */
    private inline fun startSafely(start: () -> Unit): Boolean = try {
        start()
        true
    } catch (e: SecurityException) {
        stopped(ScannerState.NoPermission(BeaconPermissions.missing(appContext, mode == Mode.BACKGROUND)))
        false
    } catch (e: IllegalStateException) {
        // "BT Adapter is not turned ON": Bluetooth went off between the check and the call.
        stopped(ScannerState.BluetoothOff)
        false
    } catch (e: RuntimeException) {
        Log.w(TAG, "beacon scan refused: $e")
        stopped(ScannerState.Failed(ScanCallback.SCAN_FAILED_INTERNAL_ERROR))
        false
    }

    private fun foregroundResults(results: List<ScanResult>) {
        // A result the stack delivers after stopScan belongs to a scan the core was told has ended.
        if (foregroundScanner == null) return
        guarded {
            report(true)
            results.forEach { sink.deliver(it) }
        }
    }

    /** The device's location setting; true when it cannot be read (never block scanning on a guess). */
    private fun locationEnabled(): Boolean = safe {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) {
            appContext.getSystemService(LocationManager::class.java)?.isLocationEnabled
        } else {
            @Suppress("DEPRECATION")
            Settings.Secure.getInt(appContext.contentResolver, Settings.Secure.LOCATION_MODE, Settings.Secure.LOCATION_MODE_OFF) !=
                Settings.Secure.LOCATION_MODE_OFF
        }
    } ?: true

    private fun adapter(): BluetoothAdapter? = safe { appContext.getSystemService(BluetoothManager::class.java)?.adapter }

    private fun pendingIntent(): PendingIntent {
        val intent = Intent(appContext, BeaconScanReceiver::class.java).setAction(BeaconScanReceiver.ACTION)
        // Mutable: the Bluetooth stack fills the results into it. Safe: the intent is explicit.
        val mutable = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) PendingIntent.FLAG_MUTABLE else 0
        return PendingIntent.getBroadcast(appContext, REQUEST_CODE, intent, PendingIntent.FLAG_UPDATE_CURRENT or mutable)
    }

    private fun stopped(state: ScannerState) {
        mutableState.value = state
        report(false)
    }

    /** Tells the sink when scanning starts or stops flowing, once per change. */
    private fun report(active: Boolean) {
        if (reported == active) return
        reported = active
        guarded { sink.scanning(active) }
    }

    /** Runs [action] on the main thread: now when already there, else posted. */
    private fun onMain(action: () -> Unit) {
        if (Looper.myLooper() == handler.looper) action() else handler.post(action)
    }

    /** A sink or a Bluetooth stack that throws must not take the host app down. */
    private inline fun guarded(action: () -> Unit) {
        try {
            action()
        } catch (e: RuntimeException) {
            Log.w(TAG, "beacon scanner: $e")
        }
    }

    private inline fun <T> safe(read: () -> T): T? = try {
        read()
    } catch (e: RuntimeException) {
        null
    }

    private companion object {
        const val TAG = "Footfall"
        const val REQUEST_CODE = 0x0FF7
    }
}
