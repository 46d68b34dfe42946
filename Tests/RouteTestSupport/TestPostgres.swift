import Foundation
import Logging
import Persistence
import PostgresNIO

/// The Postgres of `ENGAGE_TEST_DATABASE_URL` (deploy/dev/test.sh starts one). Each test gets a
/// schema of its own, migrated like the service's, so tests neither see nor wait for each other.
public enum TestPostgres {
    public static let url = ProcessInfo.processInfo.environment["ENGAGE_TEST_DATABASE_URL"]
    /// Suites that need Postgres are skipped without it: `.enabled(if: TestPostgres.available)`.
    public static var available: Bool { url != nil }

    public static let logger: Logger = {
        var logger = Logger(label: "route-test")
        logger.logLevel = .warning
        return logger
    }()

    /// Runs `body` with a client on a new schema migrated with the platform's and `migrations`;
    /// drops the schema afterwards, whatever the outcome.
    public static func withMigratedSchema<T: Sendable>(
        _ migrations: [Migration], _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        try await withMigratedSchema(migrations) { client, _ in try await body(client) }
    }

    /// The same, with the schema's name for tests that query it by name.
    public static func withMigratedSchema<T: Sendable>(
        _ migrations: [Migration], _ body: @Sendable (PostgresClient, String) async throws -> T
    ) async throws -> T {
        let schema = "rt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
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
