import Foundation

/// A value behind a lock. `NSLock` because `OSAllocatedUnfairLock` needs iOS 16 and `Mutex` iOS 18.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Resumes one continuation exactly once with the first result offered, whether that result arrives before or
/// after the continuation is installed. Lets `Footfall.flush()` stop waiting when its task is cancelled although
/// the generated async call underneath does not observe cancellation.
final class OneShot<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, Error>?
    private var pending: Result<Value, Error>?
    private var resumed = false

    /// Installs the continuation; returns false when a result (a cancellation) already arrived and was delivered.
    func install(_ continuation: CheckedContinuation<Value, Error>) -> Bool {
        lock.lock()
        if let result = pending {
            pending = nil
            resumed = true
            lock.unlock()
            continuation.resume(with: result)
            return false
        }
        self.continuation = continuation
        lock.unlock()
        return true
    }

    /// Offers a result; only the first one counts.
    func resume(with result: Result<Value, Error>) {
        lock.lock()
        if resumed || pending != nil {
            lock.unlock()
            return
        }
        guard let continuation else {
            pending = result
            lock.unlock()
            return
        }
        self.continuation = nil
        resumed = true
        lock.unlock()
        continuation.resume(with: result)
    }
}

/// Milliseconds from the FFI as a `TimeInterval` in seconds.
func seconds(fromMilliseconds ms: Int64) -> TimeInterval {
    TimeInterval(ms) / 1000
}
