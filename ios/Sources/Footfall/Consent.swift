import Foundation
import FootfallFFI

/// Consent: decisions, the prompt lifecycle, the policy and context, status and proof.
///
/// Consent is enforced by default (default deny): ``Footfall/track(_:properties:purpose:)`` refuses a purpose the
/// shopper has not granted with ``FootfallError/consentDenied(purpose:)``, and only `essential` is always allowed.
/// A withdrawal takes effect at once: queued events of the purpose are purged, in flight or not.
///
/// Every method is `async`: the SDK call blocks for milliseconds (a decision is one SQLite transaction on the SDK's
/// writer thread, durable once the method returns), so it runs on the layer's own queue, never on the caller's
/// thread, and is safe to await from the main actor. A call that started is not abandoned when its task is
/// cancelled: a decision is always recorded and its result returned.
///
/// ```swift
/// let need = try await footfall.needsPrompt()
/// if let promptId = need.promptId {
///     try await footfall.promptShown(promptId)                         // just before it renders
///     // … the shopper answers …
///     try await footfall.setConsent(["analytics": true, "marketing": false], method: .prompt(promptId: promptId))
/// }
/// ```
extension Footfall {
    // MARK: - Decisions

    /// Grants `purposes`. Once it returns the decision is durable and in the consent log, and events of these
    /// purposes are collected.
    ///
    /// - Parameters:
    ///   - purposes: purpose ids: `analytics`, `personalization`, `marketing`, `location`, or your policy's own.
    ///   - method: how the shopper decided: `.prompt(promptId:)`, `.settings`, or `.api` (the default).
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for a bad purpose id, a `.tcfImport` method, or, in TCF
    ///   import mode, a purpose the CMP decides; ``FootfallError/closed`` after ``close()``.
    @discardableResult
    public func grant(_ purposes: [String], method: ConsentMethod = .api) async throws -> ConsentOutcome {
        try await blocking { native in try native.grant(purposes: purposes, method: method) }
    }

    /// Denies or withdraws `purposes`: as easy as granting, and effective at once. Once it returns, queued events
    /// of these purposes are purged (those being uploaded too) and ``track(_:properties:purpose:)`` refuses new
    /// ones.
    ///
    /// - Throws: as ``grant(_:method:)``.
    @discardableResult
    public func deny(_ purposes: [String], method: ConsentMethod = .api) async throws -> ConsentOutcome {
        try await blocking { native in try native.deny(purposes: purposes, method: method) }
    }

    /// Records the shopper's answers (purpose → granted) as one decision, e.g. what a prompt with several toggles
    /// returned. Denied purposes are purged as in ``deny(_:method:)``.
    ///
    /// - Throws: as ``grant(_:method:)``.
    @discardableResult
    public func setConsent(_ decisions: [String: Bool], method: ConsentMethod = .api) async throws -> ConsentOutcome {
        try await blocking { native in try native.setConsent(decisions: decisions, method: method) }
    }

    // MARK: - Prompts

    /// The prompt to show now, if any (`promptId`), why (`reason`) and for which purposes. Ask at start-up and
    /// when the app is about to show a prompt's trigger; it changes with decisions, the policy and the time.
    ///
    /// In TCF import mode the purposes the CMP decides never make it ask.
    public func needsPrompt() async throws -> PromptNeed {
        try await blocking { native in try native.needsPrompt() }
    }

    /// Call just before the prompt `promptId` renders. Logged, and never a decision: an app killed while the prompt
    /// is visible has decided nothing.
    public func promptShown(_ promptId: String) async throws {
        try await blocking { native in try native.promptShown(promptId: promptId) }
    }

    // MARK: - Context and policy

    /// The jurisdiction, Global Privacy Control signal and age band as the app determines them; they set the
    /// defaults for purposes the shopper has not decided (opt-in for `.gdpr`, `.appi`, `.unknown`; opt-out for
    /// `.ccpa`; opt-in everywhere for minors). For `.under13`, marketing, personalization and location never open,
    /// whatever is granted.
    @discardableResult
    public func setConsentContext(
        jurisdiction: Jurisdiction,
        globalPrivacyControl: Bool = false,
        ageBand: AgeBand? = nil
    ) async throws -> ConsentOutcome {
        try await blocking { native in
            try native.setConsentContext(
                jurisdiction: jurisdiction,
                globalPrivacyControl: globalPrivacyControl,
                ageBand: ageBand
            )
        }
    }

    /// Applies a policy document: the body of `GET /v1/config` (`{"consent": {...}}`), or one the app bundles.
    ///
    /// - Throws: ``FootfallError/config(reason:)`` with the reason when the document is invalid; the current
    ///   policy stays.
    @discardableResult
    public func applyConsentPolicy(_ remoteConfigJSON: String) async throws -> ConsentOutcome {
        try await blocking { native in try native.applyConsentPolicy(remoteConfigJson: remoteConfigJSON) }
    }

    /// Applies a policy document given as UTF-8 bytes, e.g. a file in the app bundle:
    ///
    /// ```swift
    /// if let url = Bundle.main.url(forResource: "consent-policy", withExtension: "json") {
    ///     try await footfall.applyConsentPolicy(try Data(contentsOf: url))
    /// }
    /// ```
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` when the bytes are not UTF-8; the errors of the
    ///   `String` form.
    @discardableResult
    public func applyConsentPolicy(_ remoteConfigJSON: Data) async throws -> ConsentOutcome {
        guard let text = String(data: remoteConfigJSON, encoding: .utf8) else {
            throw FootfallError.invalidInput(reason: "the consent policy is not UTF-8 text")
        }
        return try await applyConsentPolicy(text)
    }

    /// Fetches the policy from the endpoint now (`GET /v1/config`, with the cached ETag) and applies it. The SDK
    /// also does this at start-up and every `consent.policyRefreshIntervalMs` of the configuration.
    ///
    /// Cancelling the calling task makes this throw `CancellationError` at once; the fetch itself finishes on the
    /// SDK's thread (as ``flush()`` does).
    ///
    /// - Throws: ``FootfallError/network(reason:)`` when the fetch failed (an HTTP 404 included),
    ///   ``FootfallError/config(reason:)`` without an endpoint; the current policy stays on any failure.
    @discardableResult
    public func refreshConsentPolicy() async throws -> PolicyRefresh {
        try await asyncCall { try await $0.refreshConsentPolicy() }
    }

    // MARK: - Status and proof

    /// Whether events of `purpose` are collected now.
    public func isAllowed(_ purpose: String) async throws -> Bool {
        try await blocking { native in try native.isAllowed(purpose: purpose) }
    }

    /// Every purpose's gating decision now, the policy version, the jurisdiction and the Google Consent Mode
    /// signals. To follow it, use ``consentStatusUpdates``.
    public func consentStatus() async throws -> ConsentStatus {
        let status = try await blocking { native in try native.consentStatus() }
        consentFeed.publish(status) // what `track()` judges by, if it is the newest
        return status
    }

    /// The consent status now, then again after each consent change, for a settings screen to observe:
    ///
    /// ```swift
    /// .task {
    ///     for await status in footfall.consentStatusUpdates {
    ///         analyticsOn = status.purpose("analytics")?.allowed ?? false
    ///     }
    /// }
    /// ```
    ///
    /// Each read of this property returns a new stream; its first element is the current status (read off the
    /// caller's thread), then one follows each change: a decision, a context or a policy applied through this
    /// object, and a policy refresh or TCF import that changed what is allowed. A status equal to the last one is
    /// not repeated. Each stream keeps only the newest status (a slow consumer skips to it). Streams finish when
    /// the instance is closed; cancel the consuming task to unsubscribe earlier.
    public var consentStatusUpdates: AsyncStream<ConsentStatus> {
        consentFeed.subscribe()
    }

    /// Every consent record, oldest first, and whether the hash chain verifies (`verified` is false, with the
    /// `problem`, when a stored record was edited or removed).
    public func consentLog() async throws -> ConsentLog {
        try await blocking { native in try native.consentLog() }
    }

    // MARK: - TCF import mode

    /// TCF import mode (`ConsentSettings(tcfImport: true)`): records what the CMP's TC string says about
    /// `analytics`, `personalization`, `marketing` and `location`. ``TcfConsentBridge`` calls this for you from
    /// `UserDefaults`; call it yourself only with a CMP that does not store its string there.
    ///
    /// - Parameters:
    ///   - tcString: `IABTCF_TCString`; nil or empty when the CMP has none (grants an earlier import made are then
    ///     withdrawn).
    ///   - gdprApplies: `IABTCF_gdprApplies` when the CMP set it (false: nothing is imported); nil when unknown.
    /// - Returns: what was imported; the same answer twice records nothing (`.unchanged`).
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for an unreadable string (the decisions stay),
    ///   ``FootfallError/config(reason:)`` when TCF import mode is off.
    public func importTcf(_ tcString: String?, gdprApplies: Bool? = nil) async throws -> TcfImport {
        try await blocking { native in try native.importTcf(tcString: tcString, gdprApplies: gdprApplies) }
    }

    /// ``importTcf(_:gdprApplies:)`` on the calling thread, for ``TcfConsentBridge``'s serial queue.
    func importTcfNow(_ tcString: String?, gdprApplies: Bool?) throws -> TcfImport {
        try call { native in try native.importTcf(tcString: tcString, gdprApplies: gdprApplies) }
    }
}
