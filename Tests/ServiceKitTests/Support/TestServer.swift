import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle

/// Runs the platform's HTTP server (`HTTPServerLimits.http1Server`, as `ServiceHost.runHTTP` does)
/// on a free port for the duration of `body`, with a few routes:
/// `GET /hello` -> "ok"; `POST /upload` -> the body's size; `GET /echo?value=` and `POST /echo` -> a 400 quoting the value.
func withTestServer<Result: Sendable>(
    _ limits: HTTPServerLimits, _ body: @Sendable (_ port: Int) async throws -> Result
) async throws -> Result {
    var logger = Logger(label: "test-server")
    logger.logLevel = .warning
    let router = Router()
    router.get("/hello") { _, _ in "ok" }
    router.post("/upload") { request, _ in
        "\(try await request.body.collect(upTo: 1 << 20).readableBytes)"
    }
    router.get("/echo") { request, _ -> String in
        let value = request.uri.queryParameters["value"].map(String.init) ?? ""
        throw APIError.badRequest("unknown value \"\(value)\"")
    }
    router.post("/echo") { request, _ -> String in
        let value = String(buffer: try await request.body.collect(upTo: 1 << 20))
        throw APIError.badRequest("unknown value \"\(value)\"")
    }
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        server: limits.http1Server(logger: logger),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: logger)
    let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { portContinuation.finish() }  // a server that fails to start must not leave us waiting
            try await services.run()
        }
        var waitingForPort = ports.makeAsyncIterator()
        guard let port = await waitingForPort.next(), port > 0 else {
            try await tasks.waitForAll()
            throw TestServerDidNotStart()
        }
        let result: Result
        do {
            result = try await body(port)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

struct TestServerDidNotStart: Error {}
