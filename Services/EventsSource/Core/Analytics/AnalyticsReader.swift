import Contracts
import Foundation
import Logging
import PostgresNIO

/// Message analytics as a dashboard reads them: counts and rates over a time range, a series of
/// hour or day buckets in a time zone, optional groups, and the clicked links. Everything is read
/// from the hourly aggregates, so a query costs the same however many events it covers.
struct AnalyticsReader: Sendable {
    let db: PostgresClient
    let logger: Logger

    struct Query: Sendable {
        var spaceId: String
        var from: Date
        var to: Date
        var bucket: Bucket
        var timeZone: String
        var channel = ""
        var templateId = ""
        var journeyId = ""
        var stepId = ""
        var broadcastId = ""
        var groupBy: Grouping?
        /// Each group with its own series too (a chart of groups over time).
        var groupSeries = false
        var denominator: MessageMetric = .sent
    }

    enum Bucket: String, Sendable { case hour, day }

    enum Grouping: String, Sendable, CaseIterable {
        case channel, template, journey, step, broadcast

        /// The counter columns a group is keyed by, and their names in the answer.
        var keys: [(column: String, name: String)] {
            switch self {
            case .channel: [("channel", "channel")]
            case .template: [("template_id", "templateId")]
            case .journey: [("journey_id", "journeyId")]
            case .step: [("journey_id", "journeyId"), ("step_id", "stepId")]
            case .broadcast: [("broadcast_id", "broadcastId")]
            }
        }
    }

    struct Count: Codable, Sendable, Equatable {
        var total: Int64
        var unique: Int64
    }

    struct Figures: Encodable, Sendable {
        var metrics: [String: Count]
        /// Unique counts over the denominator's unique count; absent when the denominator is 0.
        var rates: [String: Double]

        init(_ counts: [MessageMetric: Count], denominator: MessageMetric) {
            var metrics: [String: Count] = [:]
            for metric in MessageMetric.allCases {
                metrics[metric.rawValue] = counts[metric] ?? Count(total: 0, unique: 0)
            }
            self.metrics = metrics
            var rates: [String: Double] = [:]
            if let base = counts[denominator]?.unique, base > 0 {
                for metric in MessageMetric.allCases where metric != denominator {
                    rates[metric.rawValue] = Double(counts[metric]?.unique ?? 0) / Double(base)
                }
            }
            self.rates = rates
        }
    }

    struct Point: Encodable, Sendable {
        var start: Date
        var metrics: [String: Count]
        var rates: [String: Double]
    }

    struct Group: Encodable, Sendable {
        var key: [String: String]
        var metrics: [String: Count]
        var rates: [String: Double]
        /// With `groupSeries`: every bucket of the range, as the report's own series.
        var series: [Point]?
    }

    struct Link: Encodable, Sendable {
        var url: String
        var total: Int64
        var unique: Int64
    }

    struct Report: Encodable, Sendable {
        var from: Date
        var to: Date
        var bucket: String
        var timeZone: String
        var denominator: String
        var totals: [String: Count]
        var rates: [String: Double]
        var series: [Point]
        var groups: [Group]?
        var links: [Link]
    }

    /// $1...$8 for `filter`; for the series also $9 (time zone) and $10 (bucket unit).
    private func filterBindings(_ query: Query, series: Bool = false) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(query.spaceId)
        bindings.append(query.from)
        bindings.append(query.to)
        for value in [query.channel, query.templateId, query.journeyId, query.stepId, query.broadcastId] {
            bindings.append(value)
        }
        if series {
            bindings.append(query.timeZone)
            bindings.append(query.bucket.rawValue)
        }
        return bindings
    }

    private static let filter = """
        s.space_id = $1 AND s.bucket >= date_trunc('hour', $2::timestamptz) AND s.bucket < $3
        AND ($4 = '' OR s.channel = $4) AND ($5 = '' OR s.template_id = $5) AND ($6 = '' OR s.journey_id = $6)
        AND ($7 = '' OR s.step_id = $7) AND ($8 = '' OR s.broadcast_id = $8)
        """

    /// Per group key, per bucket start (the same starts as the report's series), the counts.
    private func groupSeries(_ query: Query, grouping: Grouping, on connection: PostgresConnection) async throws
        -> [[String]: [Date: [MessageMetric: Count]]]
    {
        let columns = grouping.keys.map { "s." + $0.column }.joined(separator: ", ")
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT ARRAY[\(columns)], (date_trunc($10, s.bucket AT TIME ZONE $9) AT TIME ZONE $9), s.metric,
                           sum(s.total)::bigint, sum(s.uniq)::bigint
                    FROM message_stats s WHERE \(Self.filter) GROUP BY \(columns), 2, 3
                    """, binds: filterBindings(query, series: true)), logger: logger)
        var counts: [[String]: [Date: [MessageMetric: Count]]] = [:]
        for try await (key, start, metricName, total, unique) in rows.decode(
            ([String], Date, String, Int64, Int64).self)
        {
            guard let metric = MessageMetric(rawValue: metricName) else { continue }
            counts[key, default: [:]][start, default: [:]][metric] = Count(total: total, unique: unique)
        }
        return counts
    }

    func report(_ query: Query) async throws -> Report {
        try await db.withConnection { connection in
            // The series: every bucket of the range, empty ones too.
            var series: [(Date, [MessageMetric: Count])] = []
            let seriesRows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH buckets AS (
                            SELECT b FROM generate_series(date_trunc($10, $2::timestamptz AT TIME ZONE $9),
                                                          ($3::timestamptz AT TIME ZONE $9) - interval '1 microsecond', ('1 ' || $10)::interval) AS b
                        ), counts AS (
                            SELECT date_trunc($10, s.bucket AT TIME ZONE $9) AS b, s.metric, sum(s.total)::bigint AS total, sum(s.uniq)::bigint AS uniq
                            FROM message_stats s WHERE \(Self.filter) GROUP BY 1, 2
                        )
                        SELECT (buckets.b AT TIME ZONE $9), c.metric, c.total, c.uniq FROM buckets LEFT JOIN counts c ON c.b = buckets.b
                        ORDER BY buckets.b
                        """, binds: filterBindings(query, series: true)), logger: logger)
            var totals: [MessageMetric: Count] = [:]
            for try await (start, metricName, total, unique) in seriesRows.decode((Date, String?, Int64?, Int64?).self)
            {
                if series.last?.0 != start { series.append((start, [:])) }
                guard let metricName, let metric = MessageMetric(rawValue: metricName) else { continue }
                let count = Count(total: total ?? 0, unique: unique ?? 0)
                series[series.count - 1].1[metric] = count
                totals[metric] = Count(
                    total: (totals[metric]?.total ?? 0) + count.total,
                    unique: (totals[metric]?.unique ?? 0) + count.unique)
            }
            var groups: [Group]?
            if let grouping = query.groupBy {
                let columns = grouping.keys.map { "s." + $0.column }.joined(separator: ", ")
                var byKey: [[String]: [MessageMetric: Count]] = [:]
                var order: [[String]] = []
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT ARRAY[\(columns)], s.metric, sum(s.total)::bigint, sum(s.uniq)::bigint FROM message_stats s
                            WHERE \(Self.filter) GROUP BY \(columns), s.metric ORDER BY \(columns)
                            """, binds: filterBindings(query)), logger: logger)
                for try await (key, metricName, total, unique) in rows.decode(([String], String, Int64, Int64).self) {
                    guard let metric = MessageMetric(rawValue: metricName) else { continue }
                    if byKey[key] == nil { order.append(key) }
                    byKey[key, default: [:]][metric] = Count(total: total, unique: unique)
                }
                let groupSeries =
                    query.groupSeries
                    ? try await self.groupSeries(query, grouping: grouping, on: connection) : [:]
                groups = order.map { key in
                    let figures = Figures(byKey[key]!, denominator: query.denominator)
                    return Group(
                        key: Dictionary(uniqueKeysWithValues: zip(grouping.keys.map(\.name), key)),
                        metrics: figures.metrics, rates: figures.rates,
                        series: query.groupSeries
                            ? series.map { start, _ in
                                let figures = Figures(groupSeries[key]?[start] ?? [:], denominator: query.denominator)
                                return Point(start: start, metrics: figures.metrics, rates: figures.rates)
                            } : nil)
                }
            }
            var links: [Link] = []
            for try await (url, total, unique) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT s.url, sum(s.total)::bigint, sum(s.uniq)::bigint FROM link_stats s
                        WHERE \(Self.filter) GROUP BY s.url ORDER BY 3 DESC, 1 LIMIT 100
                        """, binds: filterBindings(query)), logger: logger
            ).decode((String, Int64, Int64).self) {
                links.append(Link(url: url, total: total, unique: unique))
            }
            let overall = Figures(totals, denominator: query.denominator)
            return Report(
                from: query.from, to: query.to, bucket: query.bucket.rawValue, timeZone: query.timeZone,
                denominator: query.denominator.rawValue, totals: overall.metrics, rates: overall.rates,
                series: series.map { start, counts in
                    let figures = Figures(counts, denominator: query.denominator)
                    return Point(start: start, metrics: figures.metrics, rates: figures.rates)
                },
                groups: groups, links: links)
        }
    }
}
