import Foundation
#if canImport(Network)
import Network
#endif

/// Reports the device's network becoming available, by default to ``Footfall/networkAvailable()``, so uploads that
/// failed while the phone was offline go out at once instead of after their backoff (up to five minutes). What is
/// retried, and what a server's Retry-After still holds back, is the core's decision; this only reports the event.
/// Android's `NetworkWatcher` does the same from `ConnectivityManager`.
///
/// ```swift
/// let network = NetworkWatcher(footfall: footfall)
/// network.install()   // keep it as long as the instance
/// ```
///
/// On Apple platforms it watches `NWPathMonitor`; where the Network framework is missing (Linux) `install()`
/// watches nothing.
public final class NetworkWatcher: @unchecked Sendable {
    private let onAvailable: @Sendable () -> Void
    // Guards the monitor and the last status seen (path updates arrive on the monitor's queue).
    private let lock = NSLock()
    private var satisfied: Bool?
    #if canImport(Network)
    private var monitor: NWPathMonitor?
    #endif

    /// Reports to `footfall`; a closed instance (or one without an endpoint) is ignored.
    public convenience init(footfall: Footfall) {
        self.init { try? footfall.networkAvailable() }
    }

    /// Calls `onAvailable` each time the network becomes usable (on the monitor's queue).
    public init(onAvailable: @escaping @Sendable () -> Void) {
        self.onAvailable = onAvailable
    }

    deinit {
        uninstall()
    }

    /// Starts watching; a second call changes nothing.
    public func install() {
        #if canImport(Network)
        lock.lock()
        defer { lock.unlock() }
        guard monitor == nil else { return }
        let monitor = NWPathMonitor()
        monitor.pathUpdateHandler = { [weak self] path in self?.pathChanged(satisfied: path.status == .satisfied) }
        monitor.start(queue: DispatchQueue(label: "dev.footfall.network"))
        self.monitor = monitor
        #endif
    }

    /// Stops watching.
    public func uninstall() {
        #if canImport(Network)
        lock.lock()
        let stopped = monitor
        monitor = nil
        lock.unlock()
        stopped?.cancel()
        #endif
    }

    /// A path update: reported when the network is usable and was not at the last update (or at the first).
    func pathChanged(satisfied now: Bool) {
        lock.lock()
        let before = satisfied
        satisfied = now
        lock.unlock()
        if now && before != true {
            onAvailable()
        }
    }
}
