package dev.footfall

import java.nio.file.Path
import java.time.Instant
import java.util.Base64
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The wallet's Kotlin API where no issuer is needed: errors, the QR matrix, a till's refusals. The run against
 *  the reference issuer is [WalletCollectorTest]. */
class WalletTest {
    @TempDir
    lateinit var tmp: Path

    /** A well-formed key set of one key that signed nothing here. */
    private val keyset = """{"version":1,"keys":[{"kid":"k1","alg":"Ed25519","x":"${
        Base64.getUrlEncoder().withoutPadding().encodeToString(ByteArray(32) { 7 })
    }","nbf":0}]}"""

    @Test
    fun `without a key set every wallet call says the wallet is not configured`() = runBlocking {
        Footfall(testConfig(tmp, endpoint = null)).use { footfall ->
            val refusals = listOf(
                assertThrows<FootfallException.Wallet> { footfall.wallet.list() },
                assertThrows<FootfallException.Wallet> { footfall.wallet.clip("autumn-10") },
                assertThrows<FootfallException.Wallet> { footfall.wallet.present("autumn-10", "tokyo-1") },
                assertThrows<FootfallException.Wallet> { footfall.wallet.sync() },
            )
            refusals.forEach {
                assertEquals(WalletErrorKind.NOT_CONFIGURED, it.kind)
                assertTrue(it.message!!.contains("not configured"), it.message)
            }
            assertEquals(emptyList<Coupon>(), footfall.wallet.coupons.value)
        }
    }

    @Test
    fun `a key set that cannot be read refuses the configuration`() {
        val config = testConfig(tmp, endpoint = null).copy(walletKeyset = """{"version":1,"keys":[]}""")
        val refused = assertThrows<FootfallException.Config> { Footfall(config) }
        assertTrue(refused.message!!.contains("key set"), refused.message)
    }

    @Test
    fun `an empty wallet lists nothing and names the coupon it does not hold`() = runBlocking {
        Footfall(testConfig(tmp, endpoint = null).copy(walletKeyset = keyset)).use { footfall ->
            assertEquals(emptyList<Coupon>(), footfall.wallet.list())
            assertEquals(emptyList<CouponOutcome>(), footfall.wallet.evaluate(Basket("tokyo-1", "JPY", listOf(BasketLine("4901234567894", unitPriceMinor = 980)))))
            val unknown = assertThrows<FootfallException.Wallet> { footfall.wallet.present("nope", "tokyo-1") }
            assertEquals(WalletErrorKind.UNKNOWN_COUPON, unknown.kind)
            assertEquals("nope", unknown.couponId)
            assertEquals(emptyList<String>(), unknown.reasons)
            val badLine = assertThrows<FootfallException.Wallet> {
                footfall.wallet.evaluate(Basket("tokyo-1", "JPY", listOf(BasketLine("4901234567890", unitPriceMinor = 980))))
            }
            assertEquals(WalletErrorKind.INVALID, badLine.kind)
            assertTrue(badLine.message!!.contains("basket line 0"), badLine.message)
            val now = footfall.wallet.now()
            assertTrue(Instant.now().epochSecond - now.epochSecond in -5..5, "$now")
        }
    }

    @Test
    fun `a QR symbol is a square bit matrix sized by its version`() {
        val qr = QrCode.of("NCFOXN*TDG+4*1V-5Y2:DB:2")
        assertEquals(17 + 4 * qr.version, qr.width)
        val modules = qr.toBooleanArray()
        assertEquals(qr.width * qr.width, modules.size)
        // The three finder patterns' outer corners are dark, their separators light, and outside is light.
        assertTrue(qr[0, 0] && qr[qr.width - 1, 0] && qr[0, qr.width - 1])
        assertFalse(qr[7, 0] || qr[0, 7])
        assertFalse(qr[-1, 0] || qr[qr.width, 0] || qr[0, qr.width])
        assertEquals(modules[3 * qr.width + 5], qr[5, 3])
        assertEquals(qr, QrCode.of("NCFOXN*TDG+4*1V-5Y2:DB:2"))
        assertTrue(QrCode.of("A".repeat(300)).version > qr.version)
        assertThrows<FootfallException.InvalidInput> { QrCode.of("A".repeat(5000)) }
    }

    @Test
    fun `a till refuses what is not a code and a key set it cannot read`() {
        val verdict = verifyRedemption("not a code!", keyset, storeId = "tokyo-1")
        assertFalse(verdict.valid)
        assertEquals("malformed", verdict.reason)
        assertNull(verdict.couponId)
        assertTrue(verdict.detail!!.contains("malformed"), verdict.detail)
        assertThrows<FootfallException.Config> { verifyRedemption("x", "{}", storeId = "tokyo-1") }
        assertThrows<FootfallException.Config> { Till("not json", "tokyo-1") }
        Till(keyset, "tokyo-1").use { till ->
            assertEquals("malformed", till.redeem("", challenge = byteArrayOf(1)).reason)
        }
    }
}
