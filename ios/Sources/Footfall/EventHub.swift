import Foundation
import FootfallFFI

/// Fans elements out to every `AsyncStream` it hands out. Each subscriber has its own buffer of the newest
/// `bufferSize` elements, so a slow consumer loses its oldest elements instead of slowing the SDK's thread, and
/// never affects the other subscribers.
final class Hub<Element>: @unchecked Sendable {
    // @unchecked: every mutable property is only touched with `lock` held.
    private let lock = NSLock()
    private var subscribers: [UInt64: AsyncStream<Element>.Continuation] = [:]
    private var nextID: UInt64 = 0
    private var finished = false
    private let bufferSize: Int

    init(bufferingNewest bufferSize: Int) {
        self.bufferSize = bufferSize
    }

    /// A new stream, registered before this returns: it sees every element emitted from now on. `registered` is
    /// called with the subscriber's id once it is registered (not when the hub has finished), before this returns.
    func subscribe(registered: ((UInt64) -> Void)? = nil) -> AsyncStream<Element> {
        var registeredID: UInt64?
        let stream = AsyncStream<Element>(bufferingPolicy: .bufferingNewest(bufferSize)) { continuation in
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
            registeredID = id
            continuation.onTermination = { [weak self] _ in
                self?.remove(id)
            }
        }
        if let id = registeredID {
            registered?(id)
        }
        return stream
    }

    /// Yields `element` to every subscriber; called on an SDK thread, yields outside the lock.
    func emit(_ element: Element) {
        lock.lock()
        let current = Array(subscribers)
        lock.unlock()
        for (id, continuation) in current {
            if case .terminated = continuation.yield(element) {
                remove(id)
            }
        }
    }

    /// Yields `element` to one subscriber only (its first value, say).
    func emit(_ element: Element, to id: UInt64) {
        lock.lock()
        let continuation = subscribers[id]
        lock.unlock()
        if case .terminated? = continuation?.yield(element) {
            remove(id)
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

/// The hub behind `Footfall.events`.
typealias EventHub = Hub<FootfallEvent>

/// The generated listener protocol, called on the SDK's threads (the sync thread after an upload pass or a wallet
/// sync, the writer thread after a consent change or a visit, offer or pickup arrival, the calling queue after a
/// clip or presentation): only hands the event over, and never calls back into the SDK from there.
final class EventListenerAdapter: FootfallFFI.EventListener {
    private let hub: EventHub
    private let consentFeed: ConsentStatusFeed
    private let couponFeed: CouponFeed
    private let proximityFeeds: ProximityFeeds

    init(hub: EventHub, consentFeed: ConsentStatusFeed, couponFeed: CouponFeed, proximityFeeds: ProximityFeeds) {
        self.hub = hub
        self.consentFeed = consentFeed
        self.couponFeed = couponFeed
        self.proximityFeeds = proximityFeeds
    }

    func onEvent(event: FootfallFFI.FootfallEvent) throws {
        let event = FootfallEvent(event)
        // The states first, and outside the events stream (which keeps a bounded buffer).
        switch event {
        case .consentChanged(_, _, _, _, let status):
            consentFeed.publish(status)
            // Withdrawing `location` deletes the visits: read them again.
            proximityFeeds.visits.changed()
        case .walletChanged(let coupons):
            couponFeed.publish(coupons)
        case .visitChanged:
            proximityFeeds.visits.changed()
        case .offerMade(let offer):
            proximityFeeds.offers.emit(offer)
        case .pickupArrived(let pickup):
            proximityFeeds.arrivals.emit(pickup)
        default:
            break
        }
        hub.emit(event)
    }
}
