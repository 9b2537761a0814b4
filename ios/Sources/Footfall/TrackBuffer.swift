import Foundation
import FootfallFFI

/// The bounded buffer between ``Footfall/track(_:properties:purpose:)`` on the app's threads and the native core,
/// as in the Kotlin layer: on the caller's thread only the checks (`invalidInput`), the consent decision from the
/// status published last (`consentDenied`), the id (a UUIDv7 stamped here) and a slot (`queueFull` when there is
/// none, counted); encoding and the crossing happen on the `footfall-track` thread, one `trackBatch` per batch,
/// in the order events were accepted. ``drain()`` hands over what is buffered and returns once the core has it:
/// ``Footfall`` drains before every other native call and on close.
final class TrackBuffer: @unchecked Sendable {
    // @unchecked: the mutable state is behind `condition` (the slots) and `handOver` (the batches).

    /// Events held before `track()` answers `queueFull`: as many as the core's hand-off holds by default.
    static let capacity = 10_000
    /// How long the first event of a batch waits for others before it is handed over.
    static let lingerSeconds = 0.02

    private struct Pending {
        let id: String
        let timestampMs: Int64
        let name: String
        let properties: Properties
        let purpose: String
    }

    /// Immutable values: encoded later, off the caller's thread, or already encoded when large (measured exactly).
    private enum Properties {
        case object([String: FootfallValue])
        case json(String)
    }

    private let native: FootfallFFI.Footfall
    private let consent: ConsentStatusFeed
    private let capacity: Int
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var queueFull: UInt64 = 0
    private var consentRefused: UInt64 = 0
    private var closed = false
    /// The ids' random bits (behind `condition`): seeded once from the system, so no system call per id.
    private var random = IdRandom()
    private var failure: FootfallError?
    private let handOver = NSLock()
    private var thread: Thread?

    init(native: FootfallFFI.Footfall, consent: ConsentStatusFeed, capacity: Int = TrackBuffer.capacity, background: Bool = true) {
        self.native = native
        self.consent = consent
        self.capacity = capacity
        pending.reserveCapacity(capacity)
        if background {
            let thread = Thread { [weak self] in self?.run() }
            thread.name = "footfall-track"
            self.thread = thread
            thread.start()
        }
    }

    /// Accepts an event: checked, judged against the consent published last and stamped here. Returns its id.
    func track(name: String, properties: [String: FootfallValue], purpose: String) throws -> String {
        try TrackBuffer.checkName(name)
        try TrackBuffer.checkPurpose(purpose)
        let bound = try TrackBuffer.check(.object(properties), depth: 0)
        let payload: Properties
        if bound <= TrackBuffer.maxBytes {
            payload = .object(properties)
        } else {
            let json = try FootfallValue.object(properties).jsonString()
            guard json.utf8.count <= TrackBuffer.maxBytes else {
                throw FootfallError.invalidInput(
                    reason: "properties are \(json.utf8.count) bytes as JSON, over the limit of \(TrackBuffer.maxBytes)")
            }
            payload = .json(json)
        }
        if denied(purpose) {
            condition.lock()
            consentRefused += 1
            condition.unlock()
            throw FootfallError.consentDenied(purpose: purpose)
        }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        if closed { throw FootfallError.closed }
        let n = pending.count
        if n == capacity {
            queueFull += 1
            throw FootfallError.queueFull
        }
        let id = TrackBuffer.uuidV7(unixMs: now, random: &random)
        pending.append(Pending(id: id, timestampMs: now, name: name, properties: payload, purpose: purpose))
        // Wake the hand-over thread for the first event of a batch and again when the buffer is a quarter full.
        if n == 0 || n + 1 == capacity / 4 { condition.signal() }
        return id
    }

    /// Hands everything buffered (and the refusals counted) to the core; returns once the core has it.
    func drain() {
        handOver.lock()
        defer { handOver.unlock() }
        condition.lock()
        let batch = pending
        let full = queueFull
        let refused = consentRefused
        pending.removeAll(keepingCapacity: true)
        queueFull = 0
        consentRefused = 0
        condition.unlock()
        if batch.isEmpty && full == 0 && refused == 0 { return }
        var events: [StampedEvent] = []
        events.reserveCapacity(batch.count)
        for event in batch {
            let json: String
            switch event.properties {
            case .json(let text):
                json = text
            case .object(let members):
                guard let text = try? FootfallValue.object(members).jsonString() else { continue }
                json = text
            }
            events.append(StampedEvent(
                id: event.id, timestampMs: event.timestampMs, name: event.name, propertiesJson: json, purpose: event.purpose))
        }
        do {
            _ = try native.trackBatch(events: events, queueFull: full, consentRefused: refused)
        } catch {
            // Closed, or the database cannot be used: what the core could not take is lost, as a direct track()
            // would have been refused; the next track() says why.
            if let translated = FootfallError.translating(error) as? FootfallError, case .storage = translated {
                condition.lock()
                failure = translated
                condition.unlock()
            }
        }
    }

    /// Refuses new events, hands over what is buffered and stops the hand-over thread.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        drain()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if closed {
                condition.unlock()
                return
            }
            // Let a batch gather unless the buffer is already a quarter full.
            if pending.count < capacity / 4 {
                _ = condition.wait(until: Date(timeIntervalSinceNow: TrackBuffer.lingerSeconds))
            }
            condition.unlock()
            drain()
        }
    }

    /// Denied by the status published last; unknown (not read yet, or a purpose it does not list) is accepted: the
    /// core judges at commit.
    private func denied(_ purpose: String) -> Bool {
        if purpose == Footfall.essentialPurpose { return false }
        guard let status = consent.current(), status.enforced else { return false }
        guard let entry = status.purposes.first(where: { $0.id == purpose }) else { return false }
        return !entry.allowed
    }

    // MARK: - Checks (the core's, on the caller's thread)

    static let maxNameCharacters = 200
    static let maxNesting = 16
    static let maxBytes = 32 * 1024

    static func checkName(_ name: String) throws {
        let length: Int
        let blank: Bool
        // Most names are ASCII: counted and scanned as bytes; Unicode's scalar view only for the rest.
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            length = name.utf8.count
            blank = name.utf8.allSatisfy { $0 == 0x20 || (0x09...0x0D).contains($0) }
        } else {
            length = name.unicodeScalars.count
            blank = name.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
        }
        if blank {
            throw FootfallError.invalidInput(reason: "the event name is empty")
        }
        if length > maxNameCharacters {
            throw FootfallError.invalidInput(
                reason: "the event name is \(length) characters; the most is \(maxNameCharacters)")
        }
    }

    static func checkPurpose(_ purpose: String) throws {
        let utf8 = purpose.utf8
        let ok = !utf8.isEmpty && utf8.count <= 64 && utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x2D
        }
        if !ok {
            throw FootfallError.invalidInput(reason: "invalid purpose '\(purpose.prefix(80))': [a-z0-9_-]{1,64}")
        }
    }

    /// What the core would refuse (nesting, non-finite numbers), found without encoding; returns an upper bound
    /// of the encoded size in UTF-8 bytes.
    static func check(_ value: FootfallValue, depth: Int) throws -> Int {
        switch value {
        case .null, .bool: return 5
        case .int: return 20
        case .double(let number):
            guard number.isFinite else { throw FootfallError.invalidInput(reason: "JSON has no \(number)") }
            return 24
        case .string(let text): return 2 + 6 * text.utf8.count
        case .array(let items):
            try checkNesting(depth + 1)
            return try items.reduce(2) { $0 + 1 + (try check($1, depth: depth + 1)) }
        case .object(let members):
            try checkNesting(depth + 1)
            return try members.reduce(2) { $0 + 3 + 6 * $1.key.utf8.count + (try check($1.value, depth: depth + 1)) }
        }
    }

    private static func checkNesting(_ depth: Int) throws {
        if depth > maxNesting {
            throw FootfallError.invalidInput(reason: "properties are nested \(depth) levels deep; the most is \(maxNesting)")
        }
    }

    /// A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits, as lower-case text.
    static func uuidV7(unixMs: Int64, random: inout IdRandom) -> String {
        let high = (UInt64(bitPattern: unixMs) << 16) | 0x7000 | (random.next() & 0x0FFF)
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        // Written straight into the string's storage: one allocation, where UUID(uuid:).uuidString.lowercased()
        // made three on every track().
        return String(unsafeUninitializedCapacity: 36) { text in
            hex(high >> 32, digits: 8, into: text, at: 0)
            text[8] = dash
            hex(high >> 16, digits: 4, into: text, at: 9)
            text[13] = dash
            hex(high, digits: 4, into: text, at: 14)
            text[18] = dash
            hex(low >> 48, digits: 4, into: text, at: 19)
            text[23] = dash
            hex(low, digits: 12, into: text, at: 24)
            return 36
        }
    }

    private static let dash = UInt8(ascii: "-")

    /// The low `digits` hex digits of `value`, lower case, at `text[at...]`.
    @inline(__always)
    private static func hex(_ value: UInt64, digits: Int, into text: UnsafeMutableBufferPointer<UInt8>, at: Int) {
        var rest = value
        for i in stride(from: at + digits - 1, through: at, by: -1) {
            let nibble = UInt8(truncatingIfNeeded: rest & 0xF)
            text[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble // '0'... and 'a' - 10...
            rest >>= 4
        }
    }
}

/// The random bits of event ids: uniqueness, not secrecy (as the Kotlin layer's `ThreadLocalRandom`). A
/// SplitMix64 sequence seeded from the system's generator once per buffer.
struct IdRandom {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
