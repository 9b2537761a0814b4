import Foundation
import FootfallFFI

/// The Footfall SDK: an offline-first event queue that survives app kills and uploads in batches.
///
/// Create one instance per data directory and keep it for the life of the process (an app-wide property set in
/// `App.init` or `application(_:didFinishLaunchingWithOptions:)`); ``close()`` it when done. Every method is
/// thread-safe and may be called from any thread or task.
///
/// Consent is enforced by default: nothing of a purpose is collected until the shopper grants it (see
/// ``grant(_:method:)``, ``needsPrompt()``); only `essential` is always allowed.
///
/// ```swift
/// let footfall = try Footfall(config: FootfallConfig(
///     dataDir: try Footfall.defaultDataDirectory().path,
///     endpoint: "https://collect.example.com",
///     apiKey: "write-key"
/// ))
/// try await footfall.grant(["analytics"], method: .prompt(promptId: "default"))   // the shopper said yes
/// try footfall.track("product_viewed", properties: ["sku": "4901234567894", "price": 1980])
/// Task { for await event in footfall.events { print(event) } }
/// let report = try await footfall.flush()   // the upload runs on the SDK's own thread
/// ```
public final class Footfall: Sendable {
    /// The purpose of events tracked without one.
    public static let defaultPurpose = "analytics"

    /// The purpose consent never gates: only for what the app needs to work or must record by law.
    public static let essentialPurpose = "essential"

    /// How many events each ``events`` subscriber buffers before dropping its oldest.
    public static let eventBufferSize = 256

    /// The generated object; internal so the consent and rights extensions can call it (through `blocking`).
    let native: FootfallFFI.Footfall
    private let hub: EventHub
    let consentFeed: ConsentStatusFeed
    let couponFeed: CouponFeed
    let proximityFeeds: ProximityFeeds
    private let closed = Locked(false)
    /// Where `track()` puts events; handed to the native core in batches, and before every other native call.
    let tracks: TrackBuffer

    /// Starts an instance. No disk or network I/O happens on the calling thread: the database is opened on the
    /// SDK's writer thread, and a storage problem surfaces on the first call that needs it.
    ///
    /// - Parameters:
    ///   - config: where the queue lives, where it uploads to, and its limits.
    ///   - transport: the app's HTTP stack (``URLSessionTransport`` or your own); `nil` uses a
    ///     ``URLSessionTransport`` on Apple platforms (the XCFramework has no built-in HTTPS client) and the
    ///     library's built-in client elsewhere (the Linux host build the tests use).
    ///   - deviceSigner: the wallet's device key in hardware (``SecureEnclaveDeviceSigner`` where available); `nil`
    ///     keeps a software key in the SDK's database.
    ///   - keyProvider: the platform's key store that wraps the key personal data is encrypted with on disk
    ///     (``KeychainKeyProvider`` on Apple platforms); `nil` keeps the wrapping key in a file in `config.dataDir`.
    ///     Pass the same one on every start: a database is refused by another (``KeyProvider/storeName``).
    /// - Throws: ``FootfallError/config(reason:)`` when the configuration cannot work (an `http://` endpoint that is
    ///   not loopback, a zero limit, a wallet key set that cannot be read, …).
    public init(
        config: FootfallConfig,
        transport: (any HttpTransport)? = nil,
        deviceSigner: (any DeviceSigner)? = nil,
        keyProvider: (any KeyProvider)? = nil
    ) throws {
        let hub = EventHub(bufferingNewest: Footfall.eventBufferSize)
        let consentFeed = ConsentStatusFeed()
        let couponFeed = CouponFeed()
        let proximityFeeds = ProximityFeeds()
        let adapter = (transport ?? Footfall.platformTransport()).map { TransportAdapter($0) }
        let listener = EventListenerAdapter(
            hub: hub, consentFeed: consentFeed, couponFeed: couponFeed, proximityFeeds: proximityFeeds
        )
        self.hub = hub
        self.consentFeed = consentFeed
        self.couponFeed = couponFeed
        self.proximityFeeds = proximityFeeds
        self.native = try translatingErrors {
            try FootfallFFI.Footfall(
                config: config,
                transport: adapter,
                listener: listener,
                deviceSigner: deviceSigner.map { DeviceSignerAdapter($0) },
                keyProvider: keyProvider.map { KeyProviderAdapter($0) }
            )
        }
        self.tracks = TrackBuffer(native: native, consent: consentFeed)
        consentFeed.attach(native)
        couponFeed.attach(native)
        proximityFeeds.attach(native)
    }

    /// The transport used when the app passes none: URLSession wherever the library is the XCFramework's.
    private static func platformTransport() -> (any HttpTransport)? {
        #if canImport(Darwin)
        return URLSessionTransport()
        #else
        return nil
        #endif
    }

    /// The coupon wallet: on when `config.walletKeyset` is set.
    public var wallet: Wallet {
        Wallet(footfall: self)
    }

    /// Store proximity (visits, offers, pickups): zones from `config.proximity` and the server, gated on `location`.
    public var proximity: Proximity {
        Proximity(footfall: self)
    }

    /// Closes the instance if ``close()`` was not called (which blocks briefly while the writer commits).
    deinit {
        close()
    }

    // MARK: - Recording

    /// Records an event and returns its id (a UUIDv7) at once; it never waits for disk or network, nor crosses into
    /// the native library: the event is checked, judged against the consent status published last and stamped
    /// here, then handed to the core with others in a batch, off the calling thread. Everything accepted is handed
    /// over before ``flush()``, ``flushToDisk()``, ``close()`` and any other call returns.
    ///
    /// - Parameters:
    ///   - name: what happened, e.g. `product_viewed` (1–200 characters).
    ///   - properties: the event's details, written as a JSON object (nested objects, arrays, strings, numbers,
    ///     booleans, `nil`).
    ///   - purpose: the consent purpose the event serves (`[a-z0-9_-]{1,64}`): `analytics` (the default),
    ///     `personalization`, `marketing`, `location`, `essential` (always allowed) or one of your policy's own.
    /// - Returns: the event's id.
    /// - Throws: ``FootfallError/consentDenied(purpose:)`` when the shopper has not allowed `purpose` (nothing is
    ///   recorded; expected, not a bug), ``FootfallError/invalidInput(reason:)`` when the name, properties or
    ///   purpose are refused (nothing is recorded), ``FootfallError/queueFull`` when the buffer in front of the
    ///   core is full (counted), ``FootfallError/closed`` after ``close()``.
    ///
    /// In the first moments after ``init(config:transport:deviceSigner:keyProvider:)``, before the SDK's writer has read the consent log,
    /// the answer is not known yet: the event is accepted and the writer drops it if its purpose is denied
    /// (counted in `status().consentRefused`). Any awaited consent call (``consentStatus()``, say) waits for the
    /// log.
    @discardableResult
    public func track(
        _ name: String,
        properties: [String: FootfallValue] = [:],
        purpose: String = Footfall.defaultPurpose
    ) throws -> String {
        try checkOpen()
        return try tracks.track(name: name, properties: properties, purpose: purpose)
    }

    /// ``track(_:properties:purpose:)`` with the properties already written as a JSON object (`{"sku":"…"}`).
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when the text is not a JSON object, or is too large or
    ///   too deep; the other errors of ``track(_:properties:purpose:)``.
    @discardableResult
    public func trackJSON(
        _ name: String,
        propertiesJSON: String,
        purpose: String = Footfall.defaultPurpose
    ) throws -> String {
        try call { native in
            try native.trackEvent(event: TrackedEvent(name: name, propertiesJson: propertiesJSON, purpose: purpose))
        }
    }

    /// Signs the shopper in: what is tracked from now on, and the wallet, name `userId`.
    ///
    /// The identify message with `traits` serves the `analytics` purpose. While that is denied no message is
    /// recorded, and the sign-in stands all the same.
    ///
    /// - Returns: the identify message's id, or `nil` while `analytics` is denied.
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for an empty or oversized user id or bad traits.
    @discardableResult
    public func identify(_ userId: String, traits: [String: FootfallValue] = [:]) throws -> String? {
        try call { native in
            try native.identify(userId: userId, traitsJson: try FootfallValue.object(traits).jsonString())
        }
    }

    /// Forgets the user: a new anonymous id and a new session for everything tracked after.
    public func reset() throws {
        try call { native in try native.reset() }
    }

    // MARK: - Uploading

    /// Uploads what is queued now and reports the outcome.
    ///
    /// The upload runs on the SDK's sync thread. Cancelling the calling task makes this method throw
    /// `CancellationError` at once, but does not stop the upload, which finishes (or is retried) on its own: its
    /// result still reaches ``status()`` and ``events``, and a later `flush()` queues behind it. (UniFFI's Swift
    /// bindings never drop a Rust future when a task is cancelled, uniffi-rs #2771; this method only stops
    /// waiting.) Nothing is uploaded twice because of a cancelled flush.
    ///
    /// - Throws: ``FootfallError/config(reason:)`` when no endpoint is configured, ``FootfallError/closed`` after
    ///   ``close()``, `CancellationError` when the task was cancelled.
    public func flush() async throws -> FlushReport {
        try await asyncCall { try await FlushReport($0.flush()) }
    }

    /// Tells the SDK the device's network came back: uploads waiting out a backoff after a failure (or the hour
    /// after a refused certificate) try at once (a server's Retry-After and a pause for credentials still hold).
    /// Never blocks; calls coalesce. ``NetworkWatcher`` calls it for you.
    public func networkAvailable() throws {
        try call { native in try native.networkAvailable() }
    }

    /// Blocks until everything tracked before the call is durable on disk (a few milliseconds; keep it off the
    /// main thread).
    public func flushToDisk() throws {
        try call { native in try native.flushToDisk() }
    }

    // MARK: - Observing

    /// What the SDK does with the data (delivered, dead-lettered, retry scheduled, paused) and with consent
    /// (changed), as it happens.
    ///
    /// Each read of this property returns a new stream that is subscribed before the property returns, so
    /// `let stream = footfall.events` followed by `try await footfall.flush()` sees the flush's events. Streams are
    /// hot: a stream sees what happens while it exists, not what came before. The events of a ``flush()`` are
    /// yielded before it returns. Each stream buffers the newest ``eventBufferSize`` events; a slow consumer loses
    /// the oldest rather than slowing the SDK. Streams finish when the instance is closed; cancel the consuming
    /// task to unsubscribe earlier.
    public var events: AsyncStream<FootfallEvent> {
        hub.subscribe()
    }

    /// The queue and the sync history, read from storage (blocking, brief).
    public func status() throws -> Status {
        try call { native in try native.status() }
    }

    /// Re-encrypts everything the SDK keeps encrypted under a new data key, wrapped by the ``KeyProvider``'s key as
    /// it is now (call it after rotating the Keychain key). Events tracked before the call are included. Returns the
    /// new key's id, or `nil` when encryption is off. Runs off the caller's thread.
    @discardableResult
    public func rotateEncryptionKey() async throws -> UInt32? {
        try await blocking { native in try native.rotateEncryptionKey() }
    }

    /// The most recent events the server refused, newest first.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when `limit` is negative.
    public func deadLetters(limit: Int = 100) throws -> [DeadLetter] {
        guard limit >= 0 else {
            throw FootfallError.invalidInput(reason: "limit must not be negative, got \(limit)")
        }
        return try call { native in try native.deadLetters(limit: UInt32(clamping: limit)) }
    }

    // MARK: - Lifecycle

    /// Commits what was tracked, stops the SDK's threads, releases the database and finishes every ``events``,
    /// ``consentStatusUpdates``, ``Wallet/couponUpdates`` and ``Proximity`` stream. Blocks briefly; safe to call more than once and from any thread. Every
    /// other method then throws ``FootfallError/closed``. Called by `deinit` when the app forgets.
    public func close() {
        let wasOpen = closed.withLock { isClosed -> Bool in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        tracks.close() // everything accepted reaches the core before it commits and stops
        native.close()
        hub.finish()
        consentFeed.finish()
        couponFeed.finish()
        proximityFeeds.finish()
    }

    /// A directory for ``FootfallConfig/dataDir`` that suits an app: `Application Support/footfall`, created if
    /// missing and excluded from iCloud/iTunes backups (the queue is a cache of what is not yet uploaded).
    ///
    /// Touches the file system: call it once at start-up, not on every launch-critical path.
    public static func defaultDataDirectory() throws -> URL {
        let base = try FileManager.default.url(
            for: .applicationSupportDirectory,
            in: .userDomainMask,
            appropriateFor: nil,
            create: true
        )
        let directory = base.appendingPathComponent("footfall", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #if canImport(Darwin)
        // Only Apple platforms back up app data (and only they implement this resource value).
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var excluded = directory
        try excluded.setResourceValues(values)
        #endif
        return directory
    }

    // MARK: - Internals

    func checkOpen() throws {
        if closed.withLock({ $0 }) {
            throw FootfallError.closed
        }
    }

    /// A synchronous call into the generated object. After `close()` the Rust side answers `Closed` too, so a call
    /// racing a concurrent `close()` is safe: the native handle lives until this object is gone.
    func call<T>(_ body: (FootfallFFI.Footfall) throws -> T) throws -> T {
        try checkOpen()
        tracks.drain() // the events buffered before this call go first
        return try translatingErrors { try body(native) }
    }

    /// An `async` call into the generated object that the calling task can stop waiting for (see
    /// `cancellableNativeCall`); the events buffered before it go first, as for every other call.
    func asyncCall<T>(_ body: @escaping @Sendable (FootfallFFI.Footfall) async throws -> T) async throws -> T {
        try checkOpen()
        let native = self.native
        let tracks = self.tracks
        return try await cancellableNativeCall {
            tracks.drain()
            return try await body(native)
        }
    }

    /// A blocking call into the generated object for an `async` method: run on the layer's queue for blocking
    /// calls, never on the caller's thread (see `offCallerThread`).
    func blocking<T>(_ body: @escaping @Sendable (FootfallFFI.Footfall) throws -> T) async throws -> T {
        try checkOpen()
        let native = self.native
        let tracks = self.tracks
        return try await offCallerThread {
            tracks.drain() // the events buffered before this call go first
            return try translatingErrors { try body(native) }
        }
    }
}
