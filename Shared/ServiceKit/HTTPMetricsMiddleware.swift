import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// HTTP RED metrics: every request counted and timed by method, route template (`/spaces/{space_id}/audiences`,
/// never the raw path, so that ids do not explode the series) and status.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = HTTPMetricsCache()

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await next(request, context)
            record(request.method, context.endpointPath, response.status, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(request.method, context.endpointPath, status, since: start)
            throw error
        }
    }

    private func record(
        _ method: HTTPRequest.Method, _ route: String?, _ status: HTTPResponse.Status, since start: UInt64
    ) {
        // Hummingbird names requests that match no route "NotFound".
        let metrics = cache.metrics(method: method.rawValue, route: route ?? "NotFound", status: Int(status.code))
        metrics.requests.increment()
        metrics.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }
}

final class HTTPMetricsCache: Sendable {
    struct Key: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    struct Series: Sendable {
        let requests: Counter
        let duration: Metrics.Timer
    }

    private let series = Mutex<[Key: Series]>([:])

    func metrics(method: String, route: String, status: Int) -> Series {
        let key = Key(method: method, route: route, status: status)
        return series.withLock { cached in
            if let found = cached[key] { return found }
            let dimensions = [("method", method), ("route", route), ("status", String(status))]
            let made = Series(
                requests: Counter(label: "engage_http_requests_total", dimensions: dimensions),
                duration: Metrics.Timer(
                    label: "engage_http_request_duration_seconds", dimensions: dimensions,
                    preferredDisplayUnit: .seconds))
            cached[key] = made
            return made
        }
    }
}
