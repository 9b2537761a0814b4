import Foundation
@testable import Footfall
import XCTest

// @testable: `settled()` lets the test wait for the work a notification started instead of sleeping.

/// The app lifecycle hook against the reference collector: coming to the foreground pulls the coupons issued
/// meanwhile, going to the background delivers what is queued, and nothing happens once it is uninstalled. The
/// notifications are the test's own (UIKit's are not on Linux); the iOS background task is not run here.
final class AppLifecycleFlusherTests: FootfallTestCase {
    private let names = AppLifecycleFlusher.Notifications(
        foreground: Notification.Name("test.foreground"),
        background: Notification.Name("test.background")
    )

    func testForegroundPullsTheWalletBackgroundFlushesAndUninstallStopsBoth() async throws {
        let collector = try startCollector("--issuer-key", tmp.appendingPathComponent("issuer-key.json").path)
        try addCoupon(collector, "before")
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url, walletKeyset: try collector.keyset()))
        defer { footfall.close() }
        try await footfall.wallet.sync()
        let center = NotificationCenter()
        let lifecycle = AppLifecycleFlusher(footfall: footfall, notifications: names, center: center)
        lifecycle.install()
        lifecycle.install()

        // Issued while the app was in the background: the next foreground brings it.
        try addCoupon(collector, "meanwhile")
        center.post(name: names.foreground, object: nil)
        await lifecycle.settled()
        let afterForeground = try await footfall.wallet.coupons().map(\.id)
        XCTAssertEqual(Set(afterForeground), ["before", "meanwhile"])

        try await footfall.grantAnalytics()
        let viewed = try footfall.track("product_viewed")
        XCTAssertFalse(try collector.events().contains { $0.text("id") == viewed }, "automatic uploads are off")
        center.post(name: names.background, object: nil)
        await lifecycle.settled()
        XCTAssertTrue(try collector.events().contains { $0.text("id") == viewed })

        lifecycle.uninstall()
        try addCoupon(collector, "after")
        let late = try footfall.track("cart_viewed")
        center.post(name: names.foreground, object: nil)
        center.post(name: names.background, object: nil)
        await lifecycle.settled()
        let afterUninstall = try await footfall.wallet.coupons().map(\.id)
        XCTAssertFalse(afterUninstall.contains("after"), "uninstalled: no pull")
        XCTAssertFalse(try collector.events().contains { $0.text("id") == late }, "uninstalled: no flush")
    }

    private func addCoupon(_ collector: Collector, _ id: String) throws {
        try collector.addCoupon(id: id, title: "\(id) off", discount: "10%", lastDay: "2030-12-24", zone: "Asia/Tokyo")
    }
}
