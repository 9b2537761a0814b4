package dev.footfall.android

import android.net.ConnectivityManager
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.Shadows.shadowOf

/**
 * The default network as Android reports it (Robolectric's ConnectivityManager keeps the registered callbacks):
 * its return is reported once per callback, [FootfallAndroid.init] watches it for the SDK, and nothing stays
 * registered after close. What the SDK does then (retry at once, past its backoff, never past a server's
 * Retry-After) is the core's rule, tested in `core/tests/sync_engine.rs`.
 */
class NetworkWatcherTest : AndroidLayerTest() {
    private val connectivity: ConnectivityManager get() = checkNotNull(app.getSystemService(ConnectivityManager::class.java))
    private val callbacks get() = shadowOf(connectivity).networkCallbacks

    @Test
    fun `the default network coming back is reported until uninstalled`() {
        val reported = AtomicInteger()
        val watcher = NetworkWatcher(app) { reported.incrementAndGet() }
        watcher.install()
        watcher.install()
        assertEquals(1, callbacks.size)

        callbacks.single().onAvailable(connectivity.activeNetwork!!)
        assertEquals(1, reported.get())

        watcher.uninstall()
        assertTrue(callbacks.isEmpty())
    }

    @Test
    fun `init watches the network for the SDK only with an endpoint, and a callback after close never throws`() {
        FootfallAndroid.init(app, endpoint = null, configure = ::manual)
        assertTrue("nothing to upload, nothing to watch", callbacks.isEmpty())
        FootfallAndroid.resetForTesting()

        FootfallAndroid.init(app, endpoint = collector().url, flushOnBackground = false, configure = ::manual)
        val watching = callbacks.single()
        watching.onAvailable(connectivity.activeNetwork!!)
        FootfallAndroid.resetForTesting()
        assertTrue("unregistered with the instance", callbacks.isEmpty())
        // A callback already on its way when the app closed the SDK.
        watching.onAvailable(connectivity.activeNetwork!!)
    }
}
