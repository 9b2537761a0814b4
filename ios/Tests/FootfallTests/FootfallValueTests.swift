import Foundation
import Footfall
import XCTest

/// The JSON writer behind track(): exact output, escaping, refusals as typed errors, and conversion from untyped
/// Foundation values. Mirrors android/src/test/kotlin/dev/footfall/JsonTest.kt. Needs no collector.
final class FootfallValueTests: XCTestCase {
    func testWritesEverySupportedValueExactlyWithSortedKeys() throws {
        let value: FootfallValue = [
            "s": "plain",
            "i": 1980,
            "l": 9_007_199_254_740_993,
            "neg": -7,
            "d": 19.8,
            "half": 0.5,
            "exp": 1.0e21,
            "t": true,
            "n": nil,
            "list": [1, "two", [], [:]],
            "nested": ["deeper": ["k": false]],
        ]
        XCTAssertEqual(
            try value.jsonString(),
            #"{"d":19.8,"exp":1e+21,"half":0.5,"i":1980,"l":9007199254740993,"list":[1,"two",[],{}],"n":null,"#
                + #""neg":-7,"nested":{"deeper":{"k":false}},"s":"plain","t":true}"#
        )
        XCTAssertEqual(try FootfallValue.object([:]).jsonString(), "{}")
        XCTAssertEqual(try FootfallValue(42).jsonString(), "42")
        XCTAssertEqual(try FootfallValue("x").jsonString(), #""x""#)
    }

    func testEscapesQuotesBackslashesAndControlCharactersAndKeepsUnicode() throws {
        let text = "say \"hi\"\\ \n\r\t\u{08}\u{0C}\u{01}\u{1F} é 😀 \u{2028}"
        XCTAssertEqual(
            try FootfallValue.object(["k\"ey": .string(text)]).jsonString(),
            #"{"k\"ey":"say \"hi\"\\ \n\r\t\b\f\u0001\u001f é 😀 \u2028"}"#
        )
    }

    func testTheOutputIsJSONThatParsesBackToTheSameValue() throws {
        let value: FootfallValue = ["a": [1, 2.5, "three", nil, true], "b": ["c": "😀\u{0}"]]
        let text = try value.jsonString()
        XCTAssertEqual(try JSONDecoder().decode(FootfallValue.self, from: Data(text.utf8)), value)
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(value), as: UTF8.self).isEmpty, false)
    }

    func testValuesJSONCannotCarryAreRefusedWithATypedError() {
        for bad: FootfallValue in [.double(.nan), .double(.infinity), ["x": [.double(-.infinity)]]] {
            XCTAssertThrowsError(try bad.jsonString(), "\(bad)") { error in
                guard case FootfallError.invalidInput = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testFoundationValuesConvertWithBooleansToldApartFromNumbers() throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(#"{"a":1,"b":true,"c":1.5,"d":null,"e":[0,"x"],"f":false}"#.utf8))
        XCTAssertEqual(
            try FootfallValue(jsonObject: parsed),
            ["a": 1, "b": true, "c": 1.5, "d": nil, "e": [0, "x"], "f": false]
        )

        let optional: String? = nil
        let native: [String: Any] = [
            "int": 3, "bool": true, "double": 0.25, "float": Float(0.1), "string": "s", "nil": optional as Any,
            "list": [1, 2], "map": ["k": "v"], "u8": UInt8(7), "decimal": Decimal(string: "19.8")!,
        ]
        XCTAssertEqual(
            try FootfallValue(jsonObject: native),
            [
                "int": 3, "bool": true, "double": 0.25, "float": 0.1, "string": "s", "nil": nil,
                "list": [1, 2], "map": ["k": "v"], "u8": 7, "decimal": 19.8,
            ]
        )
    }

    func testFoundationValuesJSONCannotCarryAreRefused() {
        let refused: [Any] = [Date(), URL(string: "https://example.com")!, [1: "x"], UInt64.max, ["k": NSObject()]]
        for value in refused {
            XCTAssertThrowsError(try FootfallValue(jsonObject: value), "\(value)") { error in
                guard case FootfallError.invalidInput = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testNSNumbersKeepTheirKindBooleansIntegersAndFloatingPoint() throws {
        // What Objective-C code, KVC and bridged Foundation APIs hand over: the kind is in the NSNumber itself.
        let numbers: [String: Any] = [
            "true": NSNumber(value: true), "false": NSNumber(value: false),
            "one": NSNumber(value: 1), "zero": NSNumber(value: 0), "big": NSNumber(value: Int64.max),
            "half": NSNumber(value: 0.5), "whole": NSNumber(value: 2.0), "float": NSNumber(value: Float(1.5)),
            "u64": NSNumber(value: UInt64(Int64.max)),
        ]
        XCTAssertEqual(
            try FootfallValue(jsonObject: numbers),
            [
                "true": true, "false": false, "one": 1, "zero": 0, "big": .int(Int64.max),
                "half": 0.5, "whole": 2.0, "float": 1.5, "u64": .int(Int64.max),
            ]
        )
        XCTAssertEqual(try FootfallValue(jsonObject: NSNumber(value: 1)).jsonString(), "1")
        XCTAssertEqual(try FootfallValue(jsonObject: NSNumber(value: true)).jsonString(), "true")
        XCTAssertEqual(try FootfallValue(jsonObject: NSNumber(value: 2.0)).jsonString(), "2.0")
        XCTAssertThrowsError(try FootfallValue(jsonObject: NSNumber(value: UInt64.max))) { error in
            guard case FootfallError.invalidInput = error else { return XCTFail("\(error)") }
        }
    }
}
