import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// An email subscription group.
public struct SubscriptionGroup: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var createdAt: Date
    public var updatedAt: Date
}

/// The live groups of one space, found by name (case-insensitive) or id.
struct GroupIndex: Sendable {
    var byName: [String: SubscriptionGroup] = [:]
    var byId: [String: SubscriptionGroup] = [:]

    func find(_ nameOrId: String) -> SubscriptionGroup? {
        byName[nameOrId.trimmingWhitespace().lowercased()] ?? byId[nameOrId]
    }
}

/// Why a group change was refused.
public enum GroupError: Error, Equatable {
    case invalidName(String)
    case duplicateName(String)
    case limitReached(Int)
    case notFound(String)
}

/// Email subscription groups per space. Every change is published on `engage.subscription-groups`
/// (full record, in the same transaction), so other services (the CSV uploader, messaging-send)
/// keep replicas without reading this schema.
public final class GroupStore: Sendable {
    public static let maxGroupsPerSpace = 200
    private let db: PostgresClient
    private let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// Names are 1-100 characters of letters, digits, spaces, `_` and `-`, so that the CSV column
    /// `<name>_subscription_status` is unambiguous.
    public static func validateName(_ raw: String) throws(GroupError) -> String {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty, name.count <= 100 else { throw .invalidName("a group name must have 1 to 100 characters") }
        guard
            name.unicodeScalars.allSatisfy({
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || " _-".unicodeScalars.contains($0)
            })
        else {
            throw .invalidName("a group name may contain letters, digits, spaces, \"_\" and \"-\" only")
        }
        let reserved = SubscriptionChannel.allCases.map(\.columnName)
        guard !reserved.contains(name.lowercased()) else {
            throw .invalidName("\"\(name)\" is a channel name; choose another group name")
        }
        return name
    }

    static func liveGroups(spaces: Set<String>, on connection: PostgresConnection, logger: Logger) async throws
        -> [String: GroupIndex]
    {
        var result: [String: GroupIndex] = [:]
        guard !spaces.isEmpty else { return result }
        for try await (spaceId, id, name, description, createdAt, updatedAt) in try await connection.query(
            """
            SELECT space_id, id, name, description, created_at, updated_at FROM groups
            WHERE space_id = ANY(\(Array(spaces))) AND deleted_at IS NULL
            """, logger: logger
        ).decode((String, String, String, String, Date, Date).self) {
            let group = SubscriptionGroup(
                id: id, name: name, description: description, createdAt: createdAt, updatedAt: updatedAt)
            result[spaceId, default: GroupIndex()].byName[name.lowercased()] = group
            result[spaceId, default: GroupIndex()].byId[id] = group
        }
        return result
    }

    public func list(spaceId: String) async throws -> [SubscriptionGroup] {
        try await db.withConnection { connection in
            try await Self.liveGroups(spaces: [spaceId], on: connection, logger: logger)[spaceId]?.byId.values
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } ?? []
        }
    }

    public func create(spaceId: String, name rawName: String, description: String) async throws -> SubscriptionGroup {
        let name = try Self.validateName(rawName)
        return try await db.transaction(logger: logger) { [self] connection in
            // Serialise creations per space so the cap holds under concurrency.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("groups:" + spaceId), 0))", logger: logger)
            let existing =
                try await Self.liveGroups(spaces: [spaceId], on: connection, logger: logger)[spaceId] ?? GroupIndex()
            guard existing.find(name) == nil else { throw GroupError.duplicateName(name) }
            guard existing.byId.count < Self.maxGroupsPerSpace else {
                throw GroupError.limitReached(Self.maxGroupsPerSpace)
            }
            let now = Date()
            let group = SubscriptionGroup(
                id: Secrets.id("grp_"), name: name, description: description, createdAt: now, updatedAt: now)
            try await connection.query(
                """
                INSERT INTO groups (space_id, id, name, description, created_at, updated_at, revision)
                VALUES (\(spaceId), \(group.id), \(group.name), \(description), \(now), \(now), \(now.micros))
                """, logger: logger)
            try await publish(spaceId: spaceId, group: group, deleted: false, revision: now.micros, on: connection)
            return group
        }
    }

    public func rename(spaceId: String, id: String, name rawName: String?, description: String?) async throws
        -> SubscriptionGroup
    {
        let name = try rawName.map { name throws(GroupError) in try Self.validateName(name) }
        return try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("groups:" + spaceId), 0))", logger: logger)
            let existing =
                try await Self.liveGroups(spaces: [spaceId], on: connection, logger: logger)[spaceId] ?? GroupIndex()
            guard var group = existing.byId[id] else { throw GroupError.notFound(id) }
            if let name, let other = existing.find(name), other.id != id { throw GroupError.duplicateName(name) }
            let now = Date()
            group.name = name ?? group.name
            group.description = description ?? group.description
            group.updatedAt = now
            try await connection.query(
                """
                UPDATE groups SET name = \(group.name), description = \(group.description), updated_at = \(now), revision = \(now.micros)
                WHERE space_id = \(spaceId) AND id = \(id) AND deleted_at IS NULL
                """, logger: logger)
            try await publish(spaceId: spaceId, group: group, deleted: false, revision: now.micros, on: connection)
            return group
        }
    }

    /// Deletes a group: it stops accepting commands; its states stay in the history.
    public func delete(spaceId: String, id: String) async throws {
        try await db.transaction(logger: logger) { [self] connection in
            // The lock create and rename take: a rename running alongside cannot revive the group
            // (write it, and publish it live, after this delete).
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("groups:" + spaceId), 0))", logger: logger)
            let existing =
                try await Self.liveGroups(spaces: [spaceId], on: connection, logger: logger)[spaceId] ?? GroupIndex()
            guard let group = existing.byId[id] else { throw GroupError.notFound(id) }
            let now = Date()
            try await connection.query(
                """
                UPDATE groups SET deleted_at = \(now), updated_at = \(now), revision = \(now.micros)
                WHERE space_id = \(spaceId) AND id = \(id) AND deleted_at IS NULL
                """, logger: logger)
            try await publish(spaceId: spaceId, group: group, deleted: true, revision: now.micros, on: connection)
        }
    }

    private func publish(
        spaceId: String, group: SubscriptionGroup, deleted: Bool, revision: Int64, on connection: PostgresConnection
    ) async throws {
        let record = SubscriptionGroupRecord(
            spaceId: spaceId, id: group.id, name: group.name, deleted: deleted, revision: revision)
        try await Outbox.enqueue(
            [
                try OutboxMessage(
                    topic: Topic.subscriptionGroups, key: "\(spaceId)|\(group.id)", event: record,
                    contract: SubscriptionGroupRecord.contract, headers: [Header.spaceId: spaceId])
            ],
            on: connection, logger: logger)
    }
}
