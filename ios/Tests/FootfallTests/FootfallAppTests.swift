import Foundation
@testable import Footfall
import XCTest

// @testable: `resetForTesting()` and `watchesNetwork`, as a test process outlives many simulated app starts.

/// The process-wide instance, as `FootfallAndroid` is on Android: one per process whatever the calls, the network
/// watched only when there is somewhere to upload, and everything released on close. UIKit's lifecycle and the
/// Secure Enclave are not on Linux (not compiled here); ``AppLifecycleFlusherTests`` covers the flusher itself.
final class FootfallAppTests: FootfallTestCase {
    override func tearDownWithError() throws {
        FootfallApp.resetForTesting()
        try super.tearDownWithError()
    }

    func testOneInstancePerProcessWhateverTheCalls() async throws {
        let collector = try startCollector()
        XCTAssertNil(FootfallApp.shared)
        let first = try FootfallApp.start(config: testConfig(tmp, endpoint: collector.url))
        let again = try FootfallApp.start(config: testConfig(tmp.appendingPathComponent("other"), endpoint: nil))
        XCTAssertTrue(first === again, "the second call's arguments are ignored")
        XCTAssertTrue(FootfallApp.shared === first)
        XCTAssertTrue(FootfallApp.watchesNetwork, "an endpoint: a network coming back retries uploads")

        try await first.grantAnalytics()
        let id = try first.track("product_viewed")
        _ = try await first.flush()
        XCTAssertEqual(try collector.events().compactMap { $0.text("id") }, [id])
    }

    func testWithoutAnEndpointNothingIsWatchedAndAResetStartsAfresh() throws {
        let recordOnly = try FootfallApp.start(config: testConfig(tmp, endpoint: nil))
        XCTAssertFalse(FootfallApp.watchesNetwork, "nothing to upload, nothing to watch")
        FootfallApp.resetForTesting()
        XCTAssertNil(FootfallApp.shared)
        XCTAssertThrowsError(try recordOnly.track("product_viewed")) { XCTAssertEqual($0 as? FootfallError, .closed) }
    }
}
