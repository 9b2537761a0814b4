import Foundation
import FootfallFFI

// The coupon wallet's types. Records the generated layer already shapes well are re-exported (like `Status`); a
// presented code and its QR symbol are this module's own structs, so the symbol reads as `qr[x, y]`.

/// A coupon in the wallet: its state, what it gives (`discount`, ready to show), its validity (UTC, and the
/// store-local last day with its zone), whether it can be presented now and, if not, the reason codes.
public typealias Coupon = FootfallFFI.Coupon

/// Where a coupon is: `.available → .clipped → .pendingRedeem → .redeemed` (or `.rejected`), and the issuer's
/// tombstones `.revoked`, `.expired`, `.withdrawn`. Only the issuer's answer makes a coupon `.redeemed`.
public typealias CouponState = FootfallFFI.CouponState

/// What is being bought, where and when, for ``Wallet/evaluate(_:)``: `Basket(storeId:currency:lines:)`;
/// `atSecs` nil judges at the wallet's server-corrected now, `online: false` applies the offline limits.
public typealias Basket = FootfallFFI.Basket

/// One basket line: GTIN (8, 12, 13 or 14 digits), quantity and unit price in minor units.
public typealias BasketLine = FootfallFFI.BasketLine

/// Whether one coupon applies to a basket, its discount in minor units, and every reason it does not.
public typealias CouponOutcome = FootfallFFI.CouponOutcome

/// What a ``Wallet/sync()`` did: pages, coupons added or ended, and the feed entries refused with their reasons.
public typealias WalletSyncReport = FootfallFFI.WalletSyncReport

/// A feed entry the wallet did not store (a grant that does not verify, say), with its reason code.
public typealias WalletRefusal = FootfallFFI.WalletRefusal

/// Which wallet refusal a ``FootfallError/wallet(kind:couponId:reasons:detail:)`` is.
public typealias WalletErrorKind = FootfallFFI.WalletErrorKind

/// A till's verdict on a redemption code: valid with what it redeems, or the refusal's reason code.
public typealias RedemptionVerdict = FootfallFFI.RedemptionVerdict

/// A coupon presented at a till: the device-bound `code` and its `qr` symbol. The redemption is durable before
/// this exists and reaches the issuer when the network allows; the coupon is `.pendingRedeem` until it answers.
public struct PresentedCode: Equatable, Hashable, Sendable {
    /// Base45 text: what `qr` holds, and what a keyboard-wedge scanner types.
    public let code: String
    /// The device's presentation counter this code used.
    public let counter: Int64
    /// The device key's short id (what the issuer attributes a double spend to).
    public let device: String
    /// The redemption's idempotency key.
    public let redemptionId: String
    public let couponId: String
    public let serial: String
    public let qr: QRCode

    init(_ presented: FootfallFFI.PresentedCode) {
        code = presented.code
        counter = presented.counter
        device = presented.device
        redemptionId = presented.redemptionId
        couponId = presented.couponId
        serial = presented.serial
        qr = QRCode(presented.qr)
    }
}

/// A QR symbol as a square matrix of modules: draw a dark square wherever `qr[x, y]` is true, on a light
/// background with ``quietZone`` light modules on every side. No image type: draw it with whatever the UI uses
/// (SwiftUI `Canvas`, Core Graphics, a till's printer).
public struct QRCode: Equatable, Hashable, Sendable {
    /// Light modules to leave around the symbol so scanners find its edges.
    public static let quietZone = 4

    /// Modules on each side: `17 + 4 × version`.
    public let width: Int
    /// QR version, 1–40.
    public let version: Int
    /// The modules row by row (`width × width`, true = dark).
    public let modules: [Bool]

    /// The symbol for `text` at error correction level M, e.g. a coupon's `pendingCode` to show it again.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when the text does not fit a QR symbol.
    public init(_ text: String) throws {
        self.init(try translatingErrors { try FootfallFFI.qrCode(text: text) })
    }

    init(_ qr: FootfallFFI.QrCode) {
        width = Int(qr.width)
        version = Int(qr.version)
        modules = qr.modules
    }

    /// Whether the module at column `x`, row `y` is dark; outside the symbol everything is light.
    public subscript(x: Int, y: Int) -> Bool {
        guard (0..<width).contains(x), (0..<width).contains(y) else { return false }
        return modules[y * width + x]
    }
}
