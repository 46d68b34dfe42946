import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import Persistence
import PostgresNIO
import ServiceKit

/// Consumes profile events, profile updates and subscription changes. A partition's batch is one
/// transaction: new track events are logged (the log's key makes a redelivered event a no-op),
/// the touched profiles' state rows are locked, the inputs applied in order, the affected
/// audiences evaluated, and memberships, history, outbox rows and timers written together.
public struct AudienceConsumer: BatchHandler {
    let db: PostgresClient
    let spaces: SpaceAccessReplica
    let definitions: DefinitionCache
    let store: StateStore
    let logger: Logger
    let latency = Metrics.Timer(label: "engage_audiences_event_to_membership_seconds")

    public init(
        db: PostgresClient, spaces: SpaceAccessReplica, definitions: DefinitionCache, store: StateStore, logger: Logger
    ) {
        self.db = db
        self.spaces = spaces
        self.definitions = definitions
        self.store = store
        self.logger = logger
    }

    enum Input {
        case access(SpaceAccess)
        case event(ProfileEvent)
        case update(ProfileUpdate)
        case subscription(SubscriptionChange)
    }

    static let router = RecordRouter<Input>([
        .init(Topic.spaces) { value throws(InvalidMessage) in .access(try SpaceAccessReplica.decode(value)) },
        .init(Topic.profileEvents) { value throws(InvalidMessage) in .event(try decodeEvent(value)) },
        .contract(Topic.profileUpdates, ProfileUpdate.self, ProfileUpdate.contract, Input.update),
        .contract(Topic.subscriptionChanges, SubscriptionChange.self, SubscriptionChange.contract, Input.subscription),
    ])

    public static var topics: [String] { router.topics }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (decoded, failures) = Self.router.decode(batch)
        let inputs = try await spaces.applyAccess(in: decoded) {
            if case .access(let value) = $0 { value } else { nil }
        }
        guard !inputs.isEmpty else { return failures }
        let earliestTimer = try await db.transaction(logger: logger) { [self, inputs] connection -> Date? in
            try await DefinitionCache.enterShared(on: connection, logger: logger)
            let compiled = try await definitions.current(on: connection)
            let bySpace = Dictionary(grouping: inputs) { input -> String in
                switch input {
                case .event(let event): event.spaceId
                case .update(let update): update.spaceId
                case .subscription(let change): change.spaceId
                case .access(let access): access.spaceId  // applied before the transaction
                }
            }
            var earliestTimer: Date?
            for spaceId in bySpace.keys.sorted() {
                let due = try await apply(
                    bySpace[spaceId]!, spaceId: spaceId,
                    space: compiled[spaceId] ?? CompiledSpace(audiences: [], traits: []), on: connection)
                if let due { earliestTimer = min(earliestTimer ?? due, due) }
            }
            return earliestTimer
        }
        store.timersCommitted(earliest: earliestTimer)
        let now = Date()
        for case .event(let event) in inputs {
            latency.recordSeconds(max(0, now.timeIntervalSince(event.message.receivedAt)))
        }
        return failures
    }

    /// Returns the earliest timer it set.
    private func apply(_ inputs: [Input], spaceId: String, space: CompiledSpace, on connection: PostgresConnection)
        async throws -> Date?
    {
        let now = Date()
        let events = inputs.compactMap { if case .event(let event) = $0 { event } else { nil } }
        let newEvents = try await EventLog.insert(events, spaceId: spaceId, on: connection, logger: logger)
        var subscriptionProfiles: Set<String> = []
        let changes = inputs.compactMap { if case .subscription(let change) = $0 { change } else { nil } }
        if !changes.isEmpty {
            for change in changes { try await SubscriptionStateReplica.apply(change, on: connection, logger: logger) }
            if space.usesSubscriptions {
                subscriptionProfiles = try await profiles(
                    withContacts: changes.map(\.contact), spaceId: spaceId, on: connection)
            }
        }
        var ids = subscriptionProfiles
        for input in inputs {
            switch input {
            case .event(let event): ids.insert(event.profileId)
            case .update(let update):
                ids.insert(update.profileId)
                ids.formUnion(update.mergedProfileIds ?? [])
            case .subscription, .access: break
            }
        }
        let states = try await store.lock(spaceId: spaceId, profileIds: ids, create: true, on: connection)
        var work = ProfileWork(
            spaceId: spaceId, evaluator: Evaluator(space: space), store: store, now: now, states: states)
        for input in inputs {
            switch input {
            case .event(let event): work.apply(event, isNew: newEvents.contains(event.message.messageId))
            case .update(let update): work.apply(update)
            case .subscription, .access: break
            }
        }
        for id in subscriptionProfiles { work.touch(id) { $0.subscriptions = true } }
        try await work.finish(on: connection)
        return work.earliestTimer
    }

    private func profiles(withContacts contacts: [String], spaceId: String, on connection: PostgresConnection)
        async throws -> Set<String>
    {
        var result: Set<String> = []
        for try await id in try await connection.query(
            """
            SELECT profile_id FROM profile_state WHERE space_id = \(spaceId) AND merged_into IS NULL AND (email = ANY(\(contacts)) OR phone = ANY(\(contacts)))
            """, logger: logger
        ).decode(String.self) { result.insert(id) }
        return result
    }

    static func decodeEvent(_ value: [UInt8]?) throws(InvalidMessage) -> ProfileEvent {
        let event = try InvalidMessage.decodeRecord(ProfileEvent.self, contract: ProfileEvent.contract, from: value)
        for (field, text) in [
            ("id", event.id), ("spaceId", event.spaceId), ("profileId", event.profileId),
            ("message.messageId", event.message.messageId),
        ] {
            guard !text.isEmpty else { throw InvalidMessage("\(field) is empty") }
            guard !text.utf8.contains(0) else { throw InvalidMessage("\(field) contains a NUL character") }
        }
        return event
    }
}
