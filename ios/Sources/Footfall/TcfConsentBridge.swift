import Foundation

/// TCF import mode on iOS: hands the app's CMP answer (the IAB TCF keys a CMP stores in `UserDefaults`) to
/// ``Footfall/importTcf(_:gdprApplies:)``, at start and whenever the CMP changes it.
///
/// Create one after the ``Footfall`` instance, in TCF import mode (`ConsentSettings(tcfImport: true)`), and keep
/// it as long as the instance:
///
/// ```swift
/// let footfall = try Footfall(config: FootfallConfig(
///     dataDir: try Footfall.defaultDataDirectory().path,
///     endpoint: "https://collect.example.com",
///     consent: ConsentSettings(tcfImport: true)
/// ))
/// let bridge = TcfConsentBridge(footfall: footfall) { result in
///     if case .failure(let error) = result { logger.error("TCF import: \(error)") }
/// }
/// ```
///
/// It reads `IABTCF_TCString` (a `String`) and `IABTCF_gdprApplies` (`1` or `0`; absent: unknown) at once, then
/// on every `UserDefaults.didChangeNotification`, and imports only when one of the two values differs from what it
/// last imported, so unrelated preference changes import nothing. Imports run one at a time on the bridge's own
/// serial queue, never on the main thread, in the order the values were read. It stops on ``close()``, when it is
/// deinitialised, and when the ``Footfall`` instance is closed.
///
/// Apple's Foundation posts `UserDefaults.didChangeNotification` after every write in the process. Off Apple
/// platforms swift-corelibs-foundation does not (only for whole-domain changes), so there the bridge imports at
/// start and whenever that notification is posted: post it after writing the IAB TCF keys.
public final class TcfConsentBridge: @unchecked Sendable {
    // @unchecked: `state` is behind its lock; `lastImported` is only touched on `queue`; the rest is immutable
    // (UserDefaults and NotificationCenter are thread-safe).

    /// The CMP's TC string (IAB TCF v2.2, "In-App Details").
    public static let tcStringKey = "IABTCF_TCString"

    /// `1` when GDPR applies to the shopper, `0` when it does not; absent while the CMP does not know.
    public static let gdprAppliesKey = "IABTCF_gdprApplies"

    private let footfall: Footfall
    private let defaults: UserDefaults
    private let onImport: (@Sendable (Result<TcfImport, Error>) -> Void)?
    private let queue = DispatchQueue(label: "dev.footfall.tcf-bridge", qos: .utility)
    private let state = Locked(State())
    private var lastImported: Values?

    private struct State {
        var closed = false
        var observer: NSObjectProtocol?
    }

    /// What the CMP stored, as imported.
    private struct Values: Equatable {
        var tcString: String?
        var gdprApplies: Bool?
    }

    /// Starts the bridge: imports what `defaults` holds now, then follows its changes.
    ///
    /// - Parameters:
    ///   - footfall: an instance configured with `ConsentSettings(tcfImport: true)` (otherwise each import fails
    ///     with ``FootfallError/config(reason:)``, reported to `onImport`).
    ///   - defaults: where the CMP stores the IAB TCF keys; `.standard` for every CMP that follows the spec.
    ///   - onImport: called on the bridge's queue after each import with what it did (its `result`) or
    ///     why it failed (an unreadable string: ``FootfallError/invalidInput(reason:)``). Do not block in it.
    public init(
        footfall: Footfall,
        defaults: UserDefaults = .standard,
        onImport: (@Sendable (Result<TcfImport, Error>) -> Void)? = nil
    ) {
        self.footfall = footfall
        self.defaults = defaults
        self.onImport = onImport
        let observer = NotificationCenter.default.addObserver(
            forName: UserDefaults.didChangeNotification,
            object: nil,   // any UserDefaults instance: the CMP may write through its own; values are compared
            queue: nil     // on the posting thread: only schedules a check
        ) { [weak self] _ in
            self?.scheduleCheck()
        }
        state.withLock { $0.observer = observer }
        scheduleCheck()
    }

    deinit {
        close()
    }

    /// Stops following `UserDefaults`; an import already running finishes. Safe to call more than once.
    public func close() {
        let observer = state.withLock { state -> NSObjectProtocol? in
            state.closed = true
            defer { state.observer = nil }
            return state.observer
        }
        if let observer {
            NotificationCenter.default.removeObserver(observer)
        }
    }

    /// The CMP's values now: the TC string, and whether GDPR applies (`1`/`0` as a number, or as text from CMPs
    /// that store it so; anything else is unknown).
    static func values(in defaults: UserDefaults) -> (tcString: String?, gdprApplies: Bool?) {
        let tcString = defaults.object(forKey: tcStringKey) as? String
        let stored = defaults.object(forKey: gdprAppliesKey)
        let flag: Int?
        switch stored {
        case let number as NSNumber:   // Apple platforms: what UserDefaults keeps for any number
            flag = number.intValue
        case let number as Int:        // swift-corelibs-foundation hands numbers back as Swift values
            flag = number
        case let value as Bool:
            flag = value ? 1 : 0
        case let text as String:
            flag = Int(text)
        default:
            flag = nil
        }
        switch flag {
        case 1?:
            return (tcString, true)
        case 0?:
            return (tcString, false)
        default:
            return (tcString, nil)
        }
    }

    private var isClosed: Bool {
        state.withLock { $0.closed }
    }

    private func scheduleCheck() {
        guard !isClosed else { return }
        queue.async { [weak self] in
            self?.check()
        }
    }

    /// On `queue`: imports the current values if they differ from the last imported.
    private func check() {
        guard !isClosed else { return }
        let read = TcfConsentBridge.values(in: defaults)
        let values = Values(tcString: read.tcString, gdprApplies: read.gdprApplies)
        guard values != lastImported else { return }
        do {
            let imported = try footfall.importTcfNow(values.tcString, gdprApplies: values.gdprApplies)
            lastImported = values
            onImport?(.success(imported))
        } catch FootfallError.closed {
            close()
        } catch {
            // The same unreadable string (or a bridge on an instance not in TCF mode) fails the same way again:
            // wait for the CMP's next change. A storage failure is retried on the next notification.
            switch error {
            case FootfallError.invalidInput, FootfallError.config:
                lastImported = values
            default:
                break
            }
            onImport?(.failure(error))
        }
    }
}
