package dev.footfall

import java.net.URI
import java.net.http.HttpClient
import java.time.Duration
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.future.await

/**
 * An app transport on java.net.http, as an app would write one for OkHttp, with switches for the tests: [failWith]
 * takes the network away (a thrown I/O error is no answer at all), [answer] answers without sending, [gate] holds
 * a request until it completes.
 */
internal class JavaHttpTransport : HttpTransport {
    private val client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .build()
    val calls = AtomicInteger()
    val requests = ConcurrentLinkedQueue<HttpRequest>()

    @Volatile var failWith: Exception? = null
    /** Answered instead of sending, when set. */
    @Volatile var answer: HttpResponse? = null
    @Volatile var gate: CompletableDeferred<Unit>? = null
    val entered = CompletableDeferred<Unit>()

    override suspend fun send(request: HttpRequest): HttpResponse {
        calls.incrementAndGet()
        requests.add(request)
        entered.complete(Unit)
        gate?.await()
        failWith?.let { throw it }
        answer?.let { return it }
        val builder = java.net.http.HttpRequest.newBuilder(URI(request.url))
            .timeout(Duration.ofMillis(request.timeoutMs))
            .method(request.method, java.net.http.HttpRequest.BodyPublishers.ofByteArray(request.body))
        request.headers.forEach { builder.header(it.name, it.value) }
        val response = client.sendAsync(builder.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray()).await()
        return HttpResponse(
            status = response.statusCode(),
            headers = response.headers().map().flatMap { (name, values) -> values.map { HttpHeader(name, it) } },
            body = response.body(),
        )
    }
}
