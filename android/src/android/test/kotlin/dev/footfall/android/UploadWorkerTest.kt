package dev.footfall.android

import androidx.work.NetworkType
import androidx.work.WorkInfo
import androidx.work.testing.WorkManagerTestInitHelper
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Test

/** [UploadWorker] run by WorkManager's test implementation: its constraint, its retries, its uploads. */
class UploadWorkerTest : AndroidLayerTest() {
    /** Events queued on disk by an instance that is gone, as after the process was killed. */
    private fun queueEvents(endpoint: String, count: Int): List<String> {
        val config = manual(FootfallConfig(dataDir = FootfallAndroid.dataDirectory(app).path, endpoint = endpoint))
        return Footfall(config).use { footfall ->
            runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
            val ids = (1..count).map { footfall.track("product_viewed", mapOf("sku" to "$it")) }
            footfall.flushToDisk()
            ids
        }
    }

    private fun settings(endpoint: String) =
        UploadWorker.Settings(FootfallAndroid.dataDirectory(app).path, endpoint, apiKey = null)

    @Test
    fun `the upload waits for a connected network, then uploads what the killed process left queued`() {
        val workManager = testWorkManager()
        val collector = collector()
        val ids = queueEvents(collector.url, 3)

        UploadWorker.enqueue(app, settings(collector.url))
        UploadWorker.enqueue(app, settings(collector.url)) // one pending upload at a time: the first is kept
        val pending = uploadWork(workManager).single()
        assertEquals(NetworkType.CONNECTED, pending.constraints.requiredNetworkType)
        assertEquals(WorkInfo.State.ENQUEUED, pending.state)
        assertEquals(0L, collector.stats().events)

        // No FootfallAndroid instance in this process: the worker opens the SDK from the request's settings.
        WorkManagerTestInitHelper.getTestDriver(app)!!.setAllConstraintsMet(pending.id)
        val done = awaitWork(workManager, pending.id) { it.state.isFinished }
        assertEquals(WorkInfo.State.SUCCEEDED, done.state)
        awaitEvents(collector, ids)
        assertEquals(3L, collector.stats().events)
    }

    @Test
    fun `the worker flushes the process's own instance when there is one`() {
        val workManager = testWorkManager()
        val collector = collector()
        val footfall = FootfallAndroid.init(app, endpoint = collector.url, flushOnBackground = false, configure = ::manual)
        runBlocking { footfall.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        val id = footfall.track("checkout_started")

        // Settings pointing nowhere: only the shared instance (with the app's endpoint) can deliver.
        UploadWorker.enqueue(app, settings(deadEndpoint()))
        val pending = uploadWork(workManager).single()
        WorkManagerTestInitHelper.getTestDriver(app)!!.setAllConstraintsMet(pending.id)
        assertEquals(WorkInfo.State.SUCCEEDED, awaitWork(workManager, pending.id) { it.state.isFinished }.state)
        awaitEvents(collector, listOf(id))
        assertEquals(0L, footfall.status().pending)
    }

    @Test
    fun `the worker asks WorkManager to retry while the collector answers 503, and uploads once it is back`() {
        val workManager = testWorkManager()
        val failing = collector("--fail-rate", "1", "--fail-status", "503")
        val ids = queueEvents(failing.url, 2)

        UploadWorker.enqueue(app, settings(failing.url))
        val pending = uploadWork(workManager).single()
        val driver = WorkManagerTestInitHelper.getTestDriver(app)!!
        driver.setAllConstraintsMet(pending.id)
        val retried = awaitWork(workManager, pending.id) { it.state.isFinished || (it.state == WorkInfo.State.ENQUEUED && it.runAttemptCount >= 1) }
        assertEquals(WorkInfo.State.ENQUEUED, retried.state) // to run again after the backoff
        assertEquals(1, retried.runAttemptCount)
        assertEquals(0L, failing.stats().events)

        // The collector recovers on the same address; the backoff delay passes.
        val port = failing.port
        failing.close()
        val healthy = collector(listen = "127.0.0.1:$port")
        driver.setInitialDelayMet(pending.id)
        driver.setAllConstraintsMet(pending.id)
        assertEquals(WorkInfo.State.SUCCEEDED, awaitWork(workManager, pending.id) { it.state.isFinished }.state)
        awaitEvents(healthy, ids)
    }

    @Test
    fun `the worker asks WorkManager to retry while the collector cannot be reached`() {
        val workManager = testWorkManager()
        val endpoint = deadEndpoint()
        queueEvents(endpoint, 1)

        UploadWorker.enqueue(app, settings(endpoint))
        val pending = uploadWork(workManager).single()
        WorkManagerTestInitHelper.getTestDriver(app)!!.setAllConstraintsMet(pending.id)
        val retried = awaitWork(workManager, pending.id) { it.state.isFinished || (it.state == WorkInfo.State.ENQUEUED && it.runAttemptCount >= 1) }
        assertEquals(WorkInfo.State.ENQUEUED, retried.state) // to run again after the backoff
        assertEquals(1, retried.runAttemptCount)
    }
}
