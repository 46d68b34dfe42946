import Foundation
import Hummingbird

/// Query-string parameters with the platform's 400 answers.
public enum QueryParameters {
    /// An integer parameter within `range`, or `value` when absent.
    public static func int(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws
        -> Int
    {
        guard let text = request.uri.queryParameters[Substring(name)] else { return value }
        guard let number = Int(String(text)), range.contains(number) else {
            throw APIError.badRequest("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// A cursor or id parameter: its text (Hummingbird has percent-decoded it once, which is all
    /// there is to decode); nil when absent or empty.
    public static func string(_ request: Request, _ name: String) -> String? {
        guard let text = request.uri.queryParameters[Substring(name)], !text.isEmpty else { return nil }
        return String(text)
    }
}
