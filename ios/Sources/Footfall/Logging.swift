import Foundation
import FootfallFFI
#if canImport(os)
import os
#endif

extension Footfall {
    /// Sends the SDK's log records at `level` and more severe to `sink`, for the whole process; `nil` stops it.
    ///
    /// By default the records go to the unified log (``osLogSink(subsystem:category:)``):
    ///
    /// ```swift
    /// try Footfall.setLogSink()                                   // os.Logger, .info and above
    /// try Footfall.setLogSink(level: .debug) { print($0.message) } // your own logger
    /// try Footfall.setLogSink(nil)                                // off
    /// ```
    ///
    /// The sink runs on SDK threads and must not call back into the SDK. Records never contain event names,
    /// properties or user ids. Levels below `level` are filtered in Rust before any text is formatted.
    ///
    /// - Throws: ``FootfallError/config(reason:)`` when another Rust `tracing` subscriber owns the process.
    public static func setLogSink(
        level: LogLevel = .info,
        _ sink: (@Sendable (LogRecord) -> Void)? = Footfall.osLogSink()
    ) throws {
        let adapter = sink.map { LogSinkAdapter($0) }
        try translatingErrors {
            try FootfallFFI.setLogSink(sink: adapter, level: level)
        }
    }

    /// A sink that writes each record to `os.Logger` (visible in Console.app and `log stream`), at the matching
    /// `OSLogType`, as `target: message`. Records carry no event data, so they are logged as public.
    ///
    /// Where there is no unified log (Linux, where the package is built and tested in CI), it writes one line per
    /// record to standard error instead: `LEVEL subsystem/category target: message`.
    public static func osLogSink(
        subsystem: String = "dev.footfall",
        category: String = "sdk"
    ) -> @Sendable (LogRecord) -> Void {
        #if canImport(os)
        let logger = Logger(subsystem: subsystem, category: category)
        return { record in
            logger.log(level: record.level.osLogType, "\(record.target, privacy: .public): \(record.message, privacy: .public)")
        }
        #else
        let prefix = "\(subsystem)/\(category)"
        return { record in
            standardErrorSink.write("\(record.level.label) \(prefix) \(record.target): \(record.message)\n")
        }
        #endif
    }
}

extension FootfallFFI.LogLevel {
    #if canImport(os)
    /// The unified log's type for this level (`.trace` and `.debug` both map to `.debug`).
    var osLogType: OSLogType {
        switch self {
        case .error:
            return .error
        case .warn:
            return .default
        case .info:
            return .info
        case .debug, .trace:
            return .debug
        }
    }
    #endif

    /// The level's name as log lines show it.
    var label: String {
        switch self {
        case .error:
            return "ERROR"
        case .warn:
            return "WARN"
        case .info:
            return "INFO"
        case .debug:
            return "DEBUG"
        case .trace:
            return "TRACE"
        }
    }
}

#if !canImport(os)
/// Writes whole lines to standard error, one at a time: records arrive on several SDK threads at once.
private let standardErrorSink = LineWriter(FileHandle.standardError)

private final class LineWriter: @unchecked Sendable {
    // @unchecked: `handle` is only written with `lock` held.
    private let lock = NSLock()
    private let handle: FileHandle

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(line.utf8))
    }
}
#endif

/// The generated sink protocol over a closure.
final class LogSinkAdapter: FootfallFFI.LogSink {
    private let sink: @Sendable (LogRecord) -> Void

    init(_ sink: @escaping @Sendable (LogRecord) -> Void) {
        self.sink = sink
    }

    func log(record: LogRecord) throws {
        sink(record)
    }
}
