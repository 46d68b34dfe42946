import Foundation
import Logging
import Metrics
import Prometheus

/// Process-wide logging and metrics setup. Call once, first thing in a service's main.
public enum Observability {
    public static let registry = PrometheusCollectorRegistry()

    public static func bootstrap(
        _ config: CommonConfig, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> Logger
    {
        let service = config.serviceName
        let level = config.logLevel
        switch config.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, service: service, level: level) }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        do {
            try TracingBootstrap.bootstrap(serviceName: service, environment: environment)
        } catch {
            throw ServiceConfigError("OTEL_* variables: \(error)")
        }
        return Logger(label: "engage.\(service)")
    }
}
