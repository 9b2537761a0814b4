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
/// after the continuation is installed. Lets `Footfall.flush()` and `refreshConsentPolicy()` stop waiting when
/// their task is cancelled although the generated async call underneath does not observe cancellation.
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

/// Where the layer runs the generated layer's blocking calls (consent decisions, status reads, export): a
/// concurrent queue, never Swift's cooperative thread pool, which must not be blocked. Each call takes
/// milliseconds (one SQLite transaction on the SDK's writer thread, or a read).
private let blockingCalls = DispatchQueue(label: "dev.footfall.blocking-calls", qos: .userInitiated, attributes: .concurrent)

/// Runs a blocking call on `blockingCalls` and resumes the caller with its result, so an `async` method never
/// blocks the caller's thread (the main actor included). Not cancellable: a call that started finishes, and the
/// caller learns its result (a consent decision is never left half-known).
func offCallerThread<T>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        blockingCalls.async {
            continuation.resume(with: Result(catching: body))
        }
    }
}

/// Awaits an async call into the generated layer from a detached task, so the caller stops waiting at once when
/// its task is cancelled (throwing `CancellationError`) while the call itself runs on: UniFFI's Swift bindings
/// never drop a Rust future when a task is cancelled (uniffi-rs #2771). Errors are translated.
func cancellableNativeCall<T>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try Task.checkCancellation()
    let result = OneShot<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            guard result.install(continuation) else { return }   // cancelled before it started
            Task.detached {
                do {
                    let value = try await body()
                    result.resume(with: .success(value))
                } catch {
                    result.resume(with: .failure(FootfallError.translating(error)))
                }
            }
        }
    } onCancel: {
        result.resume(with: .failure(CancellationError()))
    }
}

/// Milliseconds from the FFI as a `TimeInterval` in seconds.
func seconds(fromMilliseconds ms: Int64) -> TimeInterval {
    TimeInterval(ms) / 1000
}

/// Milliseconds since 1970 from the FFI as a `Date`.
func date(fromMilliseconds ms: Int64) -> Date {
    Date(timeIntervalSince1970: TimeInterval(ms) / 1000)
}
