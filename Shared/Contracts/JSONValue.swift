import Foundation

/// Arbitrary JSON (Segment traits, properties, context): kept exactly as sent. Numbers are Doubles,
/// except integers a Double would round (beyond 2^53), which are `largeInteger`; equality and
/// hashing compare numbers by value across the two (see JSONValueEquality.swift).
public enum JSONValue: Sendable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    /// Only for integers beyond 2^53 (order ids): smaller ones are always `number`.
    case largeInteger(LargeInteger)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Most common first: each miss costs a thrown error.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Double.self) {
            // Past 2^53 a Double rounds integers (2^53 + 1 reads as 2^53); Foundation's decoder reads
            // those exactly as Decimal.
            if abs(value) >= LargeInteger.doubleExactLimit, let decimal = try? container.decode(Decimal.self),
                let large = LargeInteger(decimal)
            {
                self = .largeInteger(large)
            } else {
                self = .number(value)
            }
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if let integer = Self.exactInteger(value) {
                try container.encode(integer)
            } else if let large = LargeInteger(exactly: value) {
                try container.encode(large.value)  // an integer's digits, not 1e+20
            } else {
                try container.encode(value)
            }
        case .largeInteger(let value): try container.encode(value.value)  // JSONEncoder writes a Decimal's exact digits
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Integers stay integers on the wire (1 rather than 1.0): the value as an Int64 when it is a
    /// whole number that a double represents exactly.
    public static func exactInteger(_ value: Double) -> Int64? {
        value.rounded() == value && abs(value) <= LargeInteger.doubleExactLimit ? Int64(value) : nil
    }

    /// A number as a Double (nearest for a large integer); nil for other values.
    public var numberValue: Double? {
        switch self {
        case .number(let value): value
        case .largeInteger(let value): value.doubleValue
        default: nil
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The value as an identifier string: strings as they are, integral numbers without a fraction.
    public var identifierString: String? {
        switch self {
        case .string(let value): return value
        case .number(let value): return Self.exactInteger(value).map { String($0) } ?? String(value)
        case .largeInteger(let value): return value.description
        default: return nil
        }
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) {
        self =
            value.magnitude > 9_007_199_254_740_992
            ? .largeInteger(LargeInteger(Decimal(value))!) : .number(Double(value))
    }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
