import Contracts
import Hummingbird
import Kafka
import Liveness
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// Runs a service: Postgres first (migrated before anything else starts), then the given services in
/// order, the HTTP server last. SIGTERM/SIGINT stop them in reverse: HTTP first, consumers finish
/// their batch and commit, the outbox drains, the producer flushes, Postgres closes last.
public enum ServiceHost {
    public static func withMigratedDatabase<T: Sendable>(
        _ config: CommonConfig, migrations: [Migration], logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = config.database.makeClient(logger: logger)
        // Not a child task: a task group waits for its children, and the pool's shutdown waits for
        // every lease, including one held by a query postgres-nio never completes (written to a
        // connection as it closed). The process must exit all the same, so that wait is bounded.
        let pool = Task { await client.run() }
        let result: T
        do {
            try await Migrator.migrate(
                Migrator.platform + migrations, schema: config.database.schema,
                client: client, logger: logger)
            result = try await body(client)
        } catch {
            await close(pool, logger: logger)
            throw error
        }
        await close(pool, logger: logger)
        return result
    }

    /// Stops the pool and waits for it to close its connections, up to `databaseCloseLimit`.
    private static func close(_ pool: Task<Void, Never>, logger: Logger) async {
        pool.cancel()
        let closed =
            (try? await firstOf(
                { await pool.value },
                orAbandonWhen: {
                    try? await Task.sleep(for: databaseCloseLimit)
                    return CancellationError()
                })) != nil
        if !closed {
            logger.warning(
                "Postgres connections still in use after \(databaseCloseLimit); exiting without waiting for them")
        }
    }

    static let databaseCloseLimit = Duration.seconds(3)

    public static func runHTTP<Context: RequestContext>(
        _ config: CommonConfig, router: Router<Context>, services: [any Service], logger: Logger
    ) async throws where Context.Source == ApplicationRequestContextSource {
        let app = Application(
            router: router,
            server: config.httpLimits.http1Server(logger: logger),
            configuration: .init(
                address: .hostname(config.httpHost, port: config.httpPort), serverName: "swift-engage"),
            // First, so it stops last: the spans of the final batches are exported too.
            services: (TracingBootstrap.service.withLock { $0 }.map { [$0] } ?? []) + services,
            logger: logger)
        // SIGTERM must end the process within the grace period an orchestrator gives it: graceful
        // shutdown first (HTTP stops, loops finish their batch), then cancellation, and past the
        // grace period ServiceLifecycle ends the process.
        var group = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [UnixSignal.sigterm, UnixSignal.sigint],
            logger: logger)
        let cancellationAllowance = min(Duration.seconds(5), config.shutdownGrace / 3)
        group.maximumGracefulShutdownDuration = config.shutdownGrace - cancellationAllowance
        group.maximumCancellationDuration = cancellationAllowance
        try await ServiceGroup(configuration: group).run()
    }
}

extension ServiceHost {
    /// Existing topics keep their settings (changing a live topic's retention or cleanup policy is
    /// an operator's decision): each difference from the platform's settings is logged at startup.
    static func reportTopicSettingDifferences(_ producer: KafkaProducer, logger: Logger) async {
        do {
            for difference in try await producer.topicSettingDifferences() {
                logger.warning(
                    "topic setting differs from the platform's; change it with kafka-configs.sh if it should not",
                    metadata: ["difference": "\(difference)"])
            }
        } catch {
            logger.warning("could not read the topics' settings", metadata: ["error": "\(error)"])
        }
    }
}

/// What a service adds to the standard shell: its routes and its long-running services.
public struct ServiceParts: Sendable {
    public var services: [any Service]
    public init(services: [any Service] = []) { self.services = services }
}

extension ServiceHost {
    /// The router every service's API is registered on, with the platform's middleware (request ids,
    /// storable text); route tests build theirs here too, so they see the same requests and errors.
    public static func apiRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // A span per request (continuing the caller's trace from `traceparent`), and RED metrics by route.
        router.add(middleware: RequestTracingMiddleware())
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: RequestIdMiddleware())
        router.add(middleware: StorableTextMiddleware())
        return router
    }

    /// The standard shell of every service: migrated Postgres, a producer, the platform topics,
    /// `/health` `/ready` `/metrics`, the service's own routes and services, its OpenAPI document
    /// (checked against the routes), graceful shutdown.
    public static func run(
        _ config: CommonConfig, migrations: [Migration], document: APIDocument, logger: Logger,
        build: @Sendable (Router<BasicRequestContext>, PostgresClient, KafkaProducer) async throws -> ServiceParts
    ) async throws {
        try await withMigratedDatabase(config, migrations: migrations, logger: logger) { database in
            let producer = try KafkaProducer(config: config.kafka, logger: logger)
            try await producer.createTopics(Topic.allWithDeadLetters)
            await reportTopicSettingDifferences(producer, logger: logger)
            let router = apiRouter()
            OperationalRoutes.add(
                to: router, database: database, producer: producer, stallThreshold: config.stallThreshold,
                logger: logger)
            document.addRoute(to: router)
            let parts = try await build(router, database, producer)
            try document.verify(against: router, logger: logger)
            logger.info("starting", metadata: ["port": "\(config.httpPort)", "schema": "\(config.database.schema)"])
            try await runHTTP(config, router: router, services: [producer] + parts.services, logger: logger)
        }
    }
}
