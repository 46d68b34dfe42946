import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// One space's share of one transaction: the locked states of the profiles it touches, the inputs
/// applied to them, then evaluation and every write (state, memberships, history, outbox, timers).
struct ProfileWork {
    struct Touch {
        var events: Set<String> = []
        var traits: Set<String> = []
        var subscriptions = false
        var time = false
        /// Every live audience (a merge, a build going live).
        var all = false
        /// Audiences to evaluate whatever the input (a build evaluates its own).
        var audiences: Set<String> = []
        var reason: AudienceMembershipEvent.Reason = .realtime
    }

    let spaceId: String
    let evaluator: Evaluator
    let store: StateStore
    let now: Date
    private(set) var states: [String: ProfileState]
    private let originals: [String: ProfileState]
    private var touches: [String: Touch] = [:]
    private var records: [StateStore.MembershipRecord] = []
    private var cleared: Set<String> = []
    /// The earliest timer `finish` set, for `StateStore.timersCommitted` once committed.
    private(set) var earliestTimer: Date?

    init(spaceId: String, evaluator: Evaluator, store: StateStore, now: Date, states: [String: ProfileState]) {
        self.spaceId = spaceId
        self.evaluator = evaluator
        self.store = store
        self.now = now
        self.states = states
        self.originals = states
    }

    /// The profile that holds `profileId`'s state now (itself, or the profile it was merged into).
    func survivor(of profileId: String) -> String {
        var id = profileId
        for _ in 0..<20 {
            guard let next = states[id]?.mergedInto, next != id else { break }
            id = next
        }
        return id
    }

    mutating func touch(_ profileId: String, _ change: (inout Touch) -> Void) {
        let id = survivor(of: profileId)
        guard states[id] != nil else { return }
        change(&touches[id, default: Touch()])
    }

    /// An event: identifiers always; a track event that is new also feeds the conditions.
    mutating func apply(_ event: ProfileEvent, isNew: Bool) {
        let id = survivor(of: event.profileId)
        guard states[id] != nil else { return }
        states[id]!.learn(event.externalIds)
        if isNew, event.message.type == .track, let name = event.message.event {
            evaluator.apply(
                EventInput(
                    id: event.id, name: name, properties: event.message.properties ?? [:], time: event.occurredAt),
                to: &states[id]!, now: now)
            touch(id) { $0.events.insert(name) }
        }
    }

    mutating func apply(_ update: ProfileUpdate) {
        let id = survivor(of: update.profileId)
        guard states[id] != nil else { return }
        switch update.kind {
        case .traitsChanged:
            let traits = update.traits ?? [:]
            for (key, value) in traits {
                if value == .null {
                    states[id]!.traits.removeValue(forKey: key)
                } else {
                    states[id]!.traits[key] = value
                }
            }
            touch(id) { $0.traits.formUnion(traits.keys) }
        case .identifiersAdded:
            states[id]!.learn(update.identifiers ?? [])
            // Consent is looked up by email and phone: a new contact can change subscription conditions.
            touch(id) { $0.subscriptions = true }
        case .merged:
            for loserId in update.mergedProfileIds ?? [] where loserId != id {
                guard let loser = states[loserId], loser.mergedInto == nil else { continue }
                evaluator.absorb(loser, into: &states[id]!, now: now)
                for audienceId in loser.memberOf.sorted() {
                    guard let audience = evaluator.space.audiences.first(where: { $0.id == audienceId }) else {
                        continue
                    }
                    records.append(
                        .init(
                            audience: audience, version: audience.liveVersion ?? 0, entered: false, reason: .merged,
                            profile: loser, mergedInto: id))
                }
                var merged = ProfileState(profileId: loserId)
                merged.mergedInto = id
                merged.userId = loser.userId
                states[loserId] = merged
                cleared.insert(loserId)
            }
            touch(id) {
                $0.all = true
                $0.reason = .merged
            }
        }
    }

    /// Evaluates every touched profile and writes the outcome.
    @discardableResult
    mutating func finish(on connection: PostgresConnection) async throws -> (entered: Int, exited: Int) {
        let touched = touches.keys.filter { states[$0]?.mergedInto == nil }.sorted()
        let statuses =
            evaluator.space.usesSubscriptions && !touched.isEmpty
            ? try await store.statuses(spaceId: spaceId, for: touched.compactMap { states[$0] }, on: connection) : [:]
        var timers: [(profileId: String, due: Date?)] = cleared.sorted().map { ($0, nil) }
        var writeBacks: [OutboxMessage] = []
        let liveKeys = evaluator.space.stateKeys
        for id in touched {
            guard var state = states[id], let touch = touches[id] else { continue }
            state.entries = state.entries.filter { liveKeys.contains($0.key) }
            let computedChanges = evaluator.refreshComputed(&state, now: now)
            if let message = Self.writeBack(spaceId: spaceId, state: state, changes: computedChanges, now: now) {
                writeBacks.append(message)
            }
            let selection: Set<String>? =
                touch.all
                ? nil
                : evaluator.affected(
                    events: Array(touch.events), traits: Array(touch.traits), computed: Array(computedChanges.keys),
                    subscriptions: touch.subscriptions, time: touch.time
                ).union(evaluator.space.withDependents(touch.audiences))
            if selection?.isEmpty != true {
                for change in evaluator.evaluate(&state, audiences: selection, now: now, statuses: statuses) {
                    records.append(
                        .init(
                            audience: change.audience, version: change.audience.liveVersion ?? 0,
                            entered: change.entered,
                            reason: touch.reason, profile: state, mergedInto: nil))
                }
            }
            timers.append((id, evaluator.nextChange(of: state, after: now)))
            states[id] = state
        }
        let dirty = states.values.filter { originals[$0.profileId] != $0 }.sorted { $0.profileId < $1.profileId }
        try await store.save(spaceId: spaceId, dirty, on: connection)
        try await store.record(spaceId: spaceId, records, now: now, on: connection)
        try await store.setTimers(spaceId: spaceId, timers, on: connection)
        if let due = timers.compactMap(\.due).min() { earliestTimer = min(earliestTimer ?? due, due) }
        try await Outbox.enqueue(writeBacks, on: connection, logger: store.logger)
        let counts = pendingChanges
        records.removeAll()
        touches.removeAll()
        return counts
    }

    /// Takes a deleted audience away from the profile (Audience Exited, reason `deleted`).
    mutating func leave(_ audience: AudienceSpec, version: Int, profileId: String) {
        guard var state = states[profileId], state.memberOf.contains(audience.id) else { return }
        state.memberOf.remove(audience.id)
        states[profileId] = state
        records.append(
            .init(
                audience: audience, version: version, entered: false, reason: .deleted, profile: state, mergedInto: nil)
        )
    }

    /// Entries and exits written so far (read before `finish`, which writes them).
    var pendingChanges: (entered: Int, exited: Int) {
        (records.filter(\.entered).count, records.filter { !$0.entered }.count)
    }

    /// The identify that carries changed computed values to the profiles service (through its
    /// tracking intake, so they appear in the Profile API and in merge tags like other traits). A profile that
    /// this service knows neither a user id nor an anonymous id of cannot be addressed there.
    static func writeBack(spaceId: String, state: ProfileState, changes: [String: JSONValue?], now: Date)
        -> OutboxMessage?
    {
        guard !changes.isEmpty else { return nil }
        return .internalIdentify(
            spaceId: spaceId, source: InternalSource.computedTraits,
            messageId: "computed-\(UUID().uuidString.lowercased())",
            userId: state.userId, anonymousId: state.anonymousIds.last, traits: changes.mapValues { $0 ?? .null },
            at: now)
    }
}
