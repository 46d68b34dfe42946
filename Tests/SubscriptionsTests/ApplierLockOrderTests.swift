import Contracts
import Foundation
import PostgresNIO
import RouteTestSupport
import Testing

@testable import SubscriptionsCore

/// Two appliers changing the same existing states at once, their commands in opposite orders: the
/// states are locked in one global order whatever order the commands come in, so neither
/// transaction deadlocks (each runs once here, without the applier's retry), and the newer
/// command wins on every state.
@Suite(.enabled(if: TestPostgres.available, "needs ENGAGE_TEST_DATABASE_URL from deploy/dev/test.sh"))
struct ApplierLockOrderTests {
    @Test
    func appliersTakingTheSameStatesInOppositeOrdersNeitherDeadlockNorLoseTheNewerCommand() async throws {
        try await TestPostgres.withMigratedSchema(SubscriptionsMigrations.all) { db, _ in
            let applier = SubscriptionApplier(db: db, logger: TestPostgres.logger)
            let contacts = (0..<300).map { "person\($0)@example.com" }
            // The second applier also has states of its own (created in the first round), so that
            // its set of keys, and the order that set gives them in, is not the first one's.
            let others = (0..<300).map { "other\($0)@example.com" }
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            func batch(_ id: String, _ status: SubscriptionStatus, at: Date, reversed: Bool) -> SubscriptionCommandBatch
            {
                let ordered = reversed ? Array((contacts + others).reversed()) : contacts
                return SubscriptionCommandBatch(
                    id: id, spaceId: "spa_locks", source: .api,
                    commands: ordered.map {
                        SubscriptionCommand(
                            id: "\(id):\($0)", channel: .email, contact: $0, status: status, occurredAt: at)
                    })
            }
            _ = try await applier.apply([batch("seed", .subscribed, at: start, reversed: false)])
            for round in 1...8 {
                let older = start.addingTimeInterval(Double(round * 2))
                let newer = older.addingTimeInterval(1)
                let newerStatus: SubscriptionStatus = round.isMultiple(of: 2) ? .subscribed : .unsubscribed
                let olderStatus: SubscriptionStatus = newerStatus == .subscribed ? .unsubscribed : .subscribed
                let forwards = batch("a\(round)", olderStatus, at: older, reversed: false)
                let backwards = batch("b\(round)", newerStatus, at: newer, reversed: true)
                async let first: [[CommandOutcome]] = db.transaction(logger: TestPostgres.logger) { connection in
                    try await applier.apply([forwards], on: connection)
                }
                async let second: [[CommandOutcome]] = db.transaction(logger: TestPostgres.logger) { connection in
                    try await applier.apply([backwards], on: connection)
                }
                _ = try await (first, second)
                var statuses: [String: Int] = [:]
                for try await status in try await db.query(
                    "SELECT status FROM states WHERE space_id = 'spa_locks'", logger: TestPostgres.logger
                ).decode(String.self) {
                    statuses[status, default: 0] += 1
                }
                #expect(statuses == [newerStatus.rawValue: contacts.count + others.count], "round \(round)")
            }
        }
    }
}
