import Contracts
import Foundation
import Logging
import PostgresNIO

/// This service's log of track events, with what conditions can look at (name, time, properties):
/// written by the consumer, read by builds and previews. Its key `(space, profile, message id)`
/// is also the consumer's deduplication.
enum EventLog {
    /// Stores the new track events among `events`; returns the message ids that were new.
    static func insert(_ events: [ProfileEvent], spaceId: String, on connection: PostgresConnection, logger: Logger)
        async throws -> Set<String>
    {
        var seen: Set<String> = []
        let tracks = events.filter { event in
            event.message.type == .track && event.message.event != nil
                && seen.insert(event.profileId + "\u{1F}" + event.message.messageId).inserted
        }
        guard !tracks.isEmpty else { return [] }
        var fresh: Set<String> = []
        for try await id in try await connection.query(
            """
            INSERT INTO event_log (space_id, profile_id, message_id, name, occurred_at, properties)
            SELECT \(spaceId), p, m, n, t, j::jsonb FROM unnest(\(tracks.map(\.profileId))::text[], \(tracks.map(\.message.messageId))::text[],
                \(tracks.map { $0.message.event ?? "" })::text[], \(tracks.map(\.occurredAt))::timestamptz[],
                \(tracks.map { StateStore.jsonb(JSONValue.object($0.message.properties ?? [:]).json) })::text[]) AS x(p, m, n, t, j)
            ON CONFLICT DO NOTHING RETURNING message_id
            """, logger: logger
        ).decode(String.self) { fresh.insert(id) }
        return fresh
    }

    /// A row of `select`: profile id, event id, name, time (epoch seconds), properties (JSON text).
    typealias Row = (String, String, String, Double, String)

    /// The logged events with these names, of these profiles (nil: all). The event id is built as
    /// `ProfileEvent.id` is (`<space>:<message id>`), so entries from the log and from the live
    /// stream unite.
    static func select(spaceId: String, names: [String], profileIds: [String]? = nil) -> PostgresQuery {
        let columns =
            "profile_id, space_id || ':' || message_id, name, extract(epoch FROM occurred_at)::float8, properties::text"
        if let profileIds {
            return
                "SELECT \(unescaped: columns) FROM event_log WHERE space_id = \(spaceId) AND profile_id = ANY(\(profileIds)) AND name = ANY(\(names))"
        }
        return "SELECT \(unescaped: columns) FROM event_log WHERE space_id = \(spaceId) AND name = ANY(\(names))"
    }

    static func count(spaceId: String, names: [String]) -> PostgresQuery {
        "SELECT count(*) FROM event_log WHERE space_id = \(spaceId) AND name = ANY(\(names))"
    }
}
