import Contracts
import Foundation
import Logging
import PostgresNIO

/// An audience as a service's replica of `engage.audiences` knows it.
public struct AudienceEntry: Sendable, Hashable, Encodable {
    public var audienceId: String
    public var audienceKey: String
    public var name: String
}

/// A service's replica of `engage.audiences` in its own `audience_catalog` table
/// (`AudienceCatalogReplica.tableStatements`): which audiences exist, by id and key, so that an
/// API naming an audience can refuse one that does not exist and accept its key.
public struct AudienceCatalogReplica: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public static let tableStatements = [
        """
        CREATE TABLE audience_catalog (
            space_id text NOT NULL,
            audience_id text NOT NULL,
            audience_key text NOT NULL,
            name text NOT NULL,
            current_version int NOT NULL,
            deleted boolean NOT NULL,
            PRIMARY KEY (space_id, audience_id)
        )
        """,
        "CREATE INDEX audience_catalog_key ON audience_catalog (space_id, audience_key)",
    ]

    /// Newest state wins; a deletion is final (a compacted topic may replay older records).
    public func apply(_ change: AudienceChange, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO audience_catalog (space_id, audience_id, audience_key, name, current_version, deleted)
            VALUES (\(change.spaceId), \(change.audienceId), \(change.audienceKey), \(change.name), \(change.currentVersion),
                    \(change.deleted))
            ON CONFLICT (space_id, audience_id) DO UPDATE SET
                audience_key = excluded.audience_key, name = excluded.name,
                current_version = greatest(audience_catalog.current_version, excluded.current_version),
                deleted = audience_catalog.deleted OR excluded.deleted
            """, logger: logger)
    }

    /// The live audience with this id or key.
    public func find(spaceId: String, idOrKey: String) async throws -> AudienceEntry? {
        let rows = try await db.query(
            """
            SELECT audience_id, audience_key, name FROM audience_catalog
            WHERE space_id = \(spaceId) AND (audience_id = \(idOrKey) OR audience_key = \(idOrKey)) AND NOT deleted
            ORDER BY audience_id = \(idOrKey) DESC LIMIT 1
            """, logger: logger)
        for try await (id, key, name) in rows.decode((String, String, String).self) {
            return AudienceEntry(audienceId: id, audienceKey: key, name: name)
        }
        return nil
    }

    /// The 422 an API answers for an audience that does not exist (or not yet here).
    public static func unknown(_ idOrKey: String) -> String {
        "no audience \"\(idOrKey)\" in this space (an id or key; a just-created audience takes a moment to arrive)"
    }
}
