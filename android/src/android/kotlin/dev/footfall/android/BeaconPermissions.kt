package dev.footfall.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build

/**
 * The runtime permissions a beacon scan needs, by API level. [BeaconScanner] checks them before every start and
 * reports [ScannerState.NoPermission] instead of starting; the app asks for them (it owns the prompt and its
 * explanation).
 *
 * - API 31+: `BLUETOOTH_SCAN`, and `ACCESS_FINE_LOCATION` as well: beacons are location, so the library's manifest
 *   declares `BLUETOOTH_SCAN` **without** `usesPermissionFlags="neverForLocation"`. The app must not add that
 *   flag either (the manifests merge): with it, Android strips beacon advertisements (iBeacon, AltBeacon,
 *   Eddystone) from the results and the scanner hears nothing, without any error. Without the flag, results need
 *   the fine location permission.
 * - API 23–30: `ACCESS_FINE_LOCATION` (Bluetooth scan results are location data).
 * - Background scans on API 29+: `ACCESS_BACKGROUND_LOCATION` too. The library does not declare it: it sends an
 *   app through Google Play's background-location review, so only an app that wants background scanning declares
 *   it (and asks for it, after the foreground location permission).
 */
object BeaconPermissions {
    /** What a scan needs on [sdkInt]; [background] for the PendingIntent scan that runs while the app is in the background. */
    @JvmStatic
    fun required(sdkInt: Int, background: Boolean): List<String> = buildList {
        if (sdkInt >= Build.VERSION_CODES.S) add(Manifest.permission.BLUETOOTH_SCAN)
        add(Manifest.permission.ACCESS_FINE_LOCATION)
        if (background && sdkInt >= Build.VERSION_CODES.Q) add(Manifest.permission.ACCESS_BACKGROUND_LOCATION)
    }

    /** Those of [required] that [context]'s app does not hold on this device; empty when it may scan. */
    @JvmStatic
    fun missing(context: Context, background: Boolean): List<String> =
        required(Build.VERSION.SDK_INT, background).filter {
            context.checkSelfPermission(it) != PackageManager.PERMISSION_GRANTED
        }
}
