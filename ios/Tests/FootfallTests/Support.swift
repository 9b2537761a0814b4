import Foundation
import Footfall
import XCTest

/// A config for tests: uploads only on explicit flush and the consent policy only on an explicit refresh, so every
/// request is one the test asked for. Consent is enforced (the default): tests grant what they track.
func testConfig(
    _ dir: URL,
    endpoint: String?,
    apiKey: String? = nil,
    automatic: Bool = false,
    tcfImport: Bool = false,
    walletKeyset: String? = nil,
    proximity: String? = nil,
    timeZone: String? = nil
) -> FootfallConfig {
    FootfallConfig(
        dataDir: dir.appendingPathComponent("sdk").path,
        endpoint: endpoint,
        apiKey: apiKey,
        flushPolicy: FlushPolicy(automatic: automatic),
        appVersion: testAppVersion,
        consent: ConsentSettings(policyRefreshIntervalMs: 0, tcfImport: tcfImport),
        walletKeyset: walletKeyset,
        proximity: proximity,
        timeZone: timeZone
    )
}

/// The app version tests record in every consent record.
let testAppVersion = "9.9.9-test"

extension Footfall {
    /// Grants `analytics`, the default purpose, for tests about the queue and uploads.
    @discardableResult
    func grantAnalytics() async throws -> ConsentOutcome {
        try await grant([Footfall.defaultPurpose])
    }
}

/// Base class: a fresh temporary directory per test, collectors stopped and the log sink removed afterwards.
class FootfallTestCase: XCTestCase {
    private(set) var tmp: URL!
    private var collectors: [Collector] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("footfall-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? Footfall.setLogSink(nil)
        collectors.forEach { $0.close() }
        collectors.removeAll()
        if let tmp {
            try? FileManager.default.removeItem(at: tmp)
        }
        try super.tearDownWithError()
    }

    /// Starts a collector (skipping the test when `FOOTFALL_BIN` is not set).
    func startCollector(_ flags: String..., listen: String = "127.0.0.1:0") throws -> Collector {
        let db = tmp.appendingPathComponent("collector-\(collectors.count).db")
        let collector = try Collector.start(db: db, flags: flags, listen: listen)
        collectors.append(collector)
        return collector
    }
}

/// Flushes until the queue is drained or `timeout` passes. Only for tests where a collector is restarted: the
/// first request may meet a connection to the old one.
func flushUntilDrained(_ footfall: Footfall, timeout: TimeInterval = 20) async throws -> FlushReport {
    let deadline = Date().addingTimeInterval(timeout)
    var report = try await footfall.flush()
    while report.outcome != .drained {
        guard Date() < deadline else {
            XCTFail("not drained within \(timeout) s: \(report)")
            return report
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        report = try await footfall.flush()
    }
    return report
}

/// Thread-safe list for what callbacks on SDK threads record.
final class Recorder<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    func removeAll() {
        lock.lock()
        items.removeAll()
        lock.unlock()
    }
}

/// A one-way gate tasks can wait on.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if isOpen {
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    func open() {
        lock.lock()
        isOpen = true
        let waiting = waiters
        waiters.removeAll()
        lock.unlock()
        waiting.forEach { $0.resume() }
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing with `TimedOut` after `seconds`.
func within<T: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimedOut() }
        return first
    }
}

/// The first element of `stream`, or nil after `seconds`.
func firstElement<T: Sendable>(of stream: AsyncStream<T>, within seconds: TimeInterval) async -> T? {
    try? await within(seconds) {
        var iterator = stream.makeAsyncIterator()
        guard let element = await iterator.next() else { throw TimedOut() }
        return element
    }
}

/// The first `count` elements of `stream`, or those that arrived within `seconds`.
func elements<T: Sendable>(of stream: AsyncStream<T>, count: Int, within seconds: TimeInterval) async -> [T] {
    let collected = Recorder<T>()
    _ = try? await within(seconds) { () -> Bool in
        for await element in stream {
            collected.append(element)
            if collected.all.count >= count {
                return true
            }
        }
        return false
    }
    return collected.all
}

/// Reads `stream` until an element satisfies `predicate`: false when the stream ends or `seconds` pass first.
/// For streams of the generated records, which are `Sendable` only with Swift 6 compilers.
func waitFor<T>(
    _ stream: AsyncStream<T>,
    within seconds: TimeInterval,
    until predicate: @escaping @Sendable (T) -> Bool
) async -> Bool {
    let box = Unchecked(stream)
    let found = try? await within(seconds) { () -> Bool in
        for await element in box.value where predicate(element) {
            return true
        }
        return false
    }
    return found ?? false
}

/// Carries a value the compiler cannot prove `Sendable` (a generated record before Swift 6) across tasks.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) {
        self.value = value
    }
}

/// A TC string from the shared IAB TCF vectors (tests/tcf-vectors/vectors.json, built with @iabtcf/core).
func tcfVector(_ name: String) throws -> String {
    let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // FootfallTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // ios
        .deletingLastPathComponent()
    let file = repository.appendingPathComponent("tests/tcf-vectors/vectors.json")
    let document = try JSONSerialization.jsonObject(with: try Data(contentsOf: file)) as? [String: Any]
    let vectors = document?["vectors"] as? [[String: Any]] ?? []
    guard let string = vectors.first(where: { $0["name"] as? String == name })?["tc_string"] as? String else {
        throw Collector.Failure.badOutput("no TCF vector named \(name) in \(file.path)")
    }
    return string
}

/// The name the current thread was given (Rust names its threads `footfall-writer`, `footfall-sync`).
func currentThreadName() -> String {
    #if os(Linux)
    // glibc declares pthread_getname_np only under _GNU_SOURCE, which Swift's Glibc module does not define; the
    // kernel tells the same name (at most 15 bytes) for the calling thread.
    let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
    return comm.trimmingCharacters(in: .newlines)
    #else
    var buffer = [CChar](repeating: 0, count: 128)
    pthread_getname_np(pthread_self(), &buffer, buffer.count)
    return String(cString: buffer)
    #endif
}

/// The `reason` of an `invalidInput` error thrown by `body`; fails the test for anything else.
func invalidInputReason(
    _ body: () throws -> Void,
    file: StaticString = #filePath,
    line: UInt = #line
) -> String {
    do {
        try body()
        XCTFail("expected FootfallError.invalidInput, nothing was thrown", file: file, line: line)
    } catch FootfallError.invalidInput(let reason) {
        return reason
    } catch {
        XCTFail("expected FootfallError.invalidInput, got \(error)", file: file, line: line)
    }
    return ""
}

/// Parses JSON text into Foundation objects for comparisons with what the collector stored.
func json(_ text: String) -> NSObject {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) as? NSObject ?? NSNull()
}

extension Dictionary where Key == String, Value == Any {
    /// The string value at `key`, nil when absent or JSON null.
    func text(_ key: String) -> String? {
        self[key] as? String
    }
}
