import Foundation
import FootfallFFI
import os

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
    public static func osLogSink(
        subsystem: String = "dev.footfall",
        category: String = "sdk"
    ) -> @Sendable (LogRecord) -> Void {
        let logger = Logger(subsystem: subsystem, category: category)
        return { record in
            logger.log(level: record.level.osLogType, "\(record.target, privacy: .public): \(record.message, privacy: .public)")
        }
    }
}

extension FootfallFFI.LogLevel {
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
}

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
