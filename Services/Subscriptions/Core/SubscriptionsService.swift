import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// The subscriptions service: consent states per email, SMS and WhatsApp contact and per email
/// group; commands in (topic and API), effective changes out, with the full history.
public enum SubscriptionsService {
    public static let schema = "subscriptions"
    public static let defaultPort = 8082

    public struct Config: Sendable {
        public var common: CommonConfig
        public var consumerBatchSize: Int

        public static func fromEnvironment(_ env: EnvironmentVariables) throws -> Config {
            Config(
                common: try CommonConfig.fromEnvironment(
                    service: "subscriptions", schema: schema, defaultPort: defaultPort, env: env),
                consumerBatchSize: try env.int("ENGAGE_SUBSCRIPTIONS_BATCH_SIZE", default: 10))
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        try await ServiceHost.run(
            config.common, migrations: SubscriptionsMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let spaces = SpaceAccessReplica(db: database, logger: logger)
            let applier = SubscriptionApplier(db: database, logger: logger)
            let groups = GroupStore(db: database, logger: logger)
            let jobs = JobStore(db: database, logger: logger)
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: CommandConsumer.topics, logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: CommandConsumer(applier: applier, spaces: spaces, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            SubscriptionsAPI(
                auth: SpaceTokenAuth(replica: spaces), applier: applier, groups: groups,
                reader: StateReader(db: database, logger: logger), jobs: jobs
            ).register(on: router)
            return ServiceParts(services: [relay, intake, JobWorker(store: jobs, applier: applier, logger: logger)])
        }
    }
}
