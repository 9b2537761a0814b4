package dev.footfall.android

import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanResult
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.os.Build
import android.util.Log

/**
 * Receives the background (PendingIntent) scan's deliveries: Android fills `EXTRA_LIST_SCAN_RESULT` (the matched
 * results) or `EXTRA_ERROR_CODE` (the scan ended) into the intent [BeaconScanner] registered, and this receiver
 * hands them to the scanner registered in [BeaconScanRegistry], which forwards the advertisements to its
 * [BeaconSink].
 *
 * Declared in the library's manifest, not exported: only the Bluetooth stack, through the app's own
 * PendingIntent, can reach it. Nothing here throws into the app: with no scanner registered (a process started by
 * the delivery before anything registered) the results are dropped and counted; an unreadable intent is ignored.
 */
class BeaconScanReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != ACTION) return
        try {
            val results = scanResults(intent)
            val target = BeaconScanRegistry.current()
            if (target == null) {
                BeaconScanRegistry.drop(results.size)
                return
            }
            if (intent.hasExtra(BluetoothLeScanner.EXTRA_ERROR_CODE)) {
                target.onBackgroundError(intent.getIntExtra(BluetoothLeScanner.EXTRA_ERROR_CODE, 0))
            }
            if (results.isNotEmpty()) target.onBackgroundResults(results)
        } catch (e: RuntimeException) {
            // A malformed parcel (BadParcelableException) or a failing sink: this delivery is lost, the app lives.
            Log.w(TAG, "background beacon scan delivery dropped: $e")
        }
    }

    private fun scanResults(intent: Intent): List<ScanResult> {
        val results = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            intent.getParcelableArrayListExtra(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT, ScanResult::class.java)
        } else {
            @Suppress("DEPRECATION")
            intent.getParcelableArrayListExtra<ScanResult>(BluetoothLeScanner.EXTRA_LIST_SCAN_RESULT)
        }
        return results.orEmpty()
    }

    companion object {
        /** The action of the PendingIntent the background scan delivers to (the intent is explicit as well). */
        const val ACTION = "dev.footfall.android.action.BEACON_SCAN_RESULT"

        private const val TAG = "Footfall"
    }
}
