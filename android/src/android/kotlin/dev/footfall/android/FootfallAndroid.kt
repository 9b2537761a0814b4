package dev.footfall.android

import android.content.Context
import android.util.Log
import androidx.annotation.VisibleForTesting
import dev.footfall.DeviceSigner
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.HttpTransport
import dev.footfall.KeyProvider
import dev.footfall.LogLevel
import dev.footfall.UrlConnectionTransport
import java.io.File

/**
 * The Footfall SDK set up the Android way: one instance for the process, its data under
 * `context.noBackupFilesDir/footfall` (never in a backup), a flush whenever the app goes to the background, a WorkManager upload that runs
 * once the network is there, even after the process died, a retry as soon as the network comes back ([NetworkWatcher]), and in TCF import mode the CMP's answer followed from
 * the default SharedPreferences ([TcfConsentBridge]).
 *
 * ```kotlin
 * class ShopApp : Application() {
 *     override fun onCreate() {
 *         super.onCreate()
 *         FootfallAndroid.init(this, endpoint = "https://collect.example.com", apiKey = BuildConfig.FOOTFALL_KEY)
 *     }
 * }
 * // anywhere later (consent is default-deny: grant from the prompt, in a coroutine)
 * FootfallAndroid.get().grant(listOf("analytics"), ConsentMethod.Prompt("default"))
 * FootfallAndroid.get().track("product_viewed", mapOf("sku" to "4901234567894"))
 * ```
 *
 * Call [init] from `Application.onCreate`: WorkManager starts the process for a pending upload through it too, so
 * [UploadWorker] finds the same instance (with the app's transport and limits) instead of opening its own.
 */
object FootfallAndroid {
    /** The directory under `noBackupFilesDir` that the SDK owns. */
    const val DIRECTORY_NAME = "footfall"

    private val lock = Any()

    @Volatile
    private var instance: Footfall? = null

    /** Kept for the life of the process: it holds the preferences listener strongly. */
    private var tcfBridge: TcfConsentBridge? = null

    /** The background flusher [init] installed, if any. */
    private var flusher: AppLifecycleFlusher? = null

    /** The network watcher [init] installed, if any. */
    private var networkWatcher: NetworkWatcher? = null

    /**
     * Creates the process-wide instance, or returns it when it already exists (the arguments are then ignored).
     * Does no disk or network I/O on the calling thread beyond resolving `noBackupFilesDir`; safe on the main
     * thread.
     *
     * @param context any context; only its application context is kept.
     * @param endpoint the collector's base URL (`https://…`); null records events without ever uploading them.
     * @param apiKey the write key sent as HTTP Basic credentials.
     * @param transport the app's HTTP client (e.g. OkHttp, see docs/android.md); null uses the platform's
     *   `HttpURLConnection` ([UrlConnectionTransport]): the AAR has no built-in HTTPS client.
     * @param flushOnBackground flush when the app goes to the background and schedule [UploadWorker] then.
     * @param deviceSigner the coupon wallet's device key: by default a [KeystoreDeviceSigner] (Android Keystore,
     *   created on the first presentation); null keeps a software key in the SDK's database. Used only when the
     *   configuration sets `walletKeyset`.
     * @param keyProvider the key store that wraps the key the SDK encrypts personal data on disk with: pass an
     *   [AndroidKeystoreKeyProvider] to keep it in Android Keystore (recommended; the same one on every start). Null
     *   keeps the wrapping key in a file next to the database. [UploadWorker], when it opens the SDK by itself, uses
     *   the same [AndroidKeystoreKeyProvider] alias.
     * @param configure adjusts the configuration (limits, flush policy, `appVersion`, `consent`, `walletKeyset`)
     *   before the SDK starts. With `consent.tcfImport` a [TcfConsentBridge] imports the CMP's TC string now and on
     *   every change.
     * @throws dev.footfall.FootfallException.Config when the configuration cannot work.
     */
    @JvmStatic
    @JvmOverloads
    fun init(
        context: Context,
        endpoint: String?,
        apiKey: String? = null,
        transport: HttpTransport? = null,
        flushOnBackground: Boolean = true,
        deviceSigner: DeviceSigner? = KeystoreDeviceSigner(),
        keyProvider: KeyProvider? = null,
        configure: (FootfallConfig) -> FootfallConfig = { it },
    ): Footfall {
        synchronized(lock) {
            instance?.let { return it }
            val app = context.applicationContext
            val config = configure(FootfallConfig(dataDir = dataDirectory(app).path, endpoint = endpoint, apiKey = apiKey))
            val footfall = Footfall(config, transport ?: UrlConnectionTransport(), deviceSigner, keyProvider)
            instance = footfall
            if (config.consent.tcfImport) {
                tcfBridge = TcfConsentBridge(app, footfall).also { it.start() }
            }
            val uploadEndpoint = config.endpoint
            if (uploadEndpoint != null) {
                networkWatcher = NetworkWatcher(app, footfall).also { it.install() }
            }
            if (flushOnBackground && uploadEndpoint != null) {
                val keystoreAlias = (keyProvider as? AndroidKeystoreKeyProvider)?.alias
                val settings =
                    UploadWorker.Settings(config.dataDir, uploadEndpoint, config.apiKey, config.consent.enforce, keystoreAlias)
                flusher = AppLifecycleFlusher(app, footfall, settings).also { it.install() }
            }
            return footfall
        }
    }

    /**
     * The instance created by [init].
     *
     * @throws IllegalStateException when [init] has not been called.
     */
    @JvmStatic
    fun get(): Footfall = instance ?: throw IllegalStateException("FootfallAndroid.init(context, …) has not been called")

    /** The instance created by [init], or null before it. */
    @JvmStatic
    fun getOrNull(): Footfall? = instance

    /**
     * Where [init] keeps the SDK's data: `context.noBackupFilesDir/footfall` (app-private, removed with the app).
     * Not `filesDir`, which Auto Backup copies: a restore onto another device would clone the anonymous id and
     * re-upload the queue from there, and a SQLite database copied file by file while in use may not open.
     */
    @JvmStatic
    fun dataDirectory(context: Context): File = File(context.noBackupFilesDir, DIRECTORY_NAME)

    /**
     * Tests only: stops the flusher and the TCF bridge, closes the instance and forgets it, so that the next [init]
     * starts afresh (a test process outlives many simulated app starts).
     */
    @VisibleForTesting
    internal fun resetForTesting() {
        synchronized(lock) {
            flusher?.uninstall()
            flusher = null
            networkWatcher?.uninstall()
            networkWatcher = null
            tcfBridge?.close()
            tcfBridge = null
            instance?.close()
            instance = null
        }
    }

    /**
     * Sends the SDK's log records at [level] and more severe to Logcat under [tag], for the whole process.
     * Records never contain event names, properties or user ids. `Footfall.setLogSink(sink = null)` stops it.
     */
    @JvmStatic
    @JvmOverloads
    fun logToLogcat(level: LogLevel = LogLevel.INFO, tag: String = "Footfall") {
        Footfall.setLogSink(level) { record ->
            Log.println(priorityOf(record.level), tag, "${record.target}: ${record.message}")
        }
    }

    private fun priorityOf(level: LogLevel): Int = when (level) {
        LogLevel.ERROR -> Log.ERROR
        LogLevel.WARN -> Log.WARN
        LogLevel.INFO -> Log.INFO
        LogLevel.DEBUG -> Log.DEBUG
        LogLevel.TRACE -> Log.VERBOSE
    }
}
