package dev.footfall

/*
 * Records shared with the generated layer (dev.footfall.ffi), re-exported here so apps import one package.
 * They are immutable data classes with Kotlin defaults: `FootfallConfig(dataDir = dir, endpoint = url)`.
 */

/** How an SDK instance is set up; everything but [FootfallConfig.dataDir] has a default. */
typealias FootfallConfig = dev.footfall.ffi.FootfallConfig

/** How consent is gated (enforced, default deny), how often the policy is fetched, and TCF import mode. */
typealias ConsentSettings = dev.footfall.ffi.ConsentSettings

/**
 * Public-key pins for the built-in HTTPS client (desktop and tests). The Android library ships without it: pin in
 * the network security config instead (docs/guides/certificate-pinning.md); pins with the app's transport are a
 * configuration error at open.
 */
typealias CertificatePins = dev.footfall.ffi.CertificatePins

/** What the queue keeps on disk (count, bytes, age); the oldest events are evicted first and counted. */
typealias StorageLimits = dev.footfall.ffi.StorageLimits

/** When uploads happen (count threshold, interval, start-up) and how big a batch is. */
typealias FlushPolicy = dev.footfall.ffi.FlushPolicy

/** The queue and the sync history as read from storage. */
typealias Status = dev.footfall.ffi.Status

/** What an upload lane ([Status.eventLane], [Status.essentialLane]) is doing, and until when. */
typealias LaneStatus = dev.footfall.ffi.LaneStatus

/** `OK`, `RETRYING`, `HELD` (the server's Retry-After), `PAUSED` or `CERTIFICATE_INVALID`. */
typealias LaneCondition = dev.footfall.ffi.LaneCondition

/** Events removed by the storage limits, by reason. */
typealias Evicted = dev.footfall.ffi.Evicted

/** An event the server refused, kept for inspection. */
typealias DeadLetter = dev.footfall.ffi.DeadLetter

/** A request assembled by the SDK (body gzip-compressed, headers final) for an app-provided [HttpTransport]. */
typealias HttpRequest = dev.footfall.ffi.HttpRequest

/** What the server answered, any status. */
typealias HttpResponse = dev.footfall.ffi.HttpResponse

/** One HTTP header; lists keep repeated names. */
typealias HttpHeader = dev.footfall.ffi.HttpHeader

/** One log record from the SDK: level, emitting module, message. Never contains event data. */
typealias LogRecord = dev.footfall.ffi.LogRecord

/** Log levels, most severe first. */
typealias LogLevel = dev.footfall.ffi.LogLevel

/** The SDK's own defaults for [dataDir]; equal to `FootfallConfig(dataDir)`. */
fun defaultConfig(dataDir: String): FootfallConfig = dev.footfall.ffi.defaultConfig(dataDir)
