import Foundation
import Logging
import Persistence
import PostgresNIO

@testable import EventsSourceCore

/// The Postgres of `ENGAGE_TEST_DATABASE_URL` (deploy/dev/test.sh starts one), a fresh schema per test.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["ENGAGE_TEST_DATABASE_URL"]
    static var available: Bool { url != nil }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a client on a new schema, migrated with `migrations`; drops the schema after.
    static func withSchema<T: Sendable>(
        migrations: [Migration] = EventsSourceMigrations.all,
        _ body: @Sendable (PostgresClient, String) async throws -> T
    ) async throws -> T {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let client = try DatabaseConfig(url: url!, schema: schema, maxConnections: 4).makeClient(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                try await Migrator.migrate(
                    Migrator.platform + migrations, schema: schema, client: client, logger: logger)
                let result = try await body(client, schema)
                try await client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
                return result
            } catch {
                _ = try? await client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
                throw error
            }
        }
    }
}
