import Foundation
import PostgresNIO
import RouteTestSupport
import Testing

@testable import SubscriptionsCore

/// Renames and deletes of one group, at the same time: whichever order the database picks, a deleted
/// group stays deleted, and the last record on engage.subscription-groups (what the replicas in
/// profiles and messaging-send apply) says so.
@Suite(.enabled(if: TestPostgres.available, "needs ENGAGE_TEST_DATABASE_URL from deploy/dev/test.sh"))
struct GroupStoreRaceTests {
    @Test
    func aRenameRacingADeleteNeverRevivesTheGroup() async throws {
        try await TestPostgres.withMigratedSchema(SubscriptionsMigrations.all) { db, schema in
            let store = GroupStore(db: db, logger: TestPostgres.logger)
            for round in 0..<10 {
                let group = try await store.create(spaceId: "spa_race", name: "Group \(round)", description: "")
                async let renamed: Void = {
                    _ = try? await store.rename(
                        spaceId: "spa_race", id: group.id, name: "Renamed \(round)", description: nil)
                }()
                async let deleted: Void = store.delete(spaceId: "spa_race", id: group.id)
                _ = await renamed
                try await deleted
                let rows = try await db.query(
                    """
                    SELECT (SELECT deleted_at IS NOT NULL FROM \(unescaped: schema).groups WHERE id = \(group.id)),
                           (SELECT payload FROM \(unescaped: schema).outbox WHERE key = \("spa_race|" + group.id)
                            ORDER BY id DESC LIMIT 1)
                    """, logger: TestPostgres.logger)
                for try await (isDeleted, lastPayload) in rows.decode((Bool, String).self) {
                    #expect(isDeleted, "round \(round): the group is live again")
                    #expect(lastPayload.contains(#""deleted":true"#), "round \(round): last record \(lastPayload)")
                }
            }
        }
    }
}
