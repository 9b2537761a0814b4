import Foundation
#if canImport(UIKit) && os(iOS)
import UIKit
#endif

/// Uploads when the app goes to the background and pulls the coupon wallet's feed when it comes back to the
/// foreground, so the coupons a shopper opens at the shelf are the issuer's current ones. Android's
/// `AppLifecycleFlusher` does the same from `ProcessLifecycleOwner`.
///
/// ```swift
/// let lifecycle = AppLifecycleFlusher(footfall: footfall, notifications: .application)
/// lifecycle.install()   // keep it as long as the instance
/// ```
///
/// On iOS the background flush runs inside a background task, so the system gives it time to finish. Failures
/// are left to the SDK's own retries: the events stay on disk and the wallet keeps what it has.
public final class AppLifecycleFlusher: @unchecked Sendable {
    /// The two notifications observed.
    public struct Notifications: Sendable {
        public var foreground: Notification.Name
        public var background: Notification.Name

        public init(foreground: Notification.Name, background: Notification.Name) {
            self.foreground = foreground
            self.background = background
        }

        #if canImport(UIKit) && os(iOS)
        /// UIKit's `willEnterForegroundNotification` and `didEnterBackgroundNotification`.
        public static let application = Notifications(
            foreground: UIApplication.willEnterForegroundNotification,
            background: UIApplication.didEnterBackgroundNotification
        )
        #endif
    }

    private let footfall: Footfall
    private let notifications: Notifications
    private let center: NotificationCenter
    // Guards the observers and the last work started (notifications may arrive on any thread).
    private let lock = NSLock()
    private var observers: [NSObjectProtocol] = []
    private var lastWork: Task<Void, Never>?

    public init(footfall: Footfall, notifications: Notifications, center: NotificationCenter = .default) {
        self.footfall = footfall
        self.notifications = notifications
        self.center = center
    }

    deinit {
        uninstall()
    }

    /// Starts observing; a second call changes nothing.
    public func install() {
        lock.lock()
        defer { lock.unlock() }
        guard observers.isEmpty else { return }
        // `queue: nil`: the block runs where the notification is posted, so the work starts before `post` returns.
        observers = [
            center.addObserver(forName: notifications.foreground, object: nil, queue: nil) { [weak self] _ in
                self?.start { await $0.enteredForeground() }
            },
            center.addObserver(forName: notifications.background, object: nil, queue: nil) { [weak self] _ in
                self?.start { await $0.enteredBackground() }
            },
        ]
    }

    /// Stops observing; work already started completes.
    public func uninstall() {
        lock.lock()
        let removed = observers
        observers = []
        lock.unlock()
        for observer in removed {
            center.removeObserver(observer)
        }
    }

    /// The app came to the foreground: pull the wallet's feed (nothing happens when no wallet is configured).
    public func enteredForeground() async {
        _ = try? await footfall.wallet.sync()
    }

    /// The app went to the background: flush what is queued, within the time the system grants.
    public func enteredBackground() async {
        #if canImport(UIKit) && os(iOS)
        let task = await MainActor.run {
            UIApplication.shared.beginBackgroundTask(withName: "footfall-flush", expirationHandler: nil)
        }
        _ = try? await footfall.flush()
        await MainActor.run { UIApplication.shared.endBackgroundTask(task) }
        #else
        _ = try? await footfall.flush()
        #endif
    }

    /// Waits until the work the last notification started has finished (for tests).
    func settled() async {
        await currentWork()?.value
    }

    private func currentWork() -> Task<Void, Never>? {
        lock.lock()
        defer { lock.unlock() }
        return lastWork
    }

    private func start(_ work: @escaping @Sendable (AppLifecycleFlusher) async -> Void) {
        lock.lock()
        defer { lock.unlock() }
        let previous = lastWork
        // One after the other, in the order the app moved: a quick background/foreground pair stays in order.
        lastWork = Task { [self] in
            await previous?.value
            await work(self)
        }
    }
}
