import Contracts
import Logging
import PostgresNIO

/// A service's replica of `engage.subscription-groups` (a compacted topic of full records): each
/// email subscription group's id and current name. The subscriptions service owns the groups; this
/// turns a group named in another service's event into its id. Records apply only when newer than
/// the stored revision, so redelivery and reordering are harmless.
public enum SubscriptionGroupReplica {
    /// The table, for the owning service's migrations (`CREATE ... IF NOT EXISTS`).
    public static let tableStatements = [
        """
        CREATE TABLE IF NOT EXISTS subscription_groups (
            space_id text NOT NULL,
            id text NOT NULL,
            name text NOT NULL,
            deleted boolean NOT NULL,
            revision bigint NOT NULL,
            PRIMARY KEY (space_id, id)
        )
        """,
        "CREATE INDEX IF NOT EXISTS subscription_groups_name ON subscription_groups (space_id, lower(name))",
    ]

    /// Parses a record of the groups topic; a precise reason when it is not one.
    public static func decode(_ value: [UInt8]?) throws(InvalidMessage) -> SubscriptionGroupRecord {
        let record = try InvalidMessage.decodeRecord(
            SubscriptionGroupRecord.self, contract: SubscriptionGroupRecord.contract,
            from: value)
        guard !record.spaceId.isEmpty, !record.id.isEmpty, !record.name.isEmpty else {
            throw InvalidMessage("spaceId, id and name are required")
        }
        return record
    }

    public static func apply(
        _ records: [SubscriptionGroupRecord], on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        for record in records {
            try await connection.query(
                """
                INSERT INTO subscription_groups (space_id, id, name, deleted, revision)
                VALUES (\(record.spaceId), \(record.id), \(record.name), \(record.deleted), \(record.revision))
                ON CONFLICT (space_id, id) DO UPDATE
                    SET name = excluded.name, deleted = excluded.deleted, revision = excluded.revision
                WHERE subscription_groups.revision < excluded.revision
                """, logger: logger)
        }
    }

    /// The groups of one space by lower-cased name (names are unique per space, case-insensitive).
    /// A name a deleted group and a live one share is the live one's.
    public static func groups(
        spaceId: String, names: [String], on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [String: SubscriptionChange.GroupRef] {
        let keys = Array(Set(names.map { $0.lowercased() }))
        guard !keys.isEmpty else { return [:] }
        var found: [String: SubscriptionChange.GroupRef] = [:]
        for try await (key, id, name) in try await connection.query(
            """
            SELECT DISTINCT ON (lower(name)) lower(name), id, name FROM subscription_groups
            WHERE space_id = \(spaceId) AND lower(name) = ANY(\(keys)::text[])
            ORDER BY lower(name), deleted, revision DESC
            """, logger: logger
        ).decode((String, String, String).self) {
            found[key] = SubscriptionChange.GroupRef(id: id, name: name)
        }
        return found
    }
}
