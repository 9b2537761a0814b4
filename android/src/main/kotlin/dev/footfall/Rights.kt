package dev.footfall

/**
 * The shopper's data rights on [Footfall] (it implements this interface): an export of everything the SDK holds
 * about them, and a deletion request that wipes the device and reaches the backend. Every function suspends and
 * runs on the SDK's IO dispatcher.
 */
interface FootfallRights {
    /**
     * Everything this install holds about the shopper as one JSON document: `anonymousId`, `userId`, `sessionId`,
     * the queued `events` (everything tracked before the call), `deadLetters`, `consent` (the log with its
     * verification, and the status) and `rightsRequests`. Hand it to the shopper as it is.
     */
    suspend fun exportData(): String

    /**
     * Asks for the shopper's data to be erased and returns the request id. Once it returns the request is
     * durable: it is sent to the backend (`POST /v1/rights/deletion`, never gated by consent) on the next upload
     * pass, and again after restarts, until the backend acknowledges it. Queued events, dead letters and the
     * identity are wiped at once and a new anonymous id is in force; the consent log is kept as the proof of
     * what the shopper decided.
     */
    suspend fun requestDeletion(): String

    /** Every rights request this install made, oldest first, with its state (received, sent, acknowledged,
     *  refused). */
    suspend fun rightsRequests(): List<RightsRequest>
}

/** A data-subject request (today: `deletion`) and where it stands; times in milliseconds since the epoch. */
typealias RightsRequest = dev.footfall.ffi.RightsRequest

/** Received (persisted, not sent yet), sent, acknowledged by the backend, or refused by it for good. */
typealias RightsState = dev.footfall.ffi.RightsState

/** [FootfallRights] on the native handle. */
internal class RightsCalls(private val core: Core) : FootfallRights {
    override suspend fun exportData(): String = core.io { it.exportData() }

    override suspend fun requestDeletion(): String = core.io { it.requestDeletion() }

    override suspend fun rightsRequests(): List<RightsRequest> = core.io { it.rightsRequests() }
}
