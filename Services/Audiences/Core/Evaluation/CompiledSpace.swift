import Contracts
import Foundation

/// An audience as evaluation sees it: the live version decides membership; a newer version that is
/// still being built only gathers state until it goes live.
public struct AudienceSpec: Sendable, Hashable {
    public var id: String
    public var key: String
    public var name: String
    public var liveVersion: Int?
    public var live: Condition?
    public var buildingVersion: Int?
    public var building: Condition?

    public init(
        id: String, key: String, name: String, liveVersion: Int?, live: Condition?, buildingVersion: Int?,
        building: Condition?
    ) {
        self.id = id
        self.key = key
        self.name = name
        self.liveVersion = liveVersion
        self.live = live
        self.buildingVersion = buildingVersion
        self.building = building
    }

    static func stateKey(audienceId: String, version: Int, path: String) -> String {
        "a:\(audienceId):\(version):\(path)"
    }
}

public struct TraitSpec: Sendable, Hashable {
    public var id: String
    public var key: String
    public var liveVersion: Int?
    public var live: ComputedTraitDefinition?
    public var buildingVersion: Int?
    public var building: ComputedTraitDefinition?

    public init(
        id: String, key: String, liveVersion: Int?, live: ComputedTraitDefinition?, buildingVersion: Int?,
        building: ComputedTraitDefinition?
    ) {
        self.id = id
        self.key = key
        self.liveVersion = liveVersion
        self.live = live
        self.buildingVersion = buildingVersion
        self.building = building
    }

    static func stateKey(traitId: String, version: Int) -> String { "t:\(traitId):\(version)" }
    var liveStateKey: String? { liveVersion.map { Self.stateKey(traitId: id, version: $0) } }
}

/// A space's definitions, indexed for the hot path: which state an event feeds, and which
/// audiences an event, a trait or a subscription change can affect (with everything that depends
/// on those audiences, in evaluation order).
public struct CompiledSpace: Sendable {
    /// Live audiences first in dependency order (an audience after the audiences it refers to).
    public let audiences: [AudienceSpec]
    public let traits: [TraitSpec]
    let audienceIdByKey: [String: String]
    let eventConditions: [String: [(key: String, condition: EventCondition)]]
    let traitFeeds: [String: [(key: String, definition: ComputedTraitDefinition)]]
    let affectedByEvent: [String: Set<String>]
    let affectedByTrait: [String: Set<String>]
    let affectedByComputed: [String: Set<String>]
    let affectedBySubscriptions: Set<String>
    /// Audiences whose membership can change with time alone.
    let affectedByTime: Set<String>
    public let liveAudienceIds: Set<String>
    /// The state keys that still matter (live and building versions); others belong to old
    /// versions or deleted definitions and are dropped from a profile's state when it is written.
    let stateKeys: Set<String>
    let dependents: [String: Set<String>]
    public var usesSubscriptions: Bool { !affectedBySubscriptions.isEmpty }

    public init(audiences: [AudienceSpec], traits: [TraitSpec]) {
        self.traits = traits
        let ordered = Self.dependencyOrder(audiences)
        self.audiences = ordered
        audienceIdByKey = Dictionary(audiences.map { ($0.key, $0.id) }, uniquingKeysWith: { first, _ in first })
        var conditions: [String: [(key: String, condition: EventCondition)]] = [:]
        var feeds: [String: [(key: String, definition: ComputedTraitDefinition)]] = [:]
        var byEvent: [String: Set<String>] = [:]
        var byTrait: [String: Set<String>] = [:]
        var byComputed: [String: Set<String>] = [:]
        var bySubscriptions: Set<String> = []
        var byTime: Set<String> = []
        var dependents: [String: Set<String>] = [:]
        var live: Set<String> = []
        var computedEvents: [String: String] = [:]
        for trait in traits {
            for (version, definition) in [(trait.liveVersion, trait.live), (trait.buildingVersion, trait.building)] {
                guard let version, let definition else { continue }
                feeds[definition.event, default: []].append(
                    (TraitSpec.stateKey(traitId: trait.id, version: version), definition))
            }
            if let definition = trait.live { computedEvents[trait.key] = definition.event }
        }
        for audience in ordered {
            for (version, condition) in [
                (audience.liveVersion, audience.live), (audience.buildingVersion, audience.building),
            ] {
                guard let version, let condition else { continue }
                for event in condition.eventConditions {
                    conditions[event.name, default: []].append(
                        (AudienceSpec.stateKey(audienceId: audience.id, version: version, path: event.path), event))
                }
            }
            guard let condition = audience.live else { continue }
            live.insert(audience.id)
            for event in condition.eventConditions {
                byEvent[event.name, default: []].insert(audience.id)
                if case .within? = event.window { byTime.insert(audience.id) }
            }
            for key in condition.traitKeys { byTrait[key, default: []].insert(audience.id) }
            for key in condition.computedTraitKeys {
                byComputed[key, default: []].insert(audience.id)
                if let event = computedEvents[key] { byEvent[event, default: []].insert(audience.id) }
                if case .within? = traits.first(where: { $0.key == key })?.live?.window { byTime.insert(audience.id) }
            }
            if condition.usesSubscriptions { bySubscriptions.insert(audience.id) }
            for key in condition.audienceKeys {
                if let dependency = audienceIdByKey[key] { dependents[dependency, default: []].insert(audience.id) }
            }
        }
        func closure(_ ids: Set<String>) -> Set<String> {
            var result = ids
            var queue = Array(ids)
            while let next = queue.popLast() {
                for dependent in dependents[next] ?? [] where result.insert(dependent).inserted {
                    queue.append(dependent)
                }
            }
            return result
        }
        self.dependents = dependents
        eventConditions = conditions
        traitFeeds = feeds
        stateKeys = Set(conditions.values.flatMap { $0.map(\.key) } + feeds.values.flatMap { $0.map(\.key) })
        affectedByEvent = byEvent.mapValues(closure)
        affectedByTrait = byTrait.mapValues(closure)
        affectedByComputed = byComputed.mapValues(closure)
        affectedBySubscriptions = closure(bySubscriptions)
        affectedByTime = closure(byTime)
        liveAudienceIds = live
    }

    /// The audiences and everything that refers to them, directly or through others.
    func withDependents(_ ids: Set<String>) -> Set<String> {
        var result = ids
        var queue = Array(ids)
        while let next = queue.popLast() {
            for dependent in dependents[next] ?? [] where result.insert(dependent).inserted { queue.append(dependent) }
        }
        return result
    }

    /// Kahn's order over "refers to": an audience comes after the ones its live condition names.
    /// Saving refuses cycles; should one exist anyway (versions saved in between), its members
    /// are evaluated in key order rather than not at all.
    static func dependencyOrder(_ audiences: [AudienceSpec]) -> [AudienceSpec] {
        let byKey = Dictionary(audiences.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var remaining = audiences.sorted { $0.key < $1.key }
        var placed: Set<String> = []
        var result: [AudienceSpec] = []
        while !remaining.isEmpty {
            let ready = remaining.filter { audience in
                (audience.live?.audienceKeys ?? []).allSatisfy {
                    placed.contains($0) || byKey[$0] == nil || $0 == audience.key
                }
            }
            let next = ready.isEmpty ? [remaining[0]] : ready
            for audience in next { placed.insert(audience.key) }
            result.append(contentsOf: next)
            let taken = Set(next.map(\.id))
            remaining.removeAll { taken.contains($0.id) }
        }
        return result
    }
}
