import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Liveness
import Logging
import Persistence
import PostgresNIO

/// `/health` (the process is alive and its loops make progress), `/ready` (Postgres and the broker
/// answer, and no loop is stalled), `/metrics` (Prometheus).
public enum OperationalRoutes {
    public static func add<Context: RequestContext>(
        to router: Router<Context>, database: PostgresClient, producer: KafkaProducer, stallThreshold: Duration,
        monitor: LoopMonitor = .shared, logger: Logger
    ) {
        // Liveness: fails only for what a restart cures, a loop that holds work and makes no
        // progress (hung, or failing for longer than the threshold).
        router.get("/health") { _, _ in
            let stalls = monitor.stalls(threshold: stallThreshold)
            return try JSONBody.response(
                HealthBody(status: stalls.isEmpty ? "ok" : "stalled", stalled: stalls.isEmpty ? nil : stalls),
                status: stalls.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("/ready") { _, _ in
            async let postgresOK = databaseReachable(database, logger: logger)
            async let brokerOK = producer.isBrokerReachable()
            let stalls = monitor.stalls(threshold: stallThreshold)
            var checks = [
                "postgres": await postgresOK ? "ok" : "unreachable", "broker": await brokerOK ? "ok" : "unreachable",
            ]
            checks["loops"] =
                stalls.isEmpty
                ? "ok" : "stalled: " + stalls.map { "\($0.loop) (\($0.seconds) s)" }.joined(separator: ", ")
            let ready = checks.values.allSatisfy { $0 == "ok" }
            return try JSONBody.response(
                ReadinessBody(
                    status: ready ? "ready" : "not_ready", checks: checks,
                    stalled: stalls.isEmpty ? nil : stalls),
                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in metricsResponse() }
    }

    /// The Prometheus exposition: every metric, with its HELP text, and the process's own figures
    /// read now.
    public static func metricsResponse() -> Response {
        ProcessMetrics.update()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(
                byteBuffer: ByteBuffer(bytes: MetricHelp.annotate(Observability.registry.emitToBuffer()))))
    }

    static func databaseReachable(_ client: PostgresClient, logger: Logger) async -> Bool {
        do {
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await client.query("SELECT 1", logger: logger)
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(2))
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
        } catch {
            return false
        }
    }
}

struct ReadinessBody: Encodable {
    var status: String
    var checks: [String: String]
    var stalled: [LoopStall]?
}

struct HealthBody: Encodable {
    var status: String
    var stalled: [LoopStall]?
}

/// Adds a `Request-Id` to every response (the caller's `X-Request-Id`/`Request-Id` when sent), puts
/// it in the request's log metadata, and turns unexpected errors into a JSON 500 without internals
/// (a 503 when the cause is one that passes: Postgres or the broker unreachable).
public struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let requestId =
            request.headers[HTTPField.Name("X-Request-Id")!] ?? request.headers[HTTPField.Name("Request-Id")!]
            ?? UUID().uuidString.lowercased()
        var context = context
        context.logger[metadataKey: "request_id"] = "\(requestId)"
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch  where TransientFailure.isTransient(error) {
            // Postgres or the broker is away for now (a restart, a failover): the client should
            // retry, which a 500 would not tell it.
            context.logger.warning("request failed for now", metadata: ["error": "\(String(reflecting: error))"])
            response = try APIError.unavailable("a dependency of this service is not reachable; retry shortly")
                .response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            response = try APIError(
                .internalServerError, code: "internal_error",
                message: "the request could not be completed; quote request id \(requestId)"
            )
            .response(from: request, context: context)
        }
        response.headers[HTTPField.Name("Request-Id")!] = requestId
        return response
    }
}

/// Refuses, for every route, a path or query string that cannot be stored (an encoded NUL, bytes
/// that are not UTF-8), so that no handler passes it on to Postgres.
public struct StorableTextMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let target = request.uri.string
        if let problem = StorableText.problem(inPercentEncoded: target[...]) {
            throw APIError.badRequest("invalid request target: \(problem)")
        }
        return try await next(request, context)
    }
}
