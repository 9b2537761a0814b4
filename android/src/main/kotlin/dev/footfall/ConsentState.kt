package dev.footfall

import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The observable consent status behind [FootfallConsent.consent]: null until the first read, then re-read after
 * every change. Reads are serialised, so a slow read can never overwrite the result of a later one: the last
 * refresh to run always reads a status at least as new as every change that triggered one.
 *
 * A change made through the API asks for a refresh twice (the call itself, before it returns, and the
 * `ConsentChanged` event it causes): a request that a read started after it has already served is skipped.
 */
internal class ConsentState(private val read: suspend () -> ConsentStatus) {
    private val state = MutableStateFlow<ConsentStatus?>(null)
    private val mutex = Mutex()
    private val requested = AtomicLong(0)

    /** The newest request the published status is known to include (guarded by [mutex]). */
    private var served = 0L

    val flow: StateFlow<ConsentStatus?> = state.asStateFlow()

    /** Reads the status and publishes it. When it cannot be read (closed, storage failing) the last one stays.
     *  Call it once the change it should show is durable. */
    suspend fun refresh() {
        val ticket = requested.incrementAndGet()
        mutex.withLock {
            if (served >= ticket) return
            // Every request up to here was made after its change was durable, so this read includes them all.
            val covers = requested.get()
            state.value = try {
                read()
            } catch (e: FootfallException) {
                return
            }
            served = covers
        }
    }
}
