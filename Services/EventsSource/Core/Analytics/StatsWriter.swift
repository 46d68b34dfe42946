import Contracts
import Foundation
import Logging
import PostgresNIO

/// Pre-aggregates message analytics in the intake transaction: hourly counters per space, message
/// dimensions and metric (and per link for clicks). A metric's first event for a message is
/// remembered in `message_firsts`, which makes `unique` exact and, for state metrics, `total` too;
/// the intake's dedupe of whole events makes redelivery count nothing.
enum StatsWriter {
    /// One countable event.
    struct Fact: Sendable {
        var spaceId: String
        var messageId: String
        var dimensions: MessageDimensions
        var metric: MessageMetric
        var url: String?
        var occurredAt: Date
    }

    private struct CounterKey: Hashable, Comparable {
        var spaceId: String
        var bucket: Date
        var dimensions: MessageDimensions
        /// A metric name, or a clicked link's URL.
        var name: String

        static func < (a: CounterKey, b: CounterKey) -> Bool {
            if a.spaceId != b.spaceId { return a.spaceId < b.spaceId }
            if a.bucket != b.bucket { return a.bucket < b.bucket }
            return a.sortText < b.sortText
        }

        private var sortText: String {
            [
                dimensions.channel, dimensions.templateId, dimensions.journeyId, dimensions.stepId,
                dimensions.broadcastId, name,
            ]
            .joined(separator: "\u{1}")
        }
    }

    static func hour(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600)
    }

    /// `messages`: each message's dimensions, from its first event (conversions are attributed by them).
    static func remember(_ events: [MessageEvent], on connection: PostgresConnection, logger: Logger) async throws {
        var seen: Set<String> = []
        let rows = events.filter { $0.messageId != nil && seen.insert("\($0.spaceId)|\($0.messageId!)").inserted }
            .sorted { ($0.spaceId, $0.messageId!) < ($1.spaceId, $1.messageId!) }
        guard !rows.isEmpty else { return }
        let dimensions = rows.map(MessageDimensions.init)
        try await connection.query(
            """
            INSERT INTO messages (space_id, message_id, channel, template_id, journey_id, step_id, broadcast_id)
            SELECT * FROM unnest(\(rows.map(\.spaceId))::text[], \(rows.map { $0.messageId! })::text[], \(dimensions.map(\.channel))::text[],
                                 \(dimensions.map(\.templateId))::text[], \(dimensions.map(\.journeyId))::text[], \(dimensions.map(\.stepId))::text[],
                                 \(dimensions.map(\.broadcastId))::text[])
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The remembered dimensions of messages (by `space|message`).
    static func dimensions(
        of keys: [(spaceId: String, messageId: String)], on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [String: MessageDimensions] {
        guard !keys.isEmpty else { return [:] }
        var found: [String: MessageDimensions] = [:]
        for try await (spaceId, messageId, channel, template, journey, step, broadcast) in try await connection.query(
            """
            SELECT m.space_id, m.message_id, m.channel, m.template_id, m.journey_id, m.step_id, m.broadcast_id
            FROM unnest(\(keys.map(\.spaceId))::text[], \(keys.map(\.messageId))::text[]) AS k(s, m)
            JOIN messages m ON m.space_id = k.s AND m.message_id = k.m
            """, logger: logger
        ).decode((String, String, String, String, String, String, String).self) {
            var dimensions = MessageDimensions(
                channel: nil, templateId: template, journeyId: journey, stepId: step, broadcastId: broadcast)
            dimensions.channel = channel
            found["\(spaceId)|\(messageId)"] = dimensions
        }
        return found
    }

    static func record(_ facts: [Fact], on connection: PostgresConnection, logger: Logger) async throws {
        guard !facts.isEmpty else { return }
        // Which facts are their message's first of the metric (or of the link).
        let firstKeys = facts.map { fact in
            [fact.spaceId, fact.messageId, fact.url.map { "link:" + $0 } ?? fact.metric.rawValue]
        }
        let candidates = Array(Set(firstKeys)).sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }
        var firsts: Set<[String]> = []
        for try await (spaceId, messageId, metric) in try await connection.query(
            """
            INSERT INTO message_firsts (space_id, message_id, metric)
            SELECT * FROM unnest(\(candidates.map { $0[0] })::text[], \(candidates.map { $0[1] })::text[], \(candidates.map { $0[2] })::text[])
            ON CONFLICT DO NOTHING RETURNING space_id, message_id, metric
            """, logger: logger
        ).decode((String, String, String).self) {
            firsts.insert([spaceId, messageId, metric])
        }
        var metricCounts: [CounterKey: (total: Int64, unique: Int64)] = [:]
        var linkCounts: [CounterKey: (total: Int64, unique: Int64)] = [:]
        for (fact, firstKey) in zip(facts, firstKeys) {
            let dimensions = fact.dimensions
            // Only the first fact of a key in the batch can be the first ever.
            let isFirst = firsts.remove(firstKey) != nil
            let key = CounterKey(
                spaceId: fact.spaceId, bucket: hour(fact.occurredAt), dimensions: dimensions,
                name: fact.url ?? fact.metric.rawValue)
            let total: Int64 = fact.metric.countsOncePerMessage && !isFirst ? 0 : 1
            let unique: Int64 = isFirst ? 1 : 0
            guard total + unique > 0 else { continue }
            if fact.url != nil {
                linkCounts[key, default: (0, 0)].total += total
                linkCounts[key, default: (0, 0)].unique += unique
            } else {
                metricCounts[key, default: (0, 0)].total += total
                metricCounts[key, default: (0, 0)].unique += unique
            }
        }
        try await upsert(metricCounts, table: "message_stats", nameColumn: "metric", on: connection, logger: logger)
        try await upsert(linkCounts, table: "link_stats", nameColumn: "url", on: connection, logger: logger)
    }

    /// One statement per table, rows in key order: concurrent partition batches touching the same
    /// counters wait for each other instead of deadlocking.
    private static func upsert(
        _ counts: [CounterKey: (total: Int64, unique: Int64)], table: String, nameColumn: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !counts.isEmpty else { return }
        let keys = counts.keys.sorted()
        var bindings = PostgresBindings()
        bindings.append(keys.map(\.spaceId))
        bindings.append(keys.map(\.bucket))
        bindings.append(keys.map(\.dimensions.channel))
        bindings.append(keys.map(\.dimensions.templateId))
        bindings.append(keys.map(\.dimensions.journeyId))
        bindings.append(keys.map(\.dimensions.stepId))
        bindings.append(keys.map(\.dimensions.broadcastId))
        bindings.append(keys.map(\.name))
        bindings.append(keys.map { counts[$0]!.total })
        bindings.append(keys.map { counts[$0]!.unique })
        let key = "space_id, bucket, channel, template_id, journey_id, step_id, broadcast_id, \(nameColumn)"
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table) (\(key), total, uniq)
                    SELECT a, b, c, d, e, f, g, h, i, j FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                                         $9::bigint[], $10::bigint[]) WITH ORDINALITY AS r(a, b, c, d, e, f, g, h, i, j, o) ORDER BY o
                    ON CONFLICT (\(key)) DO UPDATE SET total = \(table).total + excluded.total, uniq = \(table).uniq + excluded.uniq
                    """, binds: bindings), logger: logger)
    }
}
