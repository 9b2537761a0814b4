import Foundation
import FootfallFFI
#if canImport(FoundationNetworking)
import FoundationNetworking   // URLSession and friends on Linux (swift-corelibs-foundation)
#endif

/// Carries the SDK's uploads through the app's own HTTP stack instead of the built-in client. Pass one to
/// ``Footfall/init(config:transport:deviceSigner:keyProvider:)``; ``URLSessionTransport`` is ready-made.
///
/// Send the ``HttpRequest`` exactly as given (method, URL, headers, the already gzip-compressed body), do not
/// follow redirects, and return whatever the server answered, whatever the status: the SDK decides what a status
/// means. Throw only when no HTTP answer came (DNS, connect, TLS, reset, timeout), preferably
/// ``FootfallError/network(reason:)``; the SDK keeps the data and retries with backoff. Any other error is treated
/// the same way.
///
/// The SDK gives up on a request after `request.timeoutMs` and then cancels the task running `send`, so an
/// implementation built on cancellation-aware APIs (`URLSession`'s async methods) stops at once.
public protocol HttpTransport: Sendable {
    /// Sends one upload request and returns the server's answer.
    func send(_ request: HttpRequest) async throws -> HttpResponse
}

/// Sends uploads with `URLSession`: an ephemeral session with no cookies, no cache and no redirects.
///
/// ```swift
/// let footfall = try Footfall(config: config, transport: URLSessionTransport())
/// ```
///
/// Pass your own `URLSessionConfiguration` (proxy settings, `waitsForConnectivity`, protocol classes for
/// certificate pinning, …); redirects are refused whatever the configuration says.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: the property is immutable and URLSession is thread-safe.
    private let session: URLSession

    /// Creates a transport on a new session with `configuration` (by default ``defaultConfiguration()``).
    public init(configuration: URLSessionConfiguration = URLSessionTransport.defaultConfiguration()) {
        // The session's own delegate refuses redirects. A per-task delegate (`data(for:delegate:)`) would do on
        // Apple platforms, but swift-corelibs-foundation ignores it for redirects and follows them, re-sending the
        // POST without its body: the server refuses the empty batch and the SDK dead-letters the events.
        session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// An ephemeral configuration that stores no cookies and caches nothing.
    public static func defaultConfiguration() -> URLSessionConfiguration {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        return configuration
    }

    /// Sends `request` and returns the answer, any status. Throws ``FootfallError/certificateInvalid(reason:)``
    /// when the server's certificate was refused, ``FootfallError/network(reason:)`` when no HTTP answer came for
    /// another reason; `CancellationError` or `URLError(.cancelled)` when the SDK cancelled the request.
    public func send(_ request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw FootfallError.network(reason: "not a URL: \(request.url)")
        }
        var urlRequest = URLRequest(
            url: url,
            cachePolicy: .reloadIgnoringLocalAndRemoteCacheData,
            timeoutInterval: max(1, TimeInterval(request.timeoutMs) / 1000)
        )
        urlRequest.httpMethod = request.method
        urlRequest.httpShouldHandleCookies = false
        // Set, never append: the SDK gives each header once, and a server must never see two `Authorization`s.
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        urlRequest.httpBody = request.body

        let (body, response) = try await session.data(for: urlRequest)
        guard let http = response as? HTTPURLResponse else {
            throw FootfallError.network(reason: "the answer to \(request.url) was not HTTP")
        }
        let headers = http.allHeaderFields.map { name, value in
            HttpHeader(name: String(describing: name), value: String(describing: value))
        }
        return HttpResponse(status: Int32(clamping: http.statusCode), headers: headers, body: body)
    }
}

/// Answers every redirect with "don't": the 3xx response itself is returned to the SDK.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// Adapts the app's transport to the generated protocol. Failures become the declared network error so they
/// reach the SDK as "no answer, retry" with their description; cancellation passes through.
final class TransportAdapter: FootfallFFI.HttpTransport {
    private let transport: any HttpTransport

    init(_ transport: any HttpTransport) {
        self.transport = transport
    }

    func send(request: HttpRequest) async throws -> HttpResponse {
        do {
            return try await transport.send(request)
        } catch is CancellationError {
            throw CancellationError()
        } catch FootfallError.network(let reason) {
            throw FootfallFFI.FootfallError.Network(reason: reason)
        } catch FootfallError.certificateInvalid(let reason) {
            throw FootfallFFI.FootfallError.CertificateInvalid(reason: reason)
        } catch let error as URLError where error.isCertificateFailure {
            throw FootfallFFI.FootfallError.CertificateInvalid(
                reason: "URLError \(error.code.rawValue): \(error.localizedDescription)"
            )
        } catch let error as URLError {
            throw FootfallFFI.FootfallError.Network(reason: "URLError \(error.code.rawValue): \(error.localizedDescription)")
        } catch {
            throw FootfallFFI.FootfallError.Network(reason: String(describing: error))
        }
    }
}

extension URLError {
    /// A refused server certificate, as URLSession reports it (a pause for the SDK, not a network blip).
    var isCertificateFailure: Bool {
        switch code {
        case .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot, .clientCertificateRejected:
            return true
        default:
            return false
        }
    }
}
