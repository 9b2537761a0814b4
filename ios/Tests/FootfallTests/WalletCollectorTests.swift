import Foundation
import Footfall
import XCTest

/// The wallet end to end against the reference collector as the issuer (`serve --issuer-key`): coupons it issues
/// reach the Swift API, a code presented with the network off verifies at an offline till, and the issuer's answer
/// to the redemption, once the network is back, redeems the coupon.
final class WalletCollectorTests: FootfallTestCase {
    private let zone = "Asia/Tokyo"

    /// A store-local last day a month ahead, `YYYY-MM-DD`.
    private var lastDay: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = calendar.timeZone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: calendar.date(byAdding: .day, value: 30, to: Date())!)
    }

    /// A collector issuing one coupon, and its key set.
    private func issuer(_ id: String, discount: String, _ flags: String...) throws -> (Collector, String) {
        let collector = try startCollector("--issuer-key", tmp.appendingPathComponent("issuer-key.json").path)
        try collector.addCoupon(id: id, title: "\(id) off", discount: discount, lastDay: lastDay, zone: zone, flags: flags)
        return (collector, try collector.keyset())
    }

    func testSyncClipPresentOfflineThenTheIssuerAcceptsTheRedemptionAndTheCouponIsRedeemed() async throws {
        let (collector, keyset) = try issuer("autumn10", discount: "10%", "--currency", "JPY", "--min-basket", "1000")
        let network = SwitchableTransport()
        let footfall = try Footfall(
            config: testConfig(tmp, endpoint: collector.url, walletKeyset: keyset),
            transport: network
        )
        defer { footfall.close() }
        let events = footfall.events
        let updates = footfall.wallet.couponUpdates

        // The SDK's own pull at start-up may have brought the coupon already; either way it is there after this.
        let report = try await footfall.wallet.sync()
        XCTAssertEqual(report.refused, [])
        let listedNow = try await footfall.wallet.coupons()
        let listed = try XCTUnwrap(listedNow.first)
        XCTAssertEqual(listed.id, "autumn10")
        XCTAssertEqual(listed.state, .available)
        XCTAssertEqual(listed.title, "autumn10 off")
        XCTAssertEqual(listed.discount, "10%")
        XCTAssertEqual(listed.validUntilLocal, lastDay)
        XCTAssertEqual(listed.zone, zone)
        XCTAssertTrue(listed.usableNow)

        let clipped = try await footfall.wallet.clip("autumn10")
        XCTAssertTrue(clipped)
        let line = BasketLine(gtin: "4901234567894", quantity: 2, unitPriceMinor: 980)
        let applies = try await footfall.wallet.evaluate(Basket(storeId: "tokyo-1", currency: "JPY", lines: [line], online: false))
        XCTAssertEqual(applies.first?.applies, true)
        XCTAssertEqual(applies.first?.discountMinor, 196)
        let small = BasketLine(gtin: "4901234567894", quantity: 1, unitPriceMinor: 980)
        let tooSmall = try await footfall.wallet.evaluate(Basket(storeId: "tokyo-1", currency: "JPY", lines: [small]))
        XCTAssertEqual(tooSmall.first?.reasons, ["min_basket"])
        _ = try await footfall.flush()

        // At the till, with no network: the code comes from the device alone.
        network.isOffline = true
        let presented = try await footfall.wallet.present("autumn10", storeId: "tokyo-1")
        XCTAssertEqual(presented.couponId, "autumn10")
        XCTAssertEqual(presented.qr.width, 17 + 4 * presented.qr.version)
        XCTAssertEqual(presented.qr, try QRCode(presented.code))
        let pendingNow = try await footfall.wallet.coupons()
        let pending = try XCTUnwrap(pendingNow.first)
        XCTAssertEqual(pending.state, .pendingRedeem)
        XCTAssertEqual(pending.pendingCode, presented.code)
        do {
            _ = try await footfall.wallet.present("autumn10", storeId: "tokyo-1")
            XCTFail("presented twice")
        } catch FootfallError.wallet(let kind, let couponId, let reasons, _) {
            XCTAssertEqual(kind, .couponUnusable)
            XCTAssertEqual(couponId, "autumn10")
            XCTAssertTrue(reasons.contains("uses_exhausted"), "\(reasons)")
        }

        // The offline till accepts it once, with what the issuer will see.
        let verdict = try verifyRedemption(presented.code, keysetJSON: keyset, storeId: "tokyo-1")
        XCTAssertTrue(verdict.valid, "\(verdict)")
        XCTAssertEqual(verdict.couponId, "autumn10")
        XCTAssertEqual(verdict.device, presented.device)
        XCTAssertEqual(verdict.counter, presented.counter)
        let till = try Till(keysetJSON: keyset, storeId: "tokyo-1")
        XCTAssertTrue(till.redeem(presented.code).valid)
        XCTAssertEqual(till.redeem(presented.code).reason, "replayed")

        // A flush with no network leaves the redemption waiting in the essential lane.
        _ = try await footfall.flush()
        XCTAssertEqual(try collector.redemptions().count, 0)

        // The network is back: the redemption reaches the issuer, which accepts it; its answer redeems the coupon.
        network.isOffline = false
        _ = try await footfall.flush()
        let redemptions = try collector.redemptions()
        XCTAssertEqual(redemptions.count, 1)
        XCTAssertEqual(redemptions.first?.text("status"), "accepted")
        XCTAssertEqual(redemptions.first?.text("redemption_id"), presented.redemptionId)
        XCTAssertEqual(redemptions.first?.text("device"), presented.device)
        try await footfall.wallet.sync()
        let redeemedNow = try await footfall.wallet.coupons()
        let redeemed = try XCTUnwrap(redeemedNow.first)
        XCTAssertEqual(redeemed.state, .redeemed)
        XCTAssertNil(redeemed.pendingCode)
        XCTAssertEqual(redeemed.reasons, ["redeemed"])

        // The stream saw the wallet end redeemed; the events told every state on the way (a pass that changed
        // nothing may repeat one).
        let reachedRedeemed = await waitFor(updates, within: 10) { $0.first?.state == .redeemed }
        XCTAssertTrue(reachedRedeemed)
        let states = Recorder<CouponState>()
        let toldRedeemed = await waitFor(events, within: 10) { event in
            guard case .walletChanged(let coupons) = event, let state = coupons.first?.state else { return false }
            if states.all.last != state {
                states.append(state)
            }
            return state == .redeemed
        }
        XCTAssertTrue(toldRedeemed)
        XCTAssertEqual(states.all, [.available, .clipped, .pendingRedeem, .redeemed])
    }

    func testADeviceSignerThatThrowsRefusesThePresentationWithADeviceKeyError() async throws {
        let (collector, keyset) = try issuer("spring5", discount: "5%")
        let footfall = try Footfall(
            config: testConfig(tmp, endpoint: collector.url, walletKeyset: keyset),
            deviceSigner: LockedKeychain()
        )
        defer { footfall.close() }
        try await footfall.wallet.sync()
        do {
            _ = try await footfall.wallet.present("spring5", storeId: "tokyo-1")
            XCTFail("presented without a device key")
        } catch FootfallError.wallet(let kind, _, _, let detail) {
            XCTAssertEqual(kind, .deviceKey)
            XCTAssertTrue(detail.contains("the keychain is locked"), detail)
        }
        let coupons = try await footfall.wallet.coupons()
        XCTAssertEqual(coupons.first?.state, .available, "nothing was presented")
    }

    func testANewInstanceReadsTheCouponsItKeptWithoutTheNetwork() async throws {
        let (collector, keyset) = try issuer("spring300", discount: "300 JPY")
        let config = testConfig(tmp, endpoint: collector.url, walletKeyset: keyset)
        do {
            let footfall = try Footfall(config: config)
            defer { footfall.close() }
            try await footfall.wallet.sync()
            let coupons = try await footfall.wallet.coupons()
            XCTAssertEqual(coupons.first?.discount, "300 JPY")
        }
        collector.close()
        let footfall = try Footfall(config: config)
        defer { footfall.close() }
        // A stream's first element is what the database holds.
        let kept = await firstElement(of: footfall.wallet.couponUpdates, within: 10)
        XCTAssertEqual(kept?.map(\.id), ["spring300"])
        XCTAssertEqual(kept?.first?.state, .available)
        do {
            try await footfall.wallet.sync()
            XCTFail("synced with the issuer gone")
        } catch FootfallError.network {
        }
    }
}

/// A device key that cannot be used, as a locked keychain answers.
private final class LockedKeychain: DeviceSigner, @unchecked Sendable {
    struct Locked: Error, CustomStringConvertible {
        var description: String { "the keychain is locked" }
    }

    func publicKey() throws -> Data {
        throw Locked()
    }

    func sign(_ message: Data) throws -> Data {
        throw Locked()
    }
}

/// The app's `URLSessionTransport` with a switch that takes the network away: no answer at all.
private final class SwitchableTransport: HttpTransport, @unchecked Sendable {
    private let inner = URLSessionTransport()
    private let offline = NSLock()
    private var _isOffline = false

    var isOffline: Bool {
        get { offline.withLock { _isOffline } }
        set { offline.withLock { _isOffline = newValue } }
    }

    func send(_ request: HttpRequest) async throws -> HttpResponse {
        if isOffline {
            throw FootfallError.network(reason: "the network is off")
        }
        return try await inner.send(request)
    }
}
