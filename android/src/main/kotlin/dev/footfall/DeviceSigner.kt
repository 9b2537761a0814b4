package dev.footfall

import dev.footfall.ffi.DeviceSigner as FfiDeviceSigner

/**
 * The wallet's per-device P-256 key, which signs every presented code so a copied coupon cannot be presented from
 * another phone. Pass one to [Footfall] to keep the key in hardware: on Android,
 * `dev.footfall.android.KeystoreDeviceSigner` (Android Keystore). Without one the SDK keeps a software key in its
 * database, which is weaker: a copy of the app's data can present as this device.
 *
 * Called on the thread of [Wallet.present] (the SDK's IO dispatcher, never the main thread). Keep the key for the
 * life of the install: a new key is a new device to the issuer. Anything thrown refuses that presentation with
 * [FootfallException.Wallet] ([WalletErrorKind.DEVICE_KEY]); no counter is used twice.
 */
interface DeviceSigner {
    /** The 65-byte uncompressed SEC1 public key: `0x04 ‖ x ‖ y`, each coordinate 32 bytes big-endian. */
    fun publicKey(): ByteArray

    /** ECDSA P-256 with SHA-256 over [message], as 64 bytes `r ‖ s` (each 32 bytes big-endian; not DER). */
    fun sign(message: ByteArray): ByteArray
}

/** Adapts the app's signer to the generated interface; what it throws reaches the SDK as a callback failure. */
internal class DeviceSignerAdapter(private val signer: DeviceSigner) : FfiDeviceSigner {
    override fun publicKey(): ByteArray = signer.publicKey()

    override fun sign(message: ByteArray): ByteArray = signer.sign(message)
}
