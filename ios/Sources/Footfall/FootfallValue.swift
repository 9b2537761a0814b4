import Foundation

/// A JSON value: what event properties and user traits are made of.
///
/// Literals build it directly, so a properties dictionary reads like JSON:
///
/// ```swift
/// try footfall.track("product_viewed", properties: [
///     "sku": "4901234567894",
///     "price": 1980,
///     "ratio": 0.5,
///     "in_stock": true,
///     "coupon": nil,
///     "tags": ["shoes", "sale"],
///     "store": ["id": "tokyo-01", "floor": 3],
/// ])
/// ```
///
/// Values from variables use the cases or the initialisers: `.string(sku)`, `FootfallValue(price)`. Untyped
/// Foundation values (`[String: Any]` from `JSONSerialization`, say) convert with ``init(jsonObject:)``, which
/// refuses what JSON cannot carry. The value is `Sendable`, so properties can be built on any task.
public enum FootfallValue: Hashable, Sendable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer, written exactly (no floating-point rounding).
    case int(Int64)
    /// A floating-point number; NaN and infinities are refused when the value is written.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([FootfallValue])
    /// An object.
    case object([String: FootfallValue])
}

// MARK: - Literals and initialisers

extension FootfallValue: ExpressibleByNilLiteral {
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension FootfallValue: ExpressibleByBooleanLiteral {
    /// A `Bool` literal.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension FootfallValue: ExpressibleByIntegerLiteral {
    /// An integer literal.
    public init(integerLiteral value: Int64) {
        self = .int(value)
    }
}

extension FootfallValue: ExpressibleByFloatLiteral {
    /// A floating-point literal.
    public init(floatLiteral value: Double) {
        self = .double(value)
    }
}

extension FootfallValue: ExpressibleByStringLiteral {
    /// A string literal.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension FootfallValue: ExpressibleByArrayLiteral {
    /// An array literal.
    public init(arrayLiteral elements: FootfallValue...) {
        self = .array(elements)
    }
}

extension FootfallValue: ExpressibleByDictionaryLiteral {
    /// A dictionary literal with string keys; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, FootfallValue)...) {
        var object: [String: FootfallValue] = [:]
        object.reserveCapacity(elements.count)
        for (key, value) in elements {
            object[key] = value
        }
        self = .object(object)
    }
}

extension FootfallValue {
    /// A string value.
    public init(_ value: String) {
        self = .string(value)
    }

    /// A Boolean value.
    public init(_ value: Bool) {
        self = .bool(value)
    }

    /// An integer value.
    public init(_ value: Int) {
        self = .int(Int64(value))
    }

    /// An integer value.
    public init(_ value: Int64) {
        self = .int(value)
    }

    /// A floating-point value.
    public init(_ value: Double) {
        self = .double(value)
    }

    /// Converts an untyped Foundation value: `NSNull`/`nil`, `Bool`, integers, `Double`/`Float`/`Decimal`,
    /// `NSNumber` (booleans told apart from numbers), `String`, arrays, and dictionaries with `String` keys,
    /// nested — what `JSONSerialization` produces and what `[String: Any]` usually holds.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for anything else (a `Date`, a `URL`, a non-`String` key,
    ///   an unsigned integer above `Int64.max`) or nesting deeper than 64 levels; nothing half-converted is kept.
    public init(jsonObject: Any) throws {
        self = try FootfallValue.convert(jsonObject, depth: 0)
    }

    private static let maxConversionDepth = 64

    private static func convert(_ value: Any, depth: Int) throws -> FootfallValue {
        guard depth <= maxConversionDepth else {
            throw FootfallError.invalidInput(reason: "properties are nested more than \(maxConversionDepth) levels deep")
        }
        // An Optional inside `Any`: nil is null, a value is converted.
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return .null }
            return try convert(wrapped, depth: depth)
        }
        // NSNumber objects first: casting one to `Bool` or `Int` would succeed for any 0/1 number.
        if type(of: value) is NSNumber.Type, let number = value as? NSNumber {
            return try convert(number)
        }
        if let scalar = try convertSwiftScalar(value) {
            return scalar
        }
        switch value {
        case let value as FootfallValue:
            return value
        case is NSNull:
            return .null
        case let value as String:
            return .string(value)
        case let value as [String: Any]:
            var object: [String: FootfallValue] = [:]
            object.reserveCapacity(value.count)
            for (key, member) in value {
                object[key] = try convert(member, depth: depth + 1)
            }
            return .object(object)
        case let value as [Any]:
            return .array(try value.map { try convert($0, depth: depth + 1) })
        default:
            if value is [AnyHashable: Any] {
                throw FootfallError.invalidInput(reason: "JSON object keys must be strings")
            }
            throw FootfallError.invalidInput(reason: "cannot write a \(type(of: value)) as JSON")
        }
    }

    /// Swift's own Booleans and numbers, matched on their exact type so no bridging cast (an `Int` read as a
    /// `Bool`, say) can change what they are.
    private static func convertSwiftScalar(_ value: Any) throws -> FootfallValue? {
        let dynamicType = type(of: value)
        if dynamicType == Bool.self { return .bool(value as! Bool) }
        if dynamicType == Int.self { return .int(Int64(value as! Int)) }
        if dynamicType == Int64.self { return .int(value as! Int64) }
        if dynamicType == Int32.self { return .int(Int64(value as! Int32)) }
        if dynamicType == Int16.self { return .int(Int64(value as! Int16)) }
        if dynamicType == Int8.self { return .int(Int64(value as! Int8)) }
        if dynamicType == UInt8.self { return .int(Int64(value as! UInt8)) }
        if dynamicType == UInt16.self { return .int(Int64(value as! UInt16)) }
        if dynamicType == UInt32.self { return .int(Int64(value as! UInt32)) }
        if dynamicType == UInt.self { return try exactInteger(value as! UInt) }
        if dynamicType == UInt64.self { return try exactInteger(value as! UInt64) }
        if dynamicType == Double.self { return .double(value as! Double) }
        if dynamicType == Float.self {
            // Through the shortest text so 0.1 as Float stays 0.1, not 0.10000000149011612.
            let float = value as! Float
            return .double(Double(float.description) ?? Double(float))
        }
        if dynamicType == Decimal.self {
            // Through the text: NSDecimalNumber.doubleValue can be off in the last digit.
            let decimal = value as! Decimal
            return .double(Double(decimal.description) ?? NSDecimalNumber(decimal: decimal).doubleValue)
        }
        return nil
    }

    private static func convert(_ number: NSNumber) throws -> FootfallValue {
        if isBoolean(number) {
            return .bool(number.boolValue)
        }
        if isFloatingPoint(number) {
            return .double(number.doubleValue)
        }
        // An unsigned 64-bit value above Int64.max reads back negative through int64Value.
        if number.int64Value < 0, number.compare(NSNumber(value: 0)) == .orderedDescending {
            return try exactInteger(number.uint64Value)
        }
        return .int(number.int64Value)
    }

    #if canImport(ObjectiveC)
    /// A boolean `NSNumber` is the `kCFBooleanTrue`/`kCFBooleanFalse` singleton (toll-free bridged on Apple
    /// platforms), whatever `objCType` says ("c", like a `char`).
    private static func isBoolean(_ number: NSNumber) -> Bool {
        CFGetTypeID(number as CFTypeRef) == CFBooleanGetTypeID()
    }

    private static func isFloatingPoint(_ number: NSNumber) -> Bool {
        CFNumberIsFloatType(number as CFNumber)
    }
    #else
    /// Without the Objective-C runtime (Linux) there is no CF bridging; swift-corelibs-foundation gives boolean
    /// `NSNumber`s (`NSNumber(value: true)`, what `JSONSerialization` returns for `true`) their own subclass.
    private static let booleanNumberType = type(of: NSNumber(value: true))

    private static func isBoolean(_ number: NSNumber) -> Bool {
        type(of: number) == booleanNumberType
    }

    private static func isFloatingPoint(_ number: NSNumber) -> Bool {
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "f"), UInt8(ascii: "d"):
            return true
        default:
            return false
        }
    }
    #endif

    private static func exactInteger<T: BinaryInteger>(_ value: T) throws -> FootfallValue {
        guard let exact = Int64(exactly: value) else {
            throw FootfallError.invalidInput(reason: "the integer \(value) does not fit in 64 signed bits")
        }
        return .int(exact)
    }
}

// MARK: - JSON text

extension FootfallValue {
    /// The compact JSON text of this value, object keys sorted (so equal values give equal text).
    ///
    /// Integers are written exactly, doubles in their shortest round-trip form (`19.8`, `1e+21`), strings with
    /// `"`, `\`, control characters and U+2028/U+2029 escaped.
    ///
    /// - Throws: ``FootfallError/invalidInput(reason:)`` for NaN or an infinity, which JSON has no text for.
    public func jsonString() throws -> String {
        var out = ""
        out.reserveCapacity(128)
        try write(to: &out)
        return out
    }

    private func write(to out: inout String) throws {
        switch self {
        case .null:
            out += "null"
        case .bool(let value):
            out += value ? "true" : "false"
        case .int(let value):
            out += String(value)
        case .double(let value):
            guard value.isFinite else {
                throw FootfallError.invalidInput(reason: "JSON has no \(value)")
            }
            out += value.description
        case .string(let value):
            FootfallValue.writeString(value, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                try item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                FootfallValue.writeString(key, to: &out)
                out += ":"
                try members[key]?.write(to: &out)
            }
            out += "}"
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar == "\"" || scalar == "\\" || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    static func writeString(_ text: String, to out: inout String) {
        out += "\""
        guard text.unicodeScalars.contains(where: needsEscape) else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"":
                out += "\\\""
            case "\\":
                out += "\\\\"
            case "\n":
                out += "\\n"
            case "\r":
                out += "\\r"
            case "\t":
                out += "\\t"
            case "\u{08}":
                out += "\\b"
            case "\u{0C}":
                out += "\\f"
            default:
                if needsEscape(scalar) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

// MARK: - Codable

extension FootfallValue: Codable {
    /// Decodes any JSON value; integers that fit in `Int64` become ``int(_:)``, other numbers ``double(_:)``.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([FootfallValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: FootfallValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    /// Encodes the value as the JSON it stands for.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null:
            try container.encodeNil()
        case .bool(let value):
            try container.encode(value)
        case .int(let value):
            try container.encode(value)
        case .double(let value):
            try container.encode(value)
        case .string(let value):
            try container.encode(value)
        case .array(let value):
            try container.encode(value)
        case .object(let value):
            try container.encode(value)
        }
    }
}
