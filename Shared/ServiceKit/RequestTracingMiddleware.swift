import Hummingbird

/// Hummingbird's span per request, except for paths that carry a secret in the path itself (the
/// unsubscribe links' tokens, `/u/{token}`): a span records its raw path, and traces leave the
/// installation for the collector.
public struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    private let tracing = TracingMiddleware<Context>()

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        if request.uri.path.hasPrefix("/u/") { return try await next(request, context) }
        return try await tracing.handle(request, context: context, next: next)
    }
}
