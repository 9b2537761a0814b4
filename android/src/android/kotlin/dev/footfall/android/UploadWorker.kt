package dev.footfall.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import androidx.work.workDataOf
import dev.footfall.ConsentSettings
import dev.footfall.FlushOutcome
import dev.footfall.FlushPolicy
import dev.footfall.FlushReport
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.FootfallException
import dev.footfall.UrlConnectionTransport
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Uploads what is queued once the device is online, with WorkManager's exponential backoff: for events that were
 * still queued when the app went to the background, including after the process was killed.
 *
 * It flushes the instance of [FootfallAndroid.init] when the process has one (the usual case: WorkManager starts
 * the process through `Application.onCreate`). Otherwise it opens the SDK on [Settings.dataDir] with default
 * limits, the platform's [UrlConnectionTransport], the app's consent enforcement, the app's
 * [AndroidKeystoreKeyProvider] ([Settings.keystoreAlias]) and no policy fetch, flushes and closes it (only what
 * consent allows is uploaded, as always). An app that passed another kind of key provider to [FootfallAndroid.init]
 * must call it from `Application.onCreate`: the worker cannot rebuild that provider, and the database refuses the
 * default key file (the work fails; the data stays queued for the next upload).
 *
 * Outcome mapping: drained → success; a transient failure (network, 5xx, 429, a busy database) → retry with
 * backoff; uploads paused by the server (401/403/404) → success, since retrying cannot help until the app fixes
 * its credentials (the data stays queued); a configuration that cannot work → failure.
 */
class UploadWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    /** What the worker needs to open the SDK by itself; carried in the work request's input data. */
    data class Settings(
        /** The SDK's data directory. */
        val dataDir: String,
        /** The collector's base URL. */
        val endpoint: String,
        /** The write key, stored in WorkManager's database with the request. */
        val apiKey: String?,
        /** [dev.footfall.ConsentSettings.enforce] of the app's instance, so the worker gates uploads the same way. */
        val enforceConsent: Boolean = true,
        /** The alias of the app's [AndroidKeystoreKeyProvider], so the worker opens the database with the same key;
         *  null for the default key file. */
        val keystoreAlias: String? = null,
    )

    /** Flushes and maps the report to a WorkManager result. */
    override suspend fun doWork(): Result = try {
        val shared = FootfallAndroid.getOrNull()
        val report = shared?.flush() ?: flushOwnInstance()
        when (report.outcome) {
            is FlushOutcome.Drained -> Result.success()
            is FlushOutcome.RetryLater -> Result.retry()
            // The server's Retry-After: nothing is sent until it ends (the SDK keeps it across relaunches), so
            // WorkManager's backoff brings the job back; each early run sends nothing.
            is FlushOutcome.Held -> Result.retry()
            is FlushOutcome.Paused -> Result.success()
        }
    } catch (e: FootfallException.Config) {
        Result.failure()
    } catch (e: FootfallException.InvalidInput) {
        Result.failure()
    } catch (e: FootfallException) {
        if (runAttemptCount < MAX_ATTEMPTS) Result.retry() else Result.failure()
    }

    private suspend fun flushOwnInstance(): FlushReport {
        val endpoint = inputData.getString(KEY_ENDPOINT)
            ?: throw FootfallException.Config("the upload request carries no endpoint")
        val config = FootfallConfig(
            dataDir = inputData.getString(KEY_DATA_DIR) ?: FootfallAndroid.dataDirectory(applicationContext).path,
            endpoint = endpoint,
            apiKey = inputData.getString(KEY_API_KEY),
            flushPolicy = FlushPolicy(automatic = false),
            // Short-lived: no policy fetch; decisions come from the consent log on disk.
            consent = ConsentSettings(enforce = inputData.getBoolean(KEY_ENFORCE_CONSENT, true), policyRefreshIntervalMs = 0),
        )
        val keyProvider = inputData.getString(KEY_KEYSTORE_ALIAS)?.let { AndroidKeystoreKeyProvider(alias = it) }
        // On the IO dispatcher, not the worker's: a dispatcher that runs tasks inline (WorkManager's
        // SynchronousExecutor in app tests, Dispatchers.Unconfined) resumes after flush() on the SDK's own upload
        // thread, and close() there cannot join that thread (InternalException: "Resource deadlock avoided"),
        // which failed the work instead of succeeding or retrying.
        return withContext(Dispatchers.IO) {
            Footfall(config, UrlConnectionTransport(), keyProvider = keyProvider).use { it.flush() }
        }
    }

    companion object {
        /** The unique work name: at most one upload is pending at a time. */
        const val UNIQUE_WORK_NAME = "dev.footfall.upload"

        /** Attempts before a repeatedly failing upload gives up (the data stays queued for the next one). */
        const val MAX_ATTEMPTS = 10

        private const val BACKOFF_SECONDS = 30L
        private const val KEY_DATA_DIR = "dataDir"
        private const val KEY_ENDPOINT = "endpoint"
        private const val KEY_API_KEY = "apiKey"
        private const val KEY_ENFORCE_CONSENT = "enforceConsent"
        private const val KEY_KEYSTORE_ALIAS = "keystoreAlias"

        /**
         * Schedules an upload for when the network is connected, unless one is already pending (the pending one
         * uploads everything queued by then anyway).
         */
        @JvmStatic
        fun enqueue(context: Context, settings: Settings) {
            val request = OneTimeWorkRequestBuilder<UploadWorker>()
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BACKOFF_SECONDS, TimeUnit.SECONDS)
                .setInputData(
                    workDataOf(
                        KEY_DATA_DIR to settings.dataDir,
                        KEY_ENDPOINT to settings.endpoint,
                        KEY_API_KEY to settings.apiKey,
                        KEY_ENFORCE_CONSENT to settings.enforceConsent,
                        KEY_KEYSTORE_ALIAS to settings.keystoreAlias,
                    ),
                )
                .build()
            WorkManager.getInstance(context).enqueueUniqueWork(UNIQUE_WORK_NAME, ExistingWorkPolicy.KEEP, request)
        }
    }
}
