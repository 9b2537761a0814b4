import Foundation
import Footfall
import XCTest

/// Consent through the idiomatic layer, the real library and the reference collector: default deny, withdrawal
/// purging the queue, prompts, the verified log, and the event and status streams.
final class ConsentTests: FootfallTestCase {
    func testAnalyticsIsDeniedByDefaultAndNeverReachesTheCollector() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }

        // Awaiting a consent call waits until the SDK has read the consent log; from then on track() knows.
        let status = try await footfall.consentStatus()
        XCTAssertTrue(status.enforced)
        XCTAssertFalse(status.tcfImport)
        XCTAssertEqual(status.jurisdiction, .unknown)
        XCTAssertFalse(status.optOutMode)
        XCTAssertEqual(status.purposes.map(\.id), ["analytics", "location", "marketing", "personalization"])
        XCTAssertTrue(status.purposes.allSatisfy { !$0.allowed && $0.decision == nil && !$0.decisionValid })
        XCTAssertEqual(
            status.googleConsentMode,
            GoogleConsentMode(analyticsStorage: false, adStorage: false, adUserData: false, adPersonalization: false)
        )
        let analyticsAllowed = try await footfall.isAllowed("analytics")
        XCTAssertFalse(analyticsAllowed)
        let essentialAllowed = try await footfall.isAllowed(Footfall.essentialPurpose)
        XCTAssertTrue(essentialAllowed)

        XCTAssertThrowsError(try footfall.track("product_viewed", properties: ["sku": "4901234567894"])) {
            XCTAssertEqual($0 as? FootfallError, .consentDenied(purpose: "analytics"))
        }
        XCTAssertThrowsError(try footfall.track("offer_shown", purpose: "marketing")) {
            XCTAssertEqual($0 as? FootfallError, .consentDenied(purpose: "marketing"))
        }
        // Signing in needs no consent; the identify message it would record serves analytics.
        XCTAssertNil(try footfall.identify("user-42", traits: ["tier": "gold"]))
        let essential = try footfall.track("app_opened", purpose: Footfall.essentialPurpose)

        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 1)
        XCTAssertEqual(try collector.events().compactMap { $0.text("id") }, [essential])
        XCTAssertEqual(try collector.events().compactMap { $0.text("user_id") }, ["user-42"], "the sign-in stood")
        let counters = try footfall.status()
        XCTAssertEqual(counters.consentRefused, 3)
        XCTAssertEqual(counters.tracked, 1)

        // Granted, analytics is collected; marketing stays denied.
        let granted = try await footfall.grantAnalytics()
        XCTAssertEqual(granted.nowAllowed, ["analytics"])
        XCTAssertEqual(granted.nowDenied, [])
        XCTAssertNotNil(granted.recordId)
        let viewed = try footfall.track("product_viewed")
        XCTAssertThrowsError(try footfall.track("offer_shown", purpose: "marketing"))
        let second = try await footfall.flush()
        XCTAssertEqual(second.delivered, 1)
        XCTAssertEqual(Set(try collector.events().compactMap { $0.text("id") }), [essential, viewed])
        XCTAssertFalse(try collector.events().contains { $0.text("purpose") == "marketing" })
    }

    func testAGrantWithdrawnBeforeTheFlushPurgesWhatWasQueued() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }
        let events = footfall.events

        let granted = try await footfall.grantAnalytics()
        for i in 0..<3 {
            try footfall.track("product_viewed", properties: ["i": FootfallValue(i)])
        }
        let kept = try footfall.track("app_opened", purpose: Footfall.essentialPurpose)
        let withdrawn = try await footfall.deny(["analytics"], method: .settings)
        XCTAssertEqual(withdrawn.purged, 3)
        XCTAssertEqual(withdrawn.nowDenied, ["analytics"])
        XCTAssertEqual(withdrawn.nowAllowed, [])
        XCTAssertThrowsError(try footfall.track("product_viewed")) {
            XCTAssertEqual($0 as? FootfallError, .consentDenied(purpose: "analytics"))
        }

        // Both changes were told, in order, before the calls returned.
        let told = await elements(of: events, count: 2, within: 10)
        guard told.count == 2,
              case .consentChanged(_, _, _, _, let grantStatus) = told[0],
              case .consentChanged(_, _, _, _, let withdrawStatus) = told[1] else { return XCTFail("\(told)") }
        XCTAssertEqual(told, [
            .consentChanged(recordId: granted.recordId, nowAllowed: ["analytics"], nowDenied: [], purged: 0, status: grantStatus),
            .consentChanged(recordId: withdrawn.recordId, nowAllowed: [], nowDenied: ["analytics"], purged: 3, status: withdrawStatus),
        ])
        // Each event carries the status its change produced: the newest is what the SDK reports now.
        XCTAssertEqual(grantStatus.purposes.first { $0.id == "analytics" }?.allowed, true)
        XCTAssertGreaterThan(withdrawStatus.revision, grantStatus.revision)
        let now = try await footfall.consentStatus()
        XCTAssertEqual(withdrawStatus, now)

        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 1)
        XCTAssertEqual(report.remaining, 0)
        XCTAssertEqual(try collector.events().compactMap { $0.text("id") }, [kept])
        let status = try footfall.status()
        XCTAssertEqual(status.purgedByConsent, 3)
        XCTAssertEqual(status.pending, 0)
    }

    func testAChildsMarketingNeverOpensAndOnlyGrantedAnalyticsArrives() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        defer { footfall.close() }

        try await footfall.grant(["marketing"])
        try footfall.track("ad_seen", purpose: "marketing")
        let child = try await footfall.setConsentContext(jurisdiction: .ccpa, ageBand: .under13)
        XCTAssertEqual(child.nowDenied, ["marketing"])
        XCTAssertEqual(child.purged, 1)
        try await footfall.grant(["marketing", "analytics"])
        XCTAssertThrowsError(try footfall.track("ad_seen", purpose: "marketing")) {
            XCTAssertEqual($0 as? FootfallError, .consentDenied(purpose: "marketing"))
        }
        let viewed = try footfall.track("product_viewed")
        let status = try await footfall.consentStatus()
        XCTAssertEqual(status.ageBand, .under13)
        XCTAssertFalse(status.googleConsentMode.adStorage)
        let need = try await footfall.needsPrompt()
        XCTAssertFalse(need.purposes.contains("marketing"), "a child is not asked about what cannot open")
        _ = try await footfall.flush()
        XCTAssertEqual(try collector.events().compactMap { $0.text("id") }, [viewed])
    }

    func testNeedsPromptSaysWhichPromptAndWhy() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }

        // The built-in policy: one prompt, "default", for the four gated purposes.
        let fresh = try await footfall.needsPrompt()
        XCTAssertEqual(fresh.promptId, "default")
        XCTAssertEqual(fresh.reason, .noDecision)
        XCTAssertEqual(fresh.purposes, ["analytics", "personalization", "marketing", "location"])

        // Showing a prompt decides nothing.
        try await footfall.promptShown("default")
        let shown = try await footfall.needsPrompt()
        XCTAssertEqual(shown, fresh)

        try await footfall.grant(["analytics"], method: .prompt(promptId: "default"))
        let partly = try await footfall.needsPrompt()
        XCTAssertEqual(partly.promptId, "default")
        XCTAssertEqual(partly.reason, .newPurpose)
        XCTAssertEqual(partly.purposes, ["personalization", "marketing", "location"])

        try await footfall.setConsent(
            ["personalization": false, "marketing": false, "location": false],
            method: .prompt(promptId: "default")
        )
        let answered = try await footfall.needsPrompt()
        XCTAssertEqual(answered, PromptNeed(promptId: nil, reason: .upToDate, purposes: []))

        // The analytics notice changes materially: the old grant no longer counts and the new prompt is due.
        let changed = try await footfall.applyConsentPolicy(#"""
            {"consent":{"policyVersion":2,
                        "purposes":[{"id":"analytics","materialChangeVersion":2},{"id":"marketing"}],
                        "prompts":[{"id":"analytics-v2","enabled":true,"purposes":["analytics"]}]}}
            """#)
        XCTAssertNil(changed.recordId)
        XCTAssertEqual(changed.nowDenied, ["analytics"])
        let stale = try await footfall.needsPrompt()
        XCTAssertEqual(stale, PromptNeed(promptId: "analytics-v2", reason: .policyMaterialChange, purposes: ["analytics"]))
        let staleAllowed = try await footfall.isAllowed("analytics")
        XCTAssertFalse(staleAllowed)

        // Switched off remotely: a decision is needed but no prompt may ask (the Data form of the call).
        try await footfall.applyConsentPolicy(Data(#"""
            {"consent":{"policyVersion":3,
                        "purposes":[{"id":"analytics","materialChangeVersion":2}],
                        "prompts":[{"id":"analytics-v2","enabled":false,"purposes":["analytics"]}]}}
            """#.utf8))
        let disabled = try await footfall.needsPrompt()
        XCTAssertEqual(disabled, PromptNeed(promptId: nil, reason: .promptDisabled, purposes: ["analytics"]))

        // An invalid policy is refused with the reason; the current one stays.
        do {
            try await footfall.applyConsentPolicy(#"{"consent":1}"#)
            XCTFail("an invalid policy was applied")
        } catch FootfallError.config(let reason) {
            XCTAssertTrue(reason.contains("policy"), reason)
        }
        let status = try await footfall.consentStatus()
        XCTAssertEqual(status.policyVersion, 3)
        let analytics = try XCTUnwrap(status.purpose("analytics"))
        XCTAssertEqual(analytics.decision, true)
        XCTAssertFalse(analytics.decisionValid)
        XCTAssertFalse(analytics.allowed)
    }

    func testTheConsentLogIsHashChainedVerifiedDurableAndSentAsReceipts() async throws {
        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        let started = Date()

        try await footfall.promptShown("default")
        try await footfall.grant(["analytics", "marketing"], method: .prompt(promptId: "default"))
        try await footfall.deny(["marketing"], method: .settings)

        let log = try await footfall.consentLog()
        XCTAssertTrue(log.verified)
        XCTAssertNil(log.problem)
        XCTAssertEqual(log.records.map(\.kind), [.promptShown, .decision, .decision])
        XCTAssertEqual(log.records.map(\.method), [.prompt(promptId: "default"), .prompt(promptId: "default"), .settings])
        XCTAssertEqual(log.records.map(\.decisions), [[:], ["analytics": true, "marketing": true], ["marketing": false]])
        XCTAssertEqual(log.records.first?.prevHash, String(repeating: "0", count: 64))
        for (previous, record) in zip(log.records, log.records.dropFirst()) {
            XCTAssertEqual(record.prevHash, previous.hash)
        }
        let subject = try XCTUnwrap(log.records.first?.subjectId)
        XCTAssertFalse(subject.isEmpty)
        for record in log.records {
            XCTAssertEqual(record.subjectId, subject, "the pseudonymous id, never the user id")
            XCTAssertEqual(record.appVersion, testAppVersion)
            XCTAssertFalse(record.sdkVersion.isEmpty)
            XCTAssertEqual(record.jurisdiction, .unknown)
            XCTAssertEqual(record.policyVersion, 0)
            XCTAssertGreaterThanOrEqual(record.timestamp.timeIntervalSince(started), -1)
        }

        // The status tells each purpose's decision.
        let status = try await footfall.consentStatus()
        XCTAssertEqual(status.purpose("analytics")?.decision, true)
        XCTAssertEqual(status.purpose("analytics")?.allowed, true)
        XCTAssertEqual(status.purpose("analytics")?.decisionValid, true)
        XCTAssertNotNil(status.purpose("analytics")?.decidedAt)
        XCTAssertEqual(status.purpose("marketing")?.decision, false)
        XCTAssertEqual(status.purpose("location")?.decision, nil)
        XCTAssertTrue(status.googleConsentMode.analyticsStorage)
        XCTAssertFalse(status.googleConsentMode.adStorage)

        // Receipts: every record reaches the collector in the essential lane, hash verified there.
        _ = try await footfall.flush()
        XCTAssertEqual(try collector.consentRecords().compactMap { $0["record_id"] as? String }, log.records.map(\.recordId))
        footfall.close()

        // Durable: a new instance on the same directory reads the same verified log and decisions.
        let again = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { again.close() }
        let reread = try await again.consentLog()
        XCTAssertEqual(reread, log)
        let allowed = try await again.isAllowed("analytics")
        XCTAssertTrue(allowed)
    }

    func testConsentChangesReachTheStatusUpdatesStream() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }
        let updates = footfall.consentStatusUpdates

        // First the current status: nothing allowed.
        let sawInitial = await waitFor(updates, within: 10) { status in
            status.purposes.allSatisfy { !$0.allowed }
        }
        XCTAssertTrue(sawInitial, "no initial status")

        try await footfall.grant(["analytics", "marketing"])
        let sawGrant = await waitFor(updates, within: 10) { status in
            status.purpose("analytics")?.allowed == true && status.purpose("marketing")?.allowed == true
        }
        XCTAssertTrue(sawGrant, "no status after the grant")

        // A context change that changes the defaults (CCPA: opt-out) is published too.
        let context = try await footfall.setConsentContext(jurisdiction: .ccpa)
        XCTAssertEqual(context.nowAllowed, ["personalization"])
        let sawContext = await waitFor(updates, within: 10) { status in
            status.jurisdiction == .ccpa && status.optOutMode && status.purpose("personalization")?.allowed == true
        }
        XCTAssertTrue(sawContext, "no status after the context change")

        // Another stream starts with the status as it is now.
        let sawCurrent = await waitFor(footfall.consentStatusUpdates, within: 10) { status in
            status.jurisdiction == .ccpa && status.purpose("marketing")?.allowed == true
        }
        XCTAssertTrue(sawCurrent, "a new stream did not start with the current status")

        // Closing finishes the streams: reading to the end returns at once.
        footfall.close()
        let closing = Date()
        let matched = await waitFor(updates, within: 10) { _ in false }
        XCTAssertFalse(matched)
        XCTAssertLessThan(Date().timeIntervalSince(closing), 5, "the stream did not finish on close")
    }
}
