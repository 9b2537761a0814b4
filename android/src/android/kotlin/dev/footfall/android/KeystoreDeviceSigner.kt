package dev.footfall.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.footfall.DeviceSigner
import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/**
 * The wallet's device key in Android Keystore: a P-256 key created on first use under [alias], whose private half
 * never leaves the keystore (the TEE, or StrongBox where the device has one and [preferStrongBox] is set). Pass it
 * to [FootfallAndroid.init] (the default there) or to `Footfall(config, deviceSigner = …)`.
 *
 * Not run here: the project's tests run on the JVM under Robolectric, which has no Android Keystore, so what is
 * tested is the encoding of keys and signatures ([P256Encoding]) with a JVM key, up to a code the issuer accepts. Creating the key takes tens of milliseconds
 * (StrongBox: longer), signing a few: the SDK calls it off the main thread.
 */
class KeystoreDeviceSigner @JvmOverloads constructor(
    private val alias: String = DEFAULT_ALIAS,
    private val preferStrongBox: Boolean = false,
) : DeviceSigner {
    private val lock = Any()

    /** Loaded on first use, so constructing one (as [FootfallAndroid.init] does) touches no keystore. */
    private var keyStore: KeyStore? = null

    override fun publicKey(): ByteArray {
        val certificate = entry().certificate
        return P256Encoding.uncompressedPoint(certificate.publicKey as ECPublicKey)
    }

    override fun sign(message: ByteArray): ByteArray = P256Encoding.sign(entry().privateKey, message)

    /** The key pair under [alias], created the first time. */
    private fun entry(): KeyStore.PrivateKeyEntry {
        synchronized(lock) {
            val store = keyStore ?: KeyStore.getInstance(ANDROID_KEYSTORE).also { it.load(null); keyStore = it }
            (store.getEntry(alias, null) as? KeyStore.PrivateKeyEntry)?.let { return it }
            generate(strongBox = preferStrongBox)
            return store.getEntry(alias, null) as KeyStore.PrivateKeyEntry
        }
    }

    private fun generate(strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .apply { if (strongBox && android.os.Build.VERSION.SDK_INT >= 28) setIsStrongBoxBacked(true) }
            .build()
        try {
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, ANDROID_KEYSTORE).run {
                initialize(spec)
                generateKeyPair()
            }
        } catch (e: java.security.ProviderException) {
            // StrongBox refused (absent, or no P-256 there): the TEE still keeps the key out of the app's reach.
            if (!strongBox) throw e
            generate(strongBox = false)
        }
    }

    companion object {
        /** The keystore alias of the wallet's key unless another is given. */
        const val DEFAULT_ALIAS = "dev.footfall.wallet.device-key"

        private const val ANDROID_KEYSTORE = "AndroidKeyStore"
    }
}

/** What the SDK expects from a P-256 signer, from what Java's security APIs produce. */
internal object P256Encoding {
    private const val COORDINATE_BYTES = 32

    /** ECDSA P-256 with SHA-256 over [message] as `r ‖ s`: Android Keystore signs only in DER. */
    fun sign(key: PrivateKey, message: ByteArray): ByteArray {
        val signature = Signature.getInstance("SHA256withECDSA")
        signature.initSign(key)
        signature.update(message)
        return derToRaw(signature.sign())
    }

    /** `0x04 ‖ x ‖ y`, each coordinate left-padded to 32 bytes. */
    fun uncompressedPoint(key: ECPublicKey): ByteArray =
        byteArrayOf(0x04) + fixed(key.w.affineX) + fixed(key.w.affineY)

    /**
     * `r ‖ s` (32 bytes each) from the DER `SEQUENCE { INTEGER r, INTEGER s }` that `SHA256withECDSA` returns,
     * where each integer is minimal: shorter than 32 bytes, or 33 with a leading zero when its top bit is set.
     */
    fun derToRaw(der: ByteArray): ByteArray {
        var at = 0
        fun byte(): Int = der.getOrNull(at++)?.toInt()?.and(0xff) ?: throw IllegalArgumentException("truncated ECDSA signature")
        fun length(): Int = byte().let { if (it == 0x81) byte() else it }
        fun integer(): BigInteger {
            require(byte() == 0x02) { "an ECDSA signature's r and s are DER INTEGERs" }
            val size = length()
            require(size in 1..COORDINATE_BYTES + 1 && at + size <= der.size) { "bad INTEGER length $size" }
            return BigInteger(1, der.copyOfRange(at, at + size)).also { at += size }
        }
        require(byte() == 0x30) { "an ECDSA signature is a DER SEQUENCE" }
        require(length() == der.size - at) { "the SEQUENCE's length does not match the signature" }
        val r = integer()
        val s = integer()
        require(at == der.size) { "bytes after the ECDSA signature" }
        return fixed(r) + fixed(s)
    }

    private fun fixed(value: BigInteger): ByteArray {
        val bytes = value.toByteArray().let { if (it.size == COORDINATE_BYTES + 1 && it[0] == 0.toByte()) it.copyOfRange(1, it.size) else it }
        require(bytes.size <= COORDINATE_BYTES) { "not a P-256 value" }
        return ByteArray(COORDINATE_BYTES - bytes.size) + bytes
    }
}
