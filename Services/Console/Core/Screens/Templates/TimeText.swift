import Foundation

/// Times from the APIs (ISO-8601) as the templates, broadcasts and analytics pages show them:
/// to the minute, in UTC, and said so.
enum TimeText {
    static func parse(_ iso: String?) -> Date? {
        guard let iso else { return nil }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: iso) ?? ISO8601DateFormatter().date(from: iso)
    }

    /// "2026-03-01 09:30 UTC", or "–" when there is no time.
    static func short(_ iso: String?) -> String {
        guard let date = parse(iso) else { return "–" }
        return short(date)
    }

    static func short(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date) + " UTC"
    }

    /// ISO-8601 for the APIs.
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
