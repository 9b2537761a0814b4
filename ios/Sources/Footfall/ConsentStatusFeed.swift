import Foundation
import FootfallFFI

/// Publishes the consent status to every ``Footfall/consentStatusUpdates`` stream: the current status when a
/// stream is read, then a fresh one after each consent change.
///
/// Statuses are read on one serial queue, never on the SDK's threads (a listener must not call back into the
/// SDK), so every stream sees them in the order they were read, each at least as new as the one before. A status
/// equal to the last one published is not published again. Each stream keeps only the newest status.
final class ConsentStatusFeed: @unchecked Sendable {
    // @unchecked: `source` is behind its lock; `lastPublished` is only touched on `queue`.
    private let hub = Hub<ConsentStatus>(bufferingNewest: 1)
    private let queue = DispatchQueue(label: "dev.footfall.consent-status", qos: .userInitiated)
    private let source = Locked(WeakNative())
    private var lastPublished: ConsentStatus?

    /// Where statuses are read from. Weak: the native object holds the listener that holds this feed.
    func attach(_ native: FootfallFFI.Footfall) {
        source.withLock { $0.native = native }
    }

    /// A new stream: the current status first, then one after each change.
    func subscribe() -> AsyncStream<ConsentStatus> {
        hub.subscribe { id in
            self.queue.async { self.publish(newSubscriber: id) }
        }
    }

    /// Reads the status again and publishes it if it changed (after a consent change, a policy or a context).
    func refresh() {
        queue.async { self.publish(newSubscriber: nil) }
    }

    /// Ends every stream; later ones end at once.
    func finish() {
        source.withLock { $0.native = nil }
        hub.finish()
    }

    private func publish(newSubscriber: UInt64?) {
        // Closed (or a storage failure): nothing to publish; the streams end with `finish()`.
        guard let native = source.withLock({ $0.native }), let status = try? native.consentStatus() else { return }
        if status != lastPublished {
            lastPublished = status
            hub.emit(status)
        } else if let id = newSubscriber {
            hub.emit(status, to: id)
        }
    }
}

private struct WeakNative {
    weak var native: FootfallFFI.Footfall?
}
