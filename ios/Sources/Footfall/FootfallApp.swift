import Foundation

/// The Footfall SDK set up the iOS way, as `FootfallAndroid` does on Android: one instance for the process, its
/// data in Application Support (never backed up), a flush when the app goes to the background and a wallet pull
/// when it comes back (``AppLifecycleFlusher``), a retry as soon as the network returns (``NetworkWatcher``), and in
/// TCF import mode the CMP's answer followed from `UserDefaults` (``TcfConsentBridge``).
///
/// ```swift
/// @main
/// struct ShopApp: App {
///     init() {
///         _ = try? FootfallApp.start(endpoint: "https://collect.example.com", apiKey: "write-key")
///     }
///     var body: some Scene { WindowGroup { ContentView() } }
/// }
/// // anywhere later
/// try FootfallApp.shared?.track("product_viewed", properties: ["sku": "4901234567894"])
/// ```
public enum FootfallApp {
    /// What `start` made.
    private struct Started {
        let footfall: Footfall
        let lifecycle: AppLifecycleFlusher?
        let network: NetworkWatcher?
        let tcf: TcfConsentBridge?
    }

    private static let started = Locked<Started?>(nil)

    /// Creates the process-wide instance with the default configuration: its data in Application Support, the
    /// app's `CFBundleShortVersionString` in every consent record, and the defaults of ``FootfallConfig``. Returns
    /// the instance when it already exists (the arguments are then ignored).
    ///
    /// - Parameters:
    ///   - endpoint: the collector's base URL (`https://…`); `nil` records events without ever uploading them.
    ///   - apiKey: the write key sent as HTTP Basic credentials.
    /// - Throws: ``FootfallError/config(reason:)`` when the configuration cannot work.
    @discardableResult
    public static func start(endpoint: String?, apiKey: String? = nil) throws -> Footfall {
        if let existing = shared {
            return existing
        }
        return try start(config: FootfallConfig(
            dataDir: try Footfall.defaultDataDirectory().path,
            endpoint: endpoint,
            apiKey: apiKey,
            appVersion: Bundle.main.infoDictionary?["CFBundleShortVersionString"] as? String ?? ""
        ))
    }

    /// Creates the process-wide instance from `config` (build its `dataDir` with
    /// ``Footfall/defaultDataDirectory()``), or returns it when it already exists (the arguments are then
    /// ignored). Does no disk or network I/O on the calling thread; fine in `App.init`.
    ///
    /// - Parameters:
    ///   - transport: the app's HTTP client; `nil` uses `URLSession` (``URLSessionTransport``).
    ///   - flushOnBackground: flush when the app goes to the background, pull the wallet when it comes back.
    ///   - deviceSigner: the coupon wallet's device key; by default the Secure Enclave's where the device has one.
    ///   - keyProvider: the key store that wraps the key personal data is encrypted with on disk (the Keychain's
    ///     ``KeychainKeyProvider`` is recommended); `nil` keeps it in a file next to the database.
    /// - Throws: ``FootfallError/config(reason:)`` when the configuration cannot work.
    @discardableResult
    public static func start(
        config: FootfallConfig,
        transport: (any HttpTransport)? = nil,
        flushOnBackground: Bool = true,
        deviceSigner: (any DeviceSigner)? = platformDeviceSigner(),
        keyProvider: (any KeyProvider)? = nil
    ) throws -> Footfall {
        try started.withLock { started in
            if let existing = started {
                return existing.footfall
            }
            let footfall = try Footfall(
                config: config, transport: transport, deviceSigner: deviceSigner, keyProvider: keyProvider
            )
            let uploads = config.endpoint != nil
            let network = uploads ? NetworkWatcher(footfall: footfall) : nil
            network?.install()
            let lifecycle = uploads && flushOnBackground ? applicationLifecycle(footfall) : nil
            lifecycle?.install()
            let tcf = config.consent.tcfImport ? TcfConsentBridge(footfall: footfall) : nil
            started = Started(footfall: footfall, lifecycle: lifecycle, network: network, tcf: tcf)
            return footfall
        }
    }

    /// The instance `start` created, or `nil` before it.
    public static var shared: Footfall? {
        started.withLock { $0?.footfall }
    }

    /// The Secure Enclave's device key where the device has one; `nil` (a software key in the SDK's database)
    /// elsewhere.
    public static func platformDeviceSigner() -> (any DeviceSigner)? {
        #if canImport(CryptoKit) && !os(Linux)
        return SecureEnclaveDeviceSigner.isAvailable ? SecureEnclaveDeviceSigner() : nil
        #else
        return nil
        #endif
    }

    /// UIKit's lifecycle, where there is one.
    private static func applicationLifecycle(_ footfall: Footfall) -> AppLifecycleFlusher? {
        #if canImport(UIKit) && os(iOS)
        return AppLifecycleFlusher(footfall: footfall, notifications: .application)
        #else
        return nil
        #endif
    }

    /// Tests only: stops the watchers, closes the instance and forgets it, so that the next `start` starts afresh.
    static func resetForTesting() {
        let previous = started.withLock { started -> Started? in
            defer { started = nil }
            return started
        }
        previous?.lifecycle?.uninstall()
        previous?.network?.uninstall()
        previous?.tcf?.close()
        previous?.footfall.close()
    }

    /// Tests only: whether `start` installed the network watcher.
    static var watchesNetwork: Bool {
        started.withLock { $0?.network != nil }
    }
}
