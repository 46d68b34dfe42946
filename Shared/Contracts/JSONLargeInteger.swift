import Foundation

/// An integer a Double would round: magnitude beyond 2^53 (order ids, 64-bit ids, big amounts),
/// kept exactly up to 38 digits, what `Decimal` holds. Smaller numbers stay `JSONValue.number`,
/// so this is only ever built on the rare path, and each value has one form.
public struct LargeInteger: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 2^53: every integer up to it is exact as a Double.
    public static let doubleExactLimit: Double = 9_007_199_254_740_992
    static let lowerBound = Decimal(9_007_199_254_740_992 as Int64)
    static let upperBound = Decimal(sign: .plus, exponent: 38, significand: 1)
    /// Decimal keeps 38 significant digits: a literal with more would be rounded, not kept.
    static let maxDigits = 38

    public let value: Decimal

    /// nil unless `value` is an integer with 2^53 < |value| < 10^38.
    public init?(_ value: Decimal) {
        guard value.isFinite, value.magnitude > Self.lowerBound, value.magnitude < Self.upperBound else { return nil }
        var rounded = Decimal()
        var copy = value
        NSDecimalRound(&rounded, &copy, 0, .plain)
        guard rounded == value else { return nil }
        self.value = value
    }

    /// A JSON number literal (`-12345678901234567890`, `1.5e20`) whose value is such an integer;
    /// nil otherwise, also when it has more significant digits than Decimal keeps.
    public init?(literal: some StringProtocol) {
        var digits = 0
        var leading = true
        var trailingZeros = 0
        for byte in literal.utf8 {
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { break }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { continue }
            if leading && byte == UInt8(ascii: "0") { continue }
            leading = false
            digits += 1
            trailingZeros = byte == UInt8(ascii: "0") ? trailingZeros + 1 : 0
        }
        guard digits - trailingZeros <= Self.maxDigits, let decimal = Decimal(string: String(literal), locale: nil)
        else { return nil }
        self.init(decimal)
    }

    /// The same integer held by a Double (a computed value, say), if it is in range.
    public init?(exactly double: Double) {
        guard abs(double) > Self.doubleExactLimit, let decimal = Self.decimal(exactly: double) else { return nil }
        self.init(decimal)
    }

    /// An integral Double's exact value (its shortest description rounds beyond 2^53).
    static func decimal(exactly double: Double) -> Decimal? {
        guard double.isFinite, double.rounded() == double else { return nil }
        if abs(double) < 9.2e18 { return Decimal(Int64(double)) }
        return Decimal(string: String(format: "%.0f", double), locale: nil)
    }

    /// The nearest Double, for arithmetic and ordering against other numbers.
    public var doubleValue: Double { Double(description) ?? .nan }

    /// The decimal digits, e.g. `9007199254740993`.
    public var description: String { value.description }

    public static func < (lhs: LargeInteger, rhs: LargeInteger) -> Bool { lhs.value < rhs.value }
}
