import Foundation
import FootfallFFI

// The consent and rights records of the generated layer (module FootfallFFI), re-exported like those in
// Types.swift so apps `import Footfall` only. Immutable, `Equatable` and `Hashable`; times are milliseconds since
// 1970 (`Int64`) or RFC 3339 strings as the SDK stores them, with `Date` accessors below.

/// How consent is gated and where decisions come from: `enforce` (default `true`: default deny),
/// `policyRefreshIntervalMs` (default hourly; 0: only ``Footfall/refreshConsentPolicy()``), `tcfImport` (the
/// app's CMP decides through its IAB TCF string; see ``TcfConsentBridge``), `tcfVendorId`.
public typealias ConsentSettings = FootfallFFI.ConsentSettings

/// How a decision was made, as recorded in the consent log: `.prompt(promptId:)`, `.settings`, `.api`, or
/// `.tcfImport(cmpId:)` (recorded only by ``Footfall/importTcf(_:gdprApplies:)``; passing it elsewhere is refused).
public typealias ConsentMethod = FootfallFFI.ConsentMethod

/// What a consent change did: the consent-log record written (if any), the queued events purged, and the
/// purposes now allowed and now denied.
public typealias ConsentOutcome = FootfallFFI.ConsentOutcome

/// Whether consent is enforced, the policy version, the jurisdiction, every purpose's gating decision and the
/// Google Consent Mode signals derived from them.
public typealias ConsentStatus = FootfallFFI.ConsentStatus

/// One purpose in a ``ConsentStatus``: `allowed` (what gating applies now), the shopper's latest `decision`,
/// `decidedAt` (RFC 3339) and `decisionValid` (false when a material change or the maximum age voided it).
public typealias PurposeStatus = FootfallFFI.PurposeStatus

/// Google Consent Mode v2 signals derived from the gating decisions, to forward to Firebase Analytics or gtag.
public typealias GoogleConsentMode = FootfallFFI.GoogleConsentMode

/// The legal regime the app says applies: `.gdpr`, `.appi` (opt-in), `.ccpa` (opt-out, except `location`),
/// `.unknown` (opt-in, the strictest; the default).
public typealias Jurisdiction = FootfallFFI.Jurisdiction

/// The shopper's age band when the app knows it: minors are opt-in everywhere; for `.under13`, marketing,
/// personalization and location never open.
public typealias AgeBand = FootfallFFI.AgeBand

/// The prompt to show now (`promptId`, nil: show nothing), why (`reason`), and the purposes lacking a valid
/// decision.
public typealias PromptNeed = FootfallFFI.PromptNeed

/// Why a prompt is (or is not) needed: `.noDecision`, `.policyMaterialChange`, `.expired`, `.newPurpose`,
/// `.promptDisabled` (needed, but switched off remotely), `.upToDate`.
public typealias PromptReason = FootfallFFI.PromptReason

/// The consent log (every record, oldest first) and whether its hash chain verifies.
public typealias ConsentLog = FootfallFFI.ConsentLog

/// One entry of the append-only, hash-chained consent log: a decision or a prompt shown.
public typealias ConsentRecord = FootfallFFI.ConsentRecord

/// `.decision`, or `.promptShown` (logged before a prompt renders; never a decision).
public typealias ConsentRecordKind = FootfallFFI.ConsentRecordKind

/// What ``Footfall/refreshConsentPolicy()`` found: whether a new policy was applied, and its version.
public typealias PolicyRefresh = FootfallFFI.PolicyRefresh

/// What ``Footfall/importTcf(_:gdprApplies:)`` did: its `result`, what the TC string decided about each mapped
/// purpose, and the consent change.
public typealias TcfImport = FootfallFFI.TcfImport

/// `.recorded`, `.unchanged` (same answer as recorded: nothing written), `.gdprDoesNotApply` (nothing imported),
/// `.cleared` (the CMP removed its string: the grants it made were withdrawn).
public typealias TcfImportResult = FootfallFFI.TcfImportResult

/// A data-subject request (today: `kind` `deletion`), persisted and sent until the backend acknowledges it.
public typealias RightsRequest = FootfallFFI.RightsRequest

/// `.received` (persisted, not sent yet), `.sent`, `.acknowledged`, `.refused` (see `lastError`).
public typealias RightsState = FootfallFFI.RightsState

extension FootfallFFI.ConsentStatus {
    /// The status of purpose `id`, nil when the policy does not declare it and nothing was decided about it
    /// (`essential` is never listed: it is always allowed).
    public func purpose(_ id: String) -> PurposeStatus? {
        purposes.first { $0.id == id }
    }
}

extension FootfallFFI.ConsentRecord {
    /// When the record was made.
    public var timestamp: Date {
        date(fromMilliseconds: timestampMs)
    }
}

extension FootfallFFI.RightsRequest {
    /// When the request was made.
    public var createdAt: Date {
        date(fromMilliseconds: createdAtMs)
    }

    /// When its state last changed.
    public var updatedAt: Date {
        date(fromMilliseconds: updatedAtMs)
    }
}
