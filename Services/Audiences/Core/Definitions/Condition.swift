import Contracts
import Foundation

/// An audience's condition tree. Leaves look at one profile's events, traits, computed traits,
/// memberships and subscription states; `and` / `or` / `not` combine them to any depth.
public indirect enum Condition: Sendable, Hashable {
    case and([Condition])
    case or([Condition])
    case not(Condition)
    case event(EventCondition)
    /// A custom trait of the profile.
    case trait(key: String, Comparison)
    /// A computed trait's current value, by the computed trait's key.
    case computedTrait(key: String, Comparison)
    /// Membership of another audience, by its key.
    case audience(key: String)
    case subscription(SubscriptionCondition)
}

/// "Performed event": events named `name` whose properties pass every filter, counted within a window.
public struct EventCondition: Sendable, Hashable {
    public var name: String
    public var filters: [PropertyFilter]
    public var count: CountComparison
    public var window: Window?
    /// Where the condition sits in its tree ("0.2.1"): with the audience and version, the key of its
    /// per-profile state.
    public var path: String

    /// How many of the most recent matching events decide the count: the state keeps no more.
    public var hitsNeeded: Int {
        switch count {
        case .atLeast(let n): max(n, 1)
        case .atMost(let n), .exactly(let n): n + 1
        }
    }

    public func matches(name eventName: String, properties: [String: JSONValue], at time: Date) -> Bool {
        guard eventName == name else { return false }
        if case .between(let from, let to)? = window, time < from || time > to { return false }
        return filters.allSatisfy { $0.holds(in: properties) }
    }
}

public enum CountComparison: Sendable, Hashable {
    case atLeast(Int)
    case atMost(Int)
    case exactly(Int)

    func holds(_ count: Int) -> Bool {
        switch self {
        case .atLeast(let n): count >= n
        case .atMost(let n): count <= n
        case .exactly(let n): count == n
        }
    }
}

public enum Window: Sendable, Hashable {
    /// Within the last N seconds, relative to the moment of evaluation: slides with time.
    case within(seconds: Double)
    /// Events whose timestamp falls between two dates (inclusive).
    case between(from: Date, to: Date)
}

public struct SubscriptionCondition: Sendable, Hashable {
    public var channel: SubscriptionChannel
    /// An email subscription group's name (case-insensitive); nil for the channel's global state.
    public var group: String?
    /// nil means "no status".
    public var status: SubscriptionStatus?
}

extension Condition {
    /// Every audience key this condition refers to (for cycle checks and evaluation order).
    public var audienceKeys: Set<String> {
        switch self {
        case .and(let children), .or(let children): children.reduce(into: []) { $0.formUnion($1.audienceKeys) }
        case .not(let child): child.audienceKeys
        case .audience(let key): [key]
        default: []
        }
    }

    public var eventConditions: [EventCondition] {
        switch self {
        case .and(let children), .or(let children): children.flatMap(\.eventConditions)
        case .not(let child): child.eventConditions
        case .event(let condition): [condition]
        default: []
        }
    }

    public var traitKeys: Set<String> {
        switch self {
        case .and(let children), .or(let children): children.reduce(into: []) { $0.formUnion($1.traitKeys) }
        case .not(let child): child.traitKeys
        case .trait(let key, _): [key]
        default: []
        }
    }

    public var computedTraitKeys: Set<String> {
        switch self {
        case .and(let children), .or(let children): children.reduce(into: []) { $0.formUnion($1.computedTraitKeys) }
        case .not(let child): child.computedTraitKeys
        case .computedTrait(let key, _): [key]
        default: []
        }
    }

    public var usesSubscriptions: Bool {
        switch self {
        case .and(let children), .or(let children): children.contains(where: \.usesSubscriptions)
        case .not(let child): child.usesSubscriptions
        case .subscription: true
        default: false
        }
    }
}
