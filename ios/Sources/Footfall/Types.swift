import Foundation
import FootfallFFI

// Records shared with the generated layer (module FootfallFFI), re-exported here so apps `import Footfall` only.
// They are immutable structs with Swift default arguments: `FootfallConfig(dataDir: dir, endpoint: url)`.

/// How an SDK instance is set up; everything but `dataDir` has a default.
///
/// ```swift
/// let config = FootfallConfig(
///     dataDir: try Footfall.defaultDataDirectory().path,
///     endpoint: "https://collect.example.com",
///     apiKey: "write-key",
///     flushPolicy: FlushPolicy(countThreshold: 50)
/// )
/// ```
public typealias FootfallConfig = FootfallFFI.FootfallConfig

/// Public-key pins for the built-in HTTPS client (desktop and tests). The iOS library ships without it: pin in the
/// app's `URLSession` delegate instead (docs/guides/certificate-pinning.md); pins with the app's transport are a
/// configuration error at open.
public typealias CertificatePins = FootfallFFI.CertificatePins

/// What the queue keeps on disk (count, bytes, age); the oldest events are evicted first and counted.
public typealias StorageLimits = FootfallFFI.StorageLimits

/// When uploads happen (count threshold, interval, start-up) and how big a batch is.
public typealias FlushPolicy = FootfallFFI.FlushPolicy

/// The queue and the sync history as read from storage (counters are `Int64`, times RFC 3339 strings).
public typealias Status = FootfallFFI.Status

/// Events removed by the storage limits, by reason.
public typealias Evicted = FootfallFFI.Evicted

/// An event the server refused, kept for inspection.
public typealias DeadLetter = FootfallFFI.DeadLetter

/// A request assembled by the SDK (body gzip-compressed, headers final) for an app-provided ``HttpTransport``.
public typealias HttpRequest = FootfallFFI.HttpRequest

/// What the server answered, any status.
public typealias HttpResponse = FootfallFFI.HttpResponse

/// What an upload lane (``Status/eventLane``, ``Status/essentialLane``) is doing, and until when.
public typealias LaneStatus = FootfallFFI.LaneStatus

/// `.ok`, `.retrying`, `.held` (the server's Retry-After), `.paused` or `.certificateInvalid`.
public typealias LaneCondition = FootfallFFI.LaneCondition

/// A policy the server sent that the SDK refused (invalid, or older than the one in force).
public typealias RefusedPolicy = FootfallFFI.RefusedPolicy

/// One HTTP header; lists keep repeated names and their order.
public typealias HttpHeader = FootfallFFI.HttpHeader

/// One log record from the SDK: level, emitting Rust module, message. Never contains event data.
public typealias LogRecord = FootfallFFI.LogRecord

/// Log levels, most severe first: `.error`, `.warn`, `.info`, `.debug`, `.trace`.
public typealias LogLevel = FootfallFFI.LogLevel

extension FootfallFFI.FootfallConfig {
    /// The SDK's own defaults for `dataDir`; equal to `FootfallConfig(dataDir: dataDir)`.
    public static func defaults(dataDir: String) -> FootfallConfig {
        FootfallFFI.defaultConfig(dataDir: dataDir)
    }
}
