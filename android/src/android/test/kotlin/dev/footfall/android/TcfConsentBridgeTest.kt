package dev.footfall.android

import android.content.SharedPreferences
import android.preference.PreferenceManager
import dev.footfall.ConsentMethod
import dev.footfall.ConsentStatus
import dev.footfall.Footfall
import dev.footfall.FootfallConfig
import dev.footfall.purpose
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * TCF import mode on the app's real default SharedPreferences, written the way a CMP writes them. Robolectric's
 * SharedPreferences are the framework's own implementation (SharedPreferencesImpl), listeners included.
 */
@Suppress("DEPRECATION") // android.preference.PreferenceManager: what CMPs use to find the default preferences
class TcfConsentBridgeTest : AndroidLayerTest() {
    private val everything = tcfVector("core-range-vendors") // TCF purposes 1–11 consented
    private val nothing = tcfVector("core-minimal") // no consent

    private val cmpPreferences: SharedPreferences get() = PreferenceManager.getDefaultSharedPreferences(app)

    private fun initWithTcf(): Footfall =
        FootfallAndroid.init(app, endpoint = null, configure = { manual(it.copy(consent = TCF_IMPORT)) })

    /** Waits until the consent status the SDK publishes satisfies [condition]. */
    private fun Footfall.awaitConsent(condition: (ConsentStatus) -> Boolean): ConsentStatus = runBlocking {
        withTimeout(20_000) { consent.first { it != null && condition(it) }!! }
    }

    private fun ConsentStatus.allowed(purpose: String) = purpose(purpose)?.allowed == true

    @Test
    fun `a CMP writing its TC string decides Footfall's consent, and removing it withdraws`() {
        val footfall = initWithTcf()
        footfall.awaitConsent { true }
        assertFalse(runBlocking { footfall.isAllowed("analytics") })

        // The CMP stores the shopper's answer (on the main thread, as CMP SDKs do).
        cmpPreferences.edit().putString("IABTCF_TCString", everything).putInt("IABTCF_gdprApplies", 1).apply()
        idleMainLooper()
        val granted = footfall.awaitConsent { it.allowed("analytics") }
        assertTrue(granted.allowed("personalization"))
        assertTrue(granted.allowed("marketing"))
        assertFalse(granted.allowed("location")) // needs special feature 1, which this string does not opt in
        val imported = runBlocking { footfall.consentLog() }.records.last()
        assertTrue(imported.method is ConsentMethod.TcfImport)

        // The shopper withdraws everything in the CMP.
        cmpPreferences.edit().putString("IABTCF_TCString", nothing).apply()
        idleMainLooper()
        footfall.awaitConsent { !it.allowed("analytics") && !it.allowed("marketing") }

        cmpPreferences.edit().putString("IABTCF_TCString", everything).apply()
        idleMainLooper()
        footfall.awaitConsent { it.allowed("analytics") }
        // The CMP resets: the string is removed, and what it had granted is withdrawn.
        cmpPreferences.edit().remove("IABTCF_TCString").apply()
        idleMainLooper()
        footfall.awaitConsent { !it.allowed("analytics") }
        assertTrue(runBlocking { footfall.consentLog() }.verified)
    }

    @Test
    fun `the answer stored before the app started is imported at start`() {
        // gdprApplies written as a String by some CMPs: tolerated.
        cmpPreferences.edit().putString("IABTCF_TCString", everything).putString("IABTCF_gdprApplies", "1").commit()
        val footfall = initWithTcf()
        footfall.awaitConsent { it.allowed("analytics") }
    }

    @Test
    fun `outside GDPR the CMP's string is not imported`() {
        cmpPreferences.edit().putString("IABTCF_TCString", everything).putInt("IABTCF_gdprApplies", 0).commit()
        val config = manual(FootfallConfig(dataDir = tmp.newFolder("sdk").path, endpoint = null, consent = TCF_IMPORT))
        Footfall(config).use { footfall ->
            TcfConsentBridge(app, footfall).use { bridge ->
                bridge.start()
                awaitValue("the first import") { bridge.completedImports.get().takeIf { it >= 1 } }
                assertFalse(runBlocking { footfall.isAllowed("analytics") })
                assertTrue(runBlocking { footfall.consentLog() }.records.none { it.method is ConsentMethod.TcfImport })

                // The CMP learns that GDPR applies: now the string counts.
                cmpPreferences.edit().putInt("IABTCF_gdprApplies", 1).apply()
                idleMainLooper()
                footfall.awaitConsent { it.allowed("analytics") }
            }
        }
    }

    @Test
    fun `clearing the preferences withdraws what the CMP had granted`() {
        val footfall = initWithTcf()
        cmpPreferences.edit().putString("IABTCF_TCString", everything).putInt("IABTCF_gdprApplies", 1).apply()
        idleMainLooper()
        footfall.awaitConsent { it.allowed("analytics") }
        // Android 11+ tells listeners of clear() with a null key.
        cmpPreferences.edit().clear().apply()
        idleMainLooper()
        footfall.awaitConsent { !it.allowed("analytics") }
    }
}
