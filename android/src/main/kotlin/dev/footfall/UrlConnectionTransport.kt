package dev.footfall

import java.io.IOException
import java.net.HttpURLConnection
import java.net.URL
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runInterruptible

/**
 * The platform's own HTTP stack behind [HttpTransport]: `HttpURLConnection` (on Android, the system's OkHttp-based
 * implementation and its TLS and trust store; on the JVM, the JDK's). No dependency, no connection pool of its own.
 *
 * The Android library (AAR) is built without the SDK's built-in HTTPS client, to keep the native library small:
 * `FootfallAndroid.init` uses this transport unless the app passes its own (OkHttp, …). Pass it yourself to
 * [Footfall]'s constructor when you open an instance directly on Android.
 *
 * Redirects are not followed (the 3xx answer goes back to the SDK), nothing is cached, the body is sent as given.
 * Blocking I/O runs on [Dispatchers.IO], bounded by the request's timeout; the SDK's cancellation interrupts it.
 */
class UrlConnectionTransport : HttpTransport {
    override suspend fun send(request: HttpRequest): HttpResponse = runInterruptible(Dispatchers.IO) { exchange(request) }

    private fun exchange(request: HttpRequest): HttpResponse {
        val connection = URL(request.url).openConnection() as? HttpURLConnection
            ?: throw IOException("not an HTTP URL: ${request.url}")
        try {
            val timeout = request.timeoutMs.coerceIn(1, Int.MAX_VALUE.toLong()).toInt()
            connection.connectTimeout = timeout
            connection.readTimeout = timeout
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            connection.requestMethod = request.method
            request.headers.forEach { connection.setRequestProperty(it.name, it.value) }
            if (request.body.isNotEmpty() || request.method == "POST" || request.method == "PUT") {
                // Not setFixedLengthStreamingMode: in streaming mode the JDK turns a 401 with WWW-Authenticate into an
                // HttpRetryException instead of returning it, and the SDK must see the 401 (it pauses uploads).
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            // An error status has its body on the error stream (null when there is none).
            val body = (if (status >= 400) connection.errorStream else connection.inputStream)
                ?.use { it.readBytes() } ?: ByteArray(0)
            val headers = connection.headerFields
                .filterKeys { it != null } // the status line comes under a null name
                .flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
            return HttpResponse(status = status, headers = headers, body = body)
        } finally {
            connection.disconnect()
        }
    }
}
