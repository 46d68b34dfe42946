import Contracts
import Foundation

/// A tracked event as the conditions see it.
public struct EventInput: Sendable {
    public var id: String
    public var name: String
    public var properties: [String: JSONValue]
    public var time: Date

    public init(id: String, name: String, properties: [String: JSONValue], time: Date) {
        self.id = id
        self.name = name
        self.properties = properties
        self.time = time
    }
}

/// A subscription state key of a profile's contact: channel, contact, lower-case group or "".
public struct ContactStateKey: Hashable, Sendable {
    public var channel: SubscriptionChannel
    public var contact: String
    public var group: String

    public init(channel: SubscriptionChannel, contact: String, group: String) {
        self.channel = channel
        self.contact = contact
        self.group = group
    }
}

/// A membership that changed in one evaluation.
public struct MembershipChange: Sendable, Equatable {
    public var audience: AudienceSpec
    public var entered: Bool
}

/// The pure core of the service: folds events into a profile's state, computes computed traits,
/// evaluates audiences and says when time alone could next change something. No I/O.
public struct Evaluator: Sendable {
    public let space: CompiledSpace

    public init(space: CompiledSpace) { self.space = space }

    /// Feeds an event to every event condition and computed trait (live or being built) it matches.
    /// Adding an event twice changes nothing.
    public func apply(_ event: EventInput, to state: inout ProfileState, now: Date) {
        for (key, condition) in space.eventConditions[event.name] ?? []
        where condition.matches(name: event.name, properties: event.properties, at: event.time) {
            state.add([StateEntry(time: event.time.timeIntervalSince1970, id: event.id)], to: key) {
                Self.trim(&$0, for: condition, now: now)
            }
        }
        for (key, definition) in space.traitFeeds[event.name] ?? []
        where definition.matches(name: event.name, properties: event.properties, at: event.time) {
            guard case .some(let value) = definition.entryValue(properties: event.properties) else { continue }
            state.add([StateEntry(time: event.time.timeIntervalSince1970, id: event.id, value: value)], to: key) {
                definition.trim(&$0, now: now)
            }
        }
    }

    /// The newest `hitsNeeded` matching events decide a count; older ones can go.
    static func trim(_ entries: inout [StateEntry], for condition: EventCondition, now: Date) {
        entries.sort { ($0.time, $0.id) < ($1.time, $1.id) }
        if case .within(let seconds)? = condition.window {
            let horizon = now.timeIntervalSince1970 - seconds
            entries.removeAll { $0.time < horizon }
        }
        if entries.count > condition.hitsNeeded { entries.removeFirst(entries.count - condition.hitsNeeded) }
    }

    /// Recomputes the live computed traits; returns the keys whose value changed (nil: no value now).
    public func refreshComputed(_ state: inout ProfileState, now: Date) -> [String: JSONValue?] {
        var changed: [String: JSONValue?] = [:]
        // Values of deleted computed traits leave the profile's state (and its membership events).
        let liveKeys = Set(space.traits.filter { $0.live != nil }.map(\.key))
        for key in state.computed.keys where !liveKeys.contains(key) { state.computed.removeValue(forKey: key) }
        for trait in space.traits {
            guard let definition = trait.live, let key = trait.liveStateKey else { continue }
            let value = definition.value(of: state.entries[key] ?? [], now: now)
            // A counter with no events is 0 in Segment's builder, but nothing has been computed for
            // a profile that never sent the event: keep the trait absent until it has a value.
            var effective = value
            if definition.kind == .eventCounter && value == .number(0) && state.computed[trait.key] == nil {
                effective = Optional.none
            }
            if state.computed[trait.key] != effective {
                if let effective {
                    state.computed[trait.key] = effective
                } else {
                    state.computed.removeValue(forKey: trait.key)
                }
                changed[trait.key] = .some(effective)
            }
        }
        return changed
    }

    /// The audiences an input can affect, in evaluation order.
    public func affected(events: [String], traits: [String], computed: [String], subscriptions: Bool, time: Bool)
        -> Set<String>
    {
        var ids: Set<String> = []
        for name in events { ids.formUnion(space.affectedByEvent[name] ?? []) }
        for key in traits {
            ids.formUnion(space.affectedByTrait[key] ?? [])
            // A condition on `address.city` is affected by a change of `address`.
            if let dot = key.firstIndex(of: ".") { ids.formUnion(space.affectedByTrait[String(key[..<dot])] ?? []) }
        }
        for (traitKey, audiences) in space.affectedByTrait
        where traits.contains(where: { traitKey.hasPrefix($0 + ".") }) { ids.formUnion(audiences) }
        for key in computed { ids.formUnion(space.affectedByComputed[key] ?? []) }
        if subscriptions { ids.formUnion(space.affectedBySubscriptions) }
        if time { ids.formUnion(space.affectedByTime) }
        return ids
    }

    /// Evaluates the given live audiences (nil: all) for the profile in dependency order, updates
    /// its memberships and returns what changed. Audiences it belongs to that no longer exist
    /// (deleted) are left alone here.
    public func evaluate(
        _ state: inout ProfileState, audiences selection: Set<String>?, now: Date,
        statuses: [ContactStateKey: SubscriptionStatus]
    ) -> [MembershipChange] {
        var changes: [MembershipChange] = []
        for audience in space.audiences {
            guard let condition = audience.live, let version = audience.liveVersion,
                selection?.contains(audience.id) ?? true
            else { continue }
            let holds = self.holds(
                condition, audience: audience, version: version, state: state, now: now, statuses: statuses)
            let member = state.memberOf.contains(audience.id)
            if holds != member {
                if holds { state.memberOf.insert(audience.id) } else { state.memberOf.remove(audience.id) }
                changes.append(MembershipChange(audience: audience, entered: holds))
            }
        }
        return changes
    }

    func holds(
        _ condition: Condition, audience: AudienceSpec, version: Int, state: ProfileState, now: Date,
        statuses: [ContactStateKey: SubscriptionStatus]
    ) -> Bool {
        switch condition {
        case .and(let children):
            return children.allSatisfy {
                holds($0, audience: audience, version: version, state: state, now: now, statuses: statuses)
            }
        case .or(let children):
            return children.contains {
                holds($0, audience: audience, version: version, state: state, now: now, statuses: statuses)
            }
        case .not(let child):
            return !holds(child, audience: audience, version: version, state: state, now: now, statuses: statuses)
        case .event(let event):
            let entries =
                state.entries[AudienceSpec.stateKey(audienceId: audience.id, version: version, path: event.path)] ?? []
            return event.count.holds(Self.count(entries, window: event.window, now: now))
        case .trait(let key, let comparison): return comparison.holds(for: PropertyFilter.lookup(key, in: state.traits))
        case .computedTrait(let key, let comparison): return comparison.holds(for: state.computed[key])
        case .audience(let key):
            guard let id = space.audienceIdByKey[key] else { return false }
            return state.memberOf.contains(id)
        case .subscription(let subscription):
            let contact = subscription.channel == .email ? state.contactEmail : state.contactPhone
            let status = contact.flatMap {
                statuses[
                    ContactStateKey(
                        channel: subscription.channel, contact: $0, group: subscription.group?.lowercased() ?? "")]
            }
            return status == subscription.status
        }
    }

    static func count(_ entries: [StateEntry], window: Window?, now: Date) -> Int {
        guard case .within(let seconds)? = window else { return entries.count }
        let horizon = now.timeIntervalSince1970 - seconds
        return entries.reduce(0) { $0 + ($1.time >= horizon ? 1 : 0) }
    }

    /// The next moment at which a sliding window drops one of the profile's remembered events,
    /// which may change a live audience or computed trait without any new input; nil if none.
    public func nextChange(of state: ProfileState, after now: Date) -> Date? {
        let nowSeconds = now.timeIntervalSince1970
        var earliest: Double?
        func consider(_ entries: [StateEntry]?, _ seconds: Double) {
            for entry in entries ?? [] where entry.time + seconds > nowSeconds {
                earliest = min(earliest ?? .infinity, entry.time + seconds)
            }
        }
        for audience in space.audiences {
            guard let condition = audience.live, let version = audience.liveVersion else { continue }
            for event in condition.eventConditions {
                guard case .within(let seconds)? = event.window else { continue }
                consider(
                    state.entries[AudienceSpec.stateKey(audienceId: audience.id, version: version, path: event.path)],
                    seconds)
            }
        }
        for trait in space.traits {
            guard case .within(let seconds)? = trait.live?.window, let key = trait.liveStateKey else { continue }
            consider(state.entries[key], seconds)
        }
        return earliest.map { Date(timeIntervalSince1970: $0) }
    }

    /// Merges a merged-away profile's state into the survivor's: remembered events are united by id
    /// (so nothing counts twice), the survivor's own traits and identifiers win.
    public func absorb(_ loser: ProfileState, into survivor: inout ProfileState, now: Date) {
        for (key, list) in loser.entries {
            let trim: (inout [StateEntry]) -> Void
            if let condition = space.eventConditions.values.lazy.flatMap({ $0 }).first(where: { $0.key == key })?
                .condition
            {
                trim = { Self.trim(&$0, for: condition, now: now) }
            } else if let definition = space.traitFeeds.values.lazy.flatMap({ $0 }).first(where: { $0.key == key })?
                .definition
            {
                trim = { definition.trim(&$0, now: now) }
            } else {
                continue
            }
            survivor.add(list, to: key, trim: trim)
        }
        survivor.traits = loser.traits.merging(survivor.traits) { _, own in own }
        survivor.userId = survivor.userId ?? loser.userId
        survivor.email = survivor.email ?? loser.email
        survivor.phone = survivor.phone ?? loser.phone
        for id in loser.anonymousIds where !survivor.anonymousIds.contains(id) { survivor.anonymousIds.append(id) }
        if survivor.anonymousIds.count > ProfileState.maxAnonymousIds {
            survivor.anonymousIds.removeFirst(survivor.anonymousIds.count - ProfileState.maxAnonymousIds)
        }
    }
}
