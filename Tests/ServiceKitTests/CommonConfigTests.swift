import Foundation
import ServiceKit
import Testing

/// `CommonConfig` from in-memory environments: the defaults are the ones docs/configuration.md lists.
struct CommonConfigTests {
    private func config(_ values: [String: String]) throws -> CommonConfig {
        try CommonConfig.fromEnvironment(
            service: "profiles", schema: "profiles", defaultPort: 8081, env: EnvironmentVariables(values))
    }

    @Test
    func anEmptyEnvironmentGivesTheDocumentedDefaults() throws {
        let config = try config([:])
        #expect(config.serviceName == "profiles")
        #expect(config.httpHost == "127.0.0.1")
        #expect(config.httpPort == 8081)
        #expect(config.database.host == "127.0.0.1")
        #expect(config.database.port == 54329)
        #expect(config.database.username == "postgres")
        #expect(config.database.password == nil)
        #expect(config.database.database == "engage")
        #expect(config.database.schema == "profiles")
        #expect(config.database.maxConnections == 10)
        #expect(config.database.connectTimeout == .seconds(5))
        #expect(config.database.statementTimeoutMs == 30_000)
        #expect(config.kafka.brokers == "127.0.0.1:19092")
        #expect(config.kafka.clientId == "engage-profiles")
        #expect(config.kafka.topicPartitions == 3)
        #expect(config.kafka.replicationFactor == 1)
        #expect(config.kafka.sessionTimeoutMs == 6_000)
        #expect(config.kafka.maxPollIntervalMs == 30_000)
        #expect(config.kafka.heartbeatIntervalMs == 1_000)
        #expect(config.kafka.properties.isEmpty)
        #expect(config.kafka.topicConfigs["engage.tracking"]?["retention.ms"] == "604800000")
        #expect(config.kafka.topicConfigs["engage.source-events"]?["retention.ms"] == "604800000")
        #expect(config.kafka.topicConfigs["engage.tracking.dlq"]?["retention.ms"] == "2592000000")
        #expect(config.consumerGroup == "engage-profiles")
        #expect(config.stallThreshold == .seconds(60))
        #expect(config.shutdownGrace == .seconds(25))
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .json)
    }

    @Test
    func everySettingIsReadFromTheEnvironment() throws {
        let config = try config([
            "ENGAGE_HTTP_HOST": "0.0.0.0", "ENGAGE_HTTP_PORT": "9001",
            "ENGAGE_DATABASE_URL": "postgres://engage_profiles:pw@db:5433/prod?sslmode=require",
            "ENGAGE_DB_SCHEMA": "profiles_b", "ENGAGE_DB_MAX_CONNECTIONS": "4",
            "ENGAGE_DB_CONNECT_TIMEOUT_MS": "700", "ENGAGE_DB_STATEMENT_TIMEOUT_MS": "800",
            "ENGAGE_KAFKA_BROKERS": "k1:9092,k2:9092", "ENGAGE_KAFKA_TOPIC_PARTITIONS": "12",
            "ENGAGE_KAFKA_REPLICATION_FACTOR": "3", "ENGAGE_KAFKA_SESSION_TIMEOUT_MS": "7000",
            "ENGAGE_KAFKA_MAX_POLL_INTERVAL_MS": "40000", "ENGAGE_KAFKA_HEARTBEAT_INTERVAL_MS": "900",
            "ENGAGE_KAFKA_TRACKING_RETENTION_MS": "1000", "ENGAGE_KAFKA_SOURCE_EVENTS_RETENTION_MS": "2000",
            "ENGAGE_KAFKA_DLQ_RETENTION_MS": "3000", "ENGAGE_KAFKA_PROPERTIES": "security.protocol=SSL",
            "ENGAGE_CONSUMER_GROUP": "group-b", "ENGAGE_STALL_SECONDS": "5", "ENGAGE_SHUTDOWN_GRACE_SECONDS": "6",
            "ENGAGE_LOG_LEVEL": "debug", "ENGAGE_LOG_FORMAT": "text",
        ])
        #expect(config.httpHost == "0.0.0.0")
        #expect(config.httpPort == 9001)
        #expect(config.database.host == "db")
        #expect(config.database.port == 5433)
        #expect(config.database.username == "engage_profiles")
        #expect(config.database.password == "pw")
        #expect(config.database.database == "prod")
        #expect(config.database.sslMode == .require)
        #expect(config.database.schema == "profiles_b")
        #expect(config.database.maxConnections == 4)
        #expect(config.database.connectTimeout == .milliseconds(700))
        #expect(config.database.statementTimeoutMs == 800)
        #expect(config.kafka.brokers == "k1:9092,k2:9092")
        #expect(config.kafka.topicPartitions == 12)
        #expect(config.kafka.replicationFactor == 3)
        #expect(config.kafka.sessionTimeoutMs == 7_000)
        #expect(config.kafka.maxPollIntervalMs == 40_000)
        #expect(config.kafka.heartbeatIntervalMs == 900)
        #expect(config.kafka.topicConfigs["engage.tracking"]?["retention.ms"] == "1000")
        #expect(config.kafka.topicConfigs["engage.source-events"]?["retention.ms"] == "2000")
        #expect(config.kafka.topicConfigs["engage.tracking.dlq"]?["retention.ms"] == "3000")
        #expect(config.kafka.properties == ["security.protocol": "SSL"])
        #expect(config.consumerGroup == "group-b")
        #expect(config.stallThreshold == .seconds(5))
        #expect(config.shutdownGrace == .seconds(6))
        #expect(config.logLevel == .debug)
        #expect(config.logFormat == .text)
    }

    @Test
    func aBadValueStopsTheServiceWithAMessageThatNamesIt() {
        let port = #expect(throws: ServiceConfigError.self) { try config(["ENGAGE_HTTP_PORT": "abc"]) }
        #expect(port?.description == "ENGAGE_HTTP_PORT must be an integer, got \"abc\"")
        let level = #expect(throws: ServiceConfigError.self) { try config(["ENGAGE_LOG_LEVEL": "verbose"]) }
        #expect(
            level?.description == "ENGAGE_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical"
        )
        let format = #expect(throws: ServiceConfigError.self) { try config(["ENGAGE_LOG_FORMAT": "xml"]) }
        #expect(format?.description == "ENGAGE_LOG_FORMAT must be json or text")
    }

    @Test
    func aFileProblemStopsTheServiceBeforeAnythingElseIsRead() {
        let error = #expect(throws: ServiceConfigError.self) {
            try config(["ENGAGE_DATABASE_URL_FILE": "/nonexistent/engage-url", "ENGAGE_HTTP_PORT": "abc"])
        }
        #expect(error?.description.hasPrefix("ENGAGE_DATABASE_URL_FILE: cannot read /nonexistent/engage-url") == true)
    }
}
