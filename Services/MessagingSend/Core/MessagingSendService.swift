import Logging
import Persistence
import ServiceKit

/// The messaging-send service. For now it boots, migrates its schema and serves /health, /ready and /metrics;
/// its consumers and API arrive with their own issues.
public enum MessagingSendService {
    public static let schema = "messaging_send"
    public static let defaultPort = 8085

    public static let migrations: [Migration] = []

    public static func run(env: EnvironmentVariables = EnvironmentVariables()) async throws {
        let config = try CommonConfig.fromEnvironment(service: "messaging-send", schema: schema, defaultPort: defaultPort, env: env)
        let logger = Observability.bootstrap(config)
        try await ServiceHost.run(config, migrations: migrations, logger: logger) { _, _, _ in ServiceParts() }
    }
}
