import Contracts
import Foundation
import Testing

/// Integers beyond 2^53 (order ids) keep their exact value through the parser, the writer and
/// Codable; other numbers keep their meaning as Doubles.
@Suite struct JSONNumberTests {
    static let largeIntegers = [
        "9007199254740993",  // 2^53 + 1
        "9223372036854775807",  // 2^63 - 1
        "18446744073709551617",  // 2^64 + 1
        "1234567890123456789012345",  // 25 digits
        "-9007199254740993",
        "-1234567890123456789012345",
        "99999999999999999999999999999999999999",  // 38 digits, the most Decimal keeps
    ]

    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test(arguments: largeIntegers)
    func largeIntegersRoundTripExactly(_ literal: String) throws {
        let value = try parse(literal)
        guard case .largeInteger(let integer) = value else {
            Issue.record("\(literal) parsed as \(value)")
            return
        }
        #expect(integer.description == literal)
        #expect(value.json == literal)
        #expect(value.identifierString == literal)
        let encoded = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        #expect(encoded == literal)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(literal.utf8)) == value)
        #expect(try parse(encoded) == value)
        #expect(try parse(value.json) == value)
    }

    @Test func largeIntegersSurviveMessagesThroughBothCoders() throws {
        let now = Date(timeIntervalSince1970: 1_795_334_400)
        let order = try parse("12345678901234567890123")
        let message = SegmentMessage(
            type: .track, messageId: "m", userId: "u", event: "Order Completed",
            properties: ["order_id": order, "total": 9.99, "ids": [9_007_199_254_740_993, 2]],
            timestamp: now, receivedAt: now)
        let written = try WireEncoder.string(message)
        #expect(written.contains("12345678901234567890123") && written.contains("9007199254740993"))
        let decoded = try WireDecoder.decode(SegmentMessage.self, from: written.utf8)
        #expect(decoded == message)
        #expect(decoded.properties?["order_id"]?.json == "12345678901234567890123")
        #expect(try JSONParser.parse(written.utf8)["properties"]?["order_id"] == order)
    }

    @Test(arguments: [
        ("0.1", "0.1"), ("-2.5e3", "-2500"), ("1.5", "1.5"), ("1E+2", "100"), ("0", "0"), ("-0.0", "0"),
        ("42", "42"), ("9007199254740992", "9007199254740992"), ("1e300", "1e+300"),
        // Not integers: Doubles, as before (the nearest).
        ("9007199254740993.5", "9007199254740994"), ("1.25e-7", "1.25e-07"),
        // Integers beyond 2^53 written with an exponent or a fraction are still integers.
        ("1e20", "100000000000000000000"), ("9007199254740993.0", "9007199254740993"),
    ])
    func otherNumbersKeepTheirMeaning(_ literal: String, _ written: String) throws {
        let value = try parse(literal)
        #expect(value.numberValue == Double(literal))
        #expect(value.json == written)
        #expect(try parse(value.json) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(literal.utf8)) == value)
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value)
    }

    @Test func smallIntegersStayDoubles() throws {
        #expect(try parse("9007199254740992") == .number(9_007_199_254_740_992))
        #expect(try parse("-12") == .number(-12))
        // More digits than Decimal keeps: the nearest Double, as before.
        guard case .number = try parse("1234567890123456789012345678901234567890") else {
            Issue.record("expected a Double")
            return
        }
    }

    @Test func equalityAndHashingAreByValue() throws {
        #expect(try parse("1") == parse("1.0"))
        #expect(try parse("[1, 2.50]") == parse("[1.0, 2.5]"))
        // A Double holding a large integer (a computed sum) equals what the same value reads back as.
        let computed = JSONValue.number(1e20)
        let readBack = try parse("100000000000000000000")
        #expect(computed == readBack && readBack == computed)
        #expect(Set([computed, readBack]).count == 1)
        #expect(try parse("9007199254740993") != .number(9_007_199_254_740_992))
        #expect(try parse("9007199254740993") != parse("9007199254740994"))
        #expect(Set(try ["1", "1.0", "9007199254740993", "9007199254740994", "1e20"].map(parse)).count == 4)
        let literal: JSONValue = 9_223_372_036_854_775_807
        #expect(literal == (try parse("9223372036854775807")))
    }
}

@Suite struct LargeIntegerComparisonTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func comparesExactlyBeyondTwoToTheFiftyThree() throws {
        let big = try parse("9007199254740993")
        #expect(Comparison(.greaterThan, .number(9_007_199_254_740_992)).holds(for: big))
        #expect(Comparison(.lessThan, big).holds(for: .number(9_007_199_254_740_992)))
        #expect(!Comparison(.equals, .number(9_007_199_254_740_992)).holds(for: big))
        #expect(Comparison(.equals, big).holds(for: try parse("9007199254740993")))
        #expect(Comparison(.greaterOrEqual, big).holds(for: big) && Comparison(.lessOrEqual, big).holds(for: big))
        #expect(
            Comparison(.lessThan, try parse("1234567890123456789012346")).holds(
                for: try parse("1234567890123456789012345")))
        #expect(
            Comparison(.greaterThan, try parse("-1234567890123456789012346")).holds(
                for: try parse("-1234567890123456789012345")))
        let negative = try parse("-9007199254740993")
        #expect(Comparison(.greaterThan, 10).holds(for: big) && Comparison(.lessThan, 1.5).holds(for: negative))
        #expect(Comparison(.oneOf, [1, big]).holds(for: try parse("9007199254740993")))
        #expect(Comparison(.notIn, [.number(9_007_199_254_740_992)]).holds(for: big))
    }

    @Test func numericStringsCompareExactlyToo() throws {
        let big = try parse("9007199254740993")
        #expect(Comparison(.equals, big).holds(for: " 9007199254740993 "))
        #expect(!Comparison(.equals, big).holds(for: "9007199254740992"))
        #expect(Comparison(.greaterThan, "9007199254740992").holds(for: big))
        #expect(Comparison(.greaterThan, "50").holds(for: 51) && !Comparison(.greaterThan, "abc").holds(for: 51))
        #expect(Comparison.number(big) == 9_007_199_254_740_992)
    }

    @Test func definitionsTakeLargeIntegerOperands() throws {
        let condition = try DefinitionReader.comparison(
            ["operator": "greater_than", "value": try parse("9007199254740993")], "c")
        #expect(condition.holds(for: try parse("9007199254740994")))
        _ = try DefinitionReader.comparison(["operator": "equals", "value": try parse("12345678901234567890123")], "c")
    }
}
