import Logging
import Persistence
import ServiceKit

/// The subscriptions service. For now it boots, migrates its schema and serves /health, /ready and /metrics;
/// its consumers and API arrive with their own issues.
public enum SubscriptionsService {
    public static let schema = "subscriptions"
    public static let defaultPort = 8082

    public static let migrations: [Migration] = []

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try CommonConfig.fromEnvironment(service: "subscriptions", schema: schema, defaultPort: defaultPort, env: env)
        let logger = Observability.bootstrap(config)
        try await ServiceHost.run(config, migrations: migrations, logger: logger) { _, _, _ in ServiceParts() }
    }
}
