import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The journeys that can take entries or hold profiles, per space, as the engine needs them on
/// every batch. Every lifecycle change bumps the journey's `revision`; one cheap query per batch
/// tells whether anything changed (in this process or another instance). Published versions never
/// change, so they are cached for good.
public final class JourneyCatalog: Sendable {
    public struct Live: Sendable {
        public var ref: JourneyRef
        public var status: String
        public var firstPublishedAt: Date
    }

    private let logger: Logger
    private let state = Mutex<(revision: Int64, bySpace: [String: [Live]])>((-1, [:]))
    private let versions = Mutex<[String: JourneyRef]>([:])

    public init(logger: Logger) { self.logger = logger }

    /// Published and paused journeys of the space, at their current versions, as of the last `refresh`.
    func live(spaceId: String) -> [Live] {
        state.withLock { $0.bySpace[spaceId] ?? [] }
    }

    /// Reloads the live journeys when any changed (one cheap query when none did).
    func refresh(on connection: PostgresConnection) async throws {
        var latest: Int64 = 0
        for try await value in try await connection.query(
            "SELECT coalesce(max(revision), 0) FROM journeys", logger: logger
        ).decode(Int64.self) {
            latest = value
        }
        guard latest != state.withLock({ $0.revision }) else { return }
        var bySpace: [String: [Live]] = [:]
        for try await (spaceId, id, name, status, version, firstPublished) in try await connection.query(
            """
            SELECT space_id, id, name, status, current_version, first_published_at FROM journeys
            WHERE status IN ('published', 'paused') AND current_version IS NOT NULL
            """, logger: logger
        ).decode((String, String, String, String, Int, Date).self) {
            guard var ref = try await self.version(spaceId: spaceId, journeyId: id, version: version, on: connection)
            else { continue }
            ref.name = name
            bySpace[spaceId, default: []].append(Live(ref: ref, status: status, firstPublishedAt: firstPublished))
        }
        state.withLock { $0 = (latest, bySpace) }
    }

    /// One published version (any, not only the current one: profiles stay on theirs).
    func version(spaceId: String, journeyId: String, version: Int, on connection: PostgresConnection) async throws
        -> JourneyRef?
    {
        let key = "\(spaceId)|\(journeyId)|\(version)"
        if let hit = versions.withLock({ $0[key] }) { return hit }
        for try await (name, text) in try await connection.query(
            """
            SELECT j.name, v.definition::text FROM journey_versions v JOIN journeys j ON j.space_id = v.space_id AND j.id = v.journey_id
            WHERE v.space_id = \(spaceId) AND v.journey_id = \(journeyId) AND v.version = \(version)
            """, logger: logger
        ).decode((String, String).self) {
            let json = try JSONParser.parse(Array(text.utf8))
            guard case .success(let definition) = JourneyParser.parse(json) else {
                logger.error(
                    "a published journey version no longer parses",
                    metadata: ["journey_id": "\(journeyId)", "version": "\(version)"])
                return nil
            }
            let ref = JourneyRef(
                spaceId: spaceId, journeyId: journeyId, name: name, version: version, definition: definition)
            versions.withLock { $0[key] = ref }
            return ref
        }
        return nil
    }

    /// Forces a reload on the next batch (after a change by this process).
    func invalidate() { state.withLock { $0.revision = -1 } }
}
