package dev.footfall.android

import android.content.Context
import android.content.SharedPreferences
import android.util.Log
import androidx.annotation.VisibleForTesting
import dev.footfall.Footfall
import dev.footfall.FootfallException
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * TCF import mode on Android: hands the CMP's answer to [Footfall.importTcf]. IAB TCF v2.2 CMPs (OneTrust,
 * Didomi, Usercentrics, …) store it in the app's default SharedPreferences as `IABTCF_TCString` and
 * `IABTCF_gdprApplies` (1: GDPR applies, 0: it does not, absent: unknown). The bridge imports them at [start] and
 * again whenever the CMP changes them, always off the main thread; importing the same answer twice records
 * nothing, so spurious notifications are harmless.
 *
 * [FootfallAndroid.init] installs one when `consent.tcfImport` is true; create your own only when you manage the
 * [Footfall] instance yourself (it must be configured with `ConsentSettings(tcfImport = true)`).
 *
 * @param context any context; only its application context is kept.
 * @param footfall the instance to import into.
 * @param onError told when an import fails (an undecodable TC string: the last answer stays; [FootfallException.Closed]
 *   after the instance closed), on the IO dispatcher. By default it logs a warning under the tag `Footfall`.
 */
class TcfConsentBridge @JvmOverloads constructor(
    context: Context,
    private val footfall: Footfall,
    private val onError: (FootfallException) -> Unit = { Log.w(TAG, "TCF import failed: ${it.message}") },
) : AutoCloseable {
    /** Where imports run: one at a time, each reading the preferences as they are then. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    private val appContext: Context = context.applicationContext

    /**
     * The default SharedPreferences, as `PreferenceManager.getDefaultSharedPreferences` opens them. Opened and
     * read on the IO dispatcher only: opening may create the preferences directory, reading waits for the load.
     */
    private val preferences: SharedPreferences by lazy {
        appContext.getSharedPreferences(appContext.packageName + "_preferences", Context.MODE_PRIVATE)
    }

    /** Guards [closed] and [registered] against a registration racing [close]. */
    private val lock = Any()
    private var closed = false
    private var registered: SharedPreferences? = null

    /** One import at a time, so an older read can never be applied after a newer one. */
    private val importing = Mutex()

    /** Held here: SharedPreferences keeps its listeners only weakly. Called on the main thread. */
    private val listener = SharedPreferences.OnSharedPreferenceChangeListener { _, key ->
        // A null key: the preferences were cleared (Android 11+), which may have removed the string.
        if (key == null || key == KEY_TC_STRING || key == KEY_GDPR_APPLIES) importNow()
    }

    /** Imports the current answer and follows changes until [close]. Returns at once; the work runs on the IO
     *  dispatcher. */
    fun start() {
        scope.launch {
            val opened = preferences
            synchronized(lock) {
                if (closed) return@launch
                // Before the first read, so no change can fall between the two.
                opened.registerOnSharedPreferenceChangeListener(listener)
                registered = opened
            }
            importNow()
        }
    }

    /** Stops following the CMP; an import in progress completes. */
    override fun close() {
        val opened = synchronized(lock) {
            if (closed) return
            closed = true
            registered.also { registered = null }
        }
        scope.cancel()
        opened?.unregisterOnSharedPreferenceChangeListener(listener)
    }

    /** Imports finished (applied, unchanged, skipped or failed): lets tests wait for one without sleeping. */
    @VisibleForTesting
    internal val completedImports = AtomicInteger()

    private fun importNow() {
        scope.launch {
            importing.withLock {
                try {
                    importCurrent()
                } finally {
                    completedImports.incrementAndGet()
                }
            }
        }
    }

    private suspend fun importCurrent() {
        val tcString = try {
            preferences.getString(KEY_TC_STRING, null)
        } catch (e: ClassCastException) {
            // Not a string: not something to withdraw consent over; keep the last answer.
            Log.w(TAG, "$KEY_TC_STRING is not a string; not imported")
            return
        }
        try {
            footfall.importTcf(tcString, gdprApplies())
        } catch (e: FootfallException) {
            onError(e)
        }
    }

    /** The IAB says an Int; tolerate CMPs that wrote it as a String. Absent or anything else: unknown. */
    private fun gdprApplies(): Boolean? {
        if (!preferences.contains(KEY_GDPR_APPLIES)) return null
        return try {
            preferences.getInt(KEY_GDPR_APPLIES, -1).toGdprApplies()
        } catch (e: ClassCastException) {
            try {
                preferences.getString(KEY_GDPR_APPLIES, null)?.trim()?.toIntOrNull()?.toGdprApplies()
            } catch (e: ClassCastException) {
                null
            }
        }
    }

    private fun Int.toGdprApplies(): Boolean? = when (this) {
        1 -> true
        0 -> false
        else -> null
    }

    companion object {
        /** The CMP's TC string (IAB TCF v2.2, "In-App Details"). */
        const val KEY_TC_STRING = "IABTCF_TCString"

        /** 1 when GDPR applies to the user, 0 when it does not; unset when the CMP does not know yet. */
        const val KEY_GDPR_APPLIES = "IABTCF_gdprApplies"

        private const val TAG = "Footfall"
    }
}
