import Contracts
import Foundation

/// One published version of a journey: how profiles enter, when they may enter again, what makes
/// them leave, and the step graph they walk. Immutable once published.
public struct JourneyDefinition: Sendable, Hashable {
    public var entry: Entry
    public var reentry: Reentry
    public var exitRules: [ExitRule]
    public var start: String
    /// In the order the definition lists them.
    public var steps: [Step]
    public var stepsById: [String: Step]

    public init(entry: Entry, reentry: Reentry, exitRules: [ExitRule], start: String, steps: [Step]) {
        self.entry = entry
        self.reentry = reentry
        self.exitRules = exitRules
        self.start = start
        self.steps = steps
        self.stepsById = Dictionary(steps.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public enum Entry: Sendable, Hashable {
        /// Entering the audience; with `includeExistingMembers`, everyone already in it at publication too.
        case audience(id: String, includeExistingMembers: Bool)
        case event(EventMatch)
    }

    public enum Reentry: Sendable, Hashable {
        /// One pass per profile, ever.
        case once
        /// Again after the previous pass ended, no sooner than `minimumGapSeconds` after that exit.
        case afterExit(minimumGapSeconds: Double)
        /// Event-triggered journeys: a separate pass per triggering event, even while others run.
        case everyEvent
    }

    public enum ExitRule: Sendable, Hashable {
        case event(EventMatch)
        /// The profile left the entry audience.
        case leftAudience
    }

    /// Whether the journey reads events performed since entry (then those events are kept).
    public var usesEventHistory: Bool { steps.contains { $0.kind.conditions.contains { $0.usesEventHistory } } }
    public var waitsForEvents: Bool { steps.contains { if case .waitForEvent = $0.kind { true } else { false } } }
}

/// An event name plus "where" filters on its properties.
public struct EventMatch: Sendable, Hashable {
    public var event: String
    public var filters: [PropertyFilter]

    public init(event: String, filters: [PropertyFilter] = []) {
        self.event = event
        self.filters = filters
    }

    public func matches(event name: String, properties: [String: JSONValue]) -> Bool {
        name == event && filters.allSatisfy { $0.holds(in: properties) }
    }
}

public struct Step: Sendable, Hashable {
    public var id: String
    public var name: String
    public var kind: Kind

    public enum Kind: Sendable, Hashable {
        case wait(seconds: Double, next: String?)
        case waitUntil(WaitUntil, next: String?)
        /// Each branch is an awaited event; whichever comes first wins, else the timeout branch.
        case waitForEvent(branches: [EventBranch], timeoutSeconds: Double, timeoutNext: String?)
        case split(SplitCondition, trueNext: String?, falseNext: String?)
        /// `all`: the profile follows every matching branch at once (parallel paths).
        case multiSplit(all: Bool, branches: [ConditionBranch], otherwiseNext: String?)
        case randomSplit([RandomBranch])
        case send(SendAction, next: String?)
        case destination(DestinationAction, next: String?)
        case setTraits([String: JSONValue], next: String?)
        case exit
    }

    /// Every step a branch of this step can lead to (nil: the path ends there).
    public var successors: [(branch: String, next: String?)] {
        switch kind {
        case .wait(_, let next), .waitUntil(_, let next), .send(_, let next), .destination(_, let next),
            .setTraits(_, let next):
            return [("next", next)]
        case .waitForEvent(let branches, _, let timeoutNext):
            return branches.map { ($0.name, $0.next) } + [("timeout", timeoutNext)]
        case .split(_, let trueNext, let falseNext): return [("true", trueNext), ("false", falseNext)]
        case .multiSplit(_, let branches, let otherwise):
            return branches.map { ($0.name, $0.next) } + [("otherwise", otherwise)]
        case .randomSplit(let branches): return branches.map { ($0.name, $0.holdout ? nil : $0.next) }
        case .exit: return []
        }
    }

    public var typeName: String {
        switch kind {
        case .wait: "wait"
        case .waitUntil: "wait_until"
        case .waitForEvent: "wait_for_event"
        case .split: "split"
        case .multiSplit: "multi_split"
        case .randomSplit: "random_split"
        case .send: "send"
        case .destination: "destination"
        case .setTraits: "set_traits"
        case .exit: "exit"
        }
    }
}

extension Step.Kind {
    var conditions: [SplitCondition] {
        switch self {
        case .split(let condition, _, _): [condition]
        case .multiSplit(_, let branches, _): branches.map(\.condition)
        default: []
        }
    }
}

public struct EventBranch: Sendable, Hashable {
    public var name: String
    public var match: EventMatch
    public var next: String?
}

public struct ConditionBranch: Sendable, Hashable {
    public var name: String
    public var condition: SplitCondition
    public var next: String?
}

public struct RandomBranch: Sendable, Hashable {
    public var name: String
    public var percent: Double
    /// Receives nothing (the path ends at the split) but is counted, to measure the journey's lift.
    public var holdout: Bool
    public var next: String?
}

public struct SendAction: Sendable, Hashable {
    public var channel: SubscriptionChannel
    public var templateId: String
    /// nil: the template's current version when the message is sent.
    public var templateVersion: Int?
    public var purpose: MessagePurpose
    public var group: String?
    public var goal: ConversionGoal?
}

/// The send converts when its recipient performs `match` within `windowSeconds` of the message
/// reaching the provider.
public struct ConversionGoal: Sendable, Hashable {
    public var match: EventMatch
    public var windowSeconds: Double
}

public enum DestinationAction: Sendable, Hashable {
    /// A record with the journey context on this Kafka topic, keyed by profile id.
    case topic(String)
}

public enum WaitUntil: Sendable, Hashable {
    /// The next `time` (minutes after midnight) on one of `weekdays` (1 = Sunday ... 7 = Saturday;
    /// empty: any day) in the profile's time zone (`timeZoneTrait`, else `defaultTimeZone`).
    case timeOfDay(minutes: Int, weekdays: Set<Int>, timeZoneTrait: String, defaultTimeZone: String)
    /// The date held in a trait, shifted by `offsetSeconds` (negative: before it). A profile whose
    /// trait is missing or not a date moves on at once.
    case traitDate(trait: String, offsetSeconds: Double)
}

/// The condition of a true/false or multi-branch split.
public indirect enum SplitCondition: Sendable, Hashable {
    case all([SplitCondition])
    case any([SplitCondition])
    case not(SplitCondition)
    case trait(String, Comparison)
    case audience(id: String)
    /// The profile performed the event (with filters) since it entered the journey.
    case performed(EventMatch)

    var usesEventHistory: Bool {
        switch self {
        case .all(let items), .any(let items): items.contains { $0.usesEventHistory }
        case .not(let item): item.usesEventHistory
        case .performed: true
        case .trait, .audience: false
        }
    }

    var audienceIds: Set<String> {
        switch self {
        case .all(let items), .any(let items): items.reduce(into: Set<String>()) { $0.formUnion($1.audienceIds) }
        case .not(let item): item.audienceIds
        case .audience(let id): [id]
        case .trait, .performed: []
        }
    }
}
