import Foundation
import FootfallFFI

/// Publishes the consent status to every ``Footfall/consentStatusUpdates`` stream: the status the core publishes
/// with every consent change (inside its event, before the call that made the change returns), and one read when a
/// stream starts before any change has been told. Nothing is read back after a change.
///
/// Statuses carry a revision: an older one never replaces a newer one (the first read finishing after a change),
/// and an equal one is not published again. Each stream keeps only the newest status.
final class ConsentStatusFeed: @unchecked Sendable {
    // @unchecked: `source` and `latest` are behind their locks.
    private let hub = Hub<ConsentStatus>(bufferingNewest: 1)
    private let queue = DispatchQueue(label: "dev.footfall.consent-status", qos: .userInitiated)
    private let source = Locked(WeakNative())
    private let latest = Locked<ConsentStatus?>(nil)

    /// Where the first status is read from. Weak: the native object holds the listener that holds this feed.
    /// Reads the first status at once (off the caller's thread): `track()` judges purposes by it.
    func attach(_ native: FootfallFFI.Footfall) {
        source.withLock { $0.native = native }
        queue.async { self.readFirst() }
    }

    /// A new stream: the newest status first (read once if none was told yet), then one per change.
    func subscribe() -> AsyncStream<ConsentStatus> {
        hub.subscribe { id in
            if let status = self.latest.withLock({ $0 }) {
                self.hub.emit(status, to: id)
            } else {
                // Never on the SDK's threads, nor the caller's: the read waits for the database to open.
                self.queue.async { self.readFirst() }
            }
        }
    }

    /// The status published last, if any: what `track()` judges a purpose by.
    func current() -> ConsentStatus? {
        latest.withLock { $0 }
    }

    /// A status the core published with a change; called on the SDK's writer thread, so it only hands it over.
    func publish(_ status: ConsentStatus) {
        latest.withLock { current in
            if let current, status.revision < current.revision || status == current { return }
            current = status
            // Under the lock, so two publishers cannot emit out of order.
            hub.emit(status)
        }
    }

    /// Ends every stream; later ones end at once.
    func finish() {
        source.withLock { $0.native = nil }
        hub.finish()
    }

    /// Every stream registered before a change was told gets that change's status from ``publish(_:)``; this
    /// read only covers the time before the first change.
    private func readFirst() {
        // Closed (or a storage failure): nothing to publish; the streams end with `finish()`.
        guard let native = source.withLock({ $0.native }), let status = try? native.consentStatus() else { return }
        publish(status)
    }
}

/// The native object, held weakly by the feeds it holds (through its listener).
struct WeakNative {
    weak var native: FootfallFFI.Footfall?
}
