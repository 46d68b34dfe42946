import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit
import Synchronization

public struct SourceRef: Sendable, Hashable {
    public var sourceId: String
    public var spaceId: String
}

public struct SpaceRecord: Codable, Sendable {
    public var id: String
    public var name: String
    public var createdAt: Date
}

public struct SourceRecord: Codable, Sendable {
    public var id: String
    public var spaceId: String
    public var name: String
    public var createdAt: Date
    /// Only in the answer that created it: it is stored hashed and cannot be shown again.
    public var writeKey: String?
}

public struct AccessTokenRecord: Codable, Sendable {
    public var id: String
    public var spaceId: String
    public var name: String
    public var createdAt: Date
    /// Only in the answer that created it.
    public var token: String?
}

/// Who a presented space access token is: the token and its space (never the token itself).
public struct AccessTokenIdentity: Codable, Sendable {
    public var spaceId: String
    public var spaceName: String
    public var tokenId: String
    public var tokenName: String
    public var createdAt: Date
}

/// What `revokeAccessToken` did.
public enum AccessTokenRevocation: Sendable, Equatable {
    case revoked
    /// No such token in the space.
    case notFound
    /// The token is the one the caller presented; it is kept.
    case presentedToken
}

/// Spaces, sources, Profile API tokens and identity rules, with short-lived caches for the lookups
/// on the ingestion path (write key -> source, space -> rules). Secrets are stored as hashes.
public final class SpaceDirectory: Sendable {
    private let db: PostgresClient
    private let logger: Logger
    private let ttl: TimeInterval
    private let sources = Mutex(SourceCache())
    private let rules = Mutex<[String: ([IdentifierRule], Date)]>([:])

    /// Write key / source id -> source, for `ttl`. `generation` grows with every invalidation: a
    /// lookup that began before one does not store what it read (it may be the old state).
    private struct SourceCache {
        var entries: [String: (SourceRef?, Date)] = [:]
        var generation = 0
    }

    public init(db: PostgresClient, logger: Logger, cacheTTL: TimeInterval = 5) {
        self.db = db
        self.logger = logger
        self.ttl = cacheTTL
    }

    // MARK: admin

    public func createSpace(name: String) async throws -> SpaceRecord {
        let space = SpaceRecord(id: Secrets.id("spa_"), name: name, createdAt: Date())
        try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                "INSERT INTO spaces (id, name, created_at) VALUES (\(space.id), \(space.name), \(space.createdAt))",
                logger: logger)
            for rule in IdentifierRule.defaults {
                try await insert(rule, spaceId: space.id, on: connection)
            }
            try await publishAccess(spaceId: space.id, on: connection)
        }
        return space
    }

    public func listSpaces() async throws -> [SpaceRecord] {
        var result: [SpaceRecord] = []
        for try await (id, name, createdAt) in try await db.query(
            "SELECT id, name, created_at FROM spaces ORDER BY created_at, id", logger: logger
        )
        .decode((String, String, Date).self) {
            result.append(SpaceRecord(id: id, name: name, createdAt: createdAt))
        }
        return result
    }

    public func spaceExists(_ spaceId: String) async throws -> Bool {
        for try await _ in try await db.query("SELECT 1 FROM spaces WHERE id = \(spaceId)", logger: logger) {
            return true
        }
        return false
    }

    public func createSource(spaceId: String, name: String) async throws -> SourceRecord {
        let writeKey = Secrets.token()
        let source = SourceRecord(
            id: Secrets.id("src_"), spaceId: spaceId, name: name, createdAt: Date(), writeKey: writeKey)
        try await db.query(
            """
            INSERT INTO sources (id, space_id, name, write_key_hash, created_at)
            VALUES (\(source.id), \(spaceId), \(name), \(Secrets.hash(writeKey)), \(source.createdAt))
            """, logger: logger)
        return source
    }

    public func listSources(spaceId: String) async throws -> [SourceRecord] {
        var result: [SourceRecord] = []
        for try await (id, name, createdAt) in try await db.query(
            "SELECT id, name, created_at FROM sources WHERE space_id = \(spaceId) ORDER BY created_at, id",
            logger: logger
        ).decode((String, String, Date).self) {
            result.append(SourceRecord(id: id, spaceId: spaceId, name: name, createdAt: createdAt))
        }
        return result
    }

    /// Gives the source a new write key (returned, with the source, only here) and forgets the old
    /// one: from this answer on, this instance refuses it; other instances of the service within
    /// their cache TTL (`cacheTTL`, 5 s by default). Nil when the space has no such source.
    public func rotateWriteKey(spaceId: String, sourceId: String) async throws -> SourceRecord? {
        let writeKey = Secrets.token()
        let rotated = try await db.transaction(logger: logger) { [logger] connection -> SourceRecord? in
            var found: SourceRecord?
            for try await (name, createdAt) in try await connection.query(
                "SELECT name, created_at FROM sources WHERE id = \(sourceId) AND space_id = \(spaceId) FOR UPDATE",
                logger: logger
            ).decode((String, Date).self) {
                found = SourceRecord(
                    id: sourceId, spaceId: spaceId, name: name, createdAt: createdAt, writeKey: writeKey)
            }
            guard found != nil else { return nil }
            try await connection.query(
                "UPDATE sources SET write_key_hash = \(Secrets.hash(writeKey)) WHERE id = \(sourceId)", logger: logger)
            return found
        }
        if rotated != nil { forgetSource(sourceId) }
        return rotated
    }

    public func createAccessToken(spaceId: String, name: String) async throws -> AccessTokenRecord {
        let token = Secrets.token()
        let record = AccessTokenRecord(
            id: Secrets.id("tok_"), spaceId: spaceId, name: name, createdAt: Date(), token: token)
        try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                """
                INSERT INTO access_tokens (id, space_id, name, token_hash, created_at)
                VALUES (\(record.id), \(spaceId), \(name), \(Secrets.hash(token)), \(record.createdAt))
                """, logger: logger)
            try await publishAccess(spaceId: spaceId, on: connection)
        }
        return record
    }

    public func listAccessTokens(spaceId: String) async throws -> [AccessTokenRecord] {
        var result: [AccessTokenRecord] = []
        for try await (id, name, createdAt) in try await db.query(
            "SELECT id, name, created_at FROM access_tokens WHERE space_id = \(spaceId) ORDER BY created_at, id",
            logger: logger
        ).decode((String, String, Date).self) {
            result.append(AccessTokenRecord(id: id, spaceId: spaceId, name: name, createdAt: createdAt))
        }
        return result
    }

    /// The space an access token belongs to, or nil.
    public func spaceId(forAccessToken token: String) async throws -> String? {
        try await spaceId(forAccessTokenHash: Secrets.hash(token))
    }

    public func spaceId(forAccessTokenHash tokenHash: String) async throws -> String? {
        for try await spaceId in try await db.query(
            "SELECT space_id FROM access_tokens WHERE token_hash = \(tokenHash)", logger: logger
        ).decode(String.self) {
            return spaceId
        }
        return nil
    }

    /// The token of this hash and its space, or nil.
    public func accessToken(hash tokenHash: String) async throws -> AccessTokenIdentity? {
        for try await (tokenId, tokenName, createdAt, spaceId, spaceName) in try await db.query(
            """
            SELECT t.id, t.name, t.created_at, s.id, s.name
            FROM access_tokens t JOIN spaces s ON s.id = t.space_id WHERE t.token_hash = \(tokenHash)
            """, logger: logger
        ).decode((String, String, Date, String, String).self) {
            return AccessTokenIdentity(
                spaceId: spaceId, spaceName: spaceName, tokenId: tokenId, tokenName: tokenName, createdAt: createdAt)
        }
        return nil
    }

    /// Deletes a token of the space and queues the space's access record without it (as
    /// `createAccessToken` does), so the other services drop it. The token whose hash is
    /// `presentedHash` (the caller's own) is kept: `.presentedToken`.
    public func revokeAccessToken(spaceId: String, tokenId: String, presentedHash: String) async throws
        -> AccessTokenRevocation
    {
        try await db.transaction(logger: logger) { [self] connection -> AccessTokenRevocation in
            var tokenHash: String?
            for try await hash in try await connection.query(
                "SELECT token_hash FROM access_tokens WHERE id = \(tokenId) AND space_id = \(spaceId) FOR UPDATE",
                logger: logger
            ).decode(String.self) {
                tokenHash = hash
            }
            guard let tokenHash else { return .notFound }
            guard tokenHash != presentedHash else { return .presentedToken }
            try await connection.query("DELETE FROM access_tokens WHERE id = \(tokenId)", logger: logger)
            try await publishAccess(spaceId: spaceId, on: connection)
            return .revoked
        }
    }

    // MARK: replication to the other services

    /// Queues the space's current access record for `engage.spaces` (in the caller's transaction).
    /// The revision is the commit-order clock in microseconds, so replicas keep the newest.
    private func publishAccess(spaceId: String, on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            SELECT s.name, COALESCE(array_agg(t.token_hash ORDER BY t.token_hash) FILTER (WHERE t.token_hash IS NOT NULL), '{}'),
                   (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
            FROM spaces s LEFT JOIN access_tokens t ON t.space_id = s.id
            WHERE s.id = \(spaceId) GROUP BY s.id, s.name
            """, logger: logger)
        for try await (name, hashes, revision) in rows.decode((String, [String], Int64).self) {
            let access = SpaceAccess(spaceId: spaceId, name: name, accessTokenHashes: hashes, revision: revision)
            try await Outbox.enqueue(
                [try OutboxMessage(topic: Topic.spaces, key: spaceId, event: access, contract: SpaceAccess.contract)],
                on: connection, logger: logger)
        }
    }

    /// Publishes every space's access record again (at startup): a service whose replica was
    /// created after the topic's retention dropped old records still learns every space.
    public func republishAllSpaces() async throws {
        try await db.transaction(logger: logger) { [self] connection in
            var ids: [String] = []
            for try await id in try await connection.query("SELECT id FROM spaces ORDER BY id", logger: logger).decode(
                String.self)
            { ids.append(id) }
            for id in ids { try await publishAccess(spaceId: id, on: connection) }
        }
    }

    // MARK: identity rules

    public func identifierRules(spaceId: String) async throws -> [IdentifierRule] {
        let now = Date()
        if let (cached, at) = rules.withLock({ $0[spaceId] }), now.timeIntervalSince(at) < ttl { return cached }
        var loaded: [IdentifierRule] = []
        for try await (type, priority, limit, window, traitKey, propertyKey) in try await db.query(
            """
            SELECT type, priority, value_limit, window_seconds, trait_key, property_key
            FROM identifier_rules WHERE space_id = \(spaceId) ORDER BY priority, type
            """, logger: logger
        ).decode((String, Int, Int, Int64?, String?, String?).self) {
            let source: IdentifierSource = traitKey.map { .trait($0) } ?? propertyKey.map { .property($0) } ?? .builtIn
            loaded.append(
                IdentifierRule(
                    type: type, priority: priority, limit: limit, window: window.map { TimeInterval($0) },
                    source: source))
        }
        rules.withLock { $0[spaceId] = (loaded, now) }
        return loaded
    }

    /// Adds or changes a rule; takes effect on every instance within the cache TTL.
    public func upsert(_ rule: IdentifierRule, spaceId: String) async throws {
        try await db.withConnection { connection in try await insert(rule, spaceId: spaceId, on: connection) }
        _ = rules.withLock { $0.removeValue(forKey: spaceId) }
    }

    private func insert(_ rule: IdentifierRule, spaceId: String, on connection: PostgresConnection) async throws {
        var traitKey: String?
        var propertyKey: String?
        switch rule.source {
        case .builtIn: break
        case .trait(let key): traitKey = key
        case .property(let key): propertyKey = key
        }
        let window = rule.window.map { Int64($0) }
        try await connection.query(
            """
            INSERT INTO identifier_rules (space_id, type, priority, value_limit, window_seconds, trait_key, property_key)
            VALUES (\(spaceId), \(rule.type), \(rule.priority), \(rule.limit), \(window), \(traitKey), \(propertyKey))
            ON CONFLICT (space_id, type) DO UPDATE SET priority = excluded.priority, value_limit = excluded.value_limit,
                window_seconds = excluded.window_seconds, trait_key = excluded.trait_key,
                property_key = excluded.property_key, updated_at = now()
            """, logger: logger)
    }

    // MARK: sources on the ingestion path

    public func source(writeKey: String) async throws -> SourceRef? {
        try await cachedSource("key:" + Secrets.hash(writeKey)) {
            try await self.db.query(
                "SELECT id, space_id FROM sources WHERE write_key_hash = \(Secrets.hash(writeKey))", logger: self.logger
            )
        }
    }

    public func source(id: String) async throws -> SourceRef? {
        try await cachedSource("id:" + id) {
            try await self.db.query("SELECT id, space_id FROM sources WHERE id = \(id)", logger: self.logger)
        }
    }

    /// A platform-internal source (`InternalSource`) publishing for a space that exists.
    public func internalSource(id: String, spaceId: String) async throws -> SourceRef? {
        try await cachedSource("internal:\(id):\(spaceId)") {
            try await self.db.query("SELECT \(id)::text, id FROM spaces WHERE id = \(spaceId)", logger: self.logger)
        }
    }

    private func cachedSource(_ cacheKey: String, load: () async throws -> PostgresRowSequence) async throws
        -> SourceRef?
    {
        let now = Date()
        let (cached, generation) = sources.withLock { ($0.entries[cacheKey], $0.generation) }
        if let (cached, at) = cached, now.timeIntervalSince(at) < ttl { return cached }
        var found: SourceRef?
        for try await (id, spaceId) in try await load().decode((String, String).self) {
            found = SourceRef(sourceId: id, spaceId: spaceId)
        }
        sources.withLock { cache in
            if cache.generation == generation { cache.entries[cacheKey] = (found, now) }
        }
        return found
    }

    /// Drops every cached lookup that found the source (its old write key among them), and keeps
    /// lookups already under way from storing what they read before the change.
    private func forgetSource(_ sourceId: String) {
        sources.withLock { cache in
            cache.generation += 1
            cache.entries = cache.entries.filter { $0.value.0?.sourceId != sourceId }
        }
    }
}
