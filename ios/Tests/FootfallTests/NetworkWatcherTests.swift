import Foundation
@testable import Footfall
import XCTest

// @testable: `pathChanged(satisfied:)` is what NWPathMonitor's updates feed, and the Network framework is not on
// Linux (the monitor itself is not compiled here).

/// The network coming back as the path updates tell it, and the SDK call it makes. What the SDK does then (retry
/// at once, past its backoff, never past a server's Retry-After) is the core's rule, tested in
/// `core/tests/sync_engine.rs`.
final class NetworkWatcherTests: FootfallTestCase {
    func testOnlyAReturnToAUsableNetworkIsReported() {
        let reported = Counter()
        let watcher = NetworkWatcher { reported.increment() }
        watcher.pathChanged(satisfied: true)     // the first update: usable
        watcher.pathChanged(satisfied: true)     // another interface, still usable
        watcher.pathChanged(satisfied: false)    // lost
        watcher.pathChanged(satisfied: false)
        watcher.pathChanged(satisfied: true)     // back
        XCTAssertEqual(reported.value, 2)
    }

    func testTheSDKIsToldAndAClosedOneIsIgnored() throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        try footfall.networkAvailable()
        let watcher = NetworkWatcher(footfall: footfall)
        watcher.pathChanged(satisfied: true)
        footfall.close()
        XCTAssertThrowsError(try footfall.networkAvailable()) { XCTAssertEqual($0 as? FootfallError, .closed) }
        watcher.pathChanged(satisfied: false)
        watcher.pathChanged(satisfied: true)     // after close: ignored, never a crash
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }
}
