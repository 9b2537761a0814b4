package dev.footfall.android

import android.content.Context
import android.os.Handler
import android.os.Looper
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import dev.footfall.Footfall
import dev.footfall.FootfallException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * Uploads when the whole app goes to the background (the last activity stopped, via [ProcessLifecycleOwner]):
 * it schedules [UploadWorker] first, so the events still get out if the process is killed meanwhile, then flushes
 * at once while the process is still alive. When the app comes to the foreground it pulls the coupon wallet's
 * feed, so the coupons a shopper opens at the shelf are the issuer's current ones. [FootfallAndroid.init] installs one; create your own only when you
 * manage the [Footfall] instance yourself.
 *
 * @param context any context; only its application context is kept.
 * @param footfall the instance to flush.
 * @param settings what [UploadWorker] needs to open the SDK if the process has to be restarted for it.
 * @param scope where the background flush runs; a failed flush is left to the worker and the SDK's own retries.
 */
class AppLifecycleFlusher(
    context: Context,
    private val footfall: Footfall,
    private val settings: UploadWorker.Settings,
    private val scope: CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default),
) : DefaultLifecycleObserver {
    private val appContext: Context = context.applicationContext

    /** Starts observing the process lifecycle (registration happens on the main thread, as Lifecycle requires). */
    fun install() {
        onMainThread { ProcessLifecycleOwner.get().lifecycle.addObserver(this) }
    }

    /** Stops observing (on the main thread, as [install]); a flush already started completes. */
    fun uninstall() {
        onMainThread { ProcessLifecycleOwner.get().lifecycle.removeObserver(this) }
    }

    private fun onMainThread(action: () -> Unit) {
        if (Looper.myLooper() == Looper.getMainLooper()) {
            action()
        } else {
            Handler(Looper.getMainLooper()).post(action)
        }
    }

    /** The app came to the foreground: pull the wallet's feed (nothing when the wallet is not configured). */
    override fun onStart(owner: LifecycleOwner) {
        scope.launch {
            try {
                footfall.wallet.sync()
            } catch (e: FootfallException) {
                // No wallet configured, or no network: the wallet keeps what it has and syncs at the next chance.
            }
        }
    }

    /** The app went to the background: schedule the worker, then flush now. */
    override fun onStop(owner: LifecycleOwner) {
        UploadWorker.enqueue(appContext, settings)
        scope.launch {
            try {
                footfall.flush()
            } catch (e: FootfallException) {
                // Kept on disk: the worker (network permitting) and the SDK's own schedule retry it.
            }
        }
    }
}
