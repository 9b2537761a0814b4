import FootfallFFI
import Foundation

/// The generated object alone: properties encoded on the caller's thread, one crossing per call.
func measureCrossing(calls: Int, warmUp: Int) -> [UInt64] {
    withDirectory { dir in
        do {
            let native = try FootfallFFI.Footfall(
                config: FootfallConfig(
                    dataDir: dir, storageLimits: StorageLimits(maxEvents: 10_000_000, maxBytes: 4_000_000_000)),
                transport: nil, listener: nil, deviceSigner: nil)
            defer { native.close() }
            _ = try native.grant(purposes: ["analytics"], method: .api)
            let properties: [String: Any] = [
                "sku": "4901234567894", "price": 1980, "currency": "JPY", "store_id": "tokyo-shibuya-01",
                "list": "search",
            ]
            return try timed(calls: calls, warmUp: warmUp, drain: native.flushToDisk) {
                let json = String(decoding: try JSONSerialization.data(withJSONObject: properties), as: UTF8.self)
                do {
                    _ = try native.trackEvent(event: TrackedEvent(name: "product_viewed", propertiesJson: json, purpose: "analytics"))
                    return true
                } catch FootfallFFI.FootfallError.QueueFull {
                    return false
                }
            }
        } catch {
            fatalError("per_call_crossing: \(error)")
        }
    }
}
