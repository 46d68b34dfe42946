import Kafka
import Logging
import Persistence
import PostgresNIO

/// The settings every service has. Variables and defaults are listed in docs/configuration.md.
public struct CommonConfig: Sendable {
    public var serviceName: String
    public var httpHost: String
    public var httpPort: Int
    /// Request deadlines and the connection cap of the HTTP server.
    public var httpLimits: HTTPServerLimits
    public var database: DatabaseConfig
    public var kafka: KafkaConfig
    public var consumerGroup: String
    /// Outbox rows the relay publishes per transaction.
    public var outboxBatchSize: Int
    /// A loop busy this long without progress fails `/health` (see `LoopProgress`).
    public var stallThreshold: Duration
    /// How long SIGTERM may take: graceful shutdown, then cancellation, then the process exits.
    public var shutdownGrace: Duration
    public var logLevel: Logger.Level
    public var logFormat: LogFormat

    public enum LogFormat: String, Sendable { case json, text }

    public static func fromEnvironment(
        service: String, schema: String, defaultPort: Int, env: EnvironmentVariables = EnvironmentVariables()
    ) throws -> CommonConfig {
        try env.checkFiles()
        let levelText = env.string("ENGAGE_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ServiceConfigError(
                "ENGAGE_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
        }
        let formatText = env.string("ENGAGE_LOG_FORMAT", default: "json")
        guard let format = LogFormat(rawValue: formatText) else {
            throw ServiceConfigError("ENGAGE_LOG_FORMAT must be json or text")
        }
        var database = try DatabaseConfig(
            url: env.string("ENGAGE_DATABASE_URL", default: "postgres://postgres@127.0.0.1:54329/engage"),
            schema: env.string("ENGAGE_DB_SCHEMA", default: schema),
            maxConnections: try env.int("ENGAGE_DB_MAX_CONNECTIONS", default: 10))
        database.statementTimeoutMs = try env.int("ENGAGE_DB_STATEMENT_TIMEOUT_MS", default: 30_000)
        database.connectTimeout = .milliseconds(try env.int("ENGAGE_DB_CONNECT_TIMEOUT_MS", default: 5_000))
        TransactionLimits.deadline = .milliseconds(try env.int("ENGAGE_DB_TRANSACTION_TIMEOUT_MS", default: 60_000))
        var topicSettings = TopicSettings()
        topicSettings.trackingRetentionMs = Int64(
            try env.int("ENGAGE_KAFKA_TRACKING_RETENTION_MS", default: Int(topicSettings.trackingRetentionMs)))
        topicSettings.sourceEventsRetentionMs = Int64(
            try env.int(
                "ENGAGE_KAFKA_SOURCE_EVENTS_RETENTION_MS",
                default: Int(topicSettings.sourceEventsRetentionMs)))
        topicSettings.deadLetterRetentionMs = Int64(
            try env.int("ENGAGE_KAFKA_DLQ_RETENTION_MS", default: Int(topicSettings.deadLetterRetentionMs)))
        var kafka = KafkaConfig(
            brokers: env.string("ENGAGE_KAFKA_BROKERS", default: "127.0.0.1:19092"),
            clientId: "engage-\(service)",
            topicPartitions: Int32(try env.int("ENGAGE_KAFKA_TOPIC_PARTITIONS", default: 3)),
            replicationFactor: Int32(try env.int("ENGAGE_KAFKA_REPLICATION_FACTOR", default: 1)),
            sessionTimeoutMs: try env.int("ENGAGE_KAFKA_SESSION_TIMEOUT_MS", default: 6_000),
            maxPollIntervalMs: try env.int("ENGAGE_KAFKA_MAX_POLL_INTERVAL_MS", default: 30_000),
            heartbeatIntervalMs: try env.int("ENGAGE_KAFKA_HEARTBEAT_INTERVAL_MS", default: 1_000),
            properties: try env.pairs("ENGAGE_KAFKA_PROPERTIES"))
        kafka.topicConfigs = topicSettings.configs
        let outboxBatchSize = try env.int("ENGAGE_OUTBOX_BATCH_SIZE", default: 2_000)
        guard outboxBatchSize >= 1 else { throw ServiceConfigError("ENGAGE_OUTBOX_BATCH_SIZE must be at least 1") }
        return CommonConfig(
            serviceName: service,
            httpHost: env.string("ENGAGE_HTTP_HOST", default: "127.0.0.1"),
            httpPort: try env.int("ENGAGE_HTTP_PORT", default: defaultPort),
            httpLimits: try HTTPServerLimits.fromEnvironment(env),
            database: database,
            kafka: kafka,
            consumerGroup: env.string("ENGAGE_CONSUMER_GROUP", default: "engage-\(service)"),
            outboxBatchSize: outboxBatchSize,
            stallThreshold: .seconds(try env.int("ENGAGE_STALL_SECONDS", default: 60)),
            shutdownGrace: .seconds(try env.int("ENGAGE_SHUTDOWN_GRACE_SECONDS", default: 25)),
            logLevel: level,
            logFormat: format)
    }
}

extension CommonConfig {
    /// The service's outbox relay, over its schema.
    public func outboxRelay(database: PostgresClient, producer: KafkaProducer, logger: Logger) -> OutboxRelay {
        OutboxRelay(
            client: database, producer: producer, schema: self.database.schema, batchSize: outboxBatchSize,
            logger: logger)
    }
}
