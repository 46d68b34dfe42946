import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// The audiences service: real-time audience membership and computed traits from profile events,
/// profile updates and subscription changes; Audience Entered / Exited out, atomically with the
/// membership table.
public enum AudiencesService {
    public static let schema = "audiences"
    public static let defaultPort = 8083

    public struct Config: Sendable {
        public var common: CommonConfig
        public var consumerBatchSize: Int
        public var timerInterval: Duration

        public static func fromEnvironment(_ env: EnvironmentVariables) throws -> Config {
            Config(
                common: try CommonConfig.fromEnvironment(
                    service: "audiences", schema: schema, defaultPort: defaultPort, env: env),
                consumerBatchSize: try env.int("ENGAGE_AUDIENCES_BATCH_SIZE", default: 500),
                timerInterval: .milliseconds(try env.int("ENGAGE_AUDIENCES_TIMER_INTERVAL_MS", default: 500)))
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        try await ServiceHost.run(
            config.common, migrations: AudiencesMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let spaces = SpaceAccessReplica(db: database, logger: logger)
            let cache = DefinitionCache(logger: logger)
            let store = StateStore(logger: logger)
            let builds = BuildWorker(db: database, definitions: cache, store: store, logger: logger)
            let definitions = DefinitionStore(db: database, logger: logger, onChange: { builds.wake() })
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: AudienceConsumer.topics, logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: AudienceConsumer(
                    db: database, spaces: spaces, definitions: cache, store: store, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            let timers = TimerWorker(
                db: database, definitions: cache, store: store, interval: config.timerInterval, logger: logger)
            AudiencesAPI(
                auth: SpaceTokenAuth(replica: spaces), definitions: definitions,
                reader: MembershipReader(db: database, logger: logger),
                preview: DraftPreview(db: database, store: store, logger: logger),
                compiled: { spaceId in
                    try await database.withConnection { try await cache.current(on: $0)[spaceId] }
                }
            ).register(on: router)
            return ServiceParts(services: [relay, intake, timers, builds])
        }
    }
}
