import Contracts
import Foundation
import Logging
import PostgresNIO

/// Read side of profiles for the Profile API. Lookups by a merged-away profile id, or by an
/// identifier that was moved, land on the surviving profile.
public struct ProfileReader: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// The canonical profile for `type:value`. `profile_id`/`segment_id` name a profile directly.
    public func profileId(spaceId: String, type: String, value: String) async throws -> String? {
        if type == "profile_id" || type == "segment_id" {
            let rows = try await db.query(
                """
                SELECT COALESCE(merged_into, id) FROM profiles WHERE id = \(value) AND space_id = \(spaceId)
                """, logger: logger)
            for try await id in rows.decode(String.self) { return id }
            return nil
        }
        let normalized = type == "email" ? value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() : value
        let rows = try await db.query(
            """
            SELECT profile_id FROM identifiers WHERE space_id = \(spaceId) AND type = \(type) AND value = \(normalized)
            """, logger: logger)
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    public struct Trait: Sendable {
        public var key: String
        public var value: JSONValue
        public var sourceId: String?
        public var updatedAt: Date
    }

    /// Traits ordered by key, starting after `afterKey`; `limit + 1` rows tell whether more exist.
    public func traits(
        of profile: ProfileRef, include: [String]?, afterKey: String?,
        limit: Int
    ) async throws -> [Trait] {
        var result: [Trait] = []
        let collection = profile.collection
        let rows = try await db.query(
            """
            SELECT key, value::text, source_id, updated_at FROM \(unescaped: collection.traitsTable)
            WHERE \(unescaped: collection.traitsOwner) = \(profile.id) AND key > \(afterKey ?? "")
              AND (\(include == nil) OR key = ANY(\(include ?? [])))
            ORDER BY key LIMIT \(limit + 1)
            """, logger: logger)
        for try await (key, valueText, sourceId, updatedAt) in rows.decode((String, String, String?, Date).self) {
            let value = (try? JSONParser.parse(valueText.utf8)) ?? .null
            result.append(Trait(key: key, value: value, sourceId: sourceId, updatedAt: updatedAt))
        }
        return result
    }

    public struct ExternalIdRow: Sendable {
        public var type: String
        public var id: String
        public var sourceId: String?
        public var createdAt: Date
        public var firstMessageId: String?
    }

    public func externalIds(profileId: String, include: [String]?, offset: Int, limit: Int) async throws
        -> [ExternalIdRow]
    {
        var result: [ExternalIdRow] = []
        let rows = try await db.query(
            """
            SELECT type, value, source_id, created_at, first_message_id FROM identifiers
            WHERE profile_id = \(profileId) AND (\(include == nil) OR type = ANY(\(include ?? [])))
            ORDER BY created_at DESC, type, value OFFSET \(offset) LIMIT \(limit + 1)
            """, logger: logger)
        for try await (type, value, sourceId, createdAt, firstMessageId) in rows.decode(
            (String, String, String?, Date, String?).self)
        {
            result.append(
                ExternalIdRow(
                    type: type, id: value, sourceId: sourceId, createdAt: createdAt, firstMessageId: firstMessageId))
        }
        return result
    }

    public struct EventRow: Sendable {
        public var message: SegmentMessage
        public var sourceId: String
        /// The user profile the event belongs to.
        public var profileId: String
        /// The row's position, for the next page's cursor: occurred_at in whole microseconds (as
        /// stored; the message JSON carries milliseconds only) and the insertion sequence.
        public var micros: Int64
        public var seq: Int64
    }

    public struct EventQuery: Sendable {
        public var start: Date?
        public var end: Date?
        public var include: [String]?
        public var exclude: [String]?
        public var ascending: Bool
        /// Position after which to continue: (occurred_at in microseconds, seq) of the last row returned.
        public var after: (Int64, Int64)?
        public var limit: Int
    }

    public func events(of profile: ProfileRef, query: EventQuery) async throws -> [EventRow] {
        var result: [EventRow] = []
        let afterMicros = query.after?.0 ?? 0
        let afterSeq = query.after?.1 ?? 0
        let hasAfter = query.after != nil
        let start = query.start ?? Date(timeIntervalSince1970: 0)
        let end = query.end ?? Date(timeIntervalSince1970: 32_503_680_000)
        let sql: PostgresQuery = """
            SELECT message, source_id, profile_id, floor(extract(epoch FROM occurred_at) * 1000000)::bigint, seq
            FROM events WHERE \(unescaped: profile.collection.eventsOwner) = \(profile.id)
              AND occurred_at >= \(start) AND occurred_at <= \(end)
              AND (\(query.include == nil) OR COALESCE(event, type) = ANY(\(query.include ?? [])))
              AND (\(query.exclude == nil) OR NOT (COALESCE(event, type) = ANY(\(query.exclude ?? []))))
              AND (NOT \(hasAfter)
                   OR (\(query.ascending) AND (floor(extract(epoch FROM occurred_at) * 1000000)::bigint, seq) > (\(afterMicros), \(afterSeq)))
                   OR (NOT \(query.ascending) AND (floor(extract(epoch FROM occurred_at) * 1000000)::bigint, seq) < (\(afterMicros), \(afterSeq))))
            ORDER BY occurred_at \(unescaped: query.ascending ? "ASC" : "DESC"), seq \(unescaped: query.ascending ? "ASC" : "DESC")
            LIMIT \(query.limit + 1)
            """
        let rows = try await db.query(sql, logger: logger).decode((String, String, String, Int64, Int64).self)
        for try await (body, sourceId, profileId, micros, seq) in rows {
            guard let message = try? WireDecoder.decode(SegmentMessage.self, from: body.utf8) else { continue }
            result.append(
                EventRow(
                    message: message, sourceId: sourceId, profileId: profileId,
                    micros: micros, seq: seq))
        }
        return result
    }

    public struct Metadata: Sendable {
        public var createdAt: Date
        public var updatedAt: Date
        public var firstMessageId: String?
        public var firstSourceId: String?
        public var lastMessageId: String?
        public var lastSourceId: String?
    }

    public func metadata(of profile: ProfileRef) async throws -> Metadata? {
        let rows = try await db.query(
            """
            SELECT created_at, updated_at, first_message_id, first_source_id, last_message_id, last_source_id
            FROM \(unescaped: profile.collection.profilesTable) WHERE id = \(profile.id)
            """, logger: logger)
        for try await (created, updated, firstMessage, firstSource, lastMessage, lastSource) in rows.decode(
            (Date, Date, String?, String?, String?, String?).self)
        {
            return Metadata(
                createdAt: created, updatedAt: updated, firstMessageId: firstMessage, firstSourceId: firstSource,
                lastMessageId: lastMessage, lastSourceId: lastSource)
        }
        return nil
    }
}
