import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO
import Testing

/// The Postgres and broker that deploy/dev/test.sh starts for the run (on free ports).
enum TestEnvironment {
    static let databaseURL = ProcessInfo.processInfo.environment["ENGAGE_TEST_DATABASE_URL"]
    static let brokers = ProcessInfo.processInfo.environment["ENGAGE_TEST_KAFKA_BROKERS"]
    /// Integration tests need the real services; `deploy/dev/test.sh` provides them.
    static let available = databaseURL != nil && brokers != nil

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    static func kafka() -> KafkaConfig {
        KafkaConfig(
            brokers: brokers!, clientId: "engage-tests", topicPartitions: 1, sessionTimeoutMs: 6_000,
            maxPollIntervalMs: 10_000, heartbeatIntervalMs: 1_000)
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    }

    /// Runs `body` with a Postgres client on a fresh schema of its own.
    static func withDatabase<T: Sendable>(_ body: @Sendable (PostgresClient, String) async throws -> T) async throws
        -> T
    {
        let schema = uniqueName("t_")
        let config = try DatabaseConfig(url: databaseURL!, schema: schema, maxConnections: 4)
        let client = config.makeClient(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client, schema)
        }
    }

    /// Consumes from `topic` (new group) until `count` records arrived or `timeout` passed.
    static func consume(_ topic: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [ConsumedRecord]
    {
        let consumer = try KafkaConsumer(config: kafka(), groupId: uniqueName("g-"), topics: [topic], logger: logger)
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + timeout
        while records.count < count && ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 100)
        }
        await consumer.close()
        return records
    }
}
