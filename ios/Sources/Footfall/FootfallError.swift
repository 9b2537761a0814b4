import Foundation
import FootfallFFI

/// Everything the SDK throws. Each case says what the app can do about it.
///
/// ```swift
/// do {
///     try footfall.track("product_viewed", properties: ["sku": "4901234567894"])
/// } catch FootfallError.invalidInput(let reason) {
///     assertionFailure("bad event: \(reason)")   // a bug in the app: nothing was recorded
/// } catch {
///     // .queueFull, .closed, …: the event was not recorded
/// }
/// ```
public enum FootfallError: Error, Equatable, Hashable, Sendable {
    /// The input was refused (empty name, properties that are not a JSON object, too large or too deep, a bad
    /// purpose or user id, a number JSON cannot carry). Nothing was recorded.
    case invalidInput(reason: String)

    /// The in-memory hand-off to storage is full; the event was not recorded (counted in ``Status``).
    case queueFull

    /// The configuration cannot work: a bad endpoint or limit, no endpoint for a flush, no transport.
    case config(reason: String)

    /// The database could not be used; `retryable` is true when it was locked or busy.
    case storage(reason: String, retryable: Bool)

    /// The network or the server failed; data is kept and retried. An ``HttpTransport`` throws this when no HTTP
    /// answer came.
    case network(reason: String)

    /// The server's TLS certificate was refused; data is kept and uploads pause (``LaneCondition/certificateInvalid``).
    /// An ``HttpTransport`` throws this for an untrusted, expired or mismatched certificate.
    case certificateInvalid(reason: String)

    /// The shopper has not allowed `purpose`; nothing was recorded (counted in ``Status``). Expected whenever
    /// consent is denied, not a bug.
    case consentDenied(purpose: String)

    /// The instance was closed; create a new one to record more.
    case closed

    /// A bug in the SDK, or an app callback that failed unexpectedly; the SDK itself goes on.
    case `internal`(reason: String)

    /// A wallet call was refused and nothing changed. `kind` says which refusal; `couponId` names the coupon when
    /// one was asked for; `reasons` are the codes of a `.couponUnusable` refusal (`expired`, `uses_exhausted`,
    /// `offline_limit`, `redeemed`, …), empty otherwise; `detail` is the English sentence.
    case wallet(kind: WalletErrorKind, couponId: String?, reasons: [String], detail: String)
}

extension FootfallError: LocalizedError, CustomStringConvertible {
    /// A one-line English description, e.g. `invalid input: the event name is empty`.
    public var errorDescription: String? {
        switch self {
        case .invalidInput(let reason):
            return "invalid input: \(reason)"
        case .queueFull:
            return "the hand-off queue is full; the event was not recorded"
        case .config(let reason):
            return "configuration: \(reason)"
        case .storage(let reason, _):
            return "storage: \(reason)"
        case .network(let reason):
            return "network: \(reason)"
        case .certificateInvalid(let reason):
            return "the server's TLS certificate was refused: \(reason)"
        case .consentDenied(let purpose):
            return "consent for purpose '\(purpose)' is not given; the event was not recorded"
        case .closed:
            return "the SDK is closed"
        case .internal(let reason):
            return "internal error: \(reason)"
        case .wallet(_, _, _, let detail):
            return "wallet: \(detail)"
        }
    }

    /// Same as ``errorDescription``.
    public var description: String {
        errorDescription ?? "footfall error"
    }
}

extension FootfallError {
    /// The generated error as the public one.
    init(_ error: FootfallFFI.FootfallError) {
        switch error {
        case .InvalidInput(let reason):
            self = .invalidInput(reason: reason)
        case .QueueFull:
            self = .queueFull
        case .Config(let reason):
            self = .config(reason: reason)
        case .Storage(let reason, let retryable):
            self = .storage(reason: reason, retryable: retryable)
        case .Network(let reason):
            self = .network(reason: reason)
        case .CertificateInvalid(let reason):
            self = .certificateInvalid(reason: reason)
        case .Internal(let reason):
            self = .internal(reason: reason)
        case .ConsentDenied(let purpose):
            self = .consentDenied(purpose: purpose)
        case .Closed:
            self = .closed
        case .Callback(let reason):
            self = .internal(reason: "an app callback failed: \(reason)")
        case .Wallet(let kind, let couponId, let reasons, let detail):
            self = .wallet(kind: kind, couponId: couponId, reasons: reasons, detail: detail)
        }
    }

    /// Any error out of the generated layer as a `FootfallError`; cancellation stays `CancellationError`.
    /// A Rust panic arrives as UniFFI's own (file-private) error type and becomes ``internal(reason:)``.
    static func translating(_ error: Error) -> Error {
        switch error {
        case let error as FootfallError:
            return error
        case let error as FootfallFFI.FootfallError:
            return FootfallError(error)
        case is CancellationError:
            return error
        default:
            return FootfallError.internal(reason: String(describing: error))
        }
    }
}

/// Runs a call into the generated layer, turning what it throws into ``FootfallError``.
func translatingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw FootfallError.translating(error)
    }
}
