import Foundation
import Testing

@testable import ServiceKit

/// Tracing is off unless the standard OTEL_* variables ask for it; every metric has HELP text.
struct ObservabilityTests {
    @Test func tracingIsOffUnlessAnExporterIsConfigured() {
        #expect(!TracingBootstrap.isRequested([:]))
        #expect(!TracingBootstrap.isRequested(["OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]))
        #expect(TracingBootstrap.isRequested(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]))
        #expect(TracingBootstrap.isRequested(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"]))
        #expect(TracingBootstrap.isRequested(["OTEL_TRACES_EXPORTER": "console"]))
        #expect(
            !TracingBootstrap.isRequested(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"])
        )
        #expect(
            !TracingBootstrap.isRequested([
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none",
            ]))
    }

    @Test func helpLinesGoBeforeEachKnownMetricsType() {
        let exposition = Array(
            """
            # TYPE engage_outbox_published_total counter
            engage_outbox_published_total 3
            # TYPE something_else gauge
            something_else 1
            """.utf8)
        let annotated = String(decoding: MetricHelp.annotate(exposition), as: UTF8.self)
        #expect(
            annotated.hasPrefix(
                "# HELP engage_outbox_published_total Outbox rows published to the broker.\n# TYPE engage_outbox_published_total counter\n"
            ))
        #expect(annotated.contains("engage_outbox_published_total 3\n# TYPE something_else gauge\nsomething_else 1"))
        #expect(!annotated.contains("# HELP something_else"))
    }

    /// Every metric the code names (a `label: "..."` literal) has one `engage_` prefix and HELP text,
    /// and the table names no metric that no longer exists.
    @Test func everyMetricIsPrefixedAndExplained() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let pattern = try Regex(#"label: *"([a-z0-9_]+)""#, as: (Substring, Substring).self)
        var names: Set<String> = []
        for folder in ["Services", "Shared"] {
            let files = FileManager.default.enumerator(
                at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            for case let file as URL in files?.allObjects ?? [] where file.pathExtension == "swift" {
                let source = try String(contentsOf: file, encoding: .utf8)
                names.formUnion(source.matches(of: pattern).map { String($0.output.1) })
            }
        }
        // Labels of loggers and of the CLI's own handler are not metrics.
        names = names.filter { !$0.hasPrefix("engage.") }
        #expect(names.count > 30)
        #expect(names.filter { !$0.hasPrefix("engage_") }.sorted() == [], "metrics without the engage_ prefix")
        #expect(names.subtracting(MetricHelp.text.keys).sorted() == [], "metrics without HELP text in MetricHelp")
        #expect(Set(MetricHelp.text.keys).subtracting(names).sorted() == [], "HELP text for metrics that do not exist")
    }
}
