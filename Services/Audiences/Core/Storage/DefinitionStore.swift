import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Audiences and computed traits: versioned definitions. Saving a definition creates a version
/// and a build (backfill); the build makes the version live. Every change bumps the definitions
/// clock, which consumers check per batch.
public struct DefinitionStore: Sendable {
    let db: PostgresClient
    let logger: Logger
    let onChange: @Sendable () -> Void

    public init(db: PostgresClient, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        self.db = db
        self.logger = logger
        self.onChange = onChange
    }

    public enum Kind: String, Sendable {
        case audience
        case computedTrait = "computed_trait"

        var table: String { self == .audience ? "audiences" : "computed_traits" }
        var versionsTable: String { self == .audience ? "audience_versions" : "computed_trait_versions" }
        var versionsOwner: String { self == .audience ? "audience_id" : "trait_id" }
        var idPrefix: String { self == .audience ? "aud_" : "ctr_" }
        var noun: String { self == .audience ? "audience" : "computed trait" }
    }

    public struct Record: Encodable, Sendable {
        public var id: String
        public var key: String
        public var name: String
        public var description: String
        public var version: Int
        public var liveVersion: Int?
        /// `building` until the newest version has been computed over the history, then `live`.
        public var status: String
        public var definition: JSONValue
        public var build: BuildProgress?
        public var createdAt: Date
        public var updatedAt: Date
    }

    public struct BuildProgress: Encodable, Sendable {
        public var id: Int64
        public var version: Int
        public var phase: String
        public var eventsScanned: Int64
        public var eventsTotal: Int64
        public var profilesEvaluated: Int64
        public var profilesTotal: Int64
        public var entered: Int64
        public var exited: Int64
        public var startedAt: Date?
        public var finishedAt: Date?
        public var error: String?
    }

    public struct VersionRecord: Encodable, Sendable {
        public var version: Int
        public var definition: JSONValue
        public var createdAt: Date
    }

    static let keyPattern = "lower-case letters, digits and underscores, 1 to 100 characters"

    static func checkKey(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 100,
            key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F })
        else {
            throw APIError.badRequest("key must be \(keyPattern)")
        }
        // `/audiences/preview` and `/.../validate` are routes: an audience keyed so could not be read by its key.
        if reservedKeys.contains(key) {
            throw APIError.badRequest("key \(key) is reserved (it names a route); choose another")
        }
    }

    static let reservedKeys: Set<String> = ["preview", "validate"]

    // MARK: writes

    public func create(
        _ kind: Kind, spaceId: String, key: String, name: String, description: String, definition: JSONValue
    ) async throws -> Record {
        try Self.checkKey(key)
        try checkName(name)
        try Self.check(kind, definition)
        let id = kind.idPrefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await db.transaction(logger: logger) { [self] connection in
            try await lockDefinitions(spaceId: spaceId, on: connection)
            if try await exists(kind, spaceId: spaceId, key: key, on: connection) {
                throw APIError.conflict("a \(kind.noun) with key \"\(key)\" already exists")
            }
            if kind == .audience {
                try await checkCycles(spaceId: spaceId, key: key, definition: definition, on: connection)
            }
            try await connection.query(
                """
                INSERT INTO \(unescaped: kind.table) (space_id, id, key, name, description, current_version) VALUES (\(spaceId), \(id), \(key), \(name), \(description), 1)
                """, logger: logger)
            try await insertVersion(kind, spaceId: spaceId, id: id, version: 1, definition: definition, on: connection)
            try await announce(kind, spaceId: spaceId, id: id, on: connection)
        }
        onChange()
        guard let record = try await record(kind, spaceId: spaceId, idOrKey: id) else {
            throw APIError.notFound("\(kind.noun) vanished")
        }
        return record
    }

    public func update(
        _ kind: Kind, spaceId: String, idOrKey: String, name: String?, description: String?, definition: JSONValue?
    ) async throws -> Record {
        if let name { try checkName(name) }
        if let definition { try Self.check(kind, definition) }
        guard let current = try await record(kind, spaceId: spaceId, idOrKey: idOrKey) else {
            throw notFound(kind, idOrKey)
        }
        try await db.transaction(logger: logger) { [self] connection in
            try await lockDefinitions(spaceId: spaceId, on: connection)
            try await connection.query(
                """
                UPDATE \(unescaped: kind.table) SET name = \(name ?? current.name), description = \(description ?? current.description), updated_at = now()
                WHERE space_id = \(spaceId) AND id = \(current.id)
                """, logger: logger)
            if let definition, definition != current.definition {
                if kind == .audience {
                    try await checkCycles(spaceId: spaceId, key: current.key, definition: definition, on: connection)
                }
                let version = try await nextVersion(kind, spaceId: spaceId, id: current.id, on: connection)
                try await connection.query(
                    """
                    UPDATE \(unescaped: kind.table) SET current_version = \(version) WHERE space_id = \(spaceId) AND id = \(current.id)
                    """, logger: logger)
                try await insertVersion(
                    kind, spaceId: spaceId, id: current.id, version: version, definition: definition, on: connection)
            } else {
                try await DefinitionCache.advanceClock(on: connection, logger: logger)
            }
            try await announce(kind, spaceId: spaceId, id: current.id, on: connection)
        }
        onChange()
        guard let record = try await record(kind, spaceId: spaceId, idOrKey: current.id) else {
            throw notFound(kind, idOrKey)
        }
        return record
    }

    /// Deleting an audience others refer to is refused; a deleted audience's members leave it
    /// (Audience Exited, reason `deleted`) through a teardown build.
    public func delete(_ kind: Kind, spaceId: String, idOrKey: String) async throws {
        guard let current = try await record(kind, spaceId: spaceId, idOrKey: idOrKey) else {
            throw notFound(kind, idOrKey)
        }
        try await db.transaction(logger: logger) { [self] connection in
            try await lockDefinitions(spaceId: spaceId, on: connection)
            let referrers = try await referrers(kind, spaceId: spaceId, key: current.key, on: connection)
            if !referrers.isEmpty {
                throw APIError.conflict(
                    "\(kind.noun) \"\(current.key)\" is used by audience\(referrers.count == 1 ? "" : "s") \(referrers.sorted().joined(separator: ", ")); change those first"
                )
            }
            try await connection.query(
                """
                UPDATE \(unescaped: kind.table) SET deleted_at = now(), updated_at = now() WHERE space_id = \(spaceId) AND id = \(current.id)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE builds SET phase = 'superseded', finished_at = now()
                WHERE space_id = \(spaceId) AND target_id = \(current.id) AND phase NOT IN ('done', 'failed', 'superseded')
                """, logger: logger)
            if kind == .audience {
                try await connection.query(
                    """
                    INSERT INTO builds (space_id, target_kind, target_id, version) VALUES (\(spaceId), \(BuildWorker.audienceTeardown), \(current.id), \(current.version))
                    """, logger: logger)
            }
            try await DefinitionCache.advanceClock(on: connection, logger: logger)
            try await announce(kind, spaceId: spaceId, id: current.id, on: connection)
        }
        onChange()
    }

    private func insertVersion(
        _ kind: Kind, spaceId: String, id: String, version: Int, definition: JSONValue,
        on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO \(unescaped: kind.versionsTable) (space_id, \(unescaped: kind.versionsOwner), version, definition)
            VALUES (\(spaceId), \(id), \(version), \(definition.json)::jsonb)
            """, logger: logger)
        // A newer version makes any build of an older one pointless.
        try await connection.query(
            """
            UPDATE builds SET phase = 'superseded', finished_at = now()
            WHERE space_id = \(spaceId) AND target_id = \(id) AND phase NOT IN ('done', 'failed', 'superseded')
            """, logger: logger)
        try await connection.query(
            """
            INSERT INTO builds (space_id, target_kind, target_id, version) VALUES (\(spaceId), \(kind.rawValue), \(id), \(version))
            """, logger: logger)
        try await DefinitionCache.advanceClock(on: connection, logger: logger)
    }

    private func nextVersion(_ kind: Kind, spaceId: String, id: String, on connection: PostgresConnection) async throws
        -> Int
    {
        for try await version in try await connection.query(
            """
            SELECT coalesce(max(version), 0) + 1 FROM \(unescaped: kind.versionsTable) WHERE space_id = \(spaceId) AND \(unescaped: kind.versionsOwner) = \(id)
            """, logger: logger
        ).decode(Int.self) { return version }
        return 1
    }

    /// An audience's state on `engage.audiences`, in the transaction that changed it (outbox).
    private func announce(_ kind: Kind, spaceId: String, id: String, on connection: PostgresConnection) async throws {
        guard kind == .audience else { return }
        var changes: [OutboxMessage] = []
        for try await (key, name, version, deleted) in try await connection.query(
            """
            SELECT key, name, current_version, deleted_at IS NOT NULL FROM audiences WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger
        ).decode((String, String, Int, Bool).self) {
            let change = AudienceChange(
                spaceId: spaceId, audienceId: id, audienceKey: key, name: name, currentVersion: version,
                deleted: deleted, occurredAt: Date())
            changes.append(
                try OutboxMessage(
                    topic: Topic.audiences, key: change.key, event: change, contract: AudienceChange.contract))
        }
        try await Outbox.enqueue(changes, on: connection, logger: logger)
    }

    /// Serialises definition changes of a space, so that two saves cannot build a cycle together.
    private func lockDefinitions(spaceId: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtextextended('audiences:definitions:' || \(spaceId), 0))", logger: logger)
    }

    private func exists(_ kind: Kind, spaceId: String, key: String, on connection: PostgresConnection) async throws
        -> Bool
    {
        for try await _ in try await connection.query(
            """
            SELECT 1 FROM \(unescaped: kind.table) WHERE space_id = \(spaceId) AND key = \(key) AND deleted_at IS NULL
            """, logger: logger)
        { return true }
        return false
    }

    private func checkName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.utf8.count <= 255 else {
            throw APIError.badRequest("name must be 1 to 255 bytes")
        }
    }

    static func check(_ kind: Kind, _ definition: JSONValue) throws {
        do {
            if kind == .audience {
                _ = try DefinitionParser.condition(definition)
            } else {
                _ = try DefinitionParser.computedTrait(definition)
            }
        } catch {
            throw APIError(.unprocessableContent, code: "invalid_definition", message: error.description)
        }
    }

    private func notFound(_ kind: Kind, _ idOrKey: String) -> APIError {
        APIError.notFound("no \(kind.noun) \"\(idOrKey)\" in this space")
    }

    /// The current definitions of the space's audiences, by key.
    private func currentAudienceDefinitions(spaceId: String, on connection: PostgresConnection) async throws -> [String:
        Condition]
    {
        var result: [String: Condition] = [:]
        for try await (key, text) in try await connection.query(
            """
            SELECT a.key, v.definition::text FROM audiences a
            JOIN audience_versions v ON v.space_id = a.space_id AND v.audience_id = a.id AND v.version = a.current_version
            WHERE a.space_id = \(spaceId) AND a.deleted_at IS NULL
            """, logger: logger
        ).decode((String, String).self) {
            if let json = try? JSONParser.parse(Array(text.utf8)), let condition = try? DefinitionParser.condition(json)
            {
                result[key] = condition
            }
        }
        return result
    }

    /// Refuses a definition that would make an audience depend on itself, naming the cycle.
    private func checkCycles(spaceId: String, key: String, definition: JSONValue, on connection: PostgresConnection)
        async throws
    {
        var graph = try await currentAudienceDefinitions(spaceId: spaceId, on: connection).mapValues(\.audienceKeys)
        graph[key] = try DefinitionParser.condition(definition).audienceKeys
        if let cycle = Self.cycle(from: key, in: graph) {
            throw APIError(
                .unprocessableContent, code: "audience_cycle",
                message: "definition refers back to itself: \(cycle.joined(separator: " → "))")
        }
    }

    /// A path from `start` back to `start` through "refers to", if there is one.
    static func cycle(from start: String, in graph: [String: Set<String>]) -> [String]? {
        var visited: Set<String> = []
        func walk(_ node: String, _ path: [String]) -> [String]? {
            for next in (graph[node] ?? []).sorted() {
                if next == start { return path + [next] }
                guard visited.insert(next).inserted else { continue }
                if let found = walk(next, path + [next]) { return found }
            }
            return nil
        }
        return walk(start, [start])
    }

    private func referrers(_ kind: Kind, spaceId: String, key: String, on connection: PostgresConnection) async throws
        -> [String]
    {
        let definitions = try await currentAudienceDefinitions(spaceId: spaceId, on: connection)
        return definitions.filter { other, condition in
            kind == .audience
                ? other != key && condition.audienceKeys.contains(key) : condition.computedTraitKeys.contains(key)
        }.map(\.key)
    }

    // MARK: reads

    public func record(_ kind: Kind, spaceId: String, idOrKey: String) async throws -> Record? {
        try await records(kind, spaceId: spaceId, idOrKey: idOrKey).first
    }

    public func records(_ kind: Kind, spaceId: String, idOrKey: String? = nil) async throws -> [Record] {
        var result: [Record] = []
        let rows = try await db.query(
            """
            SELECT t.id, t.key, t.name, t.description, t.current_version, t.live_version, v.definition::text, t.created_at, t.updated_at,
                   b.id, b.version, b.phase, b.events_scanned, b.events_total, b.profiles_evaluated, b.profiles_total, b.entered, b.exited,
                   b.started_at, b.finished_at, b.error
            FROM \(unescaped: kind.table) t
            JOIN \(unescaped: kind.versionsTable) v ON v.space_id = t.space_id AND v.\(unescaped: kind.versionsOwner) = t.id AND v.version = t.current_version
            LEFT JOIN LATERAL (SELECT * FROM builds b WHERE b.space_id = t.space_id AND b.target_id = t.id AND b.target_kind = \(kind.rawValue)
                               ORDER BY b.id DESC LIMIT 1) b ON true
            WHERE t.space_id = \(spaceId) AND t.deleted_at IS NULL AND (\(idOrKey)::text IS NULL OR t.id = \(idOrKey) OR t.key = \(idOrKey))
            ORDER BY t.created_at, t.id
            """, logger: logger)
        for try await row in rows {
            let columns = try row.decode(
                (
                    String, String, String, String, Int, Int?, String, Date, Date,
                    Int64?, Int?, String?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Date?, Date?, String?
                ).self)
            let (id, key, name, description, version, liveVersion, definitionText, createdAt, updatedAt) =
                (columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8)
            var build: BuildProgress?
            if let buildId = columns.9 {
                build = BuildProgress(
                    id: buildId, version: columns.10 ?? version, phase: columns.11 ?? "pending",
                    eventsScanned: columns.12 ?? 0, eventsTotal: columns.13 ?? 0,
                    profilesEvaluated: columns.14 ?? 0, profilesTotal: columns.15 ?? 0,
                    entered: columns.16 ?? 0, exited: columns.17 ?? 0,
                    startedAt: columns.18, finishedAt: columns.19, error: columns.20)
            }
            result.append(
                Record(
                    id: id, key: key, name: name, description: description, version: version, liveVersion: liveVersion,
                    status: liveVersion == version ? "live" : "building",
                    definition: (try? JSONParser.parse(Array(definitionText.utf8))) ?? .null,
                    build: build, createdAt: createdAt, updatedAt: updatedAt))
        }
        return result
    }

    public func versions(_ kind: Kind, spaceId: String, id: String) async throws -> [VersionRecord] {
        var result: [VersionRecord] = []
        for try await (version, text, createdAt) in try await db.query(
            """
            SELECT version, definition::text, created_at FROM \(unescaped: kind.versionsTable)
            WHERE space_id = \(spaceId) AND \(unescaped: kind.versionsOwner) = \(id) ORDER BY version
            """, logger: logger
        ).decode((Int, String, Date).self) {
            result.append(
                VersionRecord(
                    version: version, definition: (try? JSONParser.parse(Array(text.utf8))) ?? .null,
                    createdAt: createdAt))
        }
        return result
    }
}
