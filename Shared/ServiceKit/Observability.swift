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
        var factory = PrometheusMetricsFactory(registry: registry)
        // Waits measured in minutes (a journey timer, a message held by quiet hours): the default
        // buckets end at 10 s, where a percentile would stop.
        for label in longDurations { factory.durationHistogramBuckets[label] = longDurationBuckets }
        MetricsSystem.bootstrap(factory)
        let logger = Logger(label: "engage.\(service)")
        do {
            try TracingBootstrap.bootstrap(serviceName: service, environment: environment, logger: logger)
        } catch {
            throw ServiceConfigError("OTEL_* variables: \(error)")
        }
        return logger
    }

    static let longDurations = [
        "engage_journey_timer_lateness_seconds", "engage_message_request_to_provider_seconds",
        "engage_audiences_event_to_membership_seconds", "engage_outbox_publish_lag_seconds",
        "engage_events_source_event_age_at_publish_seconds",
    ]

    static let longDurationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
        .seconds(900), .seconds(1_800), .seconds(3_600), .seconds(14_400), .seconds(86_400),
    ]
}
