import Foundation

/// A comparison of one JSON value (a property or a trait) with a definition's operand: the one
/// semantics of "where" filters and trait conditions, shared by audiences and journeys.
public struct Comparison: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equals
        case notEquals = "not_equals"
        case contains
        case notContains = "not_contains"
        case oneOf = "in"
        case notIn = "not_in"
        case greaterThan = "greater_than"
        case greaterOrEqual = "greater_or_equal"
        case lessThan = "less_than"
        case lessOrEqual = "less_or_equal"
        case before, after, exists
        case notExists = "not_exists"

        public var needsOperand: Bool { self != .exists && self != .notExists }
    }

    public var op: Operator
    public var operand: JSONValue

    public init(_ op: Operator, _ operand: JSONValue = .null) {
        self.op = op
        self.operand = operand
    }

    /// Whether the comparison holds for `value` (nil: the property or trait is absent). Absent
    /// values only pass `not_exists` and the negative operators, as in Segment's builder.
    public func holds(for value: JSONValue?) -> Bool {
        var present = value
        if present == .null { present = Optional.none }
        switch op {
        case .exists: return present != nil
        case .notExists: return present == nil
        case .notEquals: return present.map { !Self.equal($0, operand) } ?? true
        case .notContains: return present.map { !Self.contains($0, operand) } ?? true
        case .notIn:
            return present.map { value in !(operand.arrayValue ?? []).contains { Self.equal(value, $0) } } ?? true
        default: break
        }
        guard let present else { return false }
        switch op {
        case .equals: return Self.equal(present, operand)
        case .contains: return Self.contains(present, operand)
        case .oneOf: return (operand.arrayValue ?? []).contains { Self.equal(present, $0) }
        case .greaterThan, .greaterOrEqual, .lessThan, .lessOrEqual:
            guard let lhs = Self.numeric(present), let rhs = Self.numeric(operand), let order = Self.order(lhs, rhs)
            else { return false }
            switch op {
            case .greaterThan: return order == .orderedDescending
            case .greaterOrEqual: return order != .orderedAscending
            case .lessThan: return order == .orderedAscending
            default: return order != .orderedDescending
            }
        case .before, .after:
            guard let lhs = Self.date(present), let rhs = Self.date(operand) else { return false }
            return op == .before ? lhs < rhs : lhs > rhs
        default: return false
        }
    }

    /// Numbers compare as numbers (also when one side is a numeric string, as CSV and form
    /// sources send them); strings compare case-sensitively, as Segment does.
    public static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if lhs == rhs { return true }
        if let left = numeric(lhs), let right = numeric(rhs) { return order(left, right) == .orderedSame }
        return false
    }

    public static func contains(_ value: JSONValue, _ operand: JSONValue) -> Bool {
        switch value {
        case .string(let text): return operand.stringValue.map { text.localizedCaseInsensitiveContains($0) } ?? false
        case .array(let items): return items.contains { equal($0, operand) }
        default: return false
        }
    }

    /// The value as a Double (nearest, for a large integer), numeric strings included.
    public static func number(_ value: JSONValue) -> Double? {
        numeric(value)?.numberValue
    }

    /// The value as a JSON number: numbers as they are, numeric strings read as numbers (exactly
    /// beyond 2^53, as the parser reads them).
    static func numeric(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .number, .largeInteger: return value
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let number = Double(trimmed) else { return nil }
            if abs(number) >= LargeInteger.doubleExactLimit, let large = LargeInteger(literal: trimmed) {
                return .largeInteger(large)
            }
            return .number(number)
        default: return nil
        }
    }

    /// The order of two numbers (from `numeric`), exact also beyond 2^53; nil when one is NaN.
    static func order(_ lhs: JSONValue, _ rhs: JSONValue) -> ComparisonResult? {
        guard let left = lhs.numberValue, let right = rhs.numberValue, !left.isNaN, !right.isNaN else { return nil }
        if left < right { return .orderedAscending }
        if left > right { return .orderedDescending }
        // Equal as Doubles, which round integers beyond 2^53 alike: when a large integer is in it, exactly.
        if case .number = lhs, case .number = rhs { return .orderedSame }
        guard let x = exactInteger(lhs), let y = exactInteger(rhs) else { return .orderedSame }
        return x < y ? .orderedAscending : x > y ? .orderedDescending : .orderedSame
    }

    /// An integer's exact value, when one side of a tie is a large integer (nil otherwise).
    private static func exactInteger(_ value: JSONValue) -> Decimal? {
        switch value {
        case .largeInteger(let integer): integer.value
        case .number(let number): LargeInteger.decimal(exactly: number)
        default: nil
        }
    }

    public static func date(_ value: JSONValue) -> Date? {
        switch value {
        case .string(let text): Timestamp.parse(text)
        // Epoch seconds, or milliseconds when the figure is too large for seconds.
        case .number(let number): Date(timeIntervalSince1970: number > 100_000_000_000 ? number / 1_000 : number)
        default: nil
        }
    }
}

/// One "where" filter on an event's properties: `{"property": "cart.total", "operator": "greater_than", "value": 50}`.
public struct PropertyFilter: Sendable, Hashable {
    public var property: String
    public var comparison: Comparison

    public init(property: String, comparison: Comparison) {
        self.property = property
        self.comparison = comparison
    }

    public func holds(in properties: [String: JSONValue]) -> Bool {
        comparison.holds(for: Self.lookup(property, in: properties))
    }

    /// A dotted path into properties: `items.0.sku` is not supported, `address.city` is.
    public static func lookup(_ path: String, in properties: [String: JSONValue]) -> JSONValue? {
        if let direct = properties[path] { return direct }
        var current: JSONValue? = .object(properties)
        for part in path.split(separator: ".") {
            guard case .object(let members)? = current else { return nil }
            current = members[String(part)]
        }
        return current
    }
}
