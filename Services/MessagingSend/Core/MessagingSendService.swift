import AsyncHTTPClient
import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceKit

/// The messaging-send service: templates, provider settings, sending through SendGrid and Twilio
/// at most once per message request and only to consenting recipients, provider callbacks and
/// unsubscribe links in, message events and subscription commands out.
public enum MessagingSendService {
    public static let schema = "messaging_send"
    public static let defaultPort = 8085

    public struct Config: Sendable {
        public var common: CommonConfig
        public var secretsKey: String
        /// Where providers and people reach this service (status callbacks, unsubscribe links).
        public var publicURL: String
        public var dispatcher: Dispatcher.Settings
        public var consumerBatchSize: Int
        public var profileWaitSeconds: Int
        public var providerHosts: Set<String>

        public static func fromEnvironment(_ env: EnvironmentVariables) throws -> Config {
            let common = try CommonConfig.fromEnvironment(
                service: "messaging-send", schema: schema, defaultPort: defaultPort, env: env)
            let key = try env.secret(
                "ENGAGE_SECRETS_KEY",
                hint:
                    "32 random bytes in base64 (`openssl rand -base64 32`); it seals provider secrets and signs unsubscribe links"
            )
            var dispatcher = Dispatcher.Settings()
            dispatcher.batchSize = try env.int("ENGAGE_MESSAGING_BATCH_SIZE", default: 100)
            dispatcher.workers = try env.int("ENGAGE_MESSAGING_WORKERS", default: 8)
            dispatcher.providerTimeout = .milliseconds(
                try env.int("ENGAGE_MESSAGING_PROVIDER_TIMEOUT_MS", default: 10_000))
            dispatcher.maxAttempts = try env.int("ENGAGE_MESSAGING_MAX_ATTEMPTS", default: 8)
            let publicURL = env.string("ENGAGE_MESSAGING_PUBLIC_URL", default: "http://127.0.0.1:\(common.httpPort)")
            return Config(
                common: common, secretsKey: key,
                publicURL: publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL,
                dispatcher: dispatcher,
                consumerBatchSize: try env.int("ENGAGE_MESSAGING_CONSUMER_BATCH_SIZE", default: 500),
                profileWaitSeconds: try env.int("ENGAGE_MESSAGING_PROFILE_WAIT_SECONDS", default: 30),
                providerHosts: Set(
                    env.list("ENGAGE_MESSAGING_PROVIDER_HOSTS", default: ProviderVerifier.defaultAllowedHosts.sorted())
                        .map { $0.lowercased() }))
        }
    }

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try Config.fromEnvironment(env)
        let logger = try Observability.bootstrap(config.common)
        let box = try SecretBox(base64Key: config.secretsKey)
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                timeout: .init(connect: .seconds(5)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        do {
            try await serve(config, logger: logger, box: box, httpClient: httpClient)
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    static func serve(_ config: Config, logger: Logger, box: SecretBox, httpClient: HTTPClient) async throws {
        try await ServiceHost.run(
            config.common, migrations: MessagingMigrations.all,
            document: try APIDocument(bundle: .module),
            logger: logger
        ) {
            router, database, producer in
            let relay = config.common.outboxRelay(database: database, producer: producer, logger: logger)
            let spaces = SpaceAccessReplica(db: database, logger: logger)
            let replicas = ReplicaStore(db: database, logger: logger)
            let messages = MessageStore(db: database, logger: logger)
            let destinations = DestinationStore(db: database, messages: messages, logger: logger)
            let templates = TemplateStore(db: database, logger: logger)
            let providers = ProviderStore(db: database, box: box, logger: logger)
            let links = UnsubscribeLinks(box: box, publicURL: config.publicURL)
            let http = ProviderHTTP(client: httpClient, timeout: config.dispatcher.providerTimeout)
            let sendGrid = SendGridClient(http: http)
            let twilio = TwilioClient(http: http)
            let policies = SendPolicyStore(db: database, logger: logger)
            let preparer = SendPreparer(
                templates: templates, replicas: replicas, providers: providers, links: links,
                limiter: SenderRateLimiter(),
                policies: policies,
                publicURL: config.publicURL, profileWait: TimeInterval(config.profileWaitSeconds))
            let dispatcher = Dispatcher(
                store: messages, preparer: preparer, sendGrid: sendGrid, twilio: twilio, settings: config.dispatcher,
                logger: logger)
            let consumer = try KafkaConsumer(
                config: config.common.kafka, groupId: config.common.consumerGroup,
                topics: MessagingConsumer.topics, logger: logger)
            let intake = ConsumerService(
                consumer: consumer, deadLetters: producer,
                handler: MessagingConsumer(
                    db: database, spaces: spaces, replicas: replicas, messages: messages,
                    destinations: destinations, onRequests: { dispatcher.wake() },
                    logger: logger),
                maxBatch: config.consumerBatchSize, logger: logger)
            MessagingSendRoutes(
                spaces: spaces, templates: templates, providers: providers,
                verifier: ProviderVerifier(sendGrid: sendGrid, twilio: twilio, allowedHosts: config.providerHosts),
                replicas: replicas, messages: messages,
                destinations: destinations, audiences: AudienceCatalogReplica(db: database, logger: logger),
                policies: policies, links: links, producer: producer, database: database, publicURL: config.publicURL,
                onQueued: { dispatcher.wake() }, logger: logger
            ).register(on: router)
            // Stopped in reverse: the dispatcher finishes its calls before the relay drains.
            return ServiceParts(services: [relay, intake, dispatcher])
        }
    }
}
