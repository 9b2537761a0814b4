package dev.footfall

import kotlinx.coroutines.flow.StateFlow

/**
 * The consent API of [Footfall] (it implements this interface; depend on it to give a settings screen a fake).
 *
 * Consent is enforced by default and is default-deny: until the shopper grants a purpose, [Footfall.track] of
 * that purpose throws [FootfallException.ConsentDenied] (`essential` is never gated). A withdrawal purges the
 * queued events of the purpose (also those being uploaded) before it returns.
 *
 * Every function suspends and runs the blocking native call on the SDK's IO dispatcher, so they are safe to call
 * from the main thread. A change is durable once the call returns; cancelling the caller does not undo a change
 * that had started. Errors are [FootfallException]s: a bad purpose, a TC string that cannot be decoded, or a
 * purpose the CMP decides in TCF import mode is [FootfallException.InvalidInput] (nothing changes); an invalid
 * policy or an API that does not apply to this configuration is [FootfallException.Config].
 */
interface FootfallConsent {
    /**
     * The consent status, kept current for a settings screen: null until the SDK has read its consent log (right
     * after construction, in the background), then re-read after every change — a decision, a context or a
     * policy applied, through this API (before the call returns), by the TCF bridge or by the SDK's own policy
     * refresh. Only the passing of time is not observed (a decision outliving the policy's maximum consent age):
     * call [needsPrompt] when a screen that depends on it opens.
     */
    val consent: StateFlow<ConsentStatus?>

    /** Grants [purposes] (e.g. `listOf("analytics")`). */
    suspend fun grant(purposes: Collection<String>, method: ConsentMethod = ConsentMethod.Api): ConsentOutcome

    /** Denies or withdraws [purposes]: effective at once, queued events of them are purged. */
    suspend fun deny(purposes: Collection<String>, method: ConsentMethod = ConsentMethod.Api): ConsentOutcome

    /** Records the shopper's answers, purpose → granted, as one record (e.g. the whole prompt at once). */
    suspend fun setConsent(decisions: Map<String, Boolean>, method: ConsentMethod = ConsentMethod.Api): ConsentOutcome

    /** Call just before the prompt [promptId] renders. It is logged and never a decision: an app killed while
     *  the prompt shows has decided nothing. */
    suspend fun promptShown(promptId: String)

    /** The jurisdiction, the Global Privacy Control signal and the age band as the app determines them; they set
     *  the default of undecided purposes (opt-in everywhere except CCPA, and everywhere for minors). Under 13,
     *  marketing, personalization and location never open, whatever is granted. */
    suspend fun setConsentContext(
        jurisdiction: Jurisdiction,
        globalPrivacyControl: Boolean = false,
        ageBand: AgeBand? = null,
    ): ConsentOutcome

    /**
     * Applies a policy document: the body of `GET /v1/config` (`{"consent": {...}}`), e.g. one bundled with the app.
     *
     * @throws FootfallException.Config when it is invalid; the current policy stays.
     */
    suspend fun applyConsentPolicy(remoteConfigJson: String): ConsentOutcome

    /**
     * Fetches the policy from the endpoint now (with the cached ETag) and applies it. The SDK also does this at
     * start-up and every [ConsentSettings.policyRefreshIntervalMs].
     *
     * @throws FootfallException.Network when it could not be fetched, [FootfallException.Config] when there is
     * no endpoint or the server's policy is invalid; the current policy stays.
     */
    suspend fun refreshConsentPolicy(): PolicyRefresh

    /** The prompt to show now, if any, and why (no decision yet, a material change, expired, a new purpose, or
     *  [PromptReason.PROMPT_DISABLED] when every prompt that could ask is switched off remotely). */
    suspend fun needsPrompt(): PromptNeed

    /** Whether events of [purpose] are collected now. */
    suspend fun isAllowed(purpose: String): Boolean

    /** The consent status read now (what [consent] holds after its next update). */
    suspend fun consentStatus(): ConsentStatus

    /** Every consent record, oldest first, and whether the hash chain verifies: the proof of consent. */
    suspend fun consentLog(): ConsentLog

    /**
     * TCF import mode ([ConsentSettings.tcfImport]): records what the CMP's TC string says about the purposes TCF
     * covers (analytics, personalization, marketing, location). [tcString] is `IABTCF_TCString`, null or empty
     * when the CMP has none (then the grants of an earlier import are withdrawn); [gdprApplies] is
     * `IABTCF_gdprApplies` when the CMP set it (false: nothing is imported). The same answer twice records nothing.
     * On Android, `dev.footfall.android.TcfConsentBridge` calls it for you.
     *
     * @throws FootfallException.InvalidInput when the TC string cannot be decoded; decisions stay as they are.
     * @throws FootfallException.Config when TCF import mode is off.
     */
    suspend fun importTcf(tcString: String?, gdprApplies: Boolean? = null): TcfImport
}
