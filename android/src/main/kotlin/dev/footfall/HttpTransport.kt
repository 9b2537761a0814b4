package dev.footfall

import java.io.IOException
import java.security.cert.CertificateException
import javax.net.ssl.SSLHandshakeException
import javax.net.ssl.SSLPeerUnverifiedException
import kotlin.coroutines.cancellation.CancellationException
import dev.footfall.ffi.FootfallException as FfiException
import dev.footfall.ffi.HttpTransport as FfiTransport

/**
 * Carries the SDK's uploads through the app's own HTTP client (OkHttp, java.net.http, …) instead of the
 * built-in one. Pass it to [Footfall].
 *
 * Send [HttpRequest] exactly as given (method, url, headers, the already-compressed body), do not follow
 * redirects, and return whatever the server answered, whatever the status: the SDK decides what a status
 * means. Throw [IOException] only when no answer came (DNS, connect, TLS, reset, timeout); the SDK keeps the
 * data and retries with backoff — except a refused server certificate (an [SSLPeerUnverifiedException], or an
 * [SSLHandshakeException] caused by a [CertificateException], as OkHttp and `HttpsURLConnection` throw), which
 * pauses uploads instead (see [LaneCondition.CERTIFICATE_INVALID]). The SDK cancels the call after
 * [HttpRequest.timeoutMs].
 *
 * Called in a coroutine on `Dispatchers.Default`: use a suspending client or move blocking calls to
 * `Dispatchers.IO`.
 */
interface HttpTransport {
    suspend fun send(request: HttpRequest): HttpResponse
}

/** Adapts the app's transport to the generated interface: I/O failures become the declared network error. */
internal class TransportAdapter(private val transport: HttpTransport) : FfiTransport {
    override suspend fun send(request: HttpRequest): HttpResponse =
        try {
            transport.send(request)
        } catch (e: CancellationException) {
            throw e
        } catch (e: IOException) {
            throw if (e.isCertificateFailure()) FfiException.CertificateInvalid(e.toString()) else FfiException.Network(e.toString())
        }
}

/** A refused server certificate, as the JDK's and Android's TLS stacks report it. */
internal fun IOException.isCertificateFailure(): Boolean =
    this is SSLPeerUnverifiedException ||
        (this is SSLHandshakeException && generateSequence<Throwable>(this) { it.cause }.any { it is CertificateException })
