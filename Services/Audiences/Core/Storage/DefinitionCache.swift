import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The compiled definitions of every space, reloaded when the definitions clock moved.
///
/// Every writer of profile state calls `current(on:)` inside its transaction, after taking the
/// definitions barrier in shared mode. A build takes the barrier exclusively after a definition
/// changed: once it has it, every transaction that started before the change has committed, and
/// every later one sees the new definitions. That is what lets a backfill and the live stream
/// meet without missing an event.
public final class DefinitionCache: Sendable {
    private struct Loaded: Sendable {
        var revision: Int64
        var spaces: [String: CompiledSpace]
    }

    private let loaded = Mutex<Loaded?>(nil)
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public static func enterShared(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended('audiences:definitions-barrier', 0))", logger: logger)
    }

    public static func enterExclusive(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtextextended('audiences:definitions-barrier', 0))", logger: logger)
    }

    /// Tells every instance's cache, at its next transaction, that the definitions changed.
    public static func advanceClock(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE definitions_clock SET revision = revision + 1 WHERE id = 1", logger: logger)
    }

    /// The definitions as of this transaction (call after `enterShared`).
    public func current(on connection: PostgresConnection) async throws -> [String: CompiledSpace] {
        var revision: Int64 = 0
        for try await value in try await connection.query(
            "SELECT revision FROM definitions_clock WHERE id = 1", logger: logger
        ).decode(Int64.self) {
            revision = value
        }
        if let cached = loaded.withLock({ $0 }), cached.revision == revision { return cached.spaces }
        let spaces = try await Self.load(on: connection, logger: logger)
        loaded.withLock { $0 = Loaded(revision: revision, spaces: spaces) }
        logger.info("definitions loaded", metadata: ["revision": "\(revision)", "spaces": "\(spaces.count)"])
        return spaces
    }

    static func load(on connection: PostgresConnection, logger: Logger) async throws -> [String: CompiledSpace] {
        var audiences: [String: [AudienceSpec]] = [:]
        for try await (spaceId, id, key, name, liveVersion, liveText, currentVersion, currentText)
            in try await connection.query(
                """
                SELECT a.space_id, a.id, a.key, a.name, a.live_version, l.definition::text, a.current_version, c.definition::text
                FROM audiences a
                JOIN audience_versions c ON c.space_id = a.space_id AND c.audience_id = a.id AND c.version = a.current_version
                LEFT JOIN audience_versions l ON l.space_id = a.space_id AND l.audience_id = a.id AND l.version = a.live_version
                WHERE a.deleted_at IS NULL
                """, logger: logger
            ).decode((String, String, String, String, Int?, String?, Int, String).self)
        {
            let live = liveText.flatMap { try? DefinitionParser.condition(JSONParser.parse(Array($0.utf8))) }
            let building =
                currentVersion == liveVersion
                ? nil : try? DefinitionParser.condition(JSONParser.parse(Array(currentText.utf8)))
            audiences[spaceId, default: []].append(
                AudienceSpec(
                    id: id, key: key, name: name, liveVersion: live == nil ? nil : liveVersion, live: live,
                    buildingVersion: building == nil ? nil : currentVersion, building: building))
        }
        var traits: [String: [TraitSpec]] = [:]
        for try await (spaceId, id, key, liveVersion, liveText, currentVersion, currentText)
            in try await connection.query(
                """
                SELECT t.space_id, t.id, t.key, t.live_version, l.definition::text, t.current_version, c.definition::text
                FROM computed_traits t
                JOIN computed_trait_versions c ON c.space_id = t.space_id AND c.trait_id = t.id AND c.version = t.current_version
                LEFT JOIN computed_trait_versions l ON l.space_id = t.space_id AND l.trait_id = t.id AND l.version = t.live_version
                WHERE t.deleted_at IS NULL
                """, logger: logger
            ).decode((String, String, String, Int?, String?, Int, String).self)
        {
            let live = liveText.flatMap { try? DefinitionParser.computedTrait(JSONParser.parse(Array($0.utf8))) }
            let building =
                currentVersion == liveVersion
                ? nil : try? DefinitionParser.computedTrait(JSONParser.parse(Array(currentText.utf8)))
            traits[spaceId, default: []].append(
                TraitSpec(
                    id: id, key: key, liveVersion: live == nil ? nil : liveVersion, live: live,
                    buildingVersion: building == nil ? nil : currentVersion, building: building))
        }
        var result: [String: CompiledSpace] = [:]
        for spaceId in Set(audiences.keys).union(traits.keys) {
            result[spaceId] = CompiledSpace(audiences: audiences[spaceId] ?? [], traits: traits[spaceId] ?? [])
        }
        return result
    }
}
