import Foundation
import FootfallFFI

/// Fans SDK events out to every `AsyncStream` handed out by `Footfall.events`. Each subscriber has its own buffer
/// of the newest `bufferSize` events, so a slow consumer loses its oldest events instead of slowing the SDK's
/// thread, and never affects the other subscribers.
final class EventHub: @unchecked Sendable {
    // @unchecked: every mutable property is only touched with `lock` held.
    private let lock = NSLock()
    private var subscribers: [UInt64: AsyncStream<FootfallEvent>.Continuation] = [:]
    private var nextID: UInt64 = 0
    private var finished = false
    private let bufferSize: Int

    init(bufferingNewest bufferSize: Int) {
        self.bufferSize = bufferSize
    }

    /// A new stream, registered before this returns: it sees every event emitted from now on.
    func subscribe() -> AsyncStream<FootfallEvent> {
        AsyncStream(bufferingPolicy: .bufferingNewest(bufferSize)) { continuation in
            self.lock.lock()
            if self.finished {
                self.lock.unlock()
                continuation.finish()
                return
            }
            let id = self.nextID
            self.nextID &+= 1
            self.subscribers[id] = continuation
            self.lock.unlock()
            continuation.onTermination = { [weak self] _ in
                self?.remove(id)
            }
        }
    }

    /// Called on an SDK thread; yields outside the lock.
    func emit(_ event: FootfallEvent) {
        lock.lock()
        let current = Array(subscribers)
        lock.unlock()
        for (id, continuation) in current {
            if case .terminated = continuation.yield(event) {
                remove(id)
            }
        }
    }

    /// Ends every stream (their `for await` loops finish) and every later one at once.
    func finish() {
        lock.lock()
        finished = true
        let current = Array(subscribers.values)
        subscribers.removeAll()
        lock.unlock()
        for continuation in current {
            continuation.finish()
        }
    }

    private func remove(_ id: UInt64) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }
}

/// The generated listener protocol, called on the SDK's sync thread: only hands the event over.
final class EventListenerAdapter: FootfallFFI.EventListener {
    private let hub: EventHub

    init(hub: EventHub) {
        self.hub = hub
    }

    func onEvent(event: FootfallFFI.FootfallEvent) throws {
        hub.emit(FootfallEvent(event))
    }
}
