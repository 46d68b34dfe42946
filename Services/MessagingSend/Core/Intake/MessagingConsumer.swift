import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Consumes message requests and the feeds of this service's replicas (spaces, profile updates,
/// subscription changes). A record that is not a valid contract value goes to the dead-letter
/// topic with the reason; the rest of a partition's batch is applied in one transaction, so a
/// crash before the commit redoes it, and redoing it changes nothing (requests by id, replicas
/// by upsert).
public struct MessagingConsumer: BatchHandler {
    let db: PostgresClient
    let spaces: SpaceAccessReplica
    let replicas: ReplicaStore
    let messages: MessageStore
    let destinations: DestinationStore
    let audiences: AudienceCatalogReplica
    let onRequests: @Sendable () -> Void
    let logger: Logger

    public init(
        db: PostgresClient, spaces: SpaceAccessReplica, replicas: ReplicaStore, messages: MessageStore,
        destinations: DestinationStore, onRequests: @escaping @Sendable () -> Void, logger: Logger
    ) {
        self.destinations = destinations
        self.audiences = AudienceCatalogReplica(db: db, logger: logger)
        self.db = db
        self.spaces = spaces
        self.replicas = replicas
        self.messages = messages
        self.onRequests = onRequests
        self.logger = logger
    }

    enum Input {
        case access(SpaceAccess)
        case update(ProfileUpdate)
        case change(SubscriptionChange)
        case audience(AudienceChange)
        case membership(AudienceMembershipEvent)
        case request(MessageRequest)
    }

    static let router = RecordRouter<Input>([
        .init(Topic.spaces) { value throws(InvalidMessage) in .access(try SpaceAccessReplica.decode(value)) },
        .contract(Topic.profileUpdates, ProfileUpdate.self, ProfileUpdate.contract, Input.update),
        .contract(Topic.subscriptionChanges, SubscriptionChange.self, SubscriptionChange.contract, Input.change),
        .contract(Topic.audiences, AudienceChange.self, AudienceChange.contract, Input.audience),
        .contract(
            Topic.audienceMembership, AudienceMembershipEvent.self, AudienceMembershipEvent.contract, Input.membership),
        .init(Topic.messageRequests) { value throws(InvalidMessage) in .request(try decodeRequest(value)) },
    ])

    public static var topics: [String] { router.topics }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (inputs, failures) = Self.router.decodeWithRecords(batch)
        var access: [SpaceAccess] = []
        var updates: [ProfileUpdate] = []
        var changes: [SubscriptionChange] = []
        var requests: [NewMessage] = []
        var audienceChanges: [AudienceChange] = []
        var memberships: [AudienceMembershipEvent] = []
        for (input, record) in inputs {
            switch input {
            case .access(let value): access.append(value)
            case .update(let value): updates.append(value)
            case .change(let value): changes.append(value)
            case .audience(let value): audienceChanges.append(value)
            case .membership(let value): memberships.append(value)
            case .request(let value):
                // Each message continues the trace of its own request (a batch mixes many).
                requests.append(NewMessage(request: value, traceParent: record.headers["traceparent"]))
            }
        }
        if !access.isEmpty { try await spaces.apply(access) }
        guard
            !updates.isEmpty || !changes.isEmpty || !requests.isEmpty || !audienceChanges.isEmpty
                || !memberships.isEmpty
        else {
            return failures
        }
        let (inserted, fromDestinations) = try await db.transaction(logger: logger) {
            [self, updates, changes, requests, audienceChanges, memberships] connection in
            if !updates.isEmpty { try await replicas.lockProfiles(on: connection) }
            for update in updates { try await replicas.apply(update, on: connection) }
            for change in changes { try await replicas.apply(change, on: connection) }
            for change in audienceChanges { try await audiences.apply(change, on: connection) }
            let fromDestinations = try await destinations.apply(memberships, on: connection)
            return (try await messages.insert(requests, on: connection), fromDestinations)
        }
        if inserted + fromDestinations > 0 { onRequests() }
        if requests.count > inserted {
            logger.info("repeated message requests ignored", metadata: ["count": "\(requests.count - inserted)"])
        }
        return failures
    }

    /// Decodes and checks a message request: what the send path relies on.
    public static func decodeRequest(_ value: [UInt8]?) throws(InvalidMessage) -> MessageRequest {
        let request = try InvalidMessage.decodeRecord(
            MessageRequest.self, contract: MessageRequest.contract, from: value)
        try check(request)
        return request
    }

    public static func check(_ request: MessageRequest) throws(InvalidMessage) {
        guard request.schemaVersion == 1 else {
            throw InvalidMessage("schemaVersion \(request.schemaVersion) is not supported (expected 1)")
        }
        for (field, value) in [
            ("id", request.id), ("spaceId", request.spaceId), ("profileId", request.profileId),
            ("templateId", request.templateId),
        ] {
            // Byte-wise: Foundation's trimming showed in the intake's profile.
            guard value.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) else {
                throw InvalidMessage("\(field) is empty")
            }
            guard value.utf8.count <= 200 else { throw InvalidMessage("\(field) is longer than 200 bytes") }
        }
        if let version = request.templateVersion, version < 1 {
            throw InvalidMessage("templateVersion must be 1 or more")
        }
        if request.group != nil && request.channel != .email {
            throw InvalidMessage("group applies to EMAIL messages only")
        }
        if let from = request.from { try ProviderRules.checkSender(from, channel: request.channel) }
        // Postgres text cannot hold NUL: such a request would fail its transaction on every retry.
        let texts = [
            request.id, request.spaceId, request.profileId, request.templateId, request.group ?? "", request.from ?? "",
            request.journeyId ?? "",
            request.journeyStepId ?? "", request.broadcastId ?? "",
        ]
        if texts.contains(where: { $0.utf8.contains(0) }) {
            throw InvalidMessage("a text field contains a NUL character")
        }
    }
}
