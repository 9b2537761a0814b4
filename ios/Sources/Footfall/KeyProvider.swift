import Foundation
import FootfallFFI

/// The key that wraps the SDK's data key, kept by the platform. The SDK seals event properties, traits and user ids
/// on disk with AES-256-GCM under a random data key, and stores that data key only as ``wrap(_:)`` returned it.
/// Pass one to ``Footfall/init(config:transport:deviceSigner:keyProvider:)`` to keep the wrapping key in the
/// platform's key store: ``KeychainKeyProvider`` (the Keychain, this device only, never in a backup). Without one the
/// SDK keeps the wrapping key in a file next to its database, which is weaker: whoever can read the app's files (a
/// backup, a jailbroken phone) reads both.
///
/// Pass the same provider on every start: a database wrapped under one ``storeName`` is refused
/// (``FootfallError/config(reason:)``) by a provider with another, rather than taken for a lost key. A database of
/// the default key file (an app that shipped without a provider) is moved to the provider once, and the file deleted.
///
/// Called on the SDK's writer thread, never the app's: ``unwrap(_:)`` when the database opens, ``wrap(_:)`` when its
/// data key is made (the first start, and after a lost key). What they throw decides what happens to the data:
/// ``KeyProviderError/lost(reason:)`` deletes what was sealed and starts over (counted in `Status.keyResets`);
/// ``KeyProviderError/unavailable(reason:)``, and any other error, resets nothing and the SDK retries the open
/// (until then the SDK's calls wait or throw ``FootfallError/storage(reason:retryable:)``). Throw `.lost` only when
/// the key is certainly gone.
public protocol KeyProvider: AnyObject, Sendable {
    /// Which key store this is, e.g. `ios-keychain`: stored with the wrapped key, so it must never change for the
    /// life of an install.
    var storeName: String { get }

    /// `dataKey` (32 random bytes) encrypted under the platform's key, as the bytes to store.
    func wrap(_ dataKey: Data) throws -> Data

    /// The data key back from what ``wrap(_:)`` returned, in this install or in the one a backup came from.
    func unwrap(_ wrapped: Data) throws -> Data
}

/// Why a ``KeyProvider`` could not wrap or unwrap the data key.
public enum KeyProviderError: Error, Equatable, Hashable, Sendable {
    /// Not now: the device has not been unlocked since it started, the Keychain is busy. Nothing is reset; the SDK
    /// retries.
    case unavailable(reason: String)

    /// Gone for good: the Keychain item was deleted, the app's data was restored on a device that never had it, or
    /// the key no longer opens what it wrapped. What it protected can never be read again, so the SDK deletes the
    /// sealed data (queued events, the user id), starts over under a new key and counts it in `Status.keyResets`.
    case lost(reason: String)
}

extension KeyProviderError: LocalizedError, CustomStringConvertible {
    /// A one-line English description, e.g. `the key is lost: no wrapping key in the Keychain`.
    public var errorDescription: String? {
        switch self {
        case .unavailable(let reason):
            return "the key is unavailable for now: \(reason)"
        case .lost(let reason):
            return "the key is lost: \(reason)"
        }
    }

    /// Same as ``errorDescription``.
    public var description: String {
        errorDescription ?? "key provider error"
    }
}

/// Adapts the app's provider to the generated protocol. ``KeyProviderError``s cross as the FFI's two cases; any other
/// error is `.unavailable`: a surprise must never delete data.
final class KeyProviderAdapter: FootfallFFI.KeyProvider {
    private let provider: any KeyProvider

    init(_ provider: any KeyProvider) {
        self.provider = provider
    }

    func wrap(dataKey: Data) throws -> Data {
        try crossing { try provider.wrap(dataKey) }
    }

    func unwrap(wrapped: Data) throws -> Data {
        try crossing { try provider.unwrap(wrapped) }
    }

    func describe() -> String {
        provider.storeName
    }

    private func crossing(_ body: () throws -> Data) throws -> Data {
        do {
            return try body()
        } catch KeyProviderError.lost(let reason) {
            throw FootfallFFI.KeyProviderError.Lost(reason: reason)
        } catch KeyProviderError.unavailable(let reason) {
            throw FootfallFFI.KeyProviderError.Unavailable(reason: reason)
        } catch {
            throw FootfallFFI.KeyProviderError.Unavailable(reason: "\(type(of: error)): \(error)")
        }
    }
}

#if canImport(CryptoKit) && canImport(Security)
import CryptoKit
import Security

/// The SDK's data key wrapped with AES-256-GCM (CryptoKit) under a random 32-byte key kept as a generic-password
/// Keychain item (`keychainService`) with `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: readable once the
/// device has been unlocked after a restart (so background uploads work with the screen locked), never in a backup
/// nor on another device. A copy of the app's files restored elsewhere therefore opens nothing: the SDK starts its
/// sealed data over there (counted in `Status.keyResets`). Wrapped: CryptoKit's combined form, `nonce (12) ‖
/// ciphertext ‖ tag (16)`, the additional data `footfall/data-key/v1`.
///
/// What the SDK is told: ``KeyProviderError/lost(reason:)`` when the item is not found while a wrapped key exists,
/// or when the key does not open it; ``KeyProviderError/unavailable(reason:)`` for `errSecInteractionNotAllowed`
/// (not unlocked since the restart) and every other Keychain failure.
///
/// Not compiled or run here: the project's CI builds the package on Linux, which has neither CryptoKit nor the
/// Keychain. The plumbing it relies on (``KeyProvider`` through the SDK, a lost key counted) is tested on Linux with
/// a test provider.
public final class KeychainKeyProvider: KeyProvider, @unchecked Sendable {
    // @unchecked: the Keychain is only read and written with `lock` held.

    /// What the SDK stores as the key store's name (``KeyProvider/storeName``).
    public static let keyStoreName = "ios-keychain"

    private static let additionalData = Data("footfall/data-key/v1".utf8)
    private let service: String
    private let lock = NSLock()

    public var storeName: String { Self.keyStoreName }

    public init(keychainService: String = "dev.footfall.data-key-wrap") {
        self.service = keychainService
    }

    public func wrap(_ dataKey: Data) throws -> Data {
        let key = try wrappingKey(create: true)
        let box = try AES.GCM.seal(dataKey, using: key, authenticating: Self.additionalData)
        guard let combined = box.combined else {
            throw KeyProviderError.unavailable(reason: "AES.GCM gave no combined form")
        }
        return combined
    }

    public func unwrap(_ wrapped: Data) throws -> Data {
        let key = try wrappingKey(create: false)
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(box, using: key, authenticating: Self.additionalData)
        } catch {
            // Another item under the service (made after a deletion), or altered bytes: this data key is gone.
            throw KeyProviderError.lost(reason: "the Keychain's key does not open the stored data key (\(error))")
        }
    }

    /// The key in the Keychain; created when `create` is set and there is none (never when unwrapping).
    private func wrappingKey(create: Bool) throws -> SymmetricKey {
        lock.lock()
        defer { lock.unlock() }
        if let bytes = try read() {
            return SymmetricKey(data: bytes)
        }
        guard create else {
            throw KeyProviderError.lost(
                reason: "no wrapping key in the Keychain (restored on another device, or the item was deleted)"
            )
        }
        let key = SymmetricKey(size: .bits256)
        var add = query(returning: false)
        add[kSecValueData as String] = key.withUnsafeBytes { Data($0) }
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(add as CFDictionary, nil)
        switch added {
        case errSecSuccess:
            return key
        case errSecDuplicateItem:
            // Another process sharing the item (an app extension) made it first: use theirs.
            guard let bytes = try read() else {
                throw KeyProviderError.unavailable(reason: "the Keychain item appeared and vanished")
            }
            return SymmetricKey(data: bytes)
        default:
            throw Self.failure(added, doing: "keep the wrapping key")
        }
    }

    private func read() throws -> Data? {
        var found: CFTypeRef?
        let status = SecItemCopyMatching(query(returning: true) as CFDictionary, &found)
        switch status {
        case errSecSuccess:
            guard let bytes = found as? Data, bytes.count == 32 else {
                throw KeyProviderError.lost(reason: "the Keychain's wrapping key is damaged")
            }
            return bytes
        case errSecItemNotFound:
            return nil
        default:
            throw Self.failure(status, doing: "read the wrapping key")
        }
    }

    private static func failure(_ status: OSStatus, doing what: String) -> KeyProviderError {
        if status == errSecInteractionNotAllowed {
            return .unavailable(reason: "the Keychain is locked: the device has not been unlocked since it started")
        }
        return .unavailable(reason: "the Keychain refused to \(what) (OSStatus \(status))")
    }

    private func query(returning: Bool) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: "aes-256-gcm-wrapping-key",
            // macOS: the data protection keychain, where `kSecAttrAccessible…ThisDeviceOnly` applies (iOS ignores it).
            kSecUseDataProtectionKeychain as String: true,
        ]
        if returning {
            query[kSecReturnData as String] = true
            query[kSecMatchLimit as String] = kSecMatchLimitOne
        }
        return query
    }
}
#endif
