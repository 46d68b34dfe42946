import Foundation

/// `HH:MM` wall-clock times, as quiet hours and "wait until 09:00" steps write them.
public enum WallClockTime {
    /// Minutes after midnight, or nil when `text` is not `HH:MM` within 00:00-23:59.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]),
            let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }
}

extension WallClockTime {
    /// A profile's time zone: the IANA name in its `trait` when that names a real zone, else
    /// `fallback` (else UTC).
    public static func timeZone(traits: [String: JSONValue], trait: String, fallback: String) -> TimeZone {
        if case .string(let name)? = traits[trait], let zone = TimeZone(identifier: name) { return zone }
        return TimeZone(identifier: fallback) ?? .gmt
    }
}
