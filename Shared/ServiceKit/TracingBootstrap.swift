import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// OpenTelemetry tracing, configured by the standard `OTEL_*` variables and off unless they ask
/// for it: an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`) or
/// `OTEL_TRACES_EXPORTER=otlp|console`. `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
/// keep it off. Off, the tracer is the no-op one and a span costs next to nothing.
public enum TracingBootstrap {
    public static func isRequested(_ environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        switch environment["OTEL_TRACES_EXPORTER"]?.lowercased() {
        case "none": return false
        case "otlp", "console": return true
        default:
            return [environment["OTEL_EXPORTER_OTLP_ENDPOINT"], environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]]
                .contains { !($0 ?? "").isEmpty }
        }
    }

    /// The exporter's background service (batching and export, flushed at shutdown), run beside the
    /// HTTP server by `ServiceHost.runHTTP`; nil when tracing is off.
    static let service = Mutex<(any Service)?>(nil)

    /// Traces only: logs and metrics keep their own backends (JSON lines, Prometheus), whatever the
    /// OTEL_* variables say about them. swift-otel's own messages go through the service's logger,
    /// at `error` only: its warning about a malformed `traceparent` prints every header it was
    /// given, `Authorization` included (OTEL_LOG_LEVEL can lower it).
    static func bootstrap(serviceName: String, environment: [String: String], logger: Logger) throws {
        guard isRequested(environment) else { return }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.traces.enabled = true
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .error
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        service.withLock { $0 = backend.service }
    }
}
