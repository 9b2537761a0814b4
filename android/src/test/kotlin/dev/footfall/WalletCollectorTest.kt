package dev.footfall

import java.io.IOException
import java.math.BigInteger
import java.security.KeyPairGenerator
import java.security.MessageDigest
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.time.LocalDate
import java.time.ZoneId
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * The wallet end to end against the reference collector as the issuer (`serve --issuer-key`): coupons it issues
 * reach the Kotlin API, a code presented with the network off verifies at an offline till, and the issuer's
 * answer to the redemption, once the network is back, redeems the coupon.
 */
class WalletCollectorTest : CollectorTest() {
    private val zone = "Asia/Tokyo"
    private val lastDay: LocalDate = LocalDate.now(ZoneId.of(zone)).plusDays(30)

    @Test
    fun `sync, clip, present offline, then the issuer accepts the redemption and the coupon is redeemed`() = runBlocking {
        val collector = collector("--issuer-key", tmp.resolve("issuer-key.json").toString())
        collector.addCoupon("autumn10", "Autumn 10% off", "10%", lastDay, zone, "--currency", "JPY", "--min-basket", "1000")
        val keyset = collector.keyset()
        val network = JavaHttpTransport()
        val signer = JcaDeviceSigner()
        Footfall(testConfig(tmp, collector.url).copy(walletKeyset = keyset), network, signer).use { footfall ->
            val changes = java.util.Collections.synchronizedList(mutableListOf<List<Coupon>>())
            val listening = launch(Dispatchers.Unconfined) {
                footfall.events.filterIsInstance<FootfallEvent.WalletChanged>().collect { changes += it.coupons }
            }
            yield()

            // The SDK's own pull at start-up may have brought the coupon already (then this one finds nothing new);
            // either way it is published before this returns.
            val report = footfall.wallet.sync()
            assertEquals(emptyList<WalletRefusal>(), report.refused)
            val listed = footfall.wallet.coupons.value.single()
            assertEquals("autumn10", listed.id)
            assertEquals(CouponState.AVAILABLE, listed.state)
            assertEquals("Autumn 10% off", listed.title)
            assertEquals("10%", listed.discount)
            assertEquals(lastDay.toString(), listed.validUntilLocal)
            assertEquals(zone, listed.zone)
            assertTrue(listed.usableNow, "$listed")
            assertEquals(listed, footfall.wallet.list().single())

            assertTrue(footfall.wallet.clip("autumn10"))
            assertEquals(CouponState.CLIPPED, footfall.wallet.coupons.value.single().state)
            val line = BasketLine(gtin = "4901234567894", quantity = 2, unitPriceMinor = 980)
            val applies = footfall.wallet.evaluate(Basket("tokyo-1", "JPY", listOf(line), online = false)).single()
            assertEquals(true to 196L, applies.applies to applies.discountMinor)
            val tooSmall = footfall.wallet.evaluate(Basket("tokyo-1", "JPY", listOf(line.copy(quantity = 1)))).single()
            assertEquals(listOf("min_basket"), tooSmall.reasons)
            assertEquals(FlushOutcome.Drained, footfall.flush().outcome)

            // At the till, with no network: the code comes from the device alone, signed by the app's key.
            network.failWith = IOException("the network is off")
            val presented = footfall.wallet.present("autumn10", storeId = "tokyo-1")
            assertEquals(1, signer.signatures.get())
            assertEquals(signer.deviceId, presented.device)
            assertEquals("autumn10", presented.couponId)
            assertEquals(17 + 4 * presented.qr.version, presented.qr.width)
            assertEquals(presented.qr, QrCode.of(presented.code))
            val pending = footfall.wallet.coupons.value.single()
            assertEquals(CouponState.PENDING_REDEEM, pending.state)
            assertEquals(presented.code, pending.pendingCode)
            val again = assertThrows<FootfallException.Wallet> { footfall.wallet.present("autumn10", storeId = "tokyo-1") }
            assertEquals(WalletErrorKind.COUPON_UNUSABLE, again.kind)
            assertTrue("uses_exhausted" in again.reasons, "${again.reasons}")

            // The offline till accepts it once, with what the issuer will see.
            val verdict = verifyRedemption(presented.code, keyset, storeId = "tokyo-1")
            assertTrue(verdict.valid, "$verdict")
            assertEquals(Triple("autumn10", presented.device, presented.counter), Triple(verdict.couponId, verdict.device, verdict.counter))
            Till(keyset, "tokyo-1").use { till ->
                assertTrue(till.redeem(presented.code).valid)
                assertEquals("replayed", till.redeem(presented.code).reason)
            }

            // A flush with no network leaves the redemption waiting in the essential lane (no events are queued,
            // so the report itself has nothing to say).
            footfall.flush()
            assertEquals(emptyList<Any>(), collector.redemptions())
            assertEquals(CouponState.PENDING_REDEEM, footfall.wallet.list().single().state)

            // The network is back: the redemption reaches the issuer, which accepts it; its answer redeems the coupon.
            network.failWith = null
            footfall.flush()
            val redemption = collector.redemptions().single()
            assertEquals("accepted", redemption.text("status"))
            assertEquals(presented.redemptionId, redemption.text("redemption_id"))
            assertEquals(presented.device, redemption.text("device"))
            assertEquals("tokyo-1", redemption.text("store_id"))
            assertEquals(CouponState.REDEEMED, footfall.wallet.coupons.value.single().state)

            footfall.wallet.sync()
            val redeemed = footfall.wallet.list().single()
            assertEquals(CouponState.REDEEMED, redeemed.state)
            assertEquals(null, redeemed.pendingCode)
            assertEquals(listOf("redeemed"), redeemed.reasons)

            listening.cancel()
            // Every change was told on the events flow too (a pass that changed nothing may repeat a state).
            val states = changes.map { it.single().state }.fold(listOf<CouponState>()) { seen, s -> if (seen.lastOrNull() == s) seen else seen + s }
            assertEquals(listOf(CouponState.AVAILABLE, CouponState.CLIPPED, CouponState.PENDING_REDEEM, CouponState.REDEEMED), states)
        }
    }

    @Test
    fun `a new instance reads the coupons it kept, without the network`() = runBlocking {
        val collector = collector("--issuer-key", tmp.resolve("issuer-key.json").toString())
        collector.addCoupon("spring300", "¥300 off", "300 JPY", lastDay, zone)
        val config = testConfig(tmp, collector.url).copy(walletKeyset = collector.keyset())
        Footfall(config).use { footfall ->
            footfall.wallet.sync()
            assertEquals("300 JPY", footfall.wallet.coupons.value.single().discount)
        }
        collector.close()
        Footfall(config).use { footfall ->
            // The start-up read publishes what the database holds.
            val kept = footfall.wallet.coupons.first { it.isNotEmpty() }.single()
            assertEquals("spring300", kept.id)
            assertEquals(CouponState.AVAILABLE, kept.state)
            val refused = assertThrows<FootfallException.Network> { footfall.wallet.sync() }
            assertNotNull(refused.message)
        }
    }

    @Test
    fun `a device signer that throws refuses the presentation with a device key error`() = runBlocking {
        val collector = collector("--issuer-key", tmp.resolve("issuer-key.json").toString())
        collector.addCoupon("spring5", "5% off", "5%", lastDay, zone)
        val locked = object : DeviceSigner {
            override fun publicKey(): ByteArray = throw java.security.KeyStoreException("the keystore is locked")
            override fun sign(message: ByteArray): ByteArray = throw java.security.KeyStoreException("the keystore is locked")
        }
        Footfall(testConfig(tmp, collector.url).copy(walletKeyset = collector.keyset()), deviceSigner = locked).use { footfall ->
            footfall.wallet.sync()
            val refused = assertThrows<FootfallException.Wallet> { footfall.wallet.present("spring5", storeId = "tokyo-1") }
            assertEquals(WalletErrorKind.DEVICE_KEY, refused.kind)
            assertTrue(refused.message!!.contains("the keystore is locked"), refused.message)
            assertEquals(CouponState.AVAILABLE, footfall.wallet.list().single().state, "nothing was presented")
        }
    }

    /** A device key from the JVM's own provider, standing in for Android Keystore; counts its signatures. */
    private class JcaDeviceSigner : DeviceSigner {
        private val pair = KeyPairGenerator.getInstance("EC").run {
            initialize(ECGenParameterSpec("secp256r1"))
            generateKeyPair()
        }
        val signatures = AtomicInteger()

        override fun publicKey(): ByteArray {
            val w = (pair.public as ECPublicKey).w
            return byteArrayOf(4) + w.affineX.fixed() + w.affineY.fixed()
        }

        override fun sign(message: ByteArray): ByteArray {
            signatures.incrementAndGet()
            // P1363 is r ‖ s, the form the SDK takes.
            return Signature.getInstance("SHA256withECDSAinP1363Format").run {
                initSign(pair.private)
                update(message)
                sign()
            }
        }

        /** The SDK's short device id: hex of the first 8 bytes of SHA-256 of the public key. */
        val deviceId: String
            get() = MessageDigest.getInstance("SHA-256").digest(publicKey()).take(8).joinToString("") { "%02x".format(it) }

        private fun BigInteger.fixed(): ByteArray = toByteArray().takeLast(32).toByteArray().let { ByteArray(32 - it.size) + it }
    }
}
