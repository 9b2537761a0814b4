package dev.footfall

import dev.footfall.ffi.ConsentLog as FfiLog
import dev.footfall.ffi.ConsentMethod as FfiMethod
import dev.footfall.ffi.ConsentRecord as FfiRecord

/*
 * The consent API's types. Records the generated layer already shapes well are re-exported as type aliases (like
 * Status); the method of a decision is a sealed class of this package so `ConsentMethod.Prompt("main")` reads
 * naturally (Kotlin cannot reach nested classes through a type alias), and the log records that carry it follow.
 */

/** How a decision was made; recorded with it in the consent log. */
sealed class ConsentMethod {
    /** The shopper answered the prompt [promptId] (see [FootfallConsent.needsPrompt]). */
    data class Prompt(val promptId: String) : ConsentMethod()

    /** The shopper changed it in the app's privacy settings. */
    data object Settings : ConsentMethod()

    /** The app decided through the API (the default). */
    data object Api : ConsentMethod()

    /** Imported from the app's CMP by [FootfallConsent.importTcf]; passing it to a decision is refused with
     *  [FootfallException.InvalidInput]. */
    data class TcfImport(val cmpId: Int) : ConsentMethod()
}

/** One entry of the append-only, hash-chained consent log (see [FootfallConsent.consentLog]). */
data class ConsentRecord(
    val recordId: String,
    /** A decision, or a prompt about to render (never a decision). */
    val kind: ConsentRecordKind,
    /** The pseudonymous anonymous id in force when it was recorded; never the user id. */
    val subjectId: String,
    /** Milliseconds since the epoch. */
    val timestampMs: Long,
    val policyVersion: Long,
    /** The notice the shopper was shown, as the policy names it. */
    val noticeHash: String,
    /** purpose → granted; empty for a [ConsentRecordKind.PROMPT_SHOWN]. */
    val decisions: Map<String, Boolean>,
    val method: ConsentMethod,
    val jurisdiction: Jurisdiction,
    /** [FootfallConfig.appVersion] when it was recorded. */
    val appVersion: String,
    val sdkVersion: String,
    val prevHash: String,
    val hash: String,
)

/** Every consent record, oldest first, and whether the hash chain verifies. */
data class ConsentLog(
    val records: List<ConsentRecord>,
    /** False when a stored record was edited or removed. */
    val verified: Boolean,
    /** Where verification failed. */
    val problem: String?,
)

/** What a consent change did: the record written (if any), the queued events purged, what is now allowed or
 *  denied. */
typealias ConsentOutcome = dev.footfall.ffi.ConsentOutcome

/** The consent state as gating applies it now: policy version, jurisdiction, each purpose, Google Consent Mode. */
typealias ConsentStatus = dev.footfall.ffi.ConsentStatus

/** A policy the server sent that the SDK refused (invalid, or older than the one in force): [ConsentStatus.refusedPolicy]. */
typealias RefusedPolicy = dev.footfall.ffi.RefusedPolicy

/** One purpose in a [ConsentStatus]: allowed now, and the shopper's latest answer with whether it still counts. */
typealias PurposeStatus = dev.footfall.ffi.PurposeStatus

/** Google Consent Mode v2 signals derived from the gating decisions, to forward to Firebase / gtag. */
typealias GoogleConsentMode = dev.footfall.ffi.GoogleConsentMode

/** The legal regime the app says applies to the shopper: it sets the default of undecided purposes. */
typealias Jurisdiction = dev.footfall.ffi.Jurisdiction

/** The shopper's age band when the app knows it: minors are opt-in everywhere; under 13 the profiling and
 *  tracking purposes never open. */
typealias AgeBand = dev.footfall.ffi.AgeBand

/** The prompt to show now (null: none) and why, with the purposes that lack a valid decision. */
typealias PromptNeed = dev.footfall.ffi.PromptNeed

/** Why a prompt is, or is not, needed. */
typealias PromptReason = dev.footfall.ffi.PromptReason

/** A decision, or a prompt shown. */
typealias ConsentRecordKind = dev.footfall.ffi.ConsentRecordKind

/** What [FootfallConsent.refreshConsentPolicy] found. */
typealias PolicyRefresh = dev.footfall.ffi.PolicyRefresh

/** What [FootfallConsent.importTcf] did, with the decisions read from the TC string. */
typealias TcfImport = dev.footfall.ffi.TcfImport

/** Recorded, unchanged, GDPR does not apply, or cleared (the CMP removed its string). */
typealias TcfImportResult = dev.footfall.ffi.TcfImportResult

/** The purpose [id] in this status, or null when the policy declares it not and nobody decided it. */
fun ConsentStatus.purpose(id: String): PurposeStatus? = purposes.firstOrNull { it.id == id }

internal fun ConsentMethod.toFfi(): FfiMethod = when (this) {
    is ConsentMethod.Prompt -> FfiMethod.Prompt(promptId)
    ConsentMethod.Settings -> FfiMethod.Settings
    ConsentMethod.Api -> FfiMethod.Api
    is ConsentMethod.TcfImport -> FfiMethod.TcfImport(cmpId)
}

internal fun FfiMethod.toConsentMethod(): ConsentMethod = when (this) {
    is FfiMethod.Prompt -> ConsentMethod.Prompt(promptId)
    FfiMethod.Settings -> ConsentMethod.Settings
    FfiMethod.Api -> ConsentMethod.Api
    is FfiMethod.TcfImport -> ConsentMethod.TcfImport(cmpId)
}

internal fun FfiLog.toConsentLog() = ConsentLog(records.map { it.toConsentRecord() }, verified, problem)

private fun FfiRecord.toConsentRecord() = ConsentRecord(
    recordId = recordId,
    kind = kind,
    subjectId = subjectId,
    timestampMs = timestampMs,
    policyVersion = policyVersion,
    noticeHash = noticeHash,
    decisions = decisions,
    method = method.toConsentMethod(),
    jurisdiction = jurisdiction,
    appVersion = appVersion,
    sdkVersion = sdkVersion,
    prevHash = prevHash,
    hash = hash,
)
