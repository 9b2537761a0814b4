package dev.footfall.android

import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * [KeystoreDeviceSigner]'s encodings, with a software P-256 key from the JVM's own provider: Robolectric has no
 * Android Keystore, so the keystore itself is not run here.
 */
class KeystoreDeviceSignerTest : AndroidLayerTest() {
    private val pair = KeyPairGenerator.getInstance("EC").run {
        initialize(ECGenParameterSpec("secp256r1"))
        generateKeyPair()
    }

    @Test
    fun `the public key is the 65-byte uncompressed point`() {
        val key = pair.public as ECPublicKey
        val point = P256Encoding.uncompressedPoint(key)
        assertEquals(65, point.size)
        assertEquals(0x04.toByte(), point[0])
        assertEquals(key.w.affineX, BigInteger(1, point.copyOfRange(1, 33)))
        assertEquals(key.w.affineY, BigInteger(1, point.copyOfRange(33, 65)))
    }

    @Test
    fun `a DER signature becomes r and s of 32 bytes each and still verifies`() {
        val message = "footfall/redeem/v1".toByteArray()
        repeat(20) {
            val der = Signature.getInstance("SHA256withECDSA").run {
                initSign(pair.private)
                update(message)
                sign()
            }
            val raw = P256Encoding.derToRaw(der)
            assertEquals(64, raw.size)
            // The JVM's verifier takes the same signature in the P1363 form (r ‖ s) the SDK needs.
            val verifier = Signature.getInstance("SHA256withECDSAinP1363Format")
            verifier.initVerify(pair.public)
            verifier.update(message)
            assertTrue(verifier.verify(raw))
        }
    }

    @Test
    fun `short and sign-padded integers are left-padded, anything else is refused`() {
        // r = 1 (one byte), s = 0x80 followed by 31 0xff (33 bytes in DER: a leading zero keeps it positive).
        val s = byteArrayOf(0x80.toByte()) + ByteArray(31) { 0xff.toByte() }
        val der = byteArrayOf(0x30, 38, 0x02, 1, 1, 0x02, 33, 0) + s
        val raw = P256Encoding.derToRaw(der)
        assertArrayEquals(ByteArray(31) + byteArrayOf(1) + s, raw)

        assertThrows(IllegalArgumentException::class.java) { P256Encoding.derToRaw(byteArrayOf()) }
        assertThrows(IllegalArgumentException::class.java) { P256Encoding.derToRaw(der.copyOf(der.size - 1)) }
        assertThrows(IllegalArgumentException::class.java) { P256Encoding.derToRaw(der + byteArrayOf(0)) }
        val tooLong = byteArrayOf(0x30, 39, 0x02, 1, 1, 0x02, 34, 1, 0) + s
        assertThrows(IllegalArgumentException::class.java) { P256Encoding.derToRaw(tooLong) }
    }

    @Test
    fun `constructing one touches no keystore, so init works where there is none`() {
        val signer = KeystoreDeviceSigner(alias = "test-key")
        // The first use needs the Android Keystore, which Robolectric does not have.
        assertThrows(Exception::class.java) { signer.publicKey() }
        val footfall = FootfallAndroid.init(app, endpoint = null, deviceSigner = signer)
        footfall.flushToDisk()
    }
}
