import Foundation
@testable import Footfall
import XCTest

// @testable: a buffer of three slots with no hand-over thread, so the test decides when batches cross (as the
// Kotlin TrackBufferTest does). This file does not import FootfallFFI: both modules declare `Footfall`.

/// A full buffer answers `queueFull` on the caller's thread, counts it, and keeps every event it accepted.
final class TrackBufferCapacityTests: FootfallTestCase {
    func testAFullBufferRefusesWithQueueFullCountedAndKeepsWhatItAccepted() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }
        try await footfall.grantAnalytics()
        let buffer = TrackBuffer(native: footfall.native, consent: ConsentStatusFeed(), capacity: 3, background: false)

        for i in 0..<3 {
            _ = try buffer.track(name: "accepted", properties: ["i": .int(Int64(i))], purpose: Footfall.defaultPurpose)
        }
        XCTAssertThrowsError(try buffer.track(name: "refused", properties: [:], purpose: Footfall.defaultPurpose)) {
            XCTAssertEqual($0 as? FootfallError, .queueFull)
        }
        buffer.drain() // room again
        _ = try buffer.track(name: "after_the_drain", properties: [:], purpose: Footfall.defaultPurpose)
        buffer.close()

        try footfall.flushToDisk()
        let status = try footfall.status()
        XCTAssertEqual(status.pending, 4)
        XCTAssertEqual(status.queueFullRejections, 1)
    }
}
