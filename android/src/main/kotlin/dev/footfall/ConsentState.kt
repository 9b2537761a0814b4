package dev.footfall

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The observable consent status behind [FootfallConsent.consent]: null until the first read, then re-read after
 * every change. Reads are serialised, so a slow read can never overwrite the result of a later one: the last
 * refresh to run always reads a status at least as new as every change that triggered one.
 */
internal class ConsentState(private val read: suspend () -> ConsentStatus) {
    private val state = MutableStateFlow<ConsentStatus?>(null)
    private val mutex = Mutex()

    val flow: StateFlow<ConsentStatus?> = state.asStateFlow()

    /** Reads the status and publishes it. When it cannot be read (closed, storage failing) the last one stays. */
    suspend fun refresh() {
        mutex.withLock {
            state.value = try {
                read()
            } catch (e: FootfallException) {
                return
            }
        }
    }
}
