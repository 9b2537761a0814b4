import Foundation
import Footfall
import XCTest

/// Everything Rust calls back into through the idiomatic layer: the log sink, the event stream and an
/// app-provided transport. Mirrors android/src/test/kotlin/dev/footfall/CallbacksTest.kt.
final class CallbacksTests: FootfallTestCase {
    func testTheLogSinkReceivesTheCoresRecordsOnSDKThreadsFilteredByLevelWithoutEventData() async throws {
        let testThread = currentThreadName()
        let records = Recorder<(record: LogRecord, thread: String, isMain: Bool)>()
        try Footfall.setLogSink(level: .debug) { records.append((record: $0, thread: currentThreadName(), isMain: Thread.isMainThread)) }

        let collector = try startCollector()
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url))
        try await footfall.grantAnalytics()
        try footfall.track("secret_event", properties: ["sku": "secret-sku-123"])
        let first = try await footfall.flush()
        XCTAssertEqual(first.delivered, 1)

        // Logged on the SDK's sync thread before the flush returned.
        let attempt = try XCTUnwrap(records.all.first { $0.record.message.hasPrefix("upload attempt") }, "\(records.all.map { $0.record })")
        XCTAssertEqual(attempt.record.level, .debug)
        XCTAssertEqual(attempt.record.target, "footfall_core::sync::uploader")
        XCTAssertTrue(attempt.record.message.contains("status=200"), attempt.record.message)
        XCTAssertFalse(attempt.isMain)
        XCTAssertTrue(attempt.thread.hasPrefix("footfall-"), "called on '\(attempt.thread)'")
        XCTAssertNotEqual(attempt.thread, testThread)
        XCTAssertTrue(records.all.allSatisfy { !$0.record.message.contains("secret") }, "event data never reaches the log")

        // Above DEBUG, the per-request record is filtered out in Rust.
        records.removeAll()
        try Footfall.setLogSink(level: .info) { records.append((record: $0, thread: currentThreadName(), isMain: Thread.isMainThread)) }
        try footfall.track("another")
        let second = try await footfall.flush()
        XCTAssertEqual(second.delivered, 1)
        XCTAssertTrue(records.all.allSatisfy { $0.record.level != .debug }, "\(records.all.map { $0.record })")
        footfall.close()

        // A retry is logged at INFO, with its reason.
        records.removeAll()
        let failing = try startCollector("--fail-rate", "1")
        let retrying = try Footfall(config: testConfig(tmp.appendingPathComponent("second"), endpoint: failing.url))
        defer { retrying.close() }
        try await retrying.grantAnalytics()
        try retrying.track("e")
        let failed = try await retrying.flush()
        guard case .retryLater = failed.outcome else { return XCTFail("\(failed)") }
        let retry = try XCTUnwrap(records.all.first { $0.record.message.hasPrefix("upload failed; will retry") }, "\(records.all.map { $0.record })")
        XCTAssertEqual(retry.record.level, .info)
        XCTAssertTrue(retry.record.message.contains("reason=HTTP 503"), retry.record.message)
    }

    func testTheOsLogSinkCanBeInstalled() throws {
        // What the default sink writes is only visible in the unified log; this checks it installs and swaps.
        try Footfall.setLogSink()
        try Footfall.setLogSink(level: .debug, Footfall.osLogSink(subsystem: "dev.footfall.tests", category: "test"))
        try Footfall.setLogSink(nil)
    }

    func testTheDefaultSinkWritesOneLinePerRecordWhereThereIsNoUnifiedLog() throws {
        let sink = Footfall.osLogSink(subsystem: "dev.footfall.tests", category: "test")
        let record = LogRecord(level: .warn, target: "footfall_core::sync", message: "upload failed; will retry")
        #if canImport(os)
        sink(record)   // into the unified log, which a test cannot read back
        #else
        // Standard error, captured through a pipe for the duration of the call.
        let pipe = Pipe()
        let saved = dup(STDERR_FILENO)
        XCTAssertGreaterThanOrEqual(saved, 0)
        dup2(pipe.fileHandleForWriting.fileDescriptor, STDERR_FILENO)
        sink(record)
        sink(LogRecord(level: .error, target: "footfall_core::storage", message: "second"))
        dup2(saved, STDERR_FILENO)
        close(saved)
        pipe.fileHandleForWriting.closeFile()
        let written = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(written, """
            WARN dev.footfall.tests/test footfall_core::sync: upload failed; will retry
            ERROR dev.footfall.tests/test footfall_core::storage: second

            """)
        #endif
    }

    func testTheEventStreamTellsPausesAndDeliveriesBeforeFlushReturns() async throws {
        let collector = try startCollector("--api-key", "right-key")

        func eventsOf(apiKey: String) async throws -> (FlushReport, FootfallEvent?) {
            let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url, apiKey: apiKey))
            defer { footfall.close() }
            try await footfall.grantAnalytics()   // before subscribing: its consentChanged event is not looked at
            let stream = footfall.events   // subscribed from here on
            let other = footfall.events    // every subscriber gets every event
            try footfall.track("e", properties: ["n": 1])
            let report = try await footfall.flush()
            let event = await firstElement(of: stream, within: 10)
            let copy = await firstElement(of: other, within: 10)
            XCTAssertEqual(event, copy)
            return (report, event)
        }

        let (refused, paused) = try await eventsOf(apiKey: "wrong-key")
        guard case .paused = refused.outcome else { return XCTFail("\(refused)") }
        guard case .paused(let reason)? = paused else { return XCTFail("\(String(describing: paused))") }
        XCTAssertTrue(reason.hasPrefix("HTTP 401"), reason)

        // The same queue with the right key: the kept event and the new one are delivered.
        let (delivered, event) = try await eventsOf(apiKey: "right-key")
        XCTAssertEqual(delivered.delivered, 2)
        XCTAssertEqual(event, .delivered(count: 2, duplicates: 0))
    }

    /// A collector, an SDK uploading through a recording `URLSessionTransport`, and analytics granted.
    private func recordingSDK(apiKey: String? = nil) async throws -> (Collector, RecordingTransport, Footfall) {
        let collector = try startCollector()
        let transport = RecordingTransport(URLSessionTransport())
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url, apiKey: apiKey), transport: transport)
        try await footfall.grantAnalytics()
        return (collector, transport, footfall)
    }

    func testAURLSessionTransportCarriesTheUploads() async throws {
        let (collector, transport, footfall) = try await recordingSDK(apiKey: "key-1")
        defer { footfall.close() }

        let ids = try (0..<25).map { try footfall.track("via_swift", properties: ["i": FootfallValue($0)]) }
        let report = try await footfall.flush()
        XCTAssertEqual(report.delivered, 25)
        XCTAssertEqual(report.outcome, .drained)

        let request = try XCTUnwrap(transport.requests.all.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.url, "\(collector.url)/v1/batch")
        XCTAssertTrue(request.headers.contains { $0.name.lowercased() == "content-encoding" && $0.value == "gzip" })
        XCTAssertTrue(request.headers.contains { $0.name.lowercased() == "authorization" && $0.value == "Basic a2V5LTE6" })
        XCTAssertEqual(try collector.stats().events, 25)
        XCTAssertEqual(Set(try collector.events().compactMap { $0.text("id") }), Set(ids))
    }

    func testATransportThatThrowsIsRetriedAndTheDataKept() async throws {
        let (collector, transport, footfall) = try await recordingSDK()
        defer { footfall.close() }

        try footfall.track("e")
        transport.failWith(FootfallError.network(reason: "no route to the collector"))
        let failed = try await footfall.flush()
        guard case .retryLater(_, let reason) = failed.outcome else { return XCTFail("\(failed)") }
        XCTAssertTrue(reason.contains("no route to the collector"), reason)

        // An error the transport does not declare takes the same path instead of crashing.
        transport.failWith(TransportBug())
        let buggy = try await footfall.flush()
        guard case .retryLater(_, let bugReason) = buggy.outcome else { return XCTFail("\(buggy)") }
        XCTAssertTrue(bugReason.contains("transport bug"), bugReason)

        transport.failWith(nil)
        let recovered = try await footfall.flush()
        XCTAssertEqual(recovered.delivered, 1)
        XCTAssertEqual(try collector.stats().events, 1)
    }

    func testARefusedCertificateFromTheTransportPausesUploadsInsteadOfRetrying() async throws {
        let (_, transport, footfall) = try await recordingSDK()
        defer { footfall.close() }

        try footfall.track("e")
        transport.failWith(URLError(.serverCertificateUntrusted))
        let refused = try await footfall.flush()
        guard case .paused(let reason) = refused.outcome else { return XCTFail("\(refused)") }
        XCTAssertTrue(reason.contains("certificate"), reason)
        let lane = try footfall.status().eventLane
        XCTAssertEqual(lane.state, .certificateInvalid)
        XCTAssertNotNil(lane.until, "background uploads wait until a stated time")

        // Any other URLError is a network blip, retried as before.
        transport.failWith(URLError(.networkConnectionLost))
        let lost = try await footfall.flush()
        guard case .retryLater = lost.outcome else { return XCTFail("a lost connection is retried: \(lost)") }

        transport.failWith(nil)
        let recovered = try await footfall.flush()
        XCTAssertEqual(recovered.delivered, 1)
        XCTAssertEqual(try footfall.status().eventLane.state, .ok)
    }

    func testAServersRetryAfterHoldsEvenAnExplicitFlushAndSaysUntilWhen() async throws {
        let (collector, transport, footfall) = try await recordingSDK()
        defer { footfall.close() }

        try footfall.track("e")
        transport.answerWith(HttpResponse(status: 503, headers: [HttpHeader(name: "Retry-After", value: "120")], body: Data()))
        let before = Date()
        let held = try await footfall.flush()
        guard case .held(let retryAfter, let until, let reason) = held.outcome else { return XCTFail("\(held)") }
        XCTAssertEqual(retryAfter, 120, accuracy: 0.001)
        XCTAssertEqual(until.timeIntervalSince(before), 120, accuracy: 5)
        XCTAssertTrue(reason.hasPrefix("HTTP 503"), reason)
        XCTAssertEqual(try footfall.status().eventLane.state, .held)

        // The server is fine again, but the hold binds: nothing is sent, not even on an explicit flush.
        transport.answerWith(nil)
        let sent = transport.requests.all.count
        guard case .held = try await footfall.flush().outcome else { return XCTFail("a flush sent during the hold") }
        XCTAssertEqual(transport.requests.all.count, sent)
        XCTAssertEqual(try collector.stats().events, 0)
    }

    func testCancellingAFlushStopsTheWaitingNotTheUpload() async throws {
        let collector = try startCollector()
        let gate = Gate()
        let transport = RecordingTransport(URLSessionTransport(), gate: gate)
        let footfall = try Footfall(config: testConfig(tmp, endpoint: collector.url), transport: transport)
        defer { footfall.close() }
        try await footfall.grantAnalytics()

        let ids = try (0..<5).map { try footfall.track("e", properties: ["i": FootfallValue($0)]) }
        let flushing = Task { try await footfall.flush() }
        try await within(10) { await transport.entered.wait() }
        flushing.cancel()
        // The cancelled call returns at once although its upload is still held at the gate.
        let cancelled = try await within(10) { await flushing.result }
        switch cancelled {
        case .success(let report):
            XCTFail("a cancelled flush returned \(report)")
        case .failure(let error):
            XCTAssertTrue(error is CancellationError, "\(error)")
        }
        gate.open()

        // Queued behind the pass the cancelled call started, which still delivers everything.
        let report = try await footfall.flush()
        XCTAssertEqual(report.remaining, 0)
        XCTAssertEqual(report.outcome, .drained)
        let stats = try collector.stats()
        XCTAssertEqual(stats.events, 5)
        XCTAssertEqual(stats.duplicates, 0)
        XCTAssertEqual(Set(try collector.events().compactMap { $0.text("id") }), Set(ids))
    }
}

private struct TransportBug: Error, CustomStringConvertible {
    var description: String { "transport bug" }
}

/// Wraps a transport: records every request, can fail on demand, and can hold requests at a gate.
private final class RecordingTransport: HttpTransport, @unchecked Sendable {
    let requests = Recorder<HttpRequest>()
    let entered = Gate()
    private let inner: any HttpTransport
    private let gate: Gate?
    private let failure = NSLock()
    private var error: Error?
    private var canned: HttpResponse?

    init(_ inner: any HttpTransport, gate: Gate? = nil) {
        self.inner = inner
        self.gate = gate
    }

    func failWith(_ error: Error?) {
        failure.lock()
        self.error = error
        failure.unlock()
    }

    /// Answers every request with `response` instead of sending it (nil: send again).
    func answerWith(_ response: HttpResponse?) {
        failure.lock()
        canned = response
        failure.unlock()
    }

    func send(_ request: HttpRequest) async throws -> HttpResponse {
        requests.append(request)
        entered.open()
        if let gate {
            await gate.wait()
        }
        let (error, canned) = current()
        if let error {
            throw error
        }
        if let canned {
            return canned
        }
        return try await inner.send(request)
    }

    /// Synchronous, so the lock is never held across a suspension point.
    private func current() -> (Error?, HttpResponse?) {
        failure.lock()
        defer { failure.unlock() }
        return (error, canned)
    }
}
