import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// This service's replica of `engage.spaces`: which access tokens open which space. Records are
/// applied only when newer than the stored revision, so redelivery and reordering are harmless.
public final class SpaceAccessReplica: Sendable {
    private let db: PostgresClient
    private let logger: Logger
    private let ttl: Duration
    private let cache = Mutex<[String: (spaceId: String?, at: ContinuousClock.Instant)]>([:])

    public init(db: PostgresClient, logger: Logger, cacheTTL: Duration = .seconds(5)) {
        self.db = db
        self.logger = logger
        self.ttl = cacheTTL
    }

    /// Parses a record of the spaces topic; a precise reason when it is not one.
    public static func decode(_ value: [UInt8]?) throws(InvalidMessage) -> SpaceAccess {
        let access = try InvalidMessage.decodeRecord(SpaceAccess.self, contract: SpaceAccess.contract, from: value)
        guard !access.spaceId.isEmpty else { throw InvalidMessage("spaceId is empty") }
        return access
    }

    public func apply(_ records: [SpaceAccess], on connection: PostgresConnection) async throws {
        for record in records {
            try await connection.query(
                """
                INSERT INTO space_access (space_id, name, token_hashes, revision, updated_at)
                VALUES (\(record.spaceId), \(record.name), \(record.accessTokenHashes), \(record.revision), now())
                ON CONFLICT (space_id) DO UPDATE SET name = excluded.name, token_hashes = excluded.token_hashes,
                    revision = excluded.revision, updated_at = now()
                WHERE space_access.revision < excluded.revision
                """, logger: logger)
        }
        cache.withLock { $0.removeAll() }
    }

    public func apply(_ records: [SpaceAccess]) async throws {
        try await db.withConnection { connection in try await apply(records, on: connection) }
    }

    /// Applies the space-access records among a consumer's inputs (`access` picks them out) and
    /// returns the other inputs, in their order.
    public func applyAccess<Input>(in inputs: [Input], _ access: (Input) -> SpaceAccess?) async throws -> [Input] {
        var records: [SpaceAccess] = []
        var others: [Input] = []
        for input in inputs {
            if let record = access(input) { records.append(record) } else { others.append(input) }
        }
        if !records.isEmpty { try await apply(records) }
        return others
    }

    /// The space a token opens, or nil. `tokenHash` is the token's SHA-256 hex.
    public func spaceId(forTokenHash tokenHash: String) async throws -> String? {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[tokenHash] }), now - hit.at < ttl { return hit.spaceId }
        var spaceId: String?
        for try await id in try await db.query(
            "SELECT space_id FROM space_access WHERE token_hashes @> ARRAY[\(tokenHash)]::text[]", logger: logger
        ).decode(String.self) {
            spaceId = id
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[tokenHash] = (spaceId, now)
        }
        return spaceId
    }

    public func spaceExists(_ spaceId: String) async throws -> Bool {
        for try await _ in try await db.query("SELECT 1 FROM space_access WHERE space_id = \(spaceId)", logger: logger)
        { return true }
        return false
    }
}
