import Foundation
import Footfall
import XCTest

/// `track()` through the buffer in front of the core: what is answered on the caller's thread, and that what is
/// accepted reaches the collector with the id returned, in order, across batches and on close.
final class TrackBufferTests: FootfallTestCase {
    func testIdsReturnedAreTheIdsDeliveredInOrderAcrossBatches() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }
        try await footfall.grantAnalytics()
        var ids: [String] = []
        for batch in 0..<3 {
            for i in 0..<5 {
                ids.append(try footfall.track("viewed", properties: ["batch": .int(Int64(batch)), "i": .int(Int64(i))]))
            }
            try footfall.flushToDisk() // hands the buffer over: the next events are another batch
        }
        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 15)
        XCTAssertEqual(try collector.events().map { $0.text("id") }, ids.map { Optional($0) })
    }

    func testADeniedPurposeIsRefusedAtTrackSynchronouslyAndCounted() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }
        try await footfall.deny(["analytics"])
        // The status the deny published is what track() judges by: no crossing, no wait.
        XCTAssertThrowsError(try footfall.track("viewed")) { error in
            XCTAssertEqual(error as? FootfallError, .consentDenied(purpose: "analytics"))
        }
        try footfall.track("needed", purpose: Footfall.essentialPurpose)
        try footfall.flushToDisk()
        let status = try footfall.status()
        XCTAssertEqual(status.consentRefused, 1)
        XCTAssertEqual(status.pending, 1)
    }

    func testCloseHandsOverEverythingTracked() async throws {
        let config = testConfig(tmp, endpoint: nil)
        var ids = Set<String>()
        do {
            let footfall = try Footfall(config: config)
            try await footfall.grantAnalytics()
            for i in 0..<500 {
                ids.insert(try footfall.track("viewed", properties: ["i": .int(Int64(i))]))
            }
            footfall.close()
        }
        XCTAssertEqual(ids.count, 500)
        let reopened = try Footfall(config: config)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.status().pending, 500)
    }

    func testBadInputAndAClosedInstanceAnswerOnTheCallersThread() throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        XCTAssertThrowsError(try footfall.track("e", properties: ["x": .double(.nan)]))
        XCTAssertThrowsError(try footfall.track("e", purpose: "Not A Purpose"))
        footfall.close()
        XCTAssertThrowsError(try footfall.track("e")) { error in
            XCTAssertEqual(error as? FootfallError, .closed)
        }
    }
}
