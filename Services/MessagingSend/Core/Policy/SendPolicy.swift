import Contracts
import Foundation

/// A space's limits on marketing messages, enforced where every send passes: at most
/// `frequencyCap.messages` per profile in any rolling `frequencyCap.windowSeconds`, across all
/// journeys, broadcasts and API sends; and none during quiet hours in the profile's time zone
/// (delayed to the end of the quiet hours, not dropped). Transactional and test sends are exempt.
public struct SendPolicy: Codable, Sendable, Hashable {
    public struct FrequencyCap: Codable, Sendable, Hashable {
        public var messages: Int
        public var windowSeconds: Int
    }

    public struct QuietHours: Codable, Sendable, Hashable {
        /// `HH:MM`, local time. When start is after end the quiet hours span midnight (21:00-08:00).
        public var start: String
        public var end: String
        /// The trait holding the profile's IANA time zone (`Europe/Paris`).
        public var timeZoneTrait: String
        /// For profiles without a (valid) time zone trait.
        public var defaultTimeZone: String
    }

    public var frequencyCap: FrequencyCap?
    public var quietHours: QuietHours?

    public init(frequencyCap: FrequencyCap? = nil, quietHours: QuietHours? = nil) {
        self.frequencyCap = frequencyCap
        self.quietHours = quietHours
    }

    /// Every problem of a policy as sent to the API.
    public func problems() -> [String] {
        var problems: [String] = []
        if let cap = frequencyCap {
            if cap.messages < 1 || cap.messages > 10_000 {
                problems.append("frequencyCap.messages must be between 1 and 10000")
            }
            if cap.windowSeconds < 1 || cap.windowSeconds > 90 * 86_400 {
                problems.append("frequencyCap.windowSeconds must be between 1 and 7776000 (90 days)")
            }
        }
        if let quiet = quietHours {
            if WallClockTime.minutes(quiet.start) == nil {
                problems.append("quietHours.start must be HH:MM (00:00-23:59)")
            }
            if WallClockTime.minutes(quiet.end) == nil { problems.append("quietHours.end must be HH:MM (00:00-23:59)") }
            if quiet.start == quiet.end { problems.append("quietHours.start and end must differ") }
            if TimeZone(identifier: quiet.defaultTimeZone) == nil {
                problems.append("quietHours.defaultTimeZone \"\(quiet.defaultTimeZone)\" is not an IANA time zone")
            }
            if quiet.timeZoneTrait.isEmpty { problems.append("quietHours.timeZoneTrait must not be empty") }
        }
        return problems
    }
}

extension SendPolicy.QuietHours {
    /// The profile's time zone: its trait when that names a real zone, else the default.
    func timeZone(traits: [String: JSONValue]) -> TimeZone {
        WallClockTime.timeZone(traits: traits, trait: timeZoneTrait, fallback: defaultTimeZone)
    }

    /// How long until the quiet hours end, when `now` falls inside them in `zone`; nil otherwise.
    public func remaining(at now: Date, in zone: TimeZone) -> TimeInterval? {
        guard let start = WallClockTime.minutes(start), let end = WallClockTime.minutes(end) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.hour, .minute], from: now)
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let quiet = start < end ? (minute >= start && minute < end) : (minute >= start || minute < end)
        guard quiet else { return nil }
        // The next local `end` wall-clock time (today or tomorrow), found through the calendar so
        // daylight-saving changes are honoured.
        let endParts = DateComponents(hour: end / 60, minute: end % 60, second: 0)
        guard let next = calendar.nextDate(after: now, matching: endParts, matchingPolicy: .nextTime) else {
            return nil
        }
        return next.timeIntervalSince(now)
    }
}
