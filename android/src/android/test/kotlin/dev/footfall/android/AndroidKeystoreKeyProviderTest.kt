package dev.footfall.android

import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.UserNotAuthenticatedException
import dev.footfall.Footfall
import dev.footfall.KeyProvider
import dev.footfall.KeyProviderException
import java.security.KeyStoreException
import java.security.ProviderException
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertSame
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * [AndroidKeystoreKeyProvider] as far as it runs without Android Keystore, which Robolectric does not have: its
 * wrapping format with a JVM AES key, how keystore failures are classified, that a missing keystore is never taken
 * for a lost key, and the provider passed through [FootfallAndroid.init]. The keystore itself is not run here.
 */
class AndroidKeystoreKeyProviderTest : AndroidLayerTest() {
    private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @Test
    fun `the data key is wrapped as IV, ciphertext and tag, and opens only under its key`() {
        val key = aesKey()
        val dataKey = ByteArray(32) { it.toByte() }
        val wrapped = GcmWrapping.wrap(key, dataKey)
        assertEquals(GcmWrapping.IV_BYTES + 32 + 16, wrapped.size)
        assertFalse("a fresh IV each time", wrapped.contentEquals(GcmWrapping.wrap(key, dataKey)))
        assertArrayEquals(dataKey, GcmWrapping.unwrap(key, wrapped))

        // Another key under the alias (made after a wipe), an altered byte, a truncated value: gone for good.
        assertThrows(KeyProviderException.Lost::class.java) { GcmWrapping.unwrap(aesKey(), wrapped) }
        val flipped = wrapped.copyOf().also { it[20] = (it[20].toInt() xor 1).toByte() }
        assertThrows(KeyProviderException.Lost::class.java) { GcmWrapping.unwrap(key, flipped) }
        assertThrows(KeyProviderException.Lost::class.java) { GcmWrapping.unwrap(key, wrapped.copyOf(20)) }
    }

    @Test
    fun `only an invalidated key is lost, every other keystore failure is unavailable`() {
        assertTrue(keystoreFailure(KeyPermanentlyInvalidatedException()) is KeyProviderException.Lost)
        assertTrue(keystoreFailure(UserNotAuthenticatedException()) is KeyProviderException.Unavailable)
        assertTrue(keystoreFailure(KeyStoreException("AndroidKeyStore not found")) is KeyProviderException.Unavailable)
        assertTrue(keystoreFailure(ProviderException("Keystore operation failed")) is KeyProviderException.Unavailable)
        val lost = KeyProviderException.Lost("no key under the alias")
        assertSame(lost, keystoreFailure(lost))
    }

    @Test
    fun `where there is no Android Keystore, wrapping and unwrapping are unavailable, never lost`() {
        val provider = AndroidKeystoreKeyProvider(alias = "test-wrap-key")
        assertEquals("android-keystore", provider.storeName)
        assertThrows(KeyProviderException.Unavailable::class.java) { provider.wrap(ByteArray(32)) }
        assertThrows(KeyProviderException.Unavailable::class.java) { provider.unwrap(ByteArray(60)) }
    }

    @Test
    fun `init passes the key provider to the SDK, which opens its data with it after a restart`() {
        // The Keystore provider's format over a JVM key: what AndroidKeystoreKeyProvider does, but for the key's home.
        val key = aesKey()
        val wraps = AtomicInteger()
        val unwraps = AtomicInteger()
        val provider = object : KeyProvider {
            override val storeName = AndroidKeystoreKeyProvider.STORE_NAME

            override fun wrap(dataKey: ByteArray) = GcmWrapping.wrap(key, dataKey).also { wraps.incrementAndGet() }

            override fun unwrap(wrapped: ByteArray) = GcmWrapping.unwrap(key, wrapped).also { unwraps.incrementAndGet() }
        }
        val first = FootfallAndroid.init(app, endpoint = null, keyProvider = provider, configure = ::manual)
        runBlocking { first.grant(listOf(Footfall.DEFAULT_PURPOSE)) }
        first.track("product_viewed", mapOf("sku" to "4901234567894"))
        first.flushToDisk()
        assertEquals(1, wraps.get())
        assertFalse(FootfallAndroid.dataDirectory(app).resolve("footfall.key").exists())
        FootfallAndroid.resetForTesting()

        val second = FootfallAndroid.init(app, endpoint = null, keyProvider = provider, configure = ::manual)
        val status = second.status()
        assertEquals(1L, status.pending)
        assertEquals(0L, status.keyResets)
        assertEquals(1, unwraps.get())
        assertTrue(runBlocking { second.exportData() }.contains("4901234567894"))
    }
}
