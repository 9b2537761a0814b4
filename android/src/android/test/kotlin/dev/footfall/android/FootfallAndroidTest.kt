package dev.footfall.android

import androidx.lifecycle.LifecycleRegistry
import androidx.lifecycle.ProcessLifecycleOwner
import dev.footfall.Footfall
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** [FootfallAndroid.init]: one instance per process, its data where Android keeps app data out of backups. */
class FootfallAndroidTest : AndroidLayerTest() {
    private val processObservers: Int
        get() = (ProcessLifecycleOwner.get().lifecycle as LifecycleRegistry).observerCount

    @Test
    fun `init twice returns the same instance and ignores the second call's arguments`() {
        assertNull(FootfallAndroid.getOrNull())
        assertThrows(IllegalStateException::class.java) { FootfallAndroid.get() }
        val observersBefore = processObservers

        val first = FootfallAndroid.init(app, endpoint = null, configure = ::manual)
        // No endpoint: nothing to upload, so no background flusher.
        assertEquals(observersBefore, processObservers)

        val collector = collector()
        val second = FootfallAndroid.init(app, endpoint = collector.url, apiKey = "other", configure = ::manual)
        assertSame(first, second)
        assertSame(first, FootfallAndroid.get())
        // The second call's endpoint was ignored: still no flusher, and the instance never uploads there.
        assertEquals(observersBefore, processObservers)
        runBlocking { first.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        first.track("product_viewed")
        runCatching { runBlocking { first.flush() } }
        first.flushToDisk()
        assertEquals(1L, first.status().pending)
        assertEquals(0L, collector.stats().events)
    }

    @Test
    fun `init keeps the SDK's data in the no-backup files directory`() {
        val footfall = FootfallAndroid.init(app, endpoint = null, configure = ::manual)
        runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        footfall.track("product_viewed", mapOf("sku" to "4901234567894"))
        footfall.flushToDisk()

        val expected = File(app.noBackupFilesDir, "footfall")
        assertEquals(expected, FootfallAndroid.dataDirectory(app))
        assertTrue("$expected holds the SDK's database", expected.listFiles().orEmpty().any { it.length() > 0 })
        // Not under filesDir, which Auto Backup copies to other devices.
        assertFalse(File(app.filesDir, "footfall").exists())

        // A new process (same app data) finds the queue where the last one left it.
        FootfallAndroid.resetForTesting()
        val reopened = FootfallAndroid.init(app, endpoint = null, configure = ::manual)
        assertEquals(1L, reopened.status().pending)
    }

    @Test
    fun `init with an endpoint installs one background flusher and a reset removes it`() {
        val observersBefore = processObservers
        FootfallAndroid.init(app, endpoint = collector().url, configure = ::manual)
        assertEquals(observersBefore + 1, processObservers)
        FootfallAndroid.init(app, endpoint = collector().url, configure = ::manual)
        assertEquals(observersBefore + 1, processObservers)
        FootfallAndroid.resetForTesting()
        assertEquals(observersBefore, processObservers)
        // flushOnBackground = false: none.
        FootfallAndroid.init(app, endpoint = collector().url, flushOnBackground = false, configure = ::manual)
        assertEquals(observersBefore, processObservers)
    }
}
