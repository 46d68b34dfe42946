import Contracts
import Foundation
import Persistence
import PostgresNIO
import RouteTestSupport
import Synchronization
import Testing

@testable import JourneysCore

/// The timer engine against a real schema, on a clock the test moves: a burst that could not be
/// fired by its instant is claimed ahead, just as early as it must be, and its effects held until
/// then (the relay publishes held rows: PersistenceTests); a few timers are not.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct AdvancerTests {
    final class MovableClock: JourneyClock {
        let current: Mutex<Date>
        init(_ start: Date) { current = Mutex(start) }
        func now() -> Date { current.withLock { $0 } }
        func set(_ date: Date) { current.withLock { $0 = date } }
    }

    /// A published journey that waits an hour, then writes a destination record and ends: five
    /// outbox messages per path when the wait completes.
    func publishWaitingJourney(_ test: RouteTest) async throws -> String {
        let definition: JSONValue = [
            "entry": ["type": "event", "event": "Timer Test"], "start": "hold",
            "steps": [
                ["id": "hold", "type": "wait", "seconds": 3_600, "next": "tag"],
                ["id": "tag", "type": "destination", "topic": "test.journey-context", "next": .null],
            ],
        ]
        let created = try await test.api(
            .post, "/spaces/\(test.space.id)/journeys", ["name": "Timers", "definition": definition])
        let id = try #require(created.data["id"]?.stringValue, "\(created.json)")
        let published = try await test.api(.post, "/spaces/\(test.space.id)/journeys/\(id)/publish")
        #expect(published.status == .ok, "\(published.json)")
        return id
    }

    /// `count` profiles waiting on the journey's first step, all due at `due`.
    func seedWaitingPaths(_ test: RouteTest, journey: String, count: Int, due: Date) async throws {
        let entered = due.addingTimeInterval(-3_600)
        let space = test.space.id
        try await test.db.query(
            """
            INSERT INTO instances (space_id, id, journey_id, version, profile_id, status, trigger, entered_at)
            SELECT \(space), 'ji_' || g, \(journey), 1, 'use_' || g, 'active', '{}', \(entered) FROM generate_series(1, \(count)) g
            """, logger: TestPostgres.logger)
        try await test.db.query(
            """
            INSERT INTO entries (space_id, journey_id, profile_id, entered, active, last_entered_at)
            SELECT \(space), \(journey), 'use_' || g, 1, 1, \(entered) FROM generate_series(1, \(count)) g
            """, logger: TestPostgres.logger)
        try await test.db.query(
            """
            INSERT INTO paths (space_id, instance_id, path_id, journey_id, version, profile_id, step_id, status, step_entered_at, due_at)
            SELECT \(space), 'ji_' || g, 'p', \(journey), 1, 'use_' || g, 'hold', 'waiting', \(entered), \(due)
            FROM generate_series(1, \(count)) g
            """, logger: TestPostgres.logger)
    }

    /// `count` profiles due `seconds` from a clock the test moves, and an advancer that takes itself
    /// to fire `rate` timers a second, in batches of 10.
    func waiting(_ test: RouteTest, count: Int, dueIn seconds: TimeInterval, rate: Double) async throws
        -> (advancer: Advancer, clock: MovableClock, due: Date)
    {
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        let clock = MovableClock(start)
        let journey = try await publishWaitingJourney(test)
        try await seedWaitingPaths(test, journey: journey, count: count, due: start.addingTimeInterval(seconds))
        return (advancer(test, clock: clock, rate: rate), clock, start.addingTimeInterval(seconds))
    }

    func donePaths(_ test: RouteTest) async throws -> Int {
        try await count(test, "SELECT count(*)::int FROM paths WHERE status = 'done'")
    }

    func advancer(_ test: RouteTest, clock: MovableClock, rate: Double) -> Advancer {
        var settings = Advancer.Settings()
        settings.batchSize = 10
        settings.workers = 1
        settings.firingRateGuess = rate
        let logger = TestPostgres.logger
        return Advancer(
            db: test.db, catalog: JourneyCatalog(logger: logger),
            profiles: ProfileReplica(db: test.db, keepsTraits: true, lockName: "journeys", logger: logger),
            clock: clock, settings: settings, logger: logger)
    }

    func count(_ test: RouteTest, _ sql: String) async throws -> Int {
        var result = 0
        for try await value in try await test.db.query(PostgresQuery(unsafeSQL: sql), logger: TestPostgres.logger)
            .decode(Int.self)
        {
            result = value
        }
        return result
    }

    /// (topic, key, payload) of the outbox's rows in publishing order.
    func outbox(_ test: RouteTest, table: String) async throws -> [(String, String?, String)] {
        var rows: [(String, String?, String)] = []
        for try await row in try await test.db.query(
            PostgresQuery(unsafeSQL: "SELECT topic, key, payload FROM \(table) ORDER BY id"),
            logger: TestPostgres.logger
        ).decode((String, String?, String).self) {
            rows.append(row)
        }
        return rows
    }

    @Test func aBurstIsClaimedAheadAndItsEffectsHeldUntilItsInstant() async throws {
        try await JourneysRouteTest.run { test in
            // 30 timers at 10 a second take 3 s (and 2 s of margin): not yet 6 s before their instant...
            let (advancer, clock, due) = try await waiting(test, count: 30, dueIn: 6, rate: 10)
            #expect(try await advancer.runDue() == false)
            #expect(try await donePaths(test) == 0)

            // ...4 s before it, as many batches as must start now (the last 10 take 1 s)...
            clock.set(due.addingTimeInterval(-4))
            var passes = 0
            while try await advancer.runDue() { passes += 1 }
            #expect(passes == 2)
            #expect(try await donePaths(test) == 20)
            // ...and the last 2 s before: all decided as of the instant.
            clock.set(due.addingTimeInterval(-2))
            passes = 0
            while try await advancer.runDue() { passes += 1 }
            #expect(passes == 1)
            #expect(try await donePaths(test) == 30)
            #expect(try await count(test, "SELECT count(*)::int FROM instances WHERE status = 'active'") == 0)
            #expect(try await count(test, "SELECT count(*)::int FROM outbox") == 0)
            let held = try await outbox(test, table: "outbox_held")
            #expect(held.count == 150)
            #expect(
                try await count(
                    test, "SELECT count(*)::int FROM outbox_held WHERE release_at = '\(Timestamp.format(due))'") == 150)
            let completed = try #require(
                held.first { $0.2.contains("\"Journey Step Completed\"") && $0.2.contains("\"stepId\":\"hold\"") })
            let event = try JSONParser.parse(Array(completed.2.utf8))
            #expect(event["occurredAt"]?.stringValue == Timestamp.format(due))
        }
    }

    @Test func aFewTimersAreFiredWhenDueNotAhead() async throws {
        try await JourneysRouteTest.run { test in
            let (advancer, clock, due) = try await waiting(test, count: 3, dueIn: 2, rate: 1_000)
            #expect(try await advancer.runDue() == false)
            #expect(try await donePaths(test) == 0)

            clock.set(due)
            #expect(try await advancer.runDue() == false)
            #expect(try await donePaths(test) == 3)
            #expect(try await count(test, "SELECT count(*)::int FROM outbox_held") == 0)
            #expect(try await count(test, "SELECT count(*)::int FROM outbox") == 15)
        }
    }

    /// The workers sleep until the next path is due rather than polling: the next run is at its
    /// instant, at least every second within the lookahead (where a burst must be seen coming),
    /// when it enters the lookahead from beyond, and with no path to come the loop backs off.
    @Test func theNextRunIsWhenTheNextPathComesDue() async throws {
        try await JourneysRouteTest.run { test in
            func seconds(_ next: NextRun) -> Double? {
                guard case .dueIn(let wait) = next else { return nil }
                return wait / .seconds(1)
            }
            let start = Date(timeIntervalSince1970: 1_900_000_000)
            let clock = MovableClock(start)
            let advancer = advancer(test, clock: clock, rate: 1_000)
            #expect(try await advancer.nextRun() == .idle)

            let journey = try await publishWaitingJourney(test)
            let due = start.addingTimeInterval(90)
            try await seedWaitingPaths(test, journey: journey, count: 3, due: due)
            // 90 s away with a 30 s lookahead: the next run when it enters the lookahead.
            let far = try #require(seconds(try await advancer.nextRun()))
            #expect(abs(far - 60) < 0.001, "\(far)")
            clock.set(due.addingTimeInterval(-10))
            #expect(try await advancer.nextRun() == .dueIn(.seconds(1)))
            clock.set(due.addingTimeInterval(-0.25))
            let near = try #require(seconds(try await advancer.nextRun()))
            #expect(abs(near - 0.25) < 0.001, "\(near)")

            // A paused journey's paths do not come due.
            try await test.db.query("UPDATE journeys SET status = 'paused'", logger: TestPostgres.logger)
            #expect(try await advancer.nextRun() == .idle)
            try await test.db.query("UPDATE journeys SET status = 'published'", logger: TestPostgres.logger)

            clock.set(due)
            #expect(try await advancer.runDue() == false)
            #expect(try await donePaths(test) == 3)
            #expect(try await advancer.nextRun() == .idle)
        }
    }
}
