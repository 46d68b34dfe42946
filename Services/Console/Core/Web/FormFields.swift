import Foundation

/// An `application/x-www-form-urlencoded` body: every value of every field, in order.
public struct FormFields: Sendable {
    public private(set) var values: [String: [String]] = [:]

    public init(_ pairs: [(String, String)] = []) {
        for (name, value) in pairs { values[name, default: []].append(value) }
    }

    public init(urlEncoded body: String) {
        var pairs: [(String, String)] = []
        for part in body.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(halves[0]), halves.count > 1 ? Self.decode(halves[1]) : ""))
        }
        self.init(pairs)
    }

    static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
    }

    /// The field's first value, trimmed; nil when absent or blank.
    public subscript(_ name: String) -> String? {
        guard let value = values[name]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty
        else { return nil }
        return value
    }

    /// The field's first value exactly as sent (bodies, HTML), or "".
    public func raw(_ name: String) -> String { values[name]?.first ?? "" }

    public func all(_ name: String) -> [String] { values[name] ?? [] }

    public func int(_ name: String) -> Int? { self[name].flatMap { Int($0) } }

    public func isChecked(_ name: String) -> Bool { values[name]?.contains { $0 == "on" || $0 == "true" } ?? false }
}
