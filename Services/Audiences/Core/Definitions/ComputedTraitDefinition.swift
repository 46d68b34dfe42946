import Contracts
import Foundation

/// A per-profile value computed from events: a counter, an aggregation of a numeric property, the
/// most frequent value of a property, or its first or last value.
public struct ComputedTraitDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case eventCounter = "event_counter"
        case aggregation
        case mostFrequent = "most_frequent"
        case first
        case last
    }

    public enum Aggregation: String, Sendable { case sum, min, max, average }

    public var kind: Kind
    public var event: String
    public var filters: [PropertyFilter]
    public var property: String?
    public var aggregation: Aggregation?
    public var window: Window?

    /// The most entries a profile's state keeps for one computed trait: beyond it, the oldest
    /// entries in the window are dropped (counters and aggregations then cover the newest ones).
    public static let maxEntries = 2_000

    func matches(name: String, properties: [String: JSONValue], at time: Date) -> Bool {
        EventCondition(name: event, filters: filters, count: .atLeast(1), window: window, path: "").matches(
            name: name, properties: properties, at: time)
    }

    /// What an event contributes: the property's value (nil for counters; events without the
    /// property contribute nothing to the others).
    func entryValue(properties: [String: JSONValue]) -> JSONValue?? {
        guard let property else { return .some(nil) }
        guard let value = PropertyFilter.lookup(property, in: properties), value != .null else { return nil }
        if kind == .aggregation {
            guard let number = Comparison.number(value) else { return nil }
            return .some(.number(number))
        }
        return .some(value)
    }

    /// The value from the entries in the window at `now`; nil when there is none.
    func value(of entries: [StateEntry], now: Date) -> JSONValue? {
        let live = entries.filter { entry in
            if case .within(let seconds)? = window { return entry.time >= now.timeIntervalSince1970 - seconds }
            return true
        }
        switch kind {
        case .eventCounter: return .number(Double(live.count))
        case .aggregation:
            let numbers = live.compactMap { $0.value.flatMap(Comparison.number) }
            guard !numbers.isEmpty else { return aggregation == .sum ? .number(0) : nil }
            switch aggregation ?? .sum {
            case .sum: return .number(numbers.reduce(0, +))
            case .min: return .number(numbers.min()!)
            case .max: return .number(numbers.max()!)
            case .average: return .number(numbers.reduce(0, +) / Double(numbers.count))
            }
        case .mostFrequent:
            var counts: [JSONValue: (count: Int, latest: Double)] = [:]
            for entry in live {
                guard let value = entry.value else { continue }
                let current = counts[value] ?? (0, 0)
                counts[value] = (current.count + 1, max(current.latest, entry.time))
            }
            // Ties go to the value seen most recently.
            return counts.max { ($0.value.count, $0.value.latest) < ($1.value.count, $1.value.latest) }?.key
        case .first: return live.min { ($0.time, $0.id) < ($1.time, $1.id) }?.value
        case .last: return live.max { ($0.time, $0.id) < ($1.time, $1.id) }?.value
        }
    }

    /// Which entries are worth keeping: first and last need one; the others the window's newest.
    func trim(_ entries: inout [StateEntry], now: Date) {
        if case .within(let seconds)? = window {
            let horizon = now.timeIntervalSince1970 - seconds
            entries.removeAll { $0.time < horizon }
        }
        entries.sort { ($0.time, $0.id) < ($1.time, $1.id) }
        switch kind {
        case .first: if entries.count > 1 { entries = [entries[0]] }
        case .last: if entries.count > 1 { entries = [entries[entries.count - 1]] }
        default: if entries.count > Self.maxEntries { entries.removeFirst(entries.count - Self.maxEntries) }
        }
    }
}
