import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// The journeys service: versioned multi-step journeys, broadcasts and conversion goals. It
/// consumes profile events, audience membership and message events, and produces message
/// requests, journey events, trait writes and destination records, all through its outbox.
public enum JourneysService {
    public static let schema = "journeys"
    public static let defaultPort = 8084

    public struct Config: Sendable {
        public var common: CommonConfig
        public var consumerBatchSize: Int
        public var advancer: Advancer.Settings
        public var broadcastChunkSize: Int

        public static func fromEnvironment(_ env: EnvironmentVariables) throws -> Config {
            var advancer = Advancer.Settings()
            advancer.batchSize = try env.int("ENGAGE_JOURNEYS_TIMER_BATCH_SIZE", default: advancer.batchSize)
            advancer.workers = try env.int("ENGAGE_JOURNEYS_TIMER_WORKERS", default: advancer.workers)
            advancer.pollInterval = .milliseconds(try env.int("ENGAGE_JOURNEYS_TIMER_POLL_MS", default: 200))
            advancer.lookahead = .seconds(try env.int("ENGAGE_JOURNEYS_TIMER_LOOKAHEAD_SECONDS", default: 30))
            let chunk = try env.int("ENGAGE_BROADCAST_CHUNK_SIZE", default: 2_000)
            guard advancer.batchSize >= 1, advancer.workers >= 1, chunk >= 1, advancer.lookahead >= .zero else {
                throw ServiceConfigError(
                    "ENGAGE_JOURNEYS_TIMER_BATCH_SIZE, ENGAGE_JOURNEYS_TIMER_WORKERS and ENGAGE_BROADCAST_CHUNK_SIZE must be at least 1, ENGAGE_JOURNEYS_TIMER_LOOKAHEAD_SECONDS at least 0"
                )
            }
            return Config(
                common: try CommonConfig.fromEnvironment(
                    service: "journeys", schema: schema, defaultPort: defaultPort, env: env),
                consumerBatchSize: try env.int("ENGAGE_JOURNEYS_BATCH_SIZE", default: 500), advancer: advancer,
                broadcastChunkSize: chunk)
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables(), clock: any JourneyClock = SystemClock())
        async throws
    {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        try await ServiceHost.run(
            config.common, migrations: JourneysMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let spaces = SpaceAccessReplica(db: database, logger: logger)
            let profiles = ProfileReplica(db: database, keepsTraits: true, lockName: schema, logger: logger)
            let catalog = JourneyCatalog(logger: logger)
            let advancer = Advancer(
                db: database, catalog: catalog, profiles: profiles, clock: clock, settings: config.advancer,
                logger: logger)
            let broadcasts = BroadcastWorker(
                db: database, clock: clock, chunkSize: config.broadcastChunkSize, logger: logger)
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: JourneyConsumer.topics, logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: JourneyConsumer(
                    db: database, spaces: spaces, profiles: profiles, catalog: catalog, clock: clock,
                    onCommit: { advancer.wake() }, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            let store = JourneyStore(
                db: database, catalog: catalog, profiles: profiles, clock: clock,
                onChange: { advancer.wake() }, createTopics: { try await producer.createTopics($0) }, logger: logger)
            JourneysRoutes(
                spaces: spaces, journeys: store, reader: JourneyReader(db: database, catalog: catalog, logger: logger),
                audiences: AudienceCatalogReplica(db: database, logger: logger),
                broadcasts: BroadcastStore(db: database, clock: clock, onChange: { broadcasts.wake() }, logger: logger)
            ).register(on: router)
            // Stopped in reverse: the workers finish their batch, the intake commits, the relay drains.
            return ServiceParts(services: [relay, intake, advancer, broadcasts])
        }
    }
}
