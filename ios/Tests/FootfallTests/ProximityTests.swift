import Foundation
import Footfall
import XCTest

/// Store proximity through the Swift API on the real native library, mirroring the Kotlin `ProximityTest`:
/// readings become visits on the stream, offers and pickup arrivals are told once, `location` gates everything and
/// its withdrawal deletes the visits, bad input is a typed error. This is the ingestion path `BeaconRanging` drives
/// on iOS (`identity` per ranged beacon, then `scanTick`), which cannot run here. The SDK's monotonic clock is real,
/// so a visit is entered with the zone's default 2 of 4 near readings and nothing waits for an exit (30 s of
/// observed absence); the core's own tests drive time.
final class ProximityTests: FootfallTestCase {
    private let beacon = UUID(uuidString: "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6")!

    /// One zone at the tokyo-1 entrance (beacon 1/2, near at -75 dBm or better, the default 2 of 4 readings to
    /// enter) and `campaigns`.
    private func document(_ campaigns: String = "[]") -> String {
        """
        {"proximity": {"version": 1, "zones": [{"id": "tokyo-1/entrance", "store": "tokyo-1", "timeZone": "Asia/Tokyo",
          "beacons": ["\(beacon.uuidString.lowercased()):1:2"], "enterRssi": -75}], "campaigns": \(campaigns)}}
        """
    }

    /// A campaign that makes an offer on entering the zone (at most 5 in 7 days).
    private let welcome = """
        [{"id": "welcome", "zones": ["tokyo-1/entrance"], "trigger": "enter", "priority": 1,
          "cap": {"count": 5, "windowDays": 7}, "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body"}}]
        """

    private func config(_ campaigns: String = "[]", proximity: String? = nil, timeZone: String = "Asia/Tokyo") -> FootfallConfig {
        testConfig(tmp, endpoint: nil, proximity: proximity ?? document(campaigns), timeZone: timeZone)
    }

    /// An instance whose start-up job has run (visits from a last run restored), with `purposes` granted.
    private func open(_ campaigns: String = "[]", purposes: [String] = ["location", "analytics"]) async throws -> Footfall {
        let footfall = try Footfall(config: config(campaigns))
        try footfall.flushToDisk()
        _ = try await footfall.grant(purposes)
        return footfall
    }

    /// Two ranging callbacks each hearing the entrance beacon near (-62 dBm): 2 of 4 near readings enter the zone.
    private func walkIn(_ footfall: Footfall, file: StaticString = #filePath, line: UInt = #line) throws {
        for _ in 0..<2 {
            XCTAssertEqual(try footfall.proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: -62), .processed, file: file, line: line)
            XCTAssertEqual(try footfall.proximity.scanTick(), .processed, file: file, line: line)
        }
    }

    /// An iBeacon advertisement (flags, then Apple's manufacturer data) for the zone's beacon.
    private func ibeacon(major: UInt16, minor: UInt16) -> Data {
        var bytes: [UInt8] = [0x02, 0x01, 0x06, 0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15]
        withUnsafeBytes(of: beacon.uuid) { bytes.append(contentsOf: $0) }
        bytes += [UInt8(major >> 8), UInt8(major & 0xff), UInt8(minor >> 8), UInt8(minor & 0xff), 0xc5]
        return Data(bytes)
    }

    /// The first list of `stream` that satisfies `predicate`, or nil after 10 s (a failure guard, not a wait).
    private func firstList(_ stream: AsyncStream<[Visit]>, where predicate: @escaping @Sendable ([Visit]) -> Bool) async -> [Visit]? {
        let box = Unchecked(stream)
        return try? await within(10) { () -> [Visit] in
            for await visits in box.value where predicate(visits) {
                return visits
            }
            throw TimedOut()
        }
    }

    func testAWalkInBecomesAVisitOnTheStreamInTheStatusAndInTheEvents() async throws {
        let footfall = try await open()
        defer { footfall.close() }
        let events = footfall.events
        let updates = footfall.proximity.visitUpdates
        XCTAssertEqual(try footfall.proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: -62), .processed)
        // The second near reading arrives as an advertisement (an iBeacon frame).
        XCTAssertEqual(try footfall.proximity.advertisement(ibeacon(major: 1, minor: 2), rssi: -62), .processed)
        let visits = await firstList(updates) { !$0.isEmpty }
        let visit = try XCTUnwrap(visits?.first)
        XCTAssertEqual(visits?.count, 1)
        XCTAssertEqual(visit.zone, "tokyo-1/entrance")
        XCTAssertEqual(visit.store, "tokyo-1")
        XCTAssertEqual(visit.phase, .entered)
        XCTAssertNil(visit.exitedAt)
        let read = try await footfall.proximity.visits(limit: 10)
        XCTAssertEqual(read, visits)
        let told = await waitFor(events, within: 10) { event in
            if case .visitChanged(let changed) = event { return changed.id == visit.id }
            return false
        }
        XCTAssertTrue(told, "the visit was told on the events stream")

        let status = try await footfall.proximity.status()
        XCTAssertEqual(status.inside, [ZonePresence(zone: "tokyo-1/entrance", visitId: visit.id)])
        XCTAssertEqual([status.zones, status.campaigns, status.configVersion], [1, 0, 1])
        XCTAssertEqual(status.processed, 2)
        XCTAssertEqual(status.withoutConsent, 0)
    }

    func testStoppingTheScanKeepsTheVisitWithdrawingLocationDeletesItAndStopsProcessing() async throws {
        let footfall = try await open()
        defer { footfall.close() }
        let updates = footfall.proximity.visitUpdates
        try walkIn(footfall)
        let entered = await firstList(updates) { !$0.isEmpty }
        let visit = try XCTUnwrap(entered?.first)
        XCTAssertEqual(try footfall.proximity.scanning(false), .processed)
        XCTAssertEqual(try footfall.proximity.scanning(true), .processed)
        let after = try await footfall.proximity.visits(limit: 10)
        XCTAssertEqual(after.map(\.id), [visit.id])
        XCTAssertEqual(after.first?.phase, .entered, "unknown time is not absence")
        let inside = try await footfall.proximity.status().inside
        XCTAssertEqual(inside.count, 1)

        try await footfall.deny(["location"])
        let remaining = try await footfall.proximity.visits(limit: 10)
        XCTAssertEqual(remaining, [], "the withdrawal deleted the visit")
        let emptied = await firstList(updates) { $0.isEmpty }
        XCTAssertEqual(emptied, [])
        XCTAssertEqual(try footfall.proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: -62), .noConsent)
        XCTAssertEqual(try footfall.proximity.scanTick(), .noConsent)
        let insideAfter = try await footfall.proximity.status().inside
        XCTAssertEqual(insideAfter, [], "no presence outlives the withdrawal")
    }

    func testWithoutLocationNothingIsProcessedOrKept() async throws {
        let footfall = try await open(purposes: ["analytics"])
        defer { footfall.close() }
        for _ in 0..<4 {
            XCTAssertEqual(try footfall.proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: -60), .noConsent)
            XCTAssertEqual(try footfall.proximity.scanTick(), .noConsent)
        }
        let visits = try await footfall.proximity.visits(limit: 10)
        XCTAssertEqual(visits, [])
        let status = try await footfall.proximity.status()
        XCTAssertEqual([status.processed, status.withoutConsent], [0, 8])
        XCTAssertEqual(status.inside, [])
    }

    func testAnOfferForTheVisitArrivesOnTheOffersStreamOnce() async throws {
        let footfall = try await open(welcome)
        let first = footfall.proximity.offers
        let all = footfall.proximity.offers
        let collected = Task { () -> [Offer] in
            var offers: [Offer] = []
            for await offer in all {
                offers.append(offer)
            }
            return offers
        }
        try walkIn(footfall)
        let firstOffer = await firstElement(of: first, within: 10)
        let offer = try XCTUnwrap(firstOffer)
        XCTAssertEqual(offer.campaignId, "welcome")
        XCTAssertEqual(offer.zone, "tokyo-1/entrance")
        XCTAssertEqual([offer.title, offer.body], ["offer.welcome.title", "offer.welcome.body"])
        XCTAssertNil(offer.couponId)
        let visits = try await footfall.proximity.visits(limit: 10)
        XCTAssertEqual(visits.map(\.id), [offer.visitId])
        // More readings in the same visit make no second offer (one per campaign and visit). Closing finishes the
        // stream after everything told before it.
        try walkIn(footfall)
        try footfall.flushToDisk()
        footfall.close()
        let offers = await collected.value
        XCTAssertEqual(offers.map(\.offerId), [offer.offerId])
    }

    func testAPickupArrivesWhenTheShopperEntersItsStoreInsideTheWindow() async throws {
        let footfall = try await open()
        defer { footfall.close() }
        let now = Date()
        try await footfall.proximity.expectPickup("order-7", store: "tokyo-1", window: now.addingTimeInterval(-60)...now.addingTimeInterval(3_600))
        try await footfall.proximity.expectPickup("order-8", store: "osaka-2", from: now.addingTimeInterval(-60), until: now.addingTimeInterval(3_600))
        let arrivals = footfall.proximity.arrivals
        let updates = footfall.proximity.visitUpdates
        try walkIn(footfall)
        let firstArrival = await firstElement(of: arrivals, within: 10)
        let arrived = try XCTUnwrap(firstArrival)
        XCTAssertEqual(arrived.orderId, "order-7")
        XCTAssertEqual(arrived.store, "tokyo-1")
        XCTAssertNotNil(arrived.arrivedAt)
        let entered = await firstList(updates) { !$0.isEmpty }
        let visit = try XCTUnwrap(entered?.first)
        XCTAssertEqual(arrived.visitId, visit.id)
        let all = try await footfall.proximity.pickups()
        let pickups = Dictionary(uniqueKeysWithValues: all.map { ($0.orderId, $0) })
        XCTAssertEqual(Set(pickups.keys), ["order-7", "order-8"])
        XCTAssertEqual(pickups["order-7"]?.arrivedAt, arrived.arrivedAt)
        XCTAssertNotNil(pickups["order-8"])
        XCTAssertNil(pickups["order-8"]?.arrivedAt, "another store's pickup has not arrived")
    }

    func testBadFramesAndBadInputAreInvalidInputAndChangeNothing() async throws {
        let footfall = try await open()
        defer { footfall.close() }
        let proximity = footfall.proximity
        func assertInvalid(_ body: () throws -> Ingested, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) {
                guard case FootfallError.invalidInput = $0 else { return XCTFail("\($0)", line: line) }
            }
        }
        for frame in [Data([0x02, 0x01]), Data([0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15]), Data()] {
            assertInvalid { try proximity.advertisement(frame, rssi: -60) }
        }
        assertInvalid { try proximity.identity(uuid: "not-a-uuid", major: 1, minor: 2, rssi: -60) }
        assertInvalid { try proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: 0) }
        let refused = try await proximity.status().refused
        XCTAssertEqual(refused, 5, "the SDK counted what it refused")
        // A number the FFI cannot carry is refused here, before the call.
        assertInvalid { try proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: 40_000) }
        for (orderId, until) in [("", Date().addingTimeInterval(60)), ("order-1", Date().addingTimeInterval(-60))] {
            do {
                try await proximity.expectPickup(orderId, store: "tokyo-1", from: Date(), until: until)
                XCTFail("expected invalidInput for \(orderId)")
            } catch FootfallError.invalidInput {
            }
        }
        do {
            _ = try await proximity.visits(limit: -1)
            XCTFail("expected invalidInput")
        } catch FootfallError.invalidInput {
        }
        let pickups = try await proximity.pickups()
        XCTAssertEqual(pickups, [])
        let visits = try await proximity.visits(limit: 10)
        XCTAssertEqual(visits, [])
        let processed = try await proximity.status().processed
        XCTAssertEqual(processed, 0)
    }

    func testAProximityDocumentOrTimeZoneThatCannotBeReadRefusesTheConfiguration() throws {
        let badDocument = config(proximity: #"{"proximity": {"version": 1, "zones": [{"id": "x"}]}}"#)
        XCTAssertThrowsError(try Footfall(config: badDocument)) {
            guard case FootfallError.config(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("proximity"), reason)
        }
        let badZone = config(timeZone: "Mars/Olympus")
        XCTAssertThrowsError(try Footfall(config: badZone)) {
            guard case FootfallError.config(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("Mars/Olympus"), reason)
        }
    }

    func testAfterCloseIngestionThrowsClosedAndTheStreamsFinish() async throws {
        let footfall = try await open()
        let offers = footfall.proximity.offers
        footfall.close()
        XCTAssertThrowsError(try footfall.proximity.scanTick()) { XCTAssertEqual($0 as? FootfallError, .closed) }
        XCTAssertThrowsError(try footfall.proximity.identity(uuid: beacon, major: 1, minor: 2, rssi: -62)) {
            XCTAssertEqual($0 as? FootfallError, .closed)
        }
        let next = await firstElement(of: offers, within: 10)
        XCTAssertNil(next, "closing finished the stream")
        for await _ in footfall.proximity.visitUpdates {
            XCTFail("a stream made after close finishes at once")
        }
    }
}
