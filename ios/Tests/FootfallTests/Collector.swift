import Foundation
import XCTest

/// The reference collector (`footfall collector serve`) as a child process on 127.0.0.1, and its read-only views
/// (`stats`, `events`, `redemptions`, …) to check what arrived; with `--issuer-key` it is also the wallet's issuer
/// (`addCoupon`, `keyset`). Needs `FOOTFALL_BIN` (the footfall CLI, built by
/// `cargo build -p footfall-cli`); without it the calling test is skipped.
final class Collector {
    struct Stats: Equatable {
        var events: Int
        var duplicates: Int
        var batches: Int
    }

    enum Failure: Error, CustomStringConvertible {
        case didNotStart(command: String, output: String)
        case commandFailed(command: String, output: String)
        case badOutput(String)

        var description: String {
            switch self {
            case .didNotStart(let command, let output):
                return "collector did not start (\(command)):\n\(output)"
            case .commandFailed(let command, let output):
                return "\(command) failed:\n\(output)"
            case .badOutput(let output):
                return "unexpected output: \(output)"
            }
        }
    }

    let url: String
    let db: URL
    private let process: Process
    private let output: OutputBuffer
    /// Signalled by the process's termination handler.
    private let exited: DispatchSemaphore

    var port: Int {
        Int(url.split(separator: ":").last ?? "") ?? 0
    }

    private init(process: Process, output: OutputBuffer, exited: DispatchSemaphore, url: String, db: URL) {
        self.process = process
        self.output = output
        self.exited = exited
        self.url = url
        self.db = db
    }

    /// The CLI named by `FOOTFALL_BIN`; skips the test when it is not set.
    static func binary() throws -> URL {
        guard let path = ProcessInfo.processInfo.environment["FOOTFALL_BIN"], !path.isEmpty else {
            throw XCTSkip("FOOTFALL_BIN is not set: build the CLI (cargo build -p footfall-cli) and export FOOTFALL_BIN=target/debug/footfall")
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failure.badOutput("FOOTFALL_BIN=\(path) is not an executable")
        }
        return URL(fileURLWithPath: path)
    }

    /// Starts a collector on `listen` (a fresh port by default) storing into `db`; extra flags as given.
    static func start(db: URL, flags: [String] = [], listen: String = "127.0.0.1:0") throws -> Collector {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["collector", "serve", "--listen", listen, "--db", db.path] + flags
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputBuffer()
        // Keeps draining the output so the child never blocks on a full pipe, on a thread of its own with blocking
        // reads. Not `readabilityHandler`: on Linux it is a Dispatch source, and clearing it from inside its own
        // handler at end of file crashed libdispatch's event loop once in CI (Signal 11 in the manager thread).
        let reader = Thread {
            let handle = pipe.fileHandleForReading
            while case let data = handle.availableData, !data.isEmpty {
                output.append(data)
            }
        }
        reader.name = "collector-output"
        reader.start()
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let command = ([process.executableURL?.path ?? "footfall"] + (process.arguments ?? [])).joined(separator: " ")
        guard let url = output.waitForListeningURL(timeout: 20) else {
            process.terminate()
            throw Failure.didNotStart(command: command, output: output.text)
        }
        return Collector(process: process, output: output, exited: exited, url: url, db: db)
    }

    /// `{"events":N,"duplicates":N,"batches":N}` from the collector's database.
    func stats() throws -> Stats {
        let text = try Collector.run(["collector", "stats", "--db", db.path])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let events = object["events"] as? Int,
              let duplicates = object["duplicates"] as? Int,
              let batches = object["batches"] as? Int
        else {
            throw Failure.badOutput(text)
        }
        return Stats(events: events, duplicates: duplicates, batches: batches)
    }

    /// Every stored event (id, name, properties, purpose, timestamp, …).
    func events() throws -> [[String: Any]] {
        try Collector.jsonLines(["collector", "events", "--db", db.path])
    }

    /// Every stored consent record (`record_id`, `subject_id`, `hash`, `record`, …), hash verified on receipt.
    func consentRecords() throws -> [[String: Any]] {
        try Collector.jsonLines(["collector", "consent-records", "--db", db.path])
    }

    /// Every stored deletion request (`request_id`, `anonymous_ids`, `user_id`, `duplicates`, …).
    func deletions() throws -> [[String: Any]] {
        try Collector.jsonLines(["collector", "deletions", "--db", db.path])
    }

    /// Every redemption the wallet issuer decided (`redemption_id`, `coupon_id`, `device`, `counter`, `status`, …);
    /// needs `serve --issuer-key`.
    func redemptions() throws -> [[String: Any]] {
        try Collector.jsonLines(["collector", "redemptions", "--db", db.path])
    }

    /// The wallet issuer's public key set, as an app pins it and a till loads it.
    func keyset() throws -> String {
        try Collector.run(["collector", "keyset", "--db", db.path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Issues a coupon to every holder: `footfall collector coupon add` with `discount` (`10%`, or `300 JPY`) and
    /// the store-local `lastDay` (`YYYY-MM-DD`) in `zone`; extra flags as given.
    func addCoupon(id: String, title: String, discount: String, lastDay: String, zone: String, flags: [String] = []) throws {
        _ = try Collector.run(
            ["collector", "coupon", "add", "--db", db.path, "--id", id, "--title", title, "--discount", discount,
             "--valid-until-local", lastDay, "--zone", zone] + flags
        )
    }

    /// One JSON object per line of the CLI's output.
    private static func jsonLines(_ arguments: [String]) throws -> [[String: Any]] {
        try run(arguments)
            .split(separator: "\n")
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw Failure.badOutput(String(line))
                }
                return object
            }
    }

    /// Stops the process and waits for it, so the port and the database are free afterwards.
    ///
    /// On Linux the collector is killed (SIGKILL): swift-corelibs-foundation's `Process` spawns the child with the
    /// signal mask of the spawning thread, and a test's async code runs on Dispatch worker threads, which block
    /// SIGTERM, so the collector would never see `terminate()`. The collector commits each request before
    /// answering, so nothing it acknowledged is lost either way.
    func close() {
        guard process.isRunning else { return }
        #if os(Linux)
        kill(process.processIdentifier, SIGKILL)
        #else
        process.terminate()
        #endif
        if exited.wait(timeout: .now() + 10) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
    }

    /// Runs the CLI to completion and returns its standard output.
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure.commandFailed(command: "footfall " + arguments.joined(separator: " "), output: text)
        }
        return text
    }
}

/// The collector's output so far, and a wait for its "listening on" line.
private final class OutputBuffer: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    func append(_ chunk: Data) {
        condition.lock()
        data.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    func waitForListeningURL(timeout: TimeInterval) -> String? {
        let pattern = try! NSRegularExpression(pattern: #"footfall collector listening on (http://127\.0\.0\.1:\d+)"#)
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let text = String(decoding: data, as: UTF8.self)
            let range = NSRange(text.startIndex..., in: text)
            if let match = pattern.firstMatch(in: text, range: range), let url = Range(match.range(at: 1), in: text) {
                return String(text[url])
            }
            if !condition.wait(until: deadline) {
                return nil
            }
        }
    }
}
