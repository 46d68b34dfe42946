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

        public static func fromEnvironment(_ env: EnvironmentVariables = EnvironmentVariables()) throws -> Config {
            Config(
                common: try CommonConfig.fromEnvironment(service: "profiles", schema: schema, defaultPort: defaultPort, env: env),
                adminToken: env.string("ENGAGE_ADMIN_TOKEN", default: "dev-admin-token"),
                consumerBatchSize: try env.int("ENGAGE_PROFILES_BATCH_SIZE", default: 1_500),
                profileAPIRateLimit: try env.int("ENGAGE_PROFILE_API_RATE_LIMIT", default: 100))
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = Observability.bootstrap(config.common)
        try await ServiceHost.run(config.common, migrations: ProfilesMigrations.all, logger: logger) { router, database, producer in
            let relay = OutboxRelay(client: database, producer: producer, schema: config.common.database.schema, logger: logger)
            let directory = SpaceDirectory(db: database, logger: logger)
            let writer = ProfileWriter(db: database, directory: directory, logger: logger, onCommit: { relay.wake() })
            let consumer = try KafkaConsumer(config: config.common.kafka, groupId: config.common.consumerGroup,
                                             topics: [Topic.tracking], logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: TrackingConsumer(directory: directory, writer: writer, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            TrackingAPI(directory: directory, producer: producer).register(on: router)
            ProfileAPI(directory: directory, reader: ProfileReader(db: database, logger: logger),
                       requestsPerSecond: Double(config.profileAPIRateLimit)).register(on: router)
            AdminAPI(directory: directory, adminToken: config.adminToken).register(on: router)
            return ServiceParts(services: [relay, intake])
        }
    }
}
