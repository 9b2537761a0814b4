import Foundation
import FootfallFFI
import XCTest

// This file imports only the generated module (FootfallFFI), never `Footfall`: both declare `Footfall`,
// `FootfallError` and `FootfallEvent`, and a file importing both would have to qualify every use.

/// The generated object and listener protocol directly, as the idiomatic layer uses them.
final class NativeObjectTests: FootfallTestCase {
    func testCloseTwiceIsSafeAndEveryCallAfterItIsTheClosedError() async throws {
        let native = try FootfallFFI.Footfall(config: testConfig(tmp, endpoint: nil))
        _ = try native.grant(purposes: ["analytics"], method: .api)
        _ = try native.track(name: "x", propertiesJson: "{}", purpose: nil)
        native.close()
        native.close()
        XCTAssertThrowsError(try native.track(name: "x", propertiesJson: "{}", purpose: nil)) {
            XCTAssertEqual($0 as? FootfallFFI.FootfallError, .Closed)
        }
        XCTAssertThrowsError(try native.status()) { XCTAssertEqual($0 as? FootfallFFI.FootfallError, .Closed) }
        XCTAssertThrowsError(try native.grant(purposes: ["analytics"], method: .api)) {
            XCTAssertEqual($0 as? FootfallFFI.FootfallError, .Closed)
        }
        XCTAssertThrowsError(try native.consentStatus()) { XCTAssertEqual($0 as? FootfallFFI.FootfallError, .Closed) }
        do {
            _ = try await native.flush()
            XCTFail("flush after close did not throw")
        } catch {
            XCTAssertEqual(error as? FootfallFFI.FootfallError, .Closed)
        }
    }

    func testTheEventListenerIsCalledOnSDKThreadsWithConsentRetryDeliveryAndPause() async throws {
        let testThread = currentThreadName()
        let listener = RecordingListener()

        let failing = try startCollector("--fail-rate", "1")
        let first = try FootfallFFI.Footfall(config: testConfig(tmp.appendingPathComponent("a"), endpoint: failing.url), listener: listener)
        // A consent change is told on the SDK's writer thread before the call returns.
        let granted = try first.grant(purposes: ["analytics"], method: .api)
        let consent = listener.seen.all
        guard consent.count == 1, case .consentChanged(_, _, _, _, let status) = consent[0].event else {
            return XCTFail("\(consent)")
        }
        XCTAssertEqual(
            consent.map { $0.event },
            [.consentChanged(recordId: granted.recordId, nowAllowed: ["analytics"], nowDenied: [], purged: 0, status: status)]
        )
        XCTAssertEqual(status, try first.consentStatus(), "the event carries the status the change produced")
        XCTAssertNotNil(granted.recordId)
        XCTAssertNotEqual(consent.first?.thread, testThread)
        XCTAssertEqual(consent.first?.isMain, false)
        listener.seen.removeAll()

        _ = try first.track(name: "e", propertiesJson: "{}", purpose: nil)
        _ = try first.track(name: "f", propertiesJson: "{}", purpose: nil)
        _ = try await first.flush()
        first.close()
        let retries = listener.seen.all
        XCTAssertEqual(retries.count, 1, "\(retries)")
        guard case .retryScheduled(let afterMs, let reason) = retries.first?.event else { return XCTFail("\(retries)") }
        XCTAssertTrue(reason.hasPrefix("HTTP 503"), reason)
        XCTAssertGreaterThan(afterMs, 0)
        XCTAssertNotEqual(retries.first?.thread, testThread)
        XCTAssertEqual(retries.first?.isMain, false)

        listener.seen.removeAll()
        let good = try startCollector()
        let second = try FootfallFFI.Footfall(config: testConfig(tmp.appendingPathComponent("b"), endpoint: good.url), listener: listener)
        _ = try second.grant(purposes: ["analytics"], method: .api)
        listener.seen.removeAll()
        _ = try second.track(name: "e", propertiesJson: "{}", purpose: nil)
        _ = try second.track(name: "f", propertiesJson: "{}", purpose: nil)
        _ = try await second.flush()
        second.close()
        XCTAssertEqual(listener.seen.all.map { $0.event }, [.delivered(count: 2, duplicates: 0)])

        listener.seen.removeAll()
        let guarded = try startCollector("--api-key", "right-key")
        let third = try FootfallFFI.Footfall(
            config: testConfig(tmp.appendingPathComponent("c"), endpoint: guarded.url, apiKey: "wrong-key"),
            listener: listener
        )
        _ = try third.grant(purposes: ["analytics"], method: .api)
        listener.seen.removeAll()
        _ = try third.track(name: "e", propertiesJson: "{}", purpose: nil)
        _ = try await third.flush()
        third.close()
        guard case .paused(let pauseReason) = listener.seen.all.first?.event else { return XCTFail("\(listener.seen.all)") }
        XCTAssertTrue(pauseReason.hasPrefix("HTTP 401"), pauseReason)
    }

    func testAListenerThatThrowsDoesNotBreakTheSDK() async throws {
        let listener = ThrowingListener()
        let collector = try startCollector()
        let native = try FootfallFFI.Footfall(config: testConfig(tmp, endpoint: collector.url), listener: listener)
        // The listener throws on the consent event too: the decision is recorded all the same.
        let granted = try native.grant(purposes: ["analytics"], method: .api)
        XCTAssertEqual(granted.nowAllowed, ["analytics"])
        XCTAssertTrue(try native.isAllowed(purpose: "analytics"))
        for _ in 0..<3 {
            _ = try native.track(name: "e", propertiesJson: "{}", purpose: nil)
            let report = try await native.flush()
            XCTAssertEqual(report.delivered, 1)
        }
        native.close()
        XCTAssertEqual(listener.calls.all, ["consentChanged", "delivered", "delivered", "delivered"])
        XCTAssertEqual(try collector.stats().events, 3)
    }
}

private final class RecordingListener: FootfallFFI.EventListener {
    let seen = Recorder<(event: FootfallFFI.FootfallEvent, thread: String, isMain: Bool)>()

    func onEvent(event: FootfallFFI.FootfallEvent) throws {
        seen.append((event: event, thread: currentThreadName(), isMain: Thread.isMainThread))
    }
}

private final class ThrowingListener: FootfallFFI.EventListener {
    let calls = Recorder<String>()

    struct ListenerBug: Error {}

    func onEvent(event: FootfallFFI.FootfallEvent) throws {
        calls.append(event.kind)
        throw ListenerBug()
    }
}

private extension FootfallFFI.FootfallEvent {
    var kind: String {
        switch self {
        case .delivered: return "delivered"
        case .deadLettered: return "deadLettered"
        case .retryScheduled: return "retryScheduled"
        case .paused: return "paused"
        case .consentChanged: return "consentChanged"
        case .walletChanged: return "walletChanged"
        case .visitChanged: return "visitChanged"
        case .offerMade: return "offerMade"
        case .pickupArrived: return "pickupArrived"
        }
    }
}
