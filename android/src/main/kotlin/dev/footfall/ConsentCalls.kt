package dev.footfall

import kotlinx.coroutines.flow.StateFlow
import dev.footfall.ffi.Footfall as FfiFootfall

/** [FootfallConsent] on the native handle: each call on the IO dispatcher. A change publishes its status on
 *  [consent] (through its event) before the call returns; nothing is read back. */
internal class ConsentCalls(private val core: Core) : FootfallConsent {
    override val consent: StateFlow<ConsentStatus?> = core.consentState.flow

    override suspend fun grant(purposes: Collection<String>, method: ConsentMethod): ConsentOutcome =
        change { it.grant(purposes.toList(), method.toFfi()) }

    override suspend fun deny(purposes: Collection<String>, method: ConsentMethod): ConsentOutcome =
        change { it.deny(purposes.toList(), method.toFfi()) }

    override suspend fun setConsent(decisions: Map<String, Boolean>, method: ConsentMethod): ConsentOutcome =
        change { it.setConsent(decisions, method.toFfi()) }

    override suspend fun promptShown(promptId: String): Unit = core.io { it.promptShown(promptId) }

    override suspend fun setConsentContext(jurisdiction: Jurisdiction, globalPrivacyControl: Boolean, ageBand: AgeBand?): ConsentOutcome =
        change { it.setConsentContext(jurisdiction, globalPrivacyControl, ageBand) }

    override suspend fun applyConsentPolicy(remoteConfigJson: String): ConsentOutcome =
        change { it.applyConsentPolicy(remoteConfigJson) }

    // Already asynchronous in the native layer: it runs on the SDK's sync thread.
    override suspend fun refreshConsentPolicy(): PolicyRefresh = core.native { it.refreshConsentPolicy() }

    override suspend fun needsPrompt(): PromptNeed = core.io { it.needsPrompt() }

    override suspend fun isAllowed(purpose: String): Boolean = core.io { it.isAllowed(purpose) }

    // Published too: what `track()` judges purposes by, if it is the newest.
    override suspend fun consentStatus(): ConsentStatus = core.io { it.consentStatus() }.also(core.consentState::publish)

    override suspend fun consentLog(): ConsentLog = core.io { it.consentLog() }.toConsentLog()

    override suspend fun importTcf(tcString: String?, gdprApplies: Boolean?): TcfImport =
        core.io { it.importTcf(tcString, gdprApplies) }

    private suspend fun change(block: (FfiFootfall) -> ConsentOutcome): ConsentOutcome = core.io(block)
}
