import Foundation
import FootfallFFI

/// Data-subject rights: an export of everything the SDK holds about the shopper, and a deletion request that wipes
/// the device and reaches the backend. Like the consent methods, these run the SDK's blocking call off the
/// caller's thread.
extension Footfall {
    /// Everything this install holds about the shopper, as one JSON document: identifiers (`anonymousId`,
    /// `userId`, `sessionId`), queued `events`, `deadLetters`, the consent log with its verification and the
    /// consent status (`consent`), and the `rightsRequests`. Everything tracked before the call is in it.
    ///
    /// ```swift
    /// let file = FileManager.default.temporaryDirectory.appendingPathComponent("my-data.json")
    /// try Data(try await footfall.exportData().utf8).write(to: file)   // then a share sheet
    /// ```
    public func exportData() async throws -> String {
        try await blocking { native in try native.exportData() }
    }

    /// Asks for the shopper's data to be erased and returns the request's id.
    ///
    /// Once it returns the request is durable; it is sent (`POST /v1/rights/deletion`) at once when uploads are
    /// automatic, by every ``flush()`` otherwise, and again until the backend acknowledges it, across restarts. Queued events, dead letters and the user id
    /// are wiped from the device at once, and what is tracked next is under a new anonymous id. The consent log is
    /// kept: it is the proof of what the shopper decided. Follow the request with ``rightsRequests()``.
    @discardableResult
    public func requestDeletion() async throws -> String {
        try await blocking { native in try native.requestDeletion() }
    }

    /// Every rights request this install made, oldest first, with its state (`.received`, `.sent`,
    /// `.acknowledged`, `.refused`).
    public func rightsRequests() async throws -> [RightsRequest] {
        try await blocking { native in try native.rightsRequests() }
    }
}
