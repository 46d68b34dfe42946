import Contracts
import Foundation

/// How values from the APIs are shown to a person: times in UTC without fractions, JSON values as
/// compact JSON (strings as themselves).
enum DisplayText {
    /// "2026-12-06 07:18:28 UTC" from an ISO-8601 string; anything else as it came.
    static func time(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        guard let date = Timestamp.parse(text) else { return text }
        return formatter.string(from: date) + " UTC"
    }

    /// "2026-03-01 09:30 UTC" (to the minute, for lists and schedules), or "–" when there is no time.
    static func minute(_ iso: String?) -> String {
        guard let date = parse(iso) else { return "–" }
        return minute(date)
    }

    static func minute(_ date: Date) -> String {
        minuteFormatter.string(from: date) + " UTC"
    }

    static func parse(_ iso: String?) -> Date? {
        iso.flatMap(Timestamp.parse)
    }

    /// ISO-8601 to the second, for the APIs.
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    private static let formatter = utcFormatter("yyyy-MM-dd HH:mm:ss")
    private static let minuteFormatter = utcFormatter("yyyy-MM-dd HH:mm")

    private static func utcFormatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// A JSON value as text: a string as itself, null as "", anything else as compact JSON.
    static func value(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return ""
        case let text as String: return text
        default: return json(value!)
        }
    }

    /// Compact JSON with sorted keys.
    static func json(_ value: Any) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        else { return String(describing: value) }
        return String(decoding: data, as: UTF8.self)
    }

    /// Indented JSON for a details block.
    static func prettyJSON(_ value: Any) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: value,
                options: [.fragmentsAllowed, .sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        else { return String(describing: value) }
        return String(decoding: data, as: UTF8.self)
    }

    /// A number from a JSON answer (JSONSerialization gives NSNumber, Int or Double).
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let number as Int: return number
        case let number as Double: return Int(number)
        case let number as NSNumber: return number.intValue
        case let text as String: return Int(text)
        default: return nil
        }
    }

    /// A query string, percent-encoded the way URLComponents does (with "+" kept literal).
    static func query(_ items: [(String, String)]) -> String {
        var components = URLComponents()
        components.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        return (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }
}
