package dev.footfall.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import dev.footfall.Footfall
import dev.footfall.FootfallException

/**
 * Reports the device's default network becoming available, by default to [Footfall.networkAvailable], so uploads
 * that failed while the phone was offline go out at once instead of after their backoff (up to five minutes).
 * What is retried, and what a server's Retry-After still holds back, is the core's decision; this only reports the
 * event. [FootfallAndroid.init] installs one when an endpoint is configured; create your own only when you manage
 * the [Footfall] instance yourself. Needs `ACCESS_NETWORK_STATE` (declared by the library's manifest).
 *
 * @param onAvailable called on the system's connectivity thread each time a default network becomes available.
 */
class NetworkWatcher(context: Context, private val onAvailable: () -> Unit) {
    /** Reports to [footfall]; a closed instance (or one without an endpoint) is ignored. */
    constructor(context: Context, footfall: Footfall) : this(context, {
        try {
            footfall.networkAvailable()
        } catch (e: FootfallException) {
            // Closed, or no endpoint: there is nothing to retry.
        }
    })

    private val connectivity: ConnectivityManager? = context.applicationContext.getSystemService(ConnectivityManager::class.java)
    private val lock = Any()
    private var installed = false

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            this@NetworkWatcher.onAvailable()
        }
    }

    /** Starts watching (a second call changes nothing). Without the system service or the permission it does nothing. */
    fun install() {
        synchronized(lock) {
            val manager = connectivity
            if (installed || manager == null) return
            installed = try {
                manager.registerDefaultNetworkCallback(callback)
                true
            } catch (e: SecurityException) {
                false
            } catch (e: RuntimeException) {
                // The system's limit on callbacks per app (TooManyRequestsException): uploads keep their backoff.
                false
            }
        }
    }

    /** Stops watching. */
    fun uninstall() {
        synchronized(lock) {
            if (!installed) return
            installed = false
            try {
                connectivity?.unregisterNetworkCallback(callback)
            } catch (e: IllegalArgumentException) {
                // Already unregistered.
            }
        }
    }
}
