import Foundation
import Footfall
import XCTest

/// A key store of one fixed pad: reversible, so it stands in for the Keychain's AES-GCM (not on Linux) where the
/// plumbing is under test, not the cipher. Counts its calls; `failures` are thrown by `unwrap` first.
final class PadKeyProvider: KeyProvider, @unchecked Sendable {
    // @unchecked: the counters and the script are only touched with `lock` held.
    let storeName: String
    private let lock = NSLock()
    private var failures: [any Error]
    private var wrapCalls = 0
    private var unwrapCalls = 0

    init(storeName: String = "test-pad", failures: [any Error] = []) {
        self.storeName = storeName
        self.failures = failures
    }

    var wraps: Int { locked { wrapCalls } }
    var unwraps: Int { locked { unwrapCalls } }

    func wrap(_ dataKey: Data) throws -> Data {
        locked { wrapCalls += 1 }
        return Self.xor(dataKey)
    }

    func unwrap(_ wrapped: Data) throws -> Data {
        let failure: (any Error)? = locked {
            unwrapCalls += 1
            return failures.isEmpty ? nil : failures.removeFirst()
        }
        if let failure { throw failure }
        return Self.xor(wrapped)
    }

    /// `NSLock.withLock` needs macOS 14 / iOS 17; the package supports older.
    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private static func xor(_ bytes: Data) -> Data {
        Data(bytes.enumerated().map { index, byte in byte ^ 0xA5 ^ UInt8(truncatingIfNeeded: index) })
    }
}

/// An error the provider does not declare, as a key store's own would be.
private struct KeychainBusy: Error {}

/// Encryption at rest with the app's own ``KeyProvider`` through the real native library: the data key is wrapped
/// by Swift code, a lost key is a counted reset, an unavailable one (or any other error) a retry without one.
final class KeyProviderTests: FootfallTestCase {
    private let secretSku = "secret-sku-4901234567894"

    private var config: FootfallConfig { testConfig(tmp, endpoint: nil) }

    /// Tracks a product view with a recognisable SKU and identifies a shopper under `provider`, then closes.
    private func sealSome(_ provider: any KeyProvider) async throws {
        let footfall = try Footfall(config: config, keyProvider: provider)
        defer { footfall.close() }
        try await footfall.grantAnalytics()
        try footfall.track("product_viewed", properties: ["sku": .string(secretSku)])
        try footfall.identify("shopper-42")
        try footfall.flushToDisk()
    }

    func testDataSealedUnderTheAppsProviderReadsBackAfterARestartTheDataKeyWrappedOnce() async throws {
        let provider = PadKeyProvider()
        try await sealSome(provider)
        XCTAssertEqual(provider.wraps, 1, "one data key, wrapped once")
        XCTAssertEqual(provider.unwraps, 0)
        let keyFile = URL(fileURLWithPath: config.dataDir).appendingPathComponent("footfall.key")
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile.path), "the app's provider holds the key")

        let footfall = try Footfall(config: config, keyProvider: provider)
        defer { footfall.close() }
        let export = try await footfall.exportData()
        XCTAssertTrue(export.contains(secretSku), export)
        XCTAssertTrue(export.contains("shopper-42"), export)
        let status = try footfall.status()
        XCTAssertEqual(status.pending, 2)
        XCTAssertEqual(status.keyResets, 0)
        XCTAssertEqual(status.unreadableValues, 0)
        XCTAssertEqual(provider.wraps, 1, "the stored data key is reused, not replaced")
        XCTAssertEqual(provider.unwraps, 1, "unwrapped once, at the reopen")
    }

    func testRotatingTheKeyReEncryptsUnderANewDataKeyTheProviderWrapsAndEverythingReadsBack() async throws {
        let provider = PadKeyProvider()
        try await sealSome(provider)
        do {
            let footfall = try Footfall(config: config, keyProvider: provider)
            defer { footfall.close() }
            let rotated = try await footfall.rotateEncryptionKey()
            XCTAssertEqual(rotated, 2, "the second data key")
        }
        XCTAssertEqual(provider.wraps, 2, "the new data key was wrapped by the provider")
        let footfall = try Footfall(config: config, keyProvider: provider)
        defer { footfall.close() }
        let export = try await footfall.exportData()
        XCTAssertTrue(export.contains(secretSku), export)
        XCTAssertTrue(export.contains("shopper-42"), export)
        XCTAssertEqual(try footfall.status().unreadableValues, 0)
    }

    func testAKeyTheProviderReportsLostStartsTheSealedDataOverCountedInKeyResets() async throws {
        try await sealSome(PadKeyProvider())

        let lost = PadKeyProvider(failures: [KeyProviderError.lost(reason: "errSecItemNotFound")])
        let footfall = try Footfall(config: config, keyProvider: lost)
        let status = try footfall.status()
        XCTAssertEqual(status.pending, 0, "the queued events could not be read again: gone")
        XCTAssertEqual(status.keyResets, 1)
        let export = try await footfall.exportData()
        XCTAssertFalse(export.contains("shopper-42"), export)
        XCTAssertEqual(lost.wraps, 1, "a new data key, wrapped by the same provider")
        try footfall.track("after_reset")
        footfall.close()

        // The new key is in force: what was tracked after the reset reads back, and the reset is not repeated.
        let again = try Footfall(config: config, keyProvider: PadKeyProvider())
        defer { again.close() }
        let after = try again.status()
        XCTAssertEqual(after.pending, 1)
        XCTAssertEqual(after.keyResets, 1)
    }

    func testAnUnavailableKeyOrAnyOtherErrorIsRetriedAndResetsNothing() async throws {
        try await sealSome(PadKeyProvider())

        // An undeclared error first, then a locked device; the writer retries the open (after 50, then 100 ms)
        // and the third unwrap works. status() waits for the open: no sleep here.
        let locked = PadKeyProvider(failures: [KeychainBusy(), KeyProviderError.unavailable(reason: "locked")])
        let footfall = try Footfall(config: config, keyProvider: locked)
        defer { footfall.close() }
        let status = try footfall.status()
        XCTAssertEqual(status.pending, 2, "everything sealed before is still there")
        XCTAssertEqual(status.keyResets, 0)
        XCTAssertEqual(locked.unwraps, 3)
        XCTAssertEqual(locked.wraps, 0, "no new data key")
        let export = try await footfall.exportData()
        XCTAssertTrue(export.contains("shopper-42"), export)
    }

    func testADatabaseSealedUnderOneKeyStoreIsRefusedByAnotherNeverTakenForALostKey() async throws {
        try await sealSome(PadKeyProvider())

        let other = PadKeyProvider(storeName: "another-store")
        let refused = try Footfall(config: config, keyProvider: other)
        XCTAssertThrowsError(try refused.status()) { error in
            guard case FootfallError.config(let reason) = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
            XCTAssertTrue(reason.contains("'test-pad', not 'another-store'"), reason)
        }
        refused.close()
        XCTAssertEqual(other.unwraps, 0)

        let footfall = try Footfall(config: config, keyProvider: PadKeyProvider())
        defer { footfall.close() }
        XCTAssertEqual(try footfall.status().pending, 2)
    }
}
