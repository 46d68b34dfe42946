import Foundation
import Logging
import Persistence
import PostgresNIO
import RouteTestSupport

@testable import EventsSourceCore

/// The Postgres of `ENGAGE_TEST_DATABASE_URL` (deploy/dev/test.sh starts one), a fresh schema per test.
enum TestDatabase {
    static var available: Bool { TestPostgres.available }
    static var logger: Logger { TestPostgres.logger }

    /// Runs `body` with a client on a new schema, migrated with `migrations`; drops the schema after.
    static func withSchema<T: Sendable>(
        migrations: [Migration] = EventsSourceMigrations.all,
        _ body: @Sendable (PostgresClient, String) async throws -> T
    ) async throws -> T {
        try await TestPostgres.withMigratedSchema(migrations, body)
    }
}
