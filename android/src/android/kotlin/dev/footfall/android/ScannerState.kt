package dev.footfall.android

/**
 * What [BeaconScanner] is doing, for the app to read from [BeaconScanner.state] (e.g. to explain why no store is
 * detected, or to ask for a permission). Only [Scanning] feeds the core's presence logic with ticks; in every other
 * state the sink has been told `scanning(false)`.
 */
sealed interface ScannerState {
    /** Not asked to scan (before the first foreground/background, after [BeaconScanner.close]), or background scanning is off or impossible (API < 26). */
    data object Stopped : ScannerState

    /** Foreground scan with a callback: results as they come, a tick every scan period. */
    data object Scanning : ScannerState

    /**
     * Background scan through a PendingIntent: Android delivers matches to [BeaconScanReceiver] when it sees fit
     * (batched, throttled, possibly minutes late), so no ticks and the sink stays `scanning(false)`.
     */
    data object BackgroundScanning : ScannerState

    /**
     * A runtime permission the scan needs is not granted: [missing] lists them (see [BeaconPermissions]). Empty
     * when the check passed but the Bluetooth stack still refused with a SecurityException. The scanner retries
     * at the next foreground/background switch or [BeaconScanner.refresh].
     */
    data class NoPermission(val missing: List<String>) : ScannerState

    /** Bluetooth is off (or turning on or off): the scanner resumes by itself when it is back on. */
    data object BluetoothOff : ScannerState

    /**
     * The device's location setting is off. Android then withholds scan results from apps that may derive
     * location from them, which is every beacon scan (`neverForLocation` hides beacons, so it is not declared):
     * a scan would run and hear nothing, and its ticks would tell the core every store had gone. So the scanner
     * does not scan, and resumes by itself when location is turned back on.
     */
    data object LocationOff : ScannerState

    /** No Bluetooth adapter (an emulator, some tablets and TVs). */
    data object Unsupported : ScannerState

    /**
     * Android refused or ended the scan: [errorCode] is a `ScanCallback.SCAN_FAILED_*` code (or the
     * `EXTRA_ERROR_CODE` of a background delivery, or the code `startScan(…, PendingIntent)` returned). Retried at
     * the next foreground/background switch, [BeaconScanner.refresh] or Bluetooth coming back on.
     */
    data class Failed(val errorCode: Int) : ScannerState
}
