import Foundation
@testable import Footfall
import XCTest

// @testable: a buffer of three slots with no hand-over thread, so the test decides when batches cross (as the
// Kotlin TrackBufferTest does). This file does not import FootfallFFI: both modules declare `Footfall`.

/// What the buffer answers on the caller's thread: `queueFull` when full (counted, nothing accepted lost), and the ids.
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

    func testIdsAreLowerCaseVersion7UUIDsStampedWithTheTimeAndDistinct() {
        var random = IdRandom()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = TrackBuffer.uuidV7(unixMs: now, random: &random)
            XCTAssertEqual(id, id.lowercased())
            guard let uuid = UUID(uuidString: id) else { return XCTFail("not a UUID: \(id)") }
            let bytes = uuid.uuid
            XCTAssertEqual(bytes.6 >> 4, 7) // version
            XCTAssertEqual(bytes.8 >> 6, 0b10) // variant
            let stamped = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            XCTAssertEqual(stamped, now)
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 10_000)
    }
}
