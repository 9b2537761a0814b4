package dev.footfall

import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import kotlin.io.path.isRegularFile
import kotlin.io.path.readBytes
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * Encryption at rest with the app's own [KeyProvider], through the real native library: the key the data is sealed
 * under is wrapped by Kotlin code (AES-GCM from javax.crypto, the key in memory, as Android Keystore would do it in
 * hardware), a lost key is a counted reset, and an unavailable one is retried without one.
 */
class KeyProviderTest {
    @TempDir
    lateinit var tmp: Path

    /** AES-256-GCM under [key] (IV ‖ ciphertext ‖ tag), counting calls; [failures] are thrown by `unwrap` first. */
    private class GcmKeyProvider(
        private val key: SecretKey,
        override val storeName: String = "test-gcm",
        failures: List<Exception> = emptyList(),
    ) : KeyProvider {
        val wraps = AtomicInteger()
        val unwraps = AtomicInteger()
        private val script = ArrayDeque(failures)

        override fun wrap(dataKey: ByteArray): ByteArray {
            wraps.incrementAndGet()
            val iv = ByteArray(12).also { SecureRandom().nextBytes(it) }
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
            return iv + cipher.doFinal(dataKey)
        }

        override fun unwrap(wrapped: ByteArray): ByteArray {
            unwraps.incrementAndGet()
            synchronized(script) { script.removeFirstOrNull() }?.let { throw it }
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped, 0, 12))
            return try {
                cipher.doFinal(wrapped, 12, wrapped.size - 12)
            } catch (e: AEADBadTagException) {
                throw KeyProviderException.Lost("this key does not open the data key", e)
            }
        }
    }

    private val key: SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    private val config get() = testConfig(tmp, endpoint = null)

    private val sdkDir: Path get() = Path.of(config.dataDir)

    /** Tracks a product view with a recognisable SKU and identifies a shopper under [provider], then closes. */
    private suspend fun sealSome(provider: KeyProvider) {
        Footfall(config, keyProvider = provider).use { footfall ->
            footfall.grantAnalytics()
            footfall.track("product_viewed", mapOf("sku" to SECRET_SKU))
            footfall.identify("shopper-42")
            footfall.flushToDisk()
        }
    }

    @Test
    fun `data sealed under the app's provider reads back after a restart, the data key wrapped once`() = runBlocking {
        val provider = GcmKeyProvider(key)
        sealSome(provider)
        assertEquals(1, provider.wraps.get(), "one data key, wrapped once")
        assertEquals(0, provider.unwraps.get())
        assertFalse(Files.exists(sdkDir.resolve("footfall.key")), "no key file: the app's provider holds the key")
        val files = Files.walk(sdkDir).use { paths -> paths.filter { it.isRegularFile() }.toList() }
        val clear = files.filter { String(it.readBytes(), Charsets.ISO_8859_1).contains(SECRET_SKU) }
        assertEquals(emptyList<Path>(), clear, "the SKU is nowhere on disk in clear")

        Footfall(config, keyProvider = provider).use { footfall ->
            val export = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals(SECRET_SKU, export.array("events").first().jsonObject.obj("properties").text("sku"))
            assertEquals("shopper-42", export.text("userId"))
            val status = footfall.status()
            assertEquals(2L, status.pending)
            assertEquals(0L, status.keyResets)
            assertEquals(0L, status.unreadableValues)
        }
        assertEquals(1, provider.wraps.get(), "the stored data key is reused, not replaced")
        assertEquals(1, provider.unwraps.get(), "unwrapped once, at the reopen")
    }

    @Test
    fun `rotating the key re-encrypts under a new data key the provider wraps, and everything reads back`() = runBlocking {
        val provider = GcmKeyProvider(key)
        sealSome(provider)
        Footfall(config, keyProvider = provider).use { footfall ->
            assertEquals(2L, footfall.rotateEncryptionKey(), "the second data key")
        }
        assertEquals(2, provider.wraps.get(), "the new data key was wrapped by the provider")
        Footfall(config, keyProvider = provider).use { footfall ->
            val export = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals(SECRET_SKU, export.array("events").first().jsonObject.obj("properties").text("sku"))
            assertEquals("shopper-42", export.text("userId"))
            assertEquals(0L, footfall.status().unreadableValues)
        }
    }

    @Test
    fun `a key the provider reports lost starts the sealed data over, counted in keyResets`() = runBlocking {
        sealSome(GcmKeyProvider(key))

        val lost = GcmKeyProvider(key, failures = listOf(KeyProviderException.Lost("KeyPermanentlyInvalidatedException")))
        Footfall(config, keyProvider = lost).use { footfall ->
            val status = footfall.status()
            assertEquals(0L, status.pending, "the queued events could not be read again: gone")
            assertEquals(1L, status.keyResets)
            val export = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals(0, export.array("events").size)
            assertNull(export.text("userId"))
            assertEquals(1, lost.wraps.get(), "a new data key, wrapped by the same provider")
            footfall.track("after_reset")
        }
        // The new key is in force: what was tracked after the reset reads back, and the reset is not repeated.
        Footfall(config, keyProvider = GcmKeyProvider(key)).use { footfall ->
            val status = footfall.status()
            assertEquals(1L, status.pending)
            assertEquals(1L, status.keyResets)
        }
    }

    @Test
    fun `an unavailable key, or anything else the provider throws, is retried and resets nothing`() = runBlocking {
        sealSome(GcmKeyProvider(key))

        // A surprise first, then a locked device; the writer retries the open (after 50, then 100 ms) and the
        // third unwrap works. status() waits for the open: no sleep here.
        val locked = GcmKeyProvider(
            key,
            failures = listOf(IllegalStateException("keystore busy"), KeyProviderException.Unavailable("device locked")),
        )
        Footfall(config, keyProvider = locked).use { footfall ->
            val status = footfall.status()
            assertEquals(2L, status.pending, "everything sealed before is still there")
            assertEquals(0L, status.keyResets)
            assertEquals(3, locked.unwraps.get())
            assertEquals(0, locked.wraps.get(), "no new data key")
            val export = Json.parseToJsonElement(footfall.exportData()).jsonObject
            assertEquals("shopper-42", export.text("userId"))
        }
    }

    @Test
    fun `a database sealed under one key store is refused by another, never taken for a lost key`() = runBlocking {
        sealSome(GcmKeyProvider(key))

        val other = GcmKeyProvider(key, storeName = "another-store")
        Footfall(config, keyProvider = other).use { footfall ->
            val e = assertThrows<FootfallException.Config> { footfall.status() }
            assertTrue(e.message!!.contains("'test-gcm', not 'another-store'"), e.message)
        }
        assertEquals(0, other.unwraps.get())
        Footfall(config, keyProvider = GcmKeyProvider(key)).use { footfall ->
            assertEquals(2L, footfall.status().pending)
        }
    }

    private companion object {
        const val SECRET_SKU = "secret-sku-4901234567894"
    }
}
