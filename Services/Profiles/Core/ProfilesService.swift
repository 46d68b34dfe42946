import Contracts
import Foundation
import Hummingbird
import Kafka
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// The profiles (identity) service: tracking API and topic intake, identity resolution, Profile API.
public enum ProfilesService {
    public static let schema = "profiles"
    public static let defaultPort = 8081

    public struct Config: Sendable {
        public var common: CommonConfig
        public var adminToken: String
        public var consumerBatchSize: Int
        public var profileAPIRateLimit: Int
        public var csvMaxBytes: Int64
        public var csvRowsPerTransaction: Int
        /// How long the tracking API waits for the broker's acknowledgement before answering 503.
        public var trackingAckTimeout: Duration

        public static func fromEnvironment(_ env: EnvironmentVariables = EnvironmentVariables()) throws -> Config {
            Config(
                common: try CommonConfig.fromEnvironment(
                    service: "profiles", schema: schema, defaultPort: defaultPort, env: env),
                adminToken: try env.secret(
                    "ENGAGE_ADMIN_TOKEN", developmentDefault: "dev-admin-token",
                    hint: "the bearer token of the admin API (spaces, sources, access tokens)"),
                consumerBatchSize: try env.int("ENGAGE_PROFILES_BATCH_SIZE", default: 1_500),
                profileAPIRateLimit: try env.int("ENGAGE_PROFILE_API_RATE_LIMIT", default: 100),
                csvMaxBytes: Int64(try env.int("ENGAGE_CSV_MAX_BYTES", default: 1 << 30)),
                csvRowsPerTransaction: try env.int("ENGAGE_CSV_ROWS_PER_TRANSACTION", default: 2_000),
                trackingAckTimeout: .milliseconds(try env.int("ENGAGE_TRACKING_ACK_TIMEOUT_MS", default: 5_000)))
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        try await ServiceHost.run(
            config.common, migrations: ProfilesMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let directory = SpaceDirectory(db: database, logger: logger)
            try await directory.republishAllSpaces()
            let writer = ProfileWriter(db: database, directory: directory, logger: logger)
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: [Topic.tracking], logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: TrackingConsumer(directory: directory, writer: writer, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            let feedbackConsumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup + "-feedback",
                topics: SubscriptionFeedbackConsumer.topics, logger: logger)
            let feedback = ConsumerService(
                consumer: feedbackConsumer, deadLetters: producer,
                handler: SubscriptionFeedbackConsumer(db: database, logger: logger), maxBatch: 500, logger: logger)
            let uploads = CSVUploadStore(db: database, logger: logger)
            let importer = CSVImportWorker(
                store: uploads, writer: writer, rowsPerTransaction: config.csvRowsPerTransaction, logger: logger)
            CSVUploadAPI(directory: directory, store: uploads, maxBytes: config.csvMaxBytes).register(on: router)
            // Its own producer, with a delivery timeout of the tracking answer's length: a record the
            // broker cannot take in time is dropped from librdkafka's queue with the 503, rather than
            // sent later (a record already on its way may still arrive; the retry is deduplicated).
            let trackingProducer = try KafkaProducer(
                config: config.common.kafka, deliveryTimeout: config.trackingAckTimeout, logger: logger)
            TrackingAPI(directory: directory, producer: trackingProducer, ackTimeout: config.trackingAckTimeout)
                .register(on: router)
            ProfileAPI(
                directory: directory, reader: ProfileReader(db: database, logger: logger),
                requestsPerSecond: Double(config.profileAPIRateLimit)
            ).register(on: router)
            AdminAPI(directory: directory, adminToken: config.adminToken).register(on: router)
            SpaceSettingsAPI(directory: directory).register(on: router)
            return ServiceParts(services: [trackingProducer, relay, intake, feedback, importer])
        }
    }
}
