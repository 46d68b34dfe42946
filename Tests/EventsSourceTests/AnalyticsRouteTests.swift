import Contracts
import Foundation
import Hummingbird
import Persistence
import PostgresNIO
import RouteTestSupport
import ServiceKit
import Testing

@testable import EventsSourceCore

/// `GET /analytics/messages` with `groupSeries`: each group's own series, bucket by bucket, so a
/// chart can draw groups over time (also the group of messages outside any journey or template,
/// which no filter can select).
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct AnalyticsRouteTests {
    /// The analytics routes as `EventsSourceService` wires them.
    static func run(_ body: @escaping @Sendable (RouteTest) async throws -> Void) async throws {
        try await RouteTest.run(
            migrations: EventsSourceMigrations.all,
            routes: { db in
                let router = ServiceHost.apiRouter()
                AnalyticsAPI(
                    auth: SpaceTokenAuth(replica: SpaceAccessReplica(db: db, logger: TestPostgres.logger)),
                    reader: AnalyticsReader(db: db, logger: TestPostgres.logger)
                ).register(on: router)
                return router
            }, body)
    }

    /// Hourly counters as the stats writer keeps them.
    func count(
        _ test: RouteTest, at hour: String, template: String, metric: String, total: Int64, unique: Int64
    ) async throws {
        let bucket = Timestamp.parse(hour)!
        try await test.db.query(
            """
            INSERT INTO message_stats (space_id, bucket, channel, template_id, journey_id, step_id, broadcast_id, metric, total, uniq)
            VALUES (\(test.space.id), \(bucket), 'email', \(template), '', '', '', \(metric), \(total), \(unique))
            """, logger: TestPostgres.logger)
    }

    @Test func eachGroupHasItsOwnSeriesOverEveryBucket() async throws {
        try await Self.run { test in
            try await count(test, at: "2026-03-01T09:00:00Z", template: "tpl_a", metric: "sent", total: 3, unique: 3)
            try await count(test, at: "2026-03-01T10:00:00Z", template: "tpl_a", metric: "opened", total: 4, unique: 2)
            try await count(test, at: "2026-03-03T08:00:00Z", template: "tpl_a", metric: "sent", total: 1, unique: 1)
            try await count(test, at: "2026-03-03T08:00:00Z", template: "", metric: "sent", total: 5, unique: 5)
            let path =
                "/spaces/\(test.space.id)/analytics/messages?from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z"
                + "&bucket=day&groupBy=template"
            let grouped = try await test.api(.get, path + "&groupSeries=true")
            #expect(grouped.status == .ok, "\(grouped.json)")
            let groups = try #require(grouped.data["groups"]?.arrayValue)
            #expect(groups.map { $0["key"]?["templateId"]?.stringValue } == ["", "tpl_a"])
            func daily(_ group: JSONValue, _ metric: String) -> [Double?] {
                (group["series"]?.arrayValue ?? []).map { $0["metrics"]?[metric]?["unique"]?.numberValue }
            }
            #expect(daily(groups[1], "sent") == [3, 0, 1])
            #expect(daily(groups[1], "opened") == [2, 0, 0])
            #expect(groups[1]["series"]?.arrayValue?.first?["rates"]?["opened"]?.numberValue == 2.0 / 3.0)
            #expect(daily(groups[0], "sent") == [0, 0, 5])
            #expect(
                groups[0]["series"]?.arrayValue?.map { $0["start"] }
                    == grouped.data["series"]?.arrayValue?.map {
                        $0["start"]
                    })

            // Without it, groups stay totals only; and it needs a grouping.
            let plain = try await test.api(.get, path)
            #expect(plain.data["groups"]?.arrayValue?.first?["series"] == nil)
            let ungrouped = try await test.api(.get, "/spaces/\(test.space.id)/analytics/messages?groupSeries=true")
            #expect(ungrouped.status == .badRequest && ungrouped.message == "groupSeries needs groupBy")
            let bad = try await test.api(.get, path + "&groupSeries=yes")
            #expect(bad.status == .badRequest && bad.message == "groupSeries must be true or false")
        }
    }
}
