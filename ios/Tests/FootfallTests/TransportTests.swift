import Foundation
import Footfall
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `URLSessionTransport` against real HTTP servers on 127.0.0.1: the answers it must hand back as they are.
final class TransportTests: FootfallTestCase {
    func testURLSessionTransportRefusesRedirectsAndTheSDKPausesInsteadOfUploadingElsewhere() async throws {
        // The batch must never reach the redirect's target, however willing that target is.
        let target = try startCollector()
        let redirect = try RedirectServer(location: "\(target.url)/v1/batch")
        defer { redirect.close() }
        let footfall = try Footfall(
            config: testConfig(tmp, endpoint: "http://127.0.0.1:\(redirect.port)"),
            transport: URLSessionTransport()
        )
        defer { footfall.close() }
        try await footfall.grantAnalytics()
        try footfall.track("e")

        let report = try await footfall.flush()
        guard case .paused(let reason) = report.outcome else {
            return XCTFail("\(report); dead letters: \(try footfall.deadLetters()); requests: \(redirect.requests.all)")
        }
        XCTAssertTrue(reason.hasPrefix("HTTP 307"), reason)
        XCTAssertEqual(report.delivered, 0)
        XCTAssertEqual(report.remaining, 1, "the event is kept")
        // The batch and the consent receipt of the grant (the essential lane): each asked once, each refused.
        XCTAssertEqual(redirect.requests.all.sorted(), ["POST /v1/batch", "POST /v1/consent-records"])
        XCTAssertEqual(try target.stats().events, 0, "the redirect was followed")
        XCTAssertEqual(try target.consentRecords().count, 0, "the redirect was followed")
        XCTAssertEqual(try footfall.deadLetters(), [])
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with `307 Temporary Redirect` to `location`, and
/// records each request line. One connection at a time, on its own thread; `close()` stops it.
final class RedirectServer: @unchecked Sendable {
    let port: UInt16
    let requests = Recorder<String>()
    private let listener: Int32
    private let location: String
    private let stopped = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var isStopping = false

    init(location: String) throws {
        self.location = location
        let fd = socket(AF_INET, RedirectServer.streamType, 0)
        guard fd >= 0 else { throw Collector.Failure.badOutput("socket: errno \(errno)") }
        var address = RedirectServer.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard bound else {
            _ = systemClose(fd)
            throw Collector.Failure.badOutput("bind/listen on 127.0.0.1: errno \(errno)")
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.name = "redirect-server"
        thread.start()
    }

    /// Stops accepting and waits for the serving thread to end: wakes its `accept` with one last connection.
    func close() {
        lock.lock()
        let already = isStopping
        isStopping = true
        lock.unlock()
        guard !already else { return }
        let waker = socket(AF_INET, RedirectServer.streamType, 0)
        var address = RedirectServer.loopback(port: port)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(waker, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        stopped.wait()
        _ = systemClose(waker)
        _ = systemClose(listener)
    }

    private func serve() {
        defer { stopped.signal() }
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            let stop = isStopping
            lock.unlock()
            if stop {
                _ = systemClose(connection)
                return
            }
            answer(connection)
            _ = systemClose(connection)
        }
    }

    private static var streamType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_STREAM.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Reads one request (head and body, so closing never resets the connection under the client) and redirects.
    private func answer(_ connection: Int32) {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let separator = Data("\r\n\r\n".utf8)
        var expected: Int?
        while expected.map({ received.count < $0 }) ?? true {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
            if expected == nil, let end = received.range(of: separator) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let request = lines.first ?? ""
                requests.append(request.components(separatedBy: " ").prefix(2).joined(separator: " "))
                let contentLength = lines.dropFirst()
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                expected = end.upperBound + contentLength
            }
        }
        let response = "HTTP/1.1 307 Temporary Redirect\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = Array(response.utf8).withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }
}

/// `close(2)`, out of reach of the methods named `close` above.
private func systemClose(_ fd: Int32) -> Int32 {
    close(fd)
}
