import Foundation
import FootfallFFI

/// Store proximity of a ``Footfall`` instance (``Footfall/proximity``): beacon sightings become store visits
/// (enter, dwell, exit), the campaign rules make offers for them, and expected click-and-collect pickups are
/// recognised when the shopper arrives. The zones and campaigns come from `FootfallConfig.proximity` (bundled with
/// the app) and the server. Everything is gated on the `location` purpose: without it readings are dropped and
/// nothing is kept, and withdrawing it deletes the visits.
///
/// The app (or ``BeaconRanging`` on Apple platforms) feeds what CoreLocation ranges: ``identity(uuid:major:minor:rssi:ageMs:)``
/// for each beacon, ``scanTick()`` after each ranging callback, ``scanning(_:)`` when ranging stops or starts.
///
/// **Ingestion is synchronous.** ``identity(uuid:major:minor:rssi:ageMs:)``, ``advertisement(_:rssi:ageMs:)``,
/// ``scanTick()`` and ``scanning(_:)`` never wait for the disk or the network: they take one in-memory lock in the
/// SDK and hand what changed to its writer thread, in microseconds. CoreLocation calls its delegate synchronously
/// on the main thread; a `Task` per beacon would cost more than the call and could reorder readings. So they are
/// plain throwing methods, safe on any thread (like ``Footfall/track(_:properties:purpose:)``). Reads and writes of
/// the database (``visits(limit:)``, ``expectPickup(_:store:from:until:)``, ``pickups()``, ``status()``) are `async`
/// and run on the layer's own queue.
///
/// ```swift
/// .task { for await visits in footfall.proximity.visitUpdates { self.visits = visits } }
/// .task { for await offer in footfall.proximity.offers { show(offer) } }
/// try await footfall.proximity.expectPickup("order-7", store: "tokyo-1", from: .now, until: .now + 3600)
/// ```
public struct Proximity: Sendable {
    /// How many visits ``visitUpdates`` holds.
    public static let visitsShown = 20

    let footfall: Footfall

    /// The latest visits (newest first, at most ``visitsShown``) now, then again after every visit change (enter,
    /// dwell, exit) and every consent change (withdrawing `location` deletes them).
    ///
    /// Each read of this property returns a new stream; its first element is the current list (read off the
    /// caller's thread), then one follows each change. Each stream keeps only the newest list. Streams finish when
    /// the instance is closed; cancel the consuming task to unsubscribe earlier.
    public var visitUpdates: AsyncStream<[Visit]> {
        footfall.proximityFeeds.visits.subscribe()
    }

    /// Each offer the campaign rules make, once, as it is made. Each read returns a new stream, subscribed before
    /// the property returns; it sees the offers made while it exists (buffering the newest 64). Streams finish
    /// when the instance is closed.
    public var offers: AsyncStream<Offer> {
        footfall.proximityFeeds.offers.subscribe()
    }

    /// Each expected pickup the shopper arrived for, once per order, as it is recognised. Hot, like ``offers``.
    public var arrivals: AsyncStream<Pickup> {
        footfall.proximityFeeds.arrivals.subscribe()
    }

    /// A beacon CoreLocation ranged: its proximity UUID, major and minor, heard at `rssi` dBm (not 0) `ageMs`
    /// milliseconds ago. Synchronous: see the type's documentation.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for an RSSI of 0 or out of range; nothing is kept.
    ///   ``FootfallError/closed`` after ``Footfall/close()``.
    @discardableResult
    public func identity(uuid: UUID, major: UInt16, minor: UInt16, rssi: Int, ageMs: UInt64 = 0) throws -> Ingested {
        try identity(uuid: uuid.uuidString, major: major, minor: minor, rssi: rssi, ageMs: ageMs)
    }

    /// ``identity(uuid:major:minor:rssi:ageMs:)`` with the UUID as text (either case).
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for a malformed UUID too.
    @discardableResult
    public func identity(uuid: String, major: UInt16, minor: UInt16, rssi: Int, ageMs: UInt64 = 0) throws -> Ingested {
        let dbm = try rssiValue(rssi)
        return try footfall.call { native in
            try native.proximityIdentity(uuid: uuid, major: major, minor: minor, rssi: dbm, ageMs: ageMs)
        }
    }

    /// One BLE advertisement's bytes (iBeacon or Eddystone-UID), heard at `rssi` dBm `ageMs` milliseconds ago:
    /// Android's path, for an app that scans with CoreBluetooth itself. Synchronous.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when the frame names no beacon; nothing is kept.
    @discardableResult
    public func advertisement(_ bytes: Data, rssi: Int, ageMs: UInt64 = 0) throws -> Ingested {
        let dbm = try rssiValue(rssi)
        return try footfall.call { native in try native.proximityAdvertisement(bytes: bytes, rssi: dbm, ageMs: ageMs) }
    }

    /// A scan cycle ended with scanning on (each ranging callback): what was not heard in it was absent.
    @discardableResult
    public func scanTick() throws -> Ingested {
        try footfall.call { native in try native.proximityScanTick() }
    }

    /// Scanning stopped (the app went to the background, location permission was revoked, monitoring failed) or
    /// started again. Time while it is stopped is unknown: it never counts as absence.
    @discardableResult
    public func scanning(_ active: Bool) throws -> Ingested {
        try footfall.call { native in try native.proximityScanning(active: active) }
    }

    /// The latest `limit` visits, newest first.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when `limit` is negative.
    public func visits(limit: Int = Proximity.visitsShown) async throws -> [Visit] {
        guard limit >= 0 else {
            throw FootfallError.invalidInput(reason: "limit must not be negative, got \(limit)")
        }
        let count = UInt32(clamping: limit)
        return try await footfall.blocking { native in try native.proximityVisits(limit: count) }
    }

    /// Counters since the instance started, the configuration's size and version, and the zones the shopper is in.
    public func status() async throws -> ProximityStatus {
        try await footfall.blocking { native in try native.proximityStatus() }
    }

    /// Click-and-collect: watch for the shopper entering one of `store`'s zones between `from` and `until`. The
    /// arrival is told once per order on ``arrivals``; calling this again for the same order moves its window until
    /// it has arrived. Returns once the expectation is durable.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for an empty or oversized order or store id, or a window
    ///   that ends before it starts.
    public func expectPickup(_ orderId: String, store: String, from: Date, until: Date) async throws {
        let fromMs = try epochMilliseconds("from", from)
        let untilMs = try epochMilliseconds("until", until)
        try await footfall.blocking { native in
            try native.expectPickup(orderId: orderId, store: store, fromMs: fromMs, untilMs: untilMs)
        }
    }

    /// ``expectPickup(_:store:from:until:)`` with the window as a range: `now...now.addingTimeInterval(3600)`.
    public func expectPickup(_ orderId: String, store: String, window: ClosedRange<Date>) async throws {
        try await expectPickup(orderId, store: store, from: window.lowerBound, until: window.upperBound)
    }

    /// Every expected pickup, arrived or not.
    public func pickups() async throws -> [Pickup] {
        try await footfall.blocking { native in try native.pickups() }
    }
}

// Conversions to the FFI's fixed-width types: a value that does not fit is refused, never wrapped.

private func rssiValue(_ dbm: Int) throws -> Int16 {
    guard let value = Int16(exactly: dbm) else {
        throw FootfallError.invalidInput(reason: "rssi \(dbm) dBm is out of range")
    }
    return value
}

private func epochMilliseconds(_ name: String, _ date: Date) throws -> Int64 {
    let ms = (date.timeIntervalSince1970 * 1000).rounded()
    guard ms.isFinite, let value = Int64(exactly: ms) else {
        throw FootfallError.invalidInput(reason: "\(name) is out of range: \(date)")
    }
    return value
}

/// What the listener feeds for ``Proximity``: the visit list, offers and arrivals.
final class ProximityFeeds: Sendable {
    let visits = VisitFeed()
    let offers = Hub<Offer>(bufferingNewest: 64)
    let arrivals = Hub<Pickup>(bufferingNewest: 64)

    func attach(_ native: FootfallFFI.Footfall) {
        visits.attach(native)
    }

    func finish() {
        visits.finish()
        offers.finish()
        arrivals.finish()
    }
}

/// Publishes the visit list to every ``Proximity/visitUpdates`` stream. A visit or consent change only says the
/// visits changed, so the list is read again, off the SDK's threads, on one serial queue: reads run in order, and
/// the last list published was read after the last change told.
final class VisitFeed: @unchecked Sendable {
    // @unchecked: `source` and `state` are behind their locks.
    private let hub = Hub<[Visit]>(bufferingNewest: 1)
    private let queue = DispatchQueue(label: "dev.footfall.proximity-visits", qos: .userInitiated)
    private let source = Locked(WeakNative())
    private let state = Locked(State())

    private struct State {
        var latest: [Visit]?
        /// A read is queued and has not started: another change needs no second one.
        var readPending = false
    }

    /// Where the list is read from. Weak: the native object holds the listener that holds this feed.
    func attach(_ native: FootfallFFI.Footfall) {
        source.withLock { $0.native = native }
    }

    /// A new stream: the newest list first (read once if none was read yet), then one per change.
    func subscribe() -> AsyncStream<[Visit]> {
        hub.subscribe { id in
            if let latest = self.state.withLock({ $0.latest }) {
                self.hub.emit(latest, to: id)
            } else {
                self.changed()
            }
        }
    }

    /// The visits may have changed; called on an SDK thread, so it only queues a read.
    func changed() {
        let queueRead = state.withLock { state -> Bool in
            defer { state.readPending = true }
            return !state.readPending
        }
        if queueRead {
            queue.async { self.read() }
        }
    }

    /// Ends every stream; later ones end at once.
    func finish() {
        source.withLock { $0.native = nil }
        hub.finish()
    }

    private func read() {
        state.withLock { $0.readPending = false }
        guard let native = source.withLock({ $0.native }) else { return }
        // Closed or storage failing: nothing to publish; the next change reads again.
        guard let visits = try? native.proximityVisits(limit: UInt32(Proximity.visitsShown)) else { return }
        state.withLock { state in
            state.latest = visits
            // Under the lock, so a subscriber's first list cannot overtake a newer one.
            hub.emit(visits)
        }
    }
}
