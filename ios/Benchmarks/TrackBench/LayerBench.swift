import Footfall
import Foundation

// This file imports only `Footfall`; CrossingBench.swift only `FootfallFFI` (both modules declare `Footfall`).

/// The idiomatic layer, on a fresh instance with analytics granted and no endpoint (the call, not uploads).
func measureLayer(calls: Int, warmUp: Int) -> [UInt64] {
    withDirectory { dir in
        do {
            let footfall = try Footfall(config: FootfallConfig(
                dataDir: dir, storageLimits: StorageLimits(maxEvents: 10_000_000, maxBytes: 4_000_000_000)))
            defer { footfall.close() }
            try grantAnalytics(footfall)
            let properties: [String: FootfallValue] = [
                "sku": "4901234567894", "price": 1980, "currency": "JPY", "store_id": "tokyo-shibuya-01",
                "list": "search",
            ]
            return try timed(calls: calls, warmUp: warmUp, drain: footfall.flushToDisk) {
                do {
                    try footfall.track("product_viewed", properties: properties)
                    return true
                } catch FootfallError.queueFull {
                    return false
                }
            }
        } catch {
            fatalError("swift_track: \(error)")
        }
    }
}

/// Consent is enforced and default-deny: measure the call an app makes once the shopper has agreed.
private func grantAnalytics(_ footfall: Footfall) throws {
    let done = DispatchSemaphore(value: 0)
    let failure = LockedError()
    Task {
        do { try await footfall.grant([Footfall.defaultPurpose]) } catch { failure.set(error) }
        done.signal()
    }
    done.wait()
    if let error = failure.get() { throw error }
}

private final class LockedError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ error: Error) { lock.withLock { self.error = error } }
    func get() -> Error? { lock.withLock { error } }
}
