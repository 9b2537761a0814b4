package dev.footfall

import java.io.IOException
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
 * data and retries with backoff. The SDK cancels the call after [HttpRequest.timeoutMs].
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
            throw FfiException.Network(e.toString())
        }
}
