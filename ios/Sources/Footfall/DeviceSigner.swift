import Foundation
import FootfallFFI

/// The wallet's per-device P-256 key, which signs every presented code so a copied coupon cannot be presented
/// from another phone. Pass one to ``Footfall/init(config:transport:deviceSigner:keyProvider:)`` to keep the key in hardware:
/// ``SecureEnclaveDeviceSigner`` on devices that have a Secure Enclave. Without one the SDK keeps a software key in
/// its database, which is weaker: a copy of the app's data can present as this device.
///
/// Called on the layer's queue for blocking calls during ``Wallet/present(_:storeId:challenge:)``, never on the
/// main thread. Keep the key for the life of the install: a new key is a new device to the issuer. Anything thrown
/// refuses that presentation with ``FootfallError/wallet(kind:couponId:reasons:detail:)`` (`.deviceKey`); no
/// counter is used twice.
public protocol DeviceSigner: AnyObject, Sendable {
    /// The 65-byte uncompressed SEC1 public key: `0x04 ‖ x ‖ y` (CryptoKit's `x963Representation`).
    func publicKey() throws -> Data

    /// ECDSA P-256 with SHA-256 over `message`, as 64 bytes `r ‖ s` (CryptoKit's `rawRepresentation`; not DER).
    func sign(_ message: Data) throws -> Data
}

/// Adapts the app's signer to the generated protocol; what it throws reaches the SDK as a callback failure.
final class DeviceSignerAdapter: FootfallFFI.DeviceSigner {
    private let signer: any DeviceSigner

    init(_ signer: any DeviceSigner) {
        self.signer = signer
    }

    func publicKey() throws -> Data {
        try signer.publicKey()
    }

    func sign(message: Data) throws -> Data {
        try signer.sign(message)
    }
}

#if canImport(CryptoKit) && !os(Linux)
import CryptoKit
import Security

/// The device key in the Secure Enclave: created on first use, never leaves the chip; its (encrypted, device-bound)
/// handle is kept in the Keychain under `keychainService`, readable after the first unlock and never backed up to
/// another device.
///
/// Not compiled or run here: the project's CI builds the package on Linux, which has neither CryptoKit's Secure
/// Enclave nor the Keychain. Use it on devices where ``isAvailable`` is true (not the iOS simulator before Apple
/// silicon Macs); elsewhere pass no signer.
public final class SecureEnclaveDeviceSigner: DeviceSigner, @unchecked Sendable {
    // @unchecked: `key` is only touched with `lock` held.
    private let service: String
    private let lock = NSLock()
    private var key: SecureEnclave.P256.Signing.PrivateKey?

    /// Whether this device has a Secure Enclave.
    public static var isAvailable: Bool { SecureEnclave.isAvailable }

    public init(keychainService: String = "dev.footfall.wallet.device-key") {
        self.service = keychainService
    }

    public func publicKey() throws -> Data {
        try loadOrCreate().publicKey.x963Representation
    }

    public func sign(_ message: Data) throws -> Data {
        try loadOrCreate().signature(for: message).rawRepresentation
    }

    private func loadOrCreate() throws -> SecureEnclave.P256.Signing.PrivateKey {
        lock.lock()
        defer { lock.unlock() }
        if let key { return key }
        var found: CFTypeRef?
        let read = SecItemCopyMatching(query(returning: true) as CFDictionary, &found)
        if read == errSecSuccess, let handle = found as? Data {
            let key = try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: handle)
            self.key = key
            return key
        }
        guard read == errSecItemNotFound else {
            throw FootfallError.internal(reason: "the Keychain refused to read the device key (OSStatus \(read))")
        }
        let key = try SecureEnclave.P256.Signing.PrivateKey()
        var add = query(returning: false)
        add[kSecValueData as String] = key.dataRepresentation
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(add as CFDictionary, nil)
        guard added == errSecSuccess else {
            throw FootfallError.internal(reason: "the Keychain refused to keep the device key (OSStatus \(added))")
        }
        self.key = key
        return key
    }

    private func query(returning: Bool) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: "p256-signing",
        ]
        if returning {
            query[kSecReturnData as String] = true
            query[kSecMatchLimit as String] = kSecMatchLimitOne
        }
        return query
    }
}
#endif
