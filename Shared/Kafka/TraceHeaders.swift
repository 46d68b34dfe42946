import Tracing

/// W3C trace context in record headers (`traceparent`, `tracestate`): how one trace follows an
/// event from service to service across topics. With tracing off the instrument is a no-op and
/// the headers stay empty.
public enum TraceHeaders {
    public static let names: Set<String> = ["traceparent", "tracestate"]

    /// Whether a tracer is installed (OTLP export configured): work that only serves traces is skipped otherwise.
    public static var isTracing: Bool { !(InstrumentationSystem.tracer is NoOpTracer) }

    /// The current task's trace context, as headers.
    public static func current(_ context: ServiceContext? = ServiceContext.current) -> [String: String] {
        guard let context, isTracing else { return [:] }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: HeaderInjector())
        return carrier
    }

    /// The trace context a record carries (an empty context when it carries none).
    public static func context(of headers: [String: String]) -> ServiceContext {
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: HeaderExtractor())
        return context
    }

    /// Headers with the current trace context added, unless they carry one already (a record
    /// relayed from the outbox keeps the context of the work that wrote it).
    public static func adding(to headers: [String: String], _ context: ServiceContext? = ServiceContext.current)
        -> [String: String]
    {
        guard headers["traceparent"] == nil else { return headers }
        return headers.merging(current(context)) { existing, _ in existing }
    }

    struct HeaderInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }

    struct HeaderExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
}
