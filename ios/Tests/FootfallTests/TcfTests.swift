import Foundation
import Footfall
import XCTest

/// TCF import mode: the CMP's TC string decides the purposes TCF covers, through ``Footfall/importTcf`` and through
/// ``TcfConsentBridge`` reading `UserDefaults`. The strings are the shared vectors in tests/tcf-vectors, built
/// with @iabtcf/core: `core-range-vendors` consents to TCF purposes 1–11 (no special feature), `core-minimal` to
/// nothing; both from CMP 300.
final class TcfTests: FootfallTestCase {
    func testAnImportRecordsWhatTheCMPDecidedOnceAndTheCMPsPurposesCannotBeDecidedOtherwise() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil, tcfImport: true))
        defer { footfall.close() }
        let everything = try tcfVector("core-range-vendors")
        let nothing = try tcfVector("core-minimal")

        let status = try await footfall.consentStatus()
        XCTAssertTrue(status.tcfImport)
        // The CMP asks about the purposes TCF covers: Footfall's own prompt has nothing to ask.
        let need = try await footfall.needsPrompt()
        XCTAssertEqual(need, PromptNeed(promptId: nil, reason: .upToDate, purposes: []))

        let events = footfall.events
        let imported = try await footfall.importTcf(everything, gdprApplies: true)
        XCTAssertEqual(imported.result, .recorded)
        XCTAssertEqual(
            imported.decisions,
            ["analytics": true, "personalization": true, "marketing": true, "location": false]
        )
        XCTAssertEqual(imported.outcome.nowAllowed.sorted(), ["analytics", "marketing", "personalization"])
        let recordId = try XCTUnwrap(imported.outcome.recordId)
        let told = await firstElement(of: events, within: 10)
        guard case .consentChanged(let toldRecordId, let nowAllowed, let nowDenied, let purged, _)? = told else {
            return XCTFail("\(String(describing: told))")
        }
        XCTAssertEqual(toldRecordId, recordId)
        XCTAssertEqual(Set(nowAllowed), ["analytics", "marketing", "personalization"])
        XCTAssertEqual(nowDenied, [])
        XCTAssertEqual(purged, 0)
        let analyticsAllowed = try await footfall.isAllowed("analytics")
        XCTAssertTrue(analyticsAllowed)
        let locationAllowed = try await footfall.isAllowed("location")
        XCTAssertFalse(locationAllowed, "precise geolocation (special feature 1) was not opted in")
        try footfall.track("product_viewed")

        // The same answer again, as at every start, records nothing (gdprApplies unknown included).
        let again = try await footfall.importTcf(everything, gdprApplies: true)
        XCTAssertEqual(again.result, .unchanged)
        XCTAssertNil(again.outcome.recordId)
        let unknown = try await footfall.importTcf(everything)
        XCTAssertEqual(unknown.result, .unchanged)
        let log = try await footfall.consentLog()
        XCTAssertTrue(log.verified)
        XCTAssertEqual(log.records.map(\.recordId), [recordId])
        XCTAssertEqual(log.records.first?.method, .tcfImport(cmpId: 300))

        // Deciding the CMP's purposes any other way would fight the CMP: refused. Custom purposes stay the app's.
        for decide in [
            { _ = try await footfall.grant(["analytics"]) },
            { _ = try await footfall.deny(["marketing"], method: .settings) },
            { _ = try await footfall.setConsent(["location": true]) },
        ] as [() async throws -> Void] {
            do {
                try await decide()
                XCTFail("a purpose the CMP decides was decided through the API")
            } catch FootfallError.invalidInput(let reason) {
                XCTAssertTrue(reason.contains("CMP"), reason)
            }
        }
        let custom = try await footfall.grant(["loyalty_sync"])
        XCTAssertEqual(custom.nowAllowed, ["loyalty_sync"])
        // Only importTcf records a TCF import.
        do {
            try await footfall.grant(["loyalty_sync"], method: .tcfImport(cmpId: 300))
            XCTFail("the app claimed a TCF import")
        } catch FootfallError.invalidInput {
            // expected
        }

        // The shopper rejects everything in the CMP: withdrawn at once, the queued event purged.
        let rejected = try await footfall.importTcf(nothing, gdprApplies: true)
        XCTAssertEqual(rejected.result, .recorded)
        XCTAssertEqual(
            rejected.decisions,
            ["analytics": false, "personalization": false, "marketing": false, "location": false]
        )
        XCTAssertEqual(rejected.outcome.nowDenied.sorted(), ["analytics", "marketing", "personalization"])
        XCTAssertEqual(rejected.outcome.purged, 1)
        XCTAssertThrowsError(try footfall.track("product_viewed")) {
            XCTAssertEqual($0 as? FootfallError, .consentDenied(purpose: "analytics"))
        }

        // GDPR does not apply: nothing is imported.
        let outside = try await footfall.importTcf(everything, gdprApplies: false)
        XCTAssertEqual(outside.result, .gdprDoesNotApply)
        XCTAssertEqual(outside.decisions, [:])

        // An unreadable string is refused; the decisions stay.
        do {
            _ = try await footfall.importTcf("not a TC string!")
            XCTFail("an unreadable TC string was imported")
        } catch FootfallError.invalidInput(let reason) {
            XCTAssertTrue(reason.contains("TC string"), reason)
        }
        let stillDenied = try await footfall.isAllowed("analytics")
        XCTAssertFalse(stillDenied)
    }

    func testImportingOutsideTCFModeIsAConfigError() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }
        let nothing = try tcfVector("core-minimal")
        do {
            _ = try await footfall.importTcf(nothing)
            XCTFail("imported outside TCF import mode")
        } catch FootfallError.config {
            // expected
        }
        // A vendor id means nothing without TCF import mode.
        XCTAssertThrowsError(try Footfall(config: FootfallConfig(
            dataDir: tmp.appendingPathComponent("vendor").path,
            consent: ConsentSettings(tcfVendorId: 5)
        ))) { error in
            guard case FootfallError.config(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("tcfVendorId"), reason)
        }
    }

    func testTheBridgeImportsFromUserDefaultsAtStartAndWhenTheCMPChangesIt() async throws {
        let suite = "dev.footfall.tests.\(UUID().uuidString)"
        let defaults = try XCTUnwrap(UserDefaults(suiteName: suite))
        defer { defaults.removePersistentDomain(forName: suite) }
        let everything = try tcfVector("core-range-vendors")
        let nothing = try tcfVector("core-minimal")
        defaults.set(everything, forKey: TcfConsentBridge.tcStringKey)
        defaults.set(1, forKey: TcfConsentBridge.gdprAppliesKey)

        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil, tcfImport: true))
        defer { footfall.close() }
        let imports = ImportRecorder()
        let bridge = TcfConsentBridge(footfall: footfall, defaults: defaults) { imports.record($0) }
        defer { bridge.close() }

        // At start: what the CMP stored before the app launched.
        let atStart = try await imports.next()
        XCTAssertEqual(atStart.result, .recorded)
        XCTAssertEqual(atStart.decisions["analytics"], true)
        let allowed = try await footfall.isAllowed("analytics")
        XCTAssertTrue(allowed)

        // An unrelated preference changes: nothing is imported. Then the CMP stores a new answer: imported.
        cmpWrites(defaults) { $0.set("dark", forKey: "theme") }
        cmpWrites(defaults) { $0.set(nothing, forKey: TcfConsentBridge.tcStringKey) }
        let changed = try await imports.next()
        XCTAssertEqual(changed.result, .recorded, "the unrelated change imported something: \(changed)")
        XCTAssertEqual(changed.decisions["analytics"], false)

        // The shopper accepts again, then the CMP removes its string (consent reset): the grants are withdrawn.
        cmpWrites(defaults) { $0.set(everything, forKey: TcfConsentBridge.tcStringKey) }
        let accepted = try await imports.next()
        XCTAssertEqual(accepted.result, .recorded)
        cmpWrites(defaults) { $0.removeObject(forKey: TcfConsentBridge.tcStringKey) }
        let cleared = try await imports.next()
        XCTAssertEqual(cleared.result, .cleared)
        XCTAssertEqual(cleared.decisions, ["analytics": false, "personalization": false, "marketing": false])

        // GDPR does not apply (IABTCF_gdprApplies = 0, stored as text by some CMPs): nothing is imported.
        cmpWrites(defaults) { $0.set(everything, forKey: TcfConsentBridge.tcStringKey) }
        let reaccepted = try await imports.next()
        XCTAssertEqual(reaccepted.result, .recorded)
        cmpWrites(defaults) { $0.set("0", forKey: TcfConsentBridge.gdprAppliesKey) }
        let outside = try await imports.next()
        XCTAssertEqual(outside.result, .gdprDoesNotApply)

        let log = try await footfall.consentLog()
        XCTAssertEqual(log.records.count, 5, "start, change, accept, clear, accept: one record each")
        XCTAssertTrue(log.records.allSatisfy { $0.method == .tcfImport(cmpId: 300) })

        // Closed, the bridge follows nothing more.
        bridge.close()
        cmpWrites(defaults) { $0.set(nothing, forKey: TcfConsentBridge.tcStringKey) }
        cmpWrites(defaults) { $0.set(1, forKey: TcfConsentBridge.gdprAppliesKey) }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(imports.count, 6)
        let afterClose = try await footfall.consentLog()
        XCTAssertEqual(afterClose.records.count, 5)
    }
}

/// A write to `UserDefaults` as a CMP (or any code in the app) makes it. Apple's Foundation posts
/// `UserDefaults.didChangeNotification` after every write in the process, which is what ``TcfConsentBridge``
/// follows; swift-corelibs-foundation (Linux) posts it only for whole-domain changes, so there the write is
/// followed by the notification Apple's would have posted.
private func cmpWrites(_ defaults: UserDefaults, _ write: (UserDefaults) -> Void) {
    write(defaults)
    #if !canImport(Darwin)
    NotificationCenter.default.post(name: UserDefaults.didChangeNotification, object: defaults)
    #endif
}

/// What a ``TcfConsentBridge`` reported, one import at a time.
private final class ImportRecorder: @unchecked Sendable {
    private let results = Recorder<Unchecked<Result<TcfImport, Error>>>()
    private let arrivals: AsyncStream<Int>
    private let arrived: AsyncStream<Int>.Continuation
    private var taken = 0

    init() {
        var continuation: AsyncStream<Int>.Continuation?
        arrivals = AsyncStream<Int>(bufferingPolicy: .unbounded) { continuation = $0 }
        arrived = continuation!
    }

    /// Called on the bridge's queue.
    func record(_ result: Result<TcfImport, Error>) {
        results.append(Unchecked(result))
        arrived.yield(results.all.count)
    }

    var count: Int {
        results.all.count
    }

    /// The next import the bridge reported (in order), failing after 10 s.
    func next() async throws -> TcfImport {
        guard await firstElement(of: arrivals, within: 10) != nil else {
            throw TimedOut()
        }
        let result = results.all[taken]
        taken += 1
        return try result.value.get()
    }
}
