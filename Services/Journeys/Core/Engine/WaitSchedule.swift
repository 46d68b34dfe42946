import Contracts
import Foundation

/// When a wait step lets a profile go on.
enum WaitSchedule {
    /// The moment a `wait_until` step ends for a profile that entered it at `enteredAt`; nil when
    /// it ends at once (a trait date that is missing or not a date).
    static func due(_ wait: WaitUntil, enteredAt: Date, traits: [String: JSONValue]) -> Date? {
        switch wait {
        case .traitDate(let trait, let offset):
            guard let value = PropertyFilter.lookup(trait, in: traits), let date = Comparison.date(value) else {
                return nil
            }
            return date.addingTimeInterval(offset)
        case .timeOfDay(let minutes, let weekdays, let trait, let fallback):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = WallClockTime.timeZone(traits: traits, trait: trait, fallback: fallback)
            var from = enteredAt
            // The next matching wall-clock time on an allowed weekday: at most a week of days away.
            for _ in 0..<8 {
                guard
                    let next = calendar.nextDate(
                        after: from, matching: DateComponents(hour: minutes / 60, minute: minutes % 60, second: 0),
                        matchingPolicy: .nextTime)
                else { return nil }
                if weekdays.isEmpty || weekdays.contains(calendar.component(.weekday, from: next)) { return next }
                from = next
            }
            return nil
        }
    }
}
