import Foundation
import PostgresNIO
import RouteTestSupport
import Testing

@testable import MessagingSendCore

/// What the dispatcher sleeps on instead of polling: when the next pending message is due, and
/// when the next lease ends.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct MessageDueTests {
    func insert(_ test: RouteTest, id: String, state: String, dueInSeconds: Double, leaseInSeconds: Double?)
        async throws
    {
        try await test.db.query(
            """
            INSERT INTO messages (space_id, id, profile_id, channel, template_id, purpose, requested_at, state, next_attempt_at, lease_until)
            VALUES (\(test.space.id), \(id), 'use_1', 'email', 'tpl_1', 'marketing', now(), \(state),
                    now() + \(dueInSeconds) * interval '1 second',
                    now() + \(leaseInSeconds) * interval '1 second')
            """, logger: TestPostgres.logger)
    }

    func seconds(_ duration: Duration?) -> Double? { duration.map { $0 / .seconds(1) } }

    @Test func theNextDueMessageAndTheNextLeaseEndAreKnown() async throws {
        try await MessagingRouteTest.run { test in
            let store = MessageStore(db: test.db, logger: TestPostgres.logger)
            #expect(try await store.nextDue() == nil)
            #expect(try await store.sweepExpiredLeases().nextExpiry == nil)

            // A retry in 40 s and a quiet-hours release in 90 s: the retry is next.
            try await insert(test, id: "msg_retry", state: "pending", dueInSeconds: 40, leaseInSeconds: nil)
            try await insert(test, id: "msg_quiet", state: "pending", dueInSeconds: 90, leaseInSeconds: nil)
            // Sent messages and leased ones are not due, whatever their next_attempt_at.
            try await insert(test, id: "msg_sent", state: "sent", dueInSeconds: -5, leaseInSeconds: nil)
            try await insert(test, id: "msg_leased", state: "sending", dueInSeconds: -5, leaseInSeconds: 20)
            let due = try #require(seconds(try await store.nextDue()))
            #expect(due > 39 && due <= 40, "\(due)")

            // The lease that ends in 20 s is the next; an ended one is swept and not counted.
            try await insert(test, id: "msg_lost", state: "preparing", dueInSeconds: -5, leaseInSeconds: -1)
            let swept = try await store.sweepExpiredLeases()
            #expect(swept.requeued == 1)
            let expiry = try #require(seconds(swept.nextExpiry))
            #expect(expiry > 19 && expiry <= 20, "\(expiry)")
            // The requeued message is pending and due at once.
            let now = try #require(seconds(try await store.nextDue()))
            #expect(now <= 0, "\(now)")
        }
    }
}
