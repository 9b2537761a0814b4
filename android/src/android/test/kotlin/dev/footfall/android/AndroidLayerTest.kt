package dev.footfall.android

import android.app.Application
import android.os.Looper
import androidx.work.Configuration
import androidx.work.WorkInfo
import androidx.work.WorkManager
import androidx.work.testing.SynchronousExecutor
import androidx.work.testing.WorkManagerTestInitHelper
import dev.footfall.Collector
import dev.footfall.ConsentSettings
import dev.footfall.FlushPolicy
import dev.footfall.FootfallConfig
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.util.UUID
import java.util.concurrent.TimeUnit
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.junit.After
import org.junit.Rule
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

/**
 * Base of the Android layer suites: Robolectric's Android framework (API level in robolectric.properties) with a
 * fresh Application per test, the host native library through JNA, and reference collectors on 127.0.0.1.
 *
 * Robolectric keeps one class loader for every test of the run, so the process-wide [FootfallAndroid] is reset
 * after each test, like a new process.
 */
@RunWith(RobolectricTestRunner::class)
abstract class AndroidLayerTest {
    @get:Rule
    val tmp = TemporaryFolder()

    protected val app: Application = RuntimeEnvironment.getApplication()

    private val collectors = mutableListOf<Collector>()

    private var workManagerStarted = false

    @After
    fun resetProcess() {
        FootfallAndroid.resetForTesting()
        if (workManagerStarted) WorkManagerTestInitHelper.closeWorkDatabase()
        collectors.forEach { it.close() }
    }

    /** Starts a reference collector with its own database; [flags] are `footfall collector serve` flags. */
    protected fun collector(vararg flags: String, listen: String = "127.0.0.1:0"): Collector =
        Collector.start(tmp.root.toPath().resolve("collector-${collectors.size}.db"), *flags, listen = listen)
            .also { collectors += it }

    /** An endpoint nothing listens on: a collector started and stopped again (its port is free). */
    protected fun deadEndpoint(): String {
        val gone = collector()
        gone.close()
        return gone.url
    }

    /** Uploads only when asked and no policy fetch: every request is one the test caused. */
    protected fun manual(config: FootfallConfig): FootfallConfig =
        config.copy(flushPolicy = FlushPolicy(automatic = false), consent = config.consent.copy(policyRefreshIntervalMs = 0))

    /** WorkManager's test implementation, running workers as soon as their constraints are met. */
    protected fun testWorkManager(): WorkManager {
        val configuration = Configuration.Builder().setExecutor(SynchronousExecutor()).build()
        WorkManagerTestInitHelper.initializeTestWorkManager(app, configuration)
        workManagerStarted = true
        return WorkManager.getInstance(app)
    }

    /** The pending or finished upload work (at most one: it is unique). */
    protected fun uploadWork(workManager: WorkManager): List<WorkInfo> =
        workManager.getWorkInfosForUniqueWork(UploadWorker.UNIQUE_WORK_NAME).get(10, TimeUnit.SECONDS)

    /** Waits for the upload work to reach a state [done] accepts. Work runs on WorkManager's and the SDK's threads. */
    protected fun awaitWork(workManager: WorkManager, id: UUID, done: (WorkInfo) -> Boolean): WorkInfo {
        var last: WorkInfo? = null
        return awaitValue({ "the upload work to move on from $last" }) {
            workManager.getWorkInfoById(id).get(10, TimeUnit.SECONDS).also { last = it }?.takeIf(done)
        }
    }

    /** Runs what is due on the main looper (Robolectric pauses it: posted work runs only when the test says). */
    protected fun idleMainLooper() {
        shadowOf(Looper.getMainLooper()).idle()
    }

    companion object {
        private const val DEADLINE_MS = 20_000L

        /** Polls [probe] until it returns non-null; fails after [DEADLINE_MS]. A real condition, never a fixed sleep. */
        fun <T : Any> awaitValue(what: String, probe: () -> T?): T = awaitValue({ what }, probe)

        /** [awaitValue] telling, on a time-out, what [what] says then. */
        fun <T : Any> awaitValue(what: () -> String, probe: () -> T?): T {
            val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS)
            while (true) {
                probe()?.let { return it }
                check(System.nanoTime() < deadline) { "timed out waiting for ${what()}" }
                Thread.sleep(20)
            }
        }

        /** Waits until the collector has stored [ids] (in any order). */
        fun awaitEvents(collector: Collector, ids: Collection<String>) {
            awaitValue("the collector to store $ids") {
                collector.events().map { it.getValue("id").jsonPrimitive.content }.takeIf { it.containsAll(ids) }
            }
        }

        /** A real TC string from tests/tcf-vectors (encoded and decoded by the IAB's own library). */
        fun tcfVector(name: String): String {
            val path: Path = Paths.get(System.getProperty("footfall.tcf.vectors") ?: error("footfall.tcf.vectors is not set"))
            val vectors = Json.parseToJsonElement(Files.readString(path)).jsonObject.getValue("vectors").jsonArray
            return vectors.map { it.jsonObject }
                .first { it.getValue("name").jsonPrimitive.content == name }
                .getValue("tc_string").jsonPrimitive.content
        }

        /** TCF import mode with nothing else changed. */
        val TCF_IMPORT = ConsentSettings(tcfImport = true, policyRefreshIntervalMs = 0)
    }
}
