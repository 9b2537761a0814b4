package dev.footfall.android

import dev.footfall.CouponState
import dev.footfall.DeviceSigner
import dev.footfall.verifyRedemption
import java.math.BigInteger
import java.time.LocalDate
import java.time.ZoneId
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.jsonPrimitive
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
    fun `a code signed the way Keystore signs is accepted by the till and the issuer`() = runBlocking {
        val collector = collector("--issuer-key", tmp.root.toPath().resolve("issuer-key.json").toString())
        collector.addCoupon("autumn10", "Autumn 10% off", "10%", LocalDate.now(ZoneId.of("Asia/Tokyo")).plusDays(7), "Asia/Tokyo")
        val keyset = collector.keyset()
        // Keystore's signer but for the key's home: the same encodings, over a DER signature from a JVM key.
        val signer = object : DeviceSigner {
            override fun publicKey() = P256Encoding.uncompressedPoint(pair.public as ECPublicKey)
            override fun sign(message: ByteArray) = P256Encoding.sign(pair.private, message)
        }
        val footfall = FootfallAndroid.init(app, collector.url, deviceSigner = signer, flushOnBackground = false) {
            manual(it).copy(walletKeyset = keyset)
        }
        footfall.wallet.sync()
        val presented = footfall.wallet.present("autumn10", storeId = "tokyo-1")
        assertTrue(verifyRedemption(presented.code, keyset, storeId = "tokyo-1").valid)
        footfall.flush()
        val redemption = collector.redemptions().single()
        assertEquals("accepted", redemption.getValue("status").jsonPrimitive.content)
        assertEquals(presented.device, redemption.getValue("device").jsonPrimitive.content)
        assertEquals(CouponState.REDEEMED, footfall.wallet.coupons.value.single().state)
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
