package dev.footfall.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.UserNotAuthenticatedException
import dev.footfall.KeyProvider
import dev.footfall.KeyProviderException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The SDK's data key wrapped by an AES-256-GCM key in Android Keystore, so the key that opens the data on disk
 * never leaves the keystore (the TEE, or StrongBox where the device has one and [preferStrongBox] is set) nor the
 * device: a copy of the app's files (a backup, a device-to-device transfer) cannot be read elsewhere. Pass it to
 * [FootfallAndroid.init] or to `Footfall(config, keyProvider = …)`, the same alias on every start.
 *
 * The key is created on the first [wrap] under [alias] (`PURPOSE_ENCRYPT | PURPOSE_DECRYPT`, GCM, no padding,
 * randomized encryption: the keystore picks each IV). It does not require an unlocked device nor user
 * authentication, so uploads in the background (WorkManager, a locked screen) still open the queue. Wrapped:
 * `IV (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`, the additional data `footfall/data-key/v1`.
 *
 * What the SDK is told when the keystore fails:
 * - [KeyProviderException.Lost] when the key is certainly gone: no key under [alias] while a wrapped key exists
 *   (app data restored on another device, keystore wiped), [KeyPermanentlyInvalidatedException], or a wrapped key
 *   this key does not open. The SDK then starts its sealed data over (counted in `Status.keyResets`);
 * - [KeyProviderException.Unavailable] for everything else: [UserNotAuthenticatedException], a busy or failing
 *   keystore, a device without one. The SDK retries the open and deletes nothing.
 *
 * [storeName] is `android-keystore` whether the key landed in StrongBox or the TEE: the SDK stores the name with
 * the wrapped key and refuses a database sealed under another, so it must not depend on the hardware (a StrongBox
 * refusal falls back to the TEE) or on [preferStrongBox].
 *
 * Not run here: the project's tests run on the JVM under Robolectric, which has no Android Keystore provider. What
 * is tested is the wrapping format ([GcmWrapping]) with a JVM AES key, the mapping of keystore failures
 * ([keystoreFailure]), and that a device without a keystore is `Unavailable`, never `Lost`. A StrongBox key costs
 * tens to hundreds of milliseconds per use; the SDK uses it once per start, on its writer thread.
 */
class AndroidKeystoreKeyProvider @JvmOverloads constructor(
    /** The keystore alias of the wrapping key. */
    val alias: String = DEFAULT_ALIAS,
    /** Ask for StrongBox when the key is created (API 28+), falling back to the TEE where it is refused. */
    private val preferStrongBox: Boolean = true,
) : KeyProvider {
    override val storeName: String get() = STORE_NAME

    override fun wrap(dataKey: ByteArray): ByteArray = keystoreCall { GcmWrapping.wrap(existingKey() ?: createKey(), dataKey) }

    override fun unwrap(wrapped: ByteArray): ByteArray = keystoreCall {
        val key = existingKey()
            ?: throw KeyProviderException.Lost("no key under the alias '$alias' in Android Keystore (restored on another device, or the keystore was wiped)")
        GcmWrapping.unwrap(key, wrapped)
    }

    private fun existingKey(): SecretKey? {
        val store = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        return store.getKey(alias, null) as? SecretKey
    }

    /** Creates the key unless another thread just did: two keys under one alias would make the first wrap lost. */
    private fun createKey(): SecretKey = synchronized(CREATION_LOCK) {
        existingKey() ?: run {
            generate(strongBox = preferStrongBox)
            existingKey() ?: throw KeyProviderException.Unavailable("Android Keystore made no key under '$alias'")
        }
    }

    private fun generate(strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setKeySize(256)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setRandomizedEncryptionRequired(true)
            // Not setUnlockedDeviceRequired nor setUserAuthenticationRequired: the queue must open for a background
            // upload while the screen is locked.
            .apply { if (strongBox && Build.VERSION.SDK_INT >= 28) setIsStrongBoxBacked(true) }
            .build()
        try {
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE).run {
                init(spec)
                generateKey()
            }
        } catch (e: ProviderException) {
            // StrongBox refused (StrongBoxUnavailableException: absent, or busy): the TEE still keeps the key.
            if (!strongBox) throw e
            generate(strongBox = false)
        }
    }

    private inline fun keystoreCall(block: () -> ByteArray): ByteArray =
        try {
            block()
        } catch (e: Exception) {
            throw keystoreFailure(e)
        }

    companion object {
        /** The keystore alias of the wrapping key unless another is given. */
        const val DEFAULT_ALIAS = "dev.footfall.data-key-wrap"

        /** What the SDK stores as the key store's name ([KeyProvider.storeName]). */
        const val STORE_NAME = "android-keystore"

        private const val ANDROID_KEYSTORE = "AndroidKeyStore"

        /** One key created at a time in the process, whichever provider instance asks. */
        private val CREATION_LOCK = Any()
    }
}

/**
 * What the SDK is told about a keystore failure: [KeyProviderException.Lost] only when the key is certainly gone
 * ([KeyPermanentlyInvalidatedException]; the provider's own `Lost`s pass through), else
 * [KeyProviderException.Unavailable], so the SDK retries and deletes nothing.
 */
internal fun keystoreFailure(e: Exception): KeyProviderException = when (e) {
    is KeyProviderException -> e
    is KeyPermanentlyInvalidatedException -> KeyProviderException.Lost("the Android Keystore key was permanently invalidated", e)
    is UserNotAuthenticatedException -> KeyProviderException.Unavailable("the Android Keystore key needs the user to authenticate", e)
    else -> KeyProviderException.Unavailable("Android Keystore failed: ${e.javaClass.simpleName}: ${e.message}", e)
}

/**
 * The wrapping format over any AES key: `IV ‖ ciphertext ‖ tag`, AES-GCM with a 128-bit tag, the IV chosen by the
 * cipher (Android Keystore refuses one from the caller when randomized encryption is required).
 */
internal object GcmWrapping {
    const val IV_BYTES = 12
    private const val TAG_BITS = 128
    private const val TRANSFORMATION = "AES/GCM/NoPadding"
    private val AAD = "footfall/data-key/v1".toByteArray()

    fun wrap(key: SecretKey, dataKey: ByteArray): ByteArray {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, key)
        cipher.updateAAD(AAD)
        val sealed = cipher.doFinal(dataKey)
        val iv = cipher.iv
        check(iv != null && iv.size == IV_BYTES) { "AES-GCM gave an IV of ${iv?.size} bytes, not $IV_BYTES" }
        return iv + sealed
    }

    fun unwrap(key: SecretKey, wrapped: ByteArray): ByteArray {
        if (wrapped.size < IV_BYTES + TAG_BITS / 8) {
            throw KeyProviderException.Lost("the wrapped data key is damaged (${wrapped.size} bytes)")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, wrapped, 0, IV_BYTES))
        cipher.updateAAD(AAD)
        return try {
            cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
        } catch (e: AEADBadTagException) {
            // Another key under the alias (made after a wipe), or altered bytes: this data key cannot be had again.
            throw KeyProviderException.Lost("the Android Keystore key does not open the stored data key", e)
        }
    }
}
