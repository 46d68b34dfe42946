import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import Persistence
import PostgresNIO
import ServiceKit

/// Consumes message events, subscription changes, audience membership and journey events (plus
/// the profile updates, subscription groups and spaces it needs to name people and groups and to
/// check tokens). A partition's batch is one transaction: the inputs' ids are recorded (a
/// redelivered input does nothing), each new input becomes Segment `track` events in the outbox,
/// webhook deliveries are queued, and the message analytics counters move, all or nothing.
public struct SourceConsumer: BatchHandler {
    let db: PostgresClient
    let spaces: SpaceAccessReplica
    let profiles: ProfileReplica
    let onCommit: @Sendable (_ deliveriesQueued: Bool) -> Void
    let logger: Logger
    let published = Counter(label: "engage_events_source_events_published_total")
    let latency = Metrics.Timer(label: "engage_events_source_event_age_at_publish_seconds")

    public init(
        db: PostgresClient, spaces: SpaceAccessReplica, profiles: ProfileReplica,
        onCommit: @escaping @Sendable (_ deliveriesQueued: Bool) -> Void, logger: Logger
    ) {
        self.db = db
        self.spaces = spaces
        self.profiles = profiles
        self.onCommit = onCommit
        self.logger = logger
    }

    enum Input {
        case access(SpaceAccess)
        case update(ProfileUpdate)
        case group(SubscriptionGroupRecord)
        case source(SourceInput)
    }

    static let router = RecordRouter<Input>(
        [
            .init(Topic.spaces) { value throws(InvalidMessage) in .access(try SpaceAccessReplica.decode(value)) },
            .contract(Topic.profileUpdates, ProfileUpdate.self, ProfileUpdate.contract, Input.update),
            .init(Topic.subscriptionGroups) { value throws(InvalidMessage) in
                .group(try SubscriptionGroupReplica.decode(value))
            },
        ]
            + SourceInput.topics.map { topic in
                .init(topic) { value throws(InvalidMessage) in
                    .source(try SourceInput.decode(topic: topic, value: value))
                }
            })

    public static var topics: [String] { router.topics }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (decoded, failures) = Self.router.decode(batch)
        var access: [SpaceAccess] = []
        var updates: [ProfileUpdate] = []
        var groups: [SubscriptionGroupRecord] = []
        var inputs: [SourceInput] = []
        for input in decoded {
            switch input {
            case .access(let value): access.append(value)
            case .update(let value): updates.append(value)
            case .group(let value): groups.append(value)
            case .source(let value): inputs.append(value)
            }
        }
        if !access.isEmpty { try await spaces.apply(access) }
        guard !updates.isEmpty || !groups.isEmpty || !inputs.isEmpty else { return failures }
        let now = Date()
        let queued = try await db.transaction(logger: logger) {
            [self, updates, groups, inputs] connection -> (events: [SourceEvent], deliveries: Int) in
            if !updates.isEmpty {
                try await profiles.lockWrites(on: connection)
                for update in updates { try await profiles.apply(update, on: connection) }
            }
            try await SubscriptionGroupReplica.apply(groups, on: connection, logger: logger)
            let fresh = try await claimNew(inputs, on: connection)
            guard !fresh.isEmpty else { return ([], 0) }
            var events: [SourceEvent] = []
            for spaceId in Set(fresh.map(\.spaceId)).sorted() {
                events += try await sourceEvents(
                    fresh.filter { $0.spaceId == spaceId }, spaceId: spaceId, now: now, on: connection)
            }
            try await StatsWriter.remember(
                fresh.compactMap { if case .message(let event) = $0 { event } else { nil } }, on: connection,
                logger: logger)
            try await StatsWriter.record(try await facts(fresh, on: connection), on: connection, logger: logger)
            let payloads = events.map { ($0, payload: $0.json) }
            try await Outbox.enqueue(
                payloads.map { event, payload in
                    OutboxMessage(
                        topic: Topic.sourceEvents, key: event.key, payload: payload,
                        headers: [Header.contract: SourceEvent.contract, Header.spaceId: event.spaceId])
                }, on: connection, logger: logger)
            let routes = try await DeliveryQueue.routes(
                spaceIds: Array(Set(events.map(\.spaceId))), on: connection, logger: logger)
            let deliveries =
                routes.isEmpty
                ? 0 : try await DeliveryQueue.enqueue(payloads, routes: routes, on: connection, logger: logger)
            return (events, deliveries)
        }
        onCommit(queued.deliveries > 0)
        published.increment(by: queued.events.count)
        for event in queued.events {
            latency.recordSeconds(max(0, now.timeIntervalSince(event.timestamp)))
        }
        return failures
    }

    /// The inputs not seen before, each once, in batch order; their ids are recorded as seen.
    private func claimNew(_ inputs: [SourceInput], on connection: PostgresConnection) async throws -> [SourceInput] {
        guard !inputs.isEmpty else { return [] }
        var new: Set<String> = []
        for try await key in try await connection.query(
            """
            INSERT INTO processed_inputs (id) SELECT DISTINCT unnest(\(inputs.map(\.dedupeKey))::text[]) ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger
        ).decode(String.self) {
            new.insert(key)
        }
        return inputs.filter { new.remove($0.dedupeKey) != nil }
    }

    /// The Segment events of one space's new inputs, with the people and groups named from the replicas.
    private func sourceEvents(_ inputs: [SourceInput], spaceId: String, now: Date, on connection: PostgresConnection)
        async throws -> [SourceEvent]
    {
        let contacts = inputs.compactMap { if case .subscription(let change) = $0 { change.contact } else { nil } }
        let contactProfiles = try await profiles.profileIds(
            spaceId: spaceId, contacts: Array(Set(contacts)), on: connection)
        let ids = Set(inputs.compactMap(\.profileId) + contactProfiles.values)
        let known = try await profiles.profiles(spaceId: spaceId, ids: Array(ids), on: connection)
        let versions = try await consentVersions(
            inputs.compactMap { if case .subscription(let change) = $0 { change } else { nil } },
            on: connection)
        let groupNames = inputs.compactMap { if case .message(let event) = $0 { event.group } else { nil } }
        let groups = try await SubscriptionGroupReplica.groups(
            spaceId: spaceId, names: groupNames, on: connection,
            logger: logger)
        return inputs.flatMap { input in
            switch input {
            case .subscription(let change):
                let profile = contactProfiles[change.contact].flatMap { known[$0] }
                return SourceEventMapper.events(input, profile: profile, consentVersion: versions[change.id], now: now)
            case .message(let event):
                return SourceEventMapper.events(
                    input, profile: event.profileId.flatMap { known[$0] },
                    group: event.group.flatMap { groups[$0.lowercased()] }, now: now)
            default:
                return SourceEventMapper.events(input, profile: input.profileId.flatMap { known[$0] }, now: now)
            }
        }
    }

    /// Each change's position in the history of its state (space, channel, contact, group): 1, 2,
    /// 3... in the order the subscriptions service committed them (the changes topic is keyed by
    /// contact, so one contact's changes arrive in order). A downstream tool that keeps the highest
    /// version per state has the current state, whatever order its own reads are in.
    private func consentVersions(_ changes: [SubscriptionChange], on connection: PostgresConnection) async throws
        -> [String: Int64]
    {
        guard !changes.isEmpty else { return [:] }
        func key(_ change: SubscriptionChange) -> [String] {
            [change.spaceId, change.channel.rawValue, change.contact, change.group?.id ?? ""]
        }
        var counts: [[String]: Int64] = [:]
        for change in changes { counts[key(change), default: 0] += 1 }
        let keys = counts.keys.sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }
        var latest: [[String]: Int64] = [:]
        for try await (spaceId, channel, contact, group, version) in try await connection.query(
            """
            INSERT INTO consent_versions (space_id, channel, contact, group_id, version)
            SELECT * FROM unnest(\(keys.map { $0[0] })::text[], \(keys.map { $0[1] })::text[], \(keys.map { $0[2] })::text[],
                                 \(keys.map { $0[3] })::text[], \(keys.map { counts[$0]! })::bigint[])
            ON CONFLICT (space_id, channel, contact, group_id) DO UPDATE SET version = consent_versions.version + excluded.version
            RETURNING space_id, channel, contact, group_id, version
            """, logger: logger
        ).decode((String, String, String, String, Int64).self) {
            latest[[spaceId, channel, contact, group]] = version
        }
        var next: [[String]: Int64] = [:]
        var versions: [String: Int64] = [:]
        for change in changes {
            let stateKey = key(change)
            let version = next[stateKey] ?? (latest[stateKey]! - counts[stateKey]! + 1)
            versions[change.id] = version
            next[stateKey] = version + 1
        }
        return versions
    }

    /// What the new inputs count as in message analytics. Test sends count nothing.
    private func facts(_ inputs: [SourceInput], on connection: PostgresConnection) async throws -> [StatsWriter.Fact] {
        var facts: [StatsWriter.Fact] = []
        var conversions: [JourneyEvent] = []
        for input in inputs {
            switch input {
            case .message(let event):
                guard !event.test, let messageId = event.messageId, let metric = MessageMetric.of(event: event.event)
                else { continue }
                let dimensions = MessageDimensions(event)
                facts.append(
                    StatsWriter.Fact(
                        spaceId: event.spaceId, messageId: messageId, dimensions: dimensions, metric: metric, url: nil,
                        occurredAt: event.occurredAt))
                if metric == .clicked, let url = event.url {
                    facts.append(
                        StatsWriter.Fact(
                            spaceId: event.spaceId, messageId: messageId, dimensions: dimensions, metric: metric,
                            url: url,
                            occurredAt: event.occurredAt))
                }
            case .journey(let event) where event.event == JourneyEvent.Name.converted && event.messageId != nil:
                conversions.append(event)
            default:
                continue
            }
        }
        guard !conversions.isEmpty else { return facts }
        let remembered = try await StatsWriter.dimensions(
            of: conversions.map { ($0.spaceId, $0.messageId!) }, on: connection, logger: logger)
        for event in conversions {
            let dimensions =
                remembered["\(event.spaceId)|\(event.messageId!)"]
                ?? MessageDimensions(
                    channel: event.channel, templateId: event.templateId, journeyId: event.journeyId,
                    stepId: event.stepId,
                    broadcastId: event.broadcastId)
            facts.append(
                StatsWriter.Fact(
                    spaceId: event.spaceId, messageId: event.messageId!, dimensions: dimensions, metric: .converted,
                    url: nil, occurredAt: event.occurredAt))
        }
        return facts
    }
}
