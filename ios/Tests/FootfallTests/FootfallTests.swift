import Foundation
import Footfall
import XCTest

/// The SDK end to end through the idiomatic Swift API, the real native library and the reference collector.
/// Mirrors android/src/test/kotlin/dev/footfall/FootfallTest.kt.
final class FootfallTests: FootfallTestCase {
    func testTrackedEventsArriveWithTheirNamesPropertiesAndPurpose() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }
        try await footfall.grant(["analytics", "marketing"])

        let properties: [String: FootfallValue] = [
            "sku": "4901234567894",
            "price": 1980,
            "ratio": 0.5,
            "big": 9_007_199_254_740_993,
            "in_stock": true,
            "coupon": nil,
            "tags": ["shoes", "sale"],
            "nested": ["quote": "say \"hi\"\n", "emoji": "😀 é", "empty": []],
        ]
        let viewed = try footfall.track("product_viewed", properties: properties)
        let offer = try footfall.track("offer_shown", properties: ["offer": "spring"], purpose: "marketing")
        let plain = try footfall.track("app_opened")
        try footfall.identify("user-42", traits: ["plan": "gold"])
        let afterIdentify = try footfall.track("checkout")
        try footfall.reset()
        let afterReset = try footfall.track("browse")

        let report = try await footfall.flush()
        XCTAssertEqual(report.outcome, .drained)
        XCTAssertEqual(report.delivered, 6)
        XCTAssertEqual(report.remaining, 0)

        var stored: [String: [String: Any]] = [:]
        for event in try collector.events() {
            stored[event.text("id") ?? ""] = event
        }
        XCTAssertEqual(stored.count, 6)
        let expected = json(#"""
            {"sku":"4901234567894","price":1980,"ratio":0.5,"big":9007199254740993,"in_stock":true,"coupon":null,
             "tags":["shoes","sale"],"nested":{"quote":"say \"hi\"\n","emoji":"😀 é","empty":[]}}
            """#)
        let viewedEvent = try XCTUnwrap(stored[viewed])
        XCTAssertEqual(viewedEvent.text("name"), "product_viewed")
        XCTAssertEqual(viewedEvent.text("purpose"), "analytics")
        XCTAssertEqual(viewedEvent["properties"] as? NSObject, expected)
        let offerEvent = try XCTUnwrap(stored[offer])
        XCTAssertEqual(offerEvent.text("name"), "offer_shown")
        XCTAssertEqual(offerEvent.text("purpose"), "marketing")
        XCTAssertEqual(offerEvent["properties"] as? NSObject, json(#"{"offer":"spring"}"#))
        XCTAssertEqual(stored[plain]?["properties"] as? NSObject, json("{}"))

        let identify = try XCTUnwrap(stored.values.first { $0.text("type") == "identify" })
        XCTAssertEqual(identify.text("user_id"), "user-42")
        XCTAssertEqual(identify["properties"] as? NSObject, json(#"{"plan":"gold"}"#))
        XCTAssertNil(stored[plain]?.text("user_id"))
        XCTAssertEqual(stored[afterIdentify]?.text("user_id"), "user-42")
        XCTAssertNil(stored[afterReset]?.text("user_id"))
        XCTAssertNotEqual(stored[plain]?.text("anonymous_id"), stored[afterReset]?.text("anonymous_id"))

        let status = try footfall.status()
        XCTAssertEqual(status.tracked, 6)
        XCTAssertEqual(status.delivered, 6)
        XCTAssertEqual(status.pending, 0)
    }

    func testAFailingCollectorThenARecoveredOneReceivesEverythingExactlyOnce() async throws {
        let failing = try startCollector("--fail-rate", "1")
        let footfall = try Footfall(config: testConfig(tmp, endpoint: failing.url))
        defer { footfall.close() }
        try await footfall.grantAnalytics()

        let ids = try (0..<30).map { try footfall.track("visit", properties: ["i": FootfallValue($0)]) }
        let failed = try await footfall.flush()
        guard case .retryLater = failed.outcome else {
            return XCTFail("expected retryLater, got \(failed)")
        }
        XCTAssertEqual(failed.delivered, 0)
        XCTAssertEqual(failed.remaining, 30)
        XCTAssertEqual(try failing.stats().events, 0)

        failing.close()
        let recovered = try startCollector(listen: "127.0.0.1:\(failing.port)")
        let report = try await flushUntilDrained(footfall)
        XCTAssertEqual(report.remaining, 0)

        let stats = try recovered.stats()
        XCTAssertEqual(stats.events, 30)
        XCTAssertEqual(stats.duplicates, 0)
        XCTAssertEqual(Set(try recovered.events().compactMap { $0.text("id") }), Set(ids))
        let status = try footfall.status()
        XCTAssertEqual(status.delivered, 30)
        XCTAssertGreaterThanOrEqual(status.retries, 1)
    }

    func testBadInputIsATypedErrorAndRecordsNothing() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }
        try await footfall.grantAnalytics()   // so what is refused is the input, not the purpose

        func deep(_ levels: Int) -> FootfallValue {
            levels == 0 ? [:] : ["d": deep(levels - 1)]
        }
        let reasons = [
            invalidInputReason { try footfall.track("") },
            invalidInputReason { try footfall.track("   ") },
            invalidInputReason { try footfall.track(String(repeating: "x", count: 201)) },
            invalidInputReason { try footfall.trackJSON("e", propertiesJSON: "[1, 2, 3]") },
            invalidInputReason { try footfall.trackJSON("e", propertiesJSON: "\"text\"") },
            invalidInputReason { try footfall.trackJSON("e", propertiesJSON: "{not json") },
            invalidInputReason { try footfall.track("e", properties: ["d": deep(20)]) },
            invalidInputReason { try footfall.track("e", properties: ["big": .string(String(repeating: "x", count: 40_000))]) },
            invalidInputReason { try footfall.track("e", properties: ["x": .double(.nan)]) },
            invalidInputReason { try footfall.track("e", purpose: "Not A Purpose") },
            invalidInputReason { try footfall.identify("") },
        ]
        XCTAssertTrue(reasons[0].contains("empty"), reasons[0])
        XCTAssertTrue(reasons[3].contains("object"), reasons[3])
        XCTAssertTrue(reasons[6].contains("deep"), reasons[6])
        XCTAssertTrue(reasons[7].contains("limit"), reasons[7])
        XCTAssertThrowsError(try footfall.deadLetters(limit: -1)) { error in
            guard case FootfallError.invalidInput = error else { return XCTFail("\(error)") }
        }

        try footfall.flushToDisk()
        let status = try footfall.status()
        XCTAssertEqual(status.tracked, 0)
        XCTAssertEqual(status.pending, 0)
        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 0)
        XCTAssertEqual(try collector.stats().events, 0)
    }

    func testCloseTwiceIsSafeAndUseAfterCloseThrowsClosed() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        try await footfall.grantAnalytics()
        try footfall.track("before_close")
        let stream = footfall.events
        footfall.close()
        footfall.close()

        XCTAssertThrowsError(try footfall.track("after_close")) { XCTAssertEqual($0 as? FootfallError, .closed) }
        XCTAssertThrowsError(try footfall.status()) { XCTAssertEqual($0 as? FootfallError, .closed) }
        XCTAssertThrowsError(try footfall.reset()) { XCTAssertEqual($0 as? FootfallError, .closed) }
        do {
            _ = try await footfall.flush()
            XCTFail("flush after close did not throw")
        } catch {
            XCTAssertEqual(error as? FootfallError, .closed)
        }
        do {
            _ = try await footfall.grantAnalytics()
            XCTFail("grant after close did not throw")
        } catch {
            XCTAssertEqual(error as? FootfallError, .closed)
        }
        // Close finishes the event streams, those read before and after it.
        let before = await firstElement(of: stream, within: 5)
        XCTAssertNil(before)
        let after = await firstElement(of: footfall.events, within: 5)
        XCTAssertNil(after)

        // What was tracked before close() is durable: a new instance on the same directory sees it.
        let again = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { again.close() }
        XCTAssertEqual(try again.status().pending, 1)
        // No endpoint: recording works, uploading is a configuration error.
        do {
            _ = try await again.flush()
            XCTFail("flush without an endpoint did not throw")
        } catch FootfallError.config {
            // expected
        }
    }

    func testAConfigurationThatCannotWorkIsAConfigError() {
        func assertConfigError(_ config: FootfallConfig, line: UInt = #line) {
            XCTAssertThrowsError(try Footfall(config: config), line: line) { error in
                guard case FootfallError.config = error else { return XCTFail("\(error)", line: line) }
            }
        }
        assertConfigError(testConfig(tmp, endpoint: "ftp://example.com"))
        assertConfigError(testConfig(tmp, endpoint: "http://example.com"))
        assertConfigError(FootfallConfig(dataDir: tmp.path, flushPolicy: FlushPolicy(countThreshold: 0)))
    }

    func testTheDefaultDataDirectoryIsCreatedStableAndUsable() async throws {
        let directory = try Footfall.defaultDataDirectory()
        XCTAssertEqual(directory.lastPathComponent, "footfall")
        XCTAssertEqual(try Footfall.defaultDataDirectory(), directory, "the same directory every launch")
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory))
        XCTAssertTrue(isDirectory.boolValue)
        #if canImport(Darwin)
        let values = try directory.resourceValues(forKeys: [.isExcludedFromBackupKey])
        XCTAssertEqual(values.isExcludedFromBackup, true, "the queue is a cache: never backed up")
        #endif

        // An instance records into it (a subdirectory, so the test leaves the app's own queue alone).
        let dataDir = directory.appendingPathComponent("tests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let footfall = try Footfall(config: FootfallConfig(dataDir: dataDir.path))
        defer { footfall.close() }
        try await footfall.grantAnalytics()
        try footfall.track("app_opened")
        try footfall.flushToDisk()
        XCTAssertEqual(try footfall.status().pending, 1)
    }

    func testTheGeneratedDefaultsAreTheSDKsDefaults() {
        XCTAssertEqual(FootfallConfig.defaults(dataDir: tmp.path), FootfallConfig(dataDir: tmp.path))
        // Consent is enforced unless the app says otherwise (default deny), and the policy refreshed hourly.
        XCTAssertEqual(
            FootfallConfig(dataDir: tmp.path).consent,
            ConsentSettings(enforce: true, policyRefreshIntervalMs: 3_600_000, tcfImport: false, tcfVendorId: nil)
        )
    }

    func testManyTasksTrackingConcurrentlyLoseNothing() async throws {
        let collector = try startCollector()
        let config = FootfallConfig(
            dataDir: tmp.appendingPathComponent("sdk").path,
            endpoint: collector.url,
            storageLimits: StorageLimits(maxEvents: 100_000)
        )
        let footfall = try Footfall(config: config)
        defer { footfall.close() }
        try await footfall.grantAnalytics()

        let ids = try await withThrowingTaskGroup(of: [String].self) { group -> [String] in
            for task in 0..<50 {
                group.addTask {
                    try (0..<200).map { i in
                        try footfall.track("concurrent", properties: ["task": FootfallValue(task), "i": FootfallValue(i)])
                    }
                }
            }
            var all: [String] = []
            for try await chunk in group {
                all += chunk
            }
            return all
        }
        XCTAssertEqual(ids.count, 10_000)
        XCTAssertEqual(Set(ids).count, 10_000, "ids are unique")

        // Background uploads ran meanwhile (automatic policy); an explicit flush takes the rest.
        let report = try await footfall.flush()
        XCTAssertEqual(report.outcome, .drained)
        XCTAssertEqual(report.remaining, 0)

        let stats = try collector.stats()
        XCTAssertEqual(stats.events, 10_000)
        XCTAssertEqual(stats.duplicates, 0)
        XCTAssertEqual(Set(try collector.events().compactMap { $0.text("id") }), Set(ids))
        let status = try footfall.status()
        XCTAssertEqual(status.tracked, 10_000)
        XCTAssertEqual(status.delivered, 10_000)
        XCTAssertEqual(status.queueFullRejections, 0)
    }
}
