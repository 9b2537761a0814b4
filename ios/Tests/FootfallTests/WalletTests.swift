import Foundation
import Footfall
import XCTest

/// The wallet's Swift API where no issuer is needed: errors, the QR matrix, a till's refusals. The run against the
/// reference issuer is `WalletCollectorTests`.
final class WalletTests: FootfallTestCase {
    /// A well-formed key set of one key that signed nothing here.
    private let keyset = #"{"version":1,"keys":[{"kid":"k1","alg":"Ed25519","x":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc","nbf":0}]}"#

    /// The wallet error `body` throws, as (kind, couponId, reasons, detail); fails the test for anything else.
    private func walletError<T>(
        _ body: () async throws -> T,
        file: StaticString = #filePath,
        line: UInt = #line
    ) async -> (WalletErrorKind, String?, [String], String)? {
        do {
            _ = try await body()
            XCTFail("expected FootfallError.wallet, nothing was thrown", file: file, line: line)
        } catch FootfallError.wallet(let kind, let couponId, let reasons, let detail) {
            return (kind, couponId, reasons, detail)
        } catch {
            XCTFail("expected FootfallError.wallet, got \(error)", file: file, line: line)
        }
        return nil
    }

    func testWithoutAKeySetEveryWalletCallSaysTheWalletIsNotConfigured() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil))
        defer { footfall.close() }
        let refusals = [
            await walletError { try await footfall.wallet.coupons() },
            await walletError { try await footfall.wallet.clip("autumn-10") },
            await walletError { try await footfall.wallet.present("autumn-10", storeId: "tokyo-1") },
            await walletError { try await footfall.wallet.sync() },
        ]
        for refusal in refusals {
            XCTAssertEqual(refusal?.0, .notConfigured)
            XCTAssertTrue(refusal?.3.contains("not configured") ?? false, "\(String(describing: refusal))")
        }
        XCTAssertEqual(
            FootfallError.wallet(kind: .notConfigured, couponId: nil, reasons: [], detail: "x").localizedDescription,
            "wallet: x"
        )
    }

    func testAKeySetThatCannotBeReadRefusesTheConfiguration() throws {
        XCTAssertThrowsError(try Footfall(config: testConfig(tmp, endpoint: nil, walletKeyset: #"{"version":1,"keys":[]}"#))) {
            guard case FootfallError.config(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("key set"), reason)
        }
    }

    func testAnEmptyWalletListsNothingAndNamesTheCouponItDoesNotHold() async throws {
        let footfall = try Footfall(config: testConfig(tmp, endpoint: nil, walletKeyset: keyset))
        defer { footfall.close() }
        let coupons = try await footfall.wallet.coupons()
        XCTAssertEqual(coupons, [])
        let first = await firstElement(of: footfall.wallet.couponUpdates, within: 10)
        XCTAssertEqual(first, [], "a stream starts with the current list")
        let line = BasketLine(gtin: "4901234567894", unitPriceMinor: 980)
        let outcomes = try await footfall.wallet.evaluate(Basket(storeId: "tokyo-1", currency: "JPY", lines: [line]))
        XCTAssertEqual(outcomes, [])

        let unknown = await walletError { try await footfall.wallet.present("nope", storeId: "tokyo-1") }
        XCTAssertEqual(unknown?.0, .unknownCoupon)
        XCTAssertEqual(unknown?.1, "nope")
        XCTAssertEqual(unknown?.2, [])
        let badLine = BasketLine(gtin: "4901234567890", unitPriceMinor: 980)
        let invalid = await walletError {
            try await footfall.wallet.evaluate(Basket(storeId: "tokyo-1", currency: "JPY", lines: [badLine]))
        }
        XCTAssertEqual(invalid?.0, .invalid)
        XCTAssertTrue(invalid?.3.contains("basket line 0") ?? false)
        let now = try await footfall.wallet.now()
        XCTAssertEqual(now.timeIntervalSinceNow, 0, accuracy: 5)
    }

    func testAQRSymbolIsASquareMatrixSizedByItsVersion() throws {
        let qr = try QRCode("NCFOXN*TDG+4*1V-5Y2:DB:2")
        XCTAssertEqual(qr.width, 17 + 4 * qr.version)
        XCTAssertEqual(qr.modules.count, qr.width * qr.width)
        // The three finder patterns' outer corners are dark, their separators light, and outside is light.
        XCTAssertTrue(qr[0, 0] && qr[qr.width - 1, 0] && qr[0, qr.width - 1])
        XCTAssertFalse(qr[7, 0] || qr[0, 7])
        XCTAssertFalse(qr[-1, 0] || qr[qr.width, 0] || qr[0, qr.width])
        XCTAssertEqual(qr.modules[3 * qr.width + 5], qr[5, 3])
        XCTAssertEqual(qr, try QRCode("NCFOXN*TDG+4*1V-5Y2:DB:2"))
        XCTAssertGreaterThan(try QRCode(String(repeating: "A", count: 300)).version, qr.version)
        XCTAssertThrowsError(try QRCode(String(repeating: "A", count: 5000))) {
            guard case FootfallError.invalidInput = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(QRCode.quietZone, 4)
    }

    func testATillRefusesWhatIsNotACodeAndAKeySetItCannotRead() throws {
        let verdict = try verifyRedemption("not a code!", keysetJSON: keyset, storeId: "tokyo-1")
        XCTAssertFalse(verdict.valid)
        XCTAssertEqual(verdict.reason, "malformed")
        XCTAssertNil(verdict.couponId)
        XCTAssertTrue(verdict.detail?.contains("malformed") ?? false)
        XCTAssertThrowsError(try verifyRedemption("x", keysetJSON: "{}", storeId: "tokyo-1")) {
            guard case FootfallError.config = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Till(keysetJSON: "not json", storeId: "tokyo-1"))
        let till = try Till(keysetJSON: keyset, storeId: "tokyo-1")
        XCTAssertEqual(till.redeem("", challenge: Data([1])).reason, "malformed")
    }
}
