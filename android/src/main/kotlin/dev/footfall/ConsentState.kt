package dev.footfall

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/**
 * The observable consent status behind [FootfallConsent.consent]: null until the first status arrives, then the
 * status the core publishes with every consent change (inside its `ConsentChanged` event, before the call that
 * made the change returns). Nothing is read back after a change. Statuses carry a revision, so an older one (the
 * read at start, finishing late) never replaces a newer one.
 */
internal class ConsentState {
    private val state = MutableStateFlow<ConsentStatus?>(null)

    val flow: StateFlow<ConsentStatus?> = state.asStateFlow()

    /** Keeps [status] unless a newer one is already published. Cheap: called on the SDK's writer thread. */
    fun publish(status: ConsentStatus) {
        state.update { current -> if (current == null || status.revision >= current.revision) status else current }
    }
}
