import Foundation
import Footfall
import XCTest

/// Data-subject rights through the idiomatic layer: the export, and a deletion request that wipes the device and
/// reaches the reference collector.
final class RightsTests: FootfallTestCase {
    func testTheExportHoldsEverythingAboutTheShopperAndADeletionWipesItAndReachesTheBackend() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }

        try await footfall.grantAnalytics()
        try footfall.identify("user-42", traits: ["tier": "gold"])
        let viewed = try footfall.track("product_viewed", properties: ["sku": "4901234567894"])

        // Everything tracked before the call is in the export.
        let exported = try await footfall.exportData()
        let before = try exportDocument(exported)
        XCTAssertEqual(before["userId"] as? String, "user-42")
        let anonymousId = try XCTUnwrap(before["anonymousId"] as? String)
        XCTAssertNotNil(before["sessionId"] as? String)
        let events = try XCTUnwrap(before["events"] as? [[String: Any]])
        XCTAssertEqual(events.count, 2, "the identify message and the event")
        XCTAssertEqual(events.first { $0["id"] as? String == viewed }?["name"] as? String, "product_viewed")
        XCTAssertEqual((before["deadLetters"] as? [Any])?.count, 0)
        let consent = try XCTUnwrap(before["consent"] as? [String: Any])
        XCTAssertEqual(consent["verified"] as? Bool, true)
        XCTAssertEqual((consent["records"] as? [Any])?.count, 1)
        XCTAssertNotNil(consent["status"] as? [String: Any])
        XCTAssertEqual((before["rightsRequests"] as? [Any])?.count, 0)
        let noRequests = try await footfall.rightsRequests()
        XCTAssertEqual(noRequests, [])

        // The request is durable once the call returns and the device is wiped at once.
        let requestId = try await footfall.requestDeletion()
        let requests = try await footfall.rightsRequests()
        XCTAssertEqual(requests.map(\.requestId), [requestId])
        XCTAssertEqual(requests.first?.kind, "deletion")
        XCTAssertNotEqual(requests.first?.state, .refused)
        XCTAssertNil(requests.first?.lastError)
        let status = try footfall.status()
        XCTAssertEqual(status.pending, 0)

        // A flush runs the essential lane, which sends the request; the wiped events are never uploaded.
        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 0)
        XCTAssertEqual(try collector.stats().events, 0)
        let acknowledged = try await footfall.rightsRequests()
        XCTAssertEqual(acknowledged.map(\.state), [.acknowledged])
        let sent = try XCTUnwrap(acknowledged.first)
        XCTAssertGreaterThanOrEqual(sent.updatedAt, sent.createdAt)

        let stored = try collector.deletions()
        XCTAssertEqual(stored.count, 1)
        XCTAssertEqual(stored.first?["request_id"] as? String, requestId)
        XCTAssertEqual(stored.first?["user_id"] as? String, "user-42")
        XCTAssertEqual(stored.first?["anonymous_ids"] as? [String], [anonymousId])
        XCTAssertEqual(stored.first?["duplicates"] as? Int, 0)

        // Afterwards: a new anonymous id, no user id, no events; the consent log is kept as proof.
        let exportedAfter = try await footfall.exportData()
        let after = try exportDocument(exportedAfter)
        XCTAssertNotNil(after["userId"] as? NSNull, "\(String(describing: after["userId"]))")
        XCTAssertNotEqual(after["anonymousId"] as? String, anonymousId)
        XCTAssertEqual((after["events"] as? [Any])?.count, 0)
        let keptConsent = try XCTUnwrap(after["consent"] as? [String: Any])
        XCTAssertEqual((keptConsent["records"] as? [Any])?.count, 1)
        let rights = try XCTUnwrap(after["rightsRequests"] as? [[String: Any]])
        XCTAssertEqual(rights.first?["requestId"] as? String, requestId)
        XCTAssertEqual(rights.first?["state"] as? String, "acknowledged")

        // Consent decisions survive the deletion: what is tracked next is collected under the new id.
        let next = try footfall.track("app_opened_again")
        _ = try await footfall.flush()
        let arrived = try collector.events()
        XCTAssertEqual(arrived.compactMap { $0.text("id") }, [next])
        XCTAssertEqual(arrived.first?.text("anonymous_id"), after["anonymousId"] as? String)
    }

    func testRightsCallsAfterCloseThrowClosed() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        footfall.close()
        for call in [
            { _ = try await footfall.exportData() },
            { _ = try await footfall.requestDeletion() },
            { _ = try await footfall.rightsRequests() },
        ] as [() async throws -> Void] {
            do {
                try await call()
                XCTFail("a call after close did not throw")
            } catch {
                XCTAssertEqual(error as? FootfallError, .closed)
            }
        }
    }

    private func exportDocument(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], text)
    }
}
