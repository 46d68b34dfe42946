import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// The events-source service: the Engage Events Source (message, subscription, audience and
/// journey events as Segment `track` events on `engage.source-events` and to signed webhook
/// destinations) and message analytics.
public enum EventsSourceService {
    public static let schema = "events_source"
    public static let defaultPort = 8086

    public struct Config: Sendable {
        public var common: CommonConfig
        public var consumerBatchSize: Int
        public var webhooks: DeliveryWorker.Settings
        /// Where webhook calls may go: public addresses, plus `ENGAGE_WEBHOOK_ALLOWED_HOSTS`.
        public var egress: EgressPolicy
        /// Seals destination signing secrets (`ENGAGE_SECRETS_KEY`).
        public var secrets: SecretBox
        /// How long input ids are kept to recognise a redelivered input.
        public var dedupeWindow: Duration
        public var deliveryLogRetention: Duration

        public static func fromEnvironment(_ env: EnvironmentVariables) throws -> Config {
            var webhooks = DeliveryWorker.Settings()
            webhooks.batchSize = try env.int("ENGAGE_WEBHOOK_BATCH_SIZE", default: webhooks.batchSize)
            webhooks.concurrency = try env.int("ENGAGE_WEBHOOK_CONCURRENCY", default: webhooks.concurrency)
            webhooks.timeout = .milliseconds(try env.int("ENGAGE_WEBHOOK_TIMEOUT_MS", default: 10_000))
            webhooks.retryBase = .milliseconds(try env.int("ENGAGE_WEBHOOK_RETRY_BASE_MS", default: 1_000))
            webhooks.retryCap = .milliseconds(try env.int("ENGAGE_WEBHOOK_RETRY_CAP_MS", default: 600_000))
            webhooks.maxAttempts = try env.int("ENGAGE_WEBHOOK_MAX_ATTEMPTS", default: webhooks.maxAttempts)
            guard webhooks.maxAttempts >= 1, webhooks.concurrency >= 1, webhooks.batchSize >= 1 else {
                throw ServiceConfigError(
                    "ENGAGE_WEBHOOK_MAX_ATTEMPTS, ENGAGE_WEBHOOK_CONCURRENCY and ENGAGE_WEBHOOK_BATCH_SIZE must be at least 1"
                )
            }
            return Config(
                common: try CommonConfig.fromEnvironment(
                    service: "events-source", schema: schema, defaultPort: defaultPort, env: env),
                consumerBatchSize: try env.int("ENGAGE_EVENTS_SOURCE_BATCH_SIZE", default: 500),
                webhooks: webhooks,
                egress: try EgressPolicy(allowList: env.string("ENGAGE_WEBHOOK_ALLOWED_HOSTS", default: "")),
                secrets: try SecretBox.fromEnvironment(env, purpose: "it seals webhook signing secrets"),
                dedupeWindow: .seconds(86_400 * (try env.int("ENGAGE_EVENTS_SOURCE_DEDUPE_DAYS", default: 7))),
                deliveryLogRetention: .seconds(86_400 * (try env.int("ENGAGE_WEBHOOK_LOG_RETENTION_DAYS", default: 30)))
            )
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        try await serve(config, logger: logger)
    }

    static func serve(_ config: Config, logger: Logger) async throws {
        try await ServiceHost.run(
            config.common, migrations: EventsSourceMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            try await DestinationSecrets(box: config.secrets).sealClearRows(db: database, logger: logger)
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let spaces = SpaceAccessReplica(db: database, logger: logger)
            // The worker owns its HTTP clients (one per checked address) and shuts them down when it stops.
            let worker = DeliveryWorker(
                db: database, policy: config.egress, box: config.secrets, settings: config.webhooks, logger: logger)
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: SourceConsumer.topics, logger: logger)
            let profiles = ProfileReplica(db: database, keepsTraits: false, lockName: schema, logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: SourceConsumer(
                    db: database, spaces: spaces, profiles: profiles,
                    onCommit: { deliveries in if deliveries { worker.wake() } }, logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            let auth = SpaceTokenAuth(replica: spaces)
            DestinationsAPI(
                auth: auth,
                store: DestinationStore(db: database, box: config.secrets, logger: logger, onChange: { worker.wake() }),
                policy: config.egress
            ).register(on: router)
            AnalyticsAPI(auth: auth, reader: AnalyticsReader(db: database, logger: logger)).register(on: router)
            let housekeeping = Housekeeping(
                db: database, dedupeWindow: config.dedupeWindow,
                deliveryLogRetention: config.deliveryLogRetention, logger: logger)
            // Stopped in reverse: deliveries in flight finish, then the intake commits, then the relay drains.
            return ServiceParts(services: [relay, intake, worker, housekeeping])
        }
    }
}
