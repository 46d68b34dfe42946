import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Consumes what moves profiles through journeys: resolved events (entries, exit rules, awaited
/// events, conversions), audience membership (entries, "left the audience" exits), message events
/// (conversion windows, broadcast progress), and the replicas' feeds (profiles, templates, space
/// tokens). A partition's batch is one transaction; every effect is keyed by a deterministic id,
/// so a redelivered batch changes nothing.
public struct JourneyConsumer: BatchHandler {
    let db: PostgresClient
    let spaces: SpaceAccessReplica
    let profiles: ProfileReplica
    let catalog: JourneyCatalog
    let clock: any JourneyClock
    let onCommit: @Sendable () -> Void
    let logger: Logger
    let writer: InstanceWriter

    public init(
        db: PostgresClient, spaces: SpaceAccessReplica, profiles: ProfileReplica, catalog: JourneyCatalog,
        clock: any JourneyClock,
        onCommit: @escaping @Sendable () -> Void, logger: Logger
    ) {
        self.db = db
        self.spaces = spaces
        self.profiles = profiles
        self.catalog = catalog
        self.clock = clock
        self.onCommit = onCommit
        self.logger = logger
        self.writer = InstanceWriter(profiles: profiles, logger: logger)
    }

    enum Input {
        case access(SpaceAccess)
        case update(ProfileUpdate)
        case template(TemplateChange)
        case audience(AudienceChange)
        case membership(AudienceMembershipEvent)
        case event(ProfileEvent)
        case message(MessageEvent)
    }

    static let router = RecordRouter<Input>([
        .init(Topic.spaces) { value throws(InvalidMessage) in .access(try SpaceAccessReplica.decode(value)) },
        scoped(Topic.profileUpdates, ProfileUpdate.self, ProfileUpdate.contract, Input.update),
        scoped(Topic.templates, TemplateChange.self, TemplateChange.contract, Input.template),
        scoped(Topic.audiences, AudienceChange.self, AudienceChange.contract, Input.audience),
        scoped(
            Topic.audienceMembership, AudienceMembershipEvent.self, AudienceMembershipEvent.contract, Input.membership),
        scoped(Topic.profileEvents, ProfileEvent.self, ProfileEvent.contract, Input.event),
        scoped(Topic.messageEvents, MessageEvent.self, MessageEvent.contract, Input.message),
    ])

    public static var topics: [String] { router.topics }

    /// A contract value that names its space.
    private static func scoped<T: Decodable & SpaceScoped>(
        _ topic: String, _ type: T.Type, _ contract: String,
        _ wrap: @escaping @Sendable (T) -> Input
    ) -> RecordRouter<Input>.Route {
        .init(topic) { value throws(InvalidMessage) in
            let decoded = try InvalidMessage.decodeRecord(type, contract: contract, from: value)
            guard !decoded.spaceId.isEmpty, !decoded.spaceId.utf8.contains(0) else {
                throw InvalidMessage("spaceId is empty")
            }
            return wrap(decoded)
        }
    }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (decoded, failures) = Self.router.decode(batch)
        let inputs = try await spaces.applyAccess(in: decoded) {
            if case .access(let value) = $0 { value } else { nil }
        }
        guard !inputs.isEmpty else { return failures }
        let wrote = try await db.transaction(logger: logger) { [self, inputs] connection -> Bool in
            try await catalog.refresh(on: connection)
            var work = Work(consumer: self, now: clock.now())
            if inputs.contains(where: { if case .update = $0 { true } else { false } }) {
                try await profiles.lockWrites(on: connection)
            }
            for input in inputs {
                switch input {
                case .update(let update): try await profiles.apply(update, on: connection)
                case .template(let change): try await apply(change, on: connection)
                case .audience(let change):
                    try await AudienceCatalogReplica(db: db, logger: logger).apply(change, on: connection)
                case .membership(let change): try await work.membership(change, on: connection)
                case .event(let event): try await work.profileEvent(event, on: connection)
                case .message(let event): try await work.messageEvent(event, on: connection)
                case .access: break  // applied before the transaction
                }
            }
            try await work.finish(on: connection)
            return work.wrote
        }
        if wrote { onCommit() }
        return failures
    }

    private func apply(_ change: TemplateChange, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO templates (space_id, template_id, name, channel, purpose, current_version, deleted)
            VALUES (\(change.spaceId), \(change.templateId), \(change.name), \(change.channel.rawValue), \(change.purpose.rawValue),
                    \(change.currentVersion), \(change.deleted))
            ON CONFLICT (space_id, template_id) DO UPDATE SET name = excluded.name, channel = excluded.channel, purpose = excluded.purpose,
                current_version = greatest(templates.current_version, excluded.current_version), deleted = templates.deleted OR excluded.deleted
            """, logger: logger)
    }
}

/// The contract values this consumer reads all name their space.
protocol SpaceScoped { var spaceId: String { get } }
extension ProfileUpdate: SpaceScoped {}
extension TemplateChange: SpaceScoped {}
extension AudienceChange: SpaceScoped {}
extension AudienceMembershipEvent: SpaceScoped {}
extension ProfileEvent: SpaceScoped {}
extension MessageEvent: SpaceScoped {}
