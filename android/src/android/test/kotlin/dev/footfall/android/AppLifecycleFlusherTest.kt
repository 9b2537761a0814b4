package dev.footfall.android

import android.app.Activity
import android.content.Context
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.ProcessLifecycleOwner
import androidx.work.NetworkType
import androidx.work.WorkInfo
import dev.footfall.Footfall
import dev.footfall.FootfallEvent
import java.time.Duration
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.GlobalScope
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf

/**
 * The app going to the background, the way Android tells it: the last activity stops, and [ProcessLifecycleOwner]
 * (started by androidx.startup, as the merged manifest of an app does) dispatches ON_STOP after its delay.
 */
class AppLifecycleFlusherTest : AndroidLayerTest() {
    /**
     * What androidx.startup does in an app, through the InitializationProvider that lifecycle-process's manifest
     * adds: ProcessLifecycleInitializer starts ProcessLifecycleOwner. AAR resources (startup's R.string the provider
     * checks) do not exist in this Maven build, so the test makes the initializer's own call.
     */
    private fun startProcessLifecycle() {
        ProcessLifecycleOwner::class.java.getMethod("init\$lifecycle_process_release", Context::class.java).invoke(null, app)
    }

    @Test
    fun `the app going to the background flushes to the collector and schedules the upload worker`() {
        startProcessLifecycle()
        val workManager = testWorkManager()
        val collector = collector()
        val footfall = FootfallAndroid.init(app, endpoint = collector.url, configure = ::manual)

        val activity = Robolectric.buildActivity(Activity::class.java).setup()
        idleMainLooper()
        assertTrue(ProcessLifecycleOwner.get().lifecycle.currentState.isAtLeast(Lifecycle.State.RESUMED))

        runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        val ids = (1..3).map { footfall.track("product_viewed", mapOf("sku" to "$it")) }
        // Listening before the app goes to the background, so the delivery cannot be missed.
        val delivered = CompletableDeferred<FootfallEvent.Delivered>()
        val listening = GlobalScope.launch(start = CoroutineStart.UNDISPATCHED) {
            delivered.complete(footfall.events.first { it is FootfallEvent.Delivered } as FootfallEvent.Delivered)
        }
        assertEquals(0L, collector.stats().events)
        assertTrue(uploadWork(workManager).isEmpty())

        activity.pause().stop()
        // ProcessLifecycleOwner waits before it calls the app stopped (a rotation is not a trip to the background).
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(1))
        assertEquals(Lifecycle.State.CREATED, ProcessLifecycleOwner.get().lifecycle.currentState)

        val delivery = runBlocking { withTimeout(20_000) { delivered.await() } }
        listening.cancel()
        assertEquals(3L, delivery.count)
        awaitEvents(collector, ids)

        // The worker was scheduled too, for the case the process dies before the flush completes.
        val work = uploadWork(workManager).single()
        assertEquals(WorkInfo.State.ENQUEUED, work.state)
        assertEquals(NetworkType.CONNECTED, work.constraints.requiredNetworkType)
        activity.destroy()
    }

    @Test
    fun `coming back to the foreground pulls the coupon wallet`() {
        startProcessLifecycle()
        testWorkManager()
        val collector = collector("--issuer-key", tmp.root.toPath().resolve("issuer.json").toString())
        val keyset = collector.keyset()
        val footfall = FootfallAndroid.init(app, endpoint = collector.url, deviceSigner = null) {
            manual(it).copy(walletKeyset = keyset)
        }
        val activity = Robolectric.buildActivity(Activity::class.java).setup()
        idleMainLooper()
        runBlocking { footfall.wallet.sync() }
        assertTrue(footfall.wallet.coupons.value.isEmpty())

        // The product team issues a coupon while the app is in the background.
        activity.pause().stop()
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(1))
        collector.addCoupon("welcome", "Welcome", "10%", java.time.LocalDate.now().plusDays(30), "Europe/Paris")

        val back = Robolectric.buildActivity(Activity::class.java).setup()
        idleMainLooper()
        val listed = runBlocking { withTimeout(20_000) { footfall.wallet.coupons.first { it.isNotEmpty() } } }
        assertEquals("welcome", listed.single().id)
        // Leave the process in the background again, as the other tests expect to find it.
        back.pause().stop()
        shadowOf(android.os.Looper.getMainLooper()).idleFor(Duration.ofSeconds(1))
        back.destroy()
        activity.destroy()
    }
}
