import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A webhook receiver on 127.0.0.1 for the tests, recording every request that reaches it.
/// `/hooks` answers 200, `/fail` 500 with a body that must never reach the delivery log,
/// `/redirect` 302 to `/hooks`.
final class WebhookReceiver: Sendable {
    struct Hit: Sendable {
        var path: String
        var authority: String?
        var headers: HTTPFields
        var body: String

        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }
    }

    static let internalBody = "INTERNAL-SECRET-do-not-leak"
    private let recorded = Mutex<[Hit]>([])
    var hits: [Hit] { recorded.withLock { $0 } }

    /// Runs `body` while the receiver listens; gives it the port.
    static func run<T: Sendable>(_ body: @escaping @Sendable (WebhookReceiver, Int) async throws -> T) async throws -> T
    {
        let receiver = WebhookReceiver()
        let app = Application(router: receiver.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in try await body(receiver, client.port!) }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hooks") { request, _ in
            try await self.record(request)
            return Response(status: .ok)
        }
        router.post("/fail") { request, _ in
            try await self.record(request)
            return Response(
                status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: Self.internalBody)))
        }
        router.post("/redirect") { request, _ in
            try await self.record(request)
            return Response(status: .found, headers: [.location: "/hooks"])
        }
        return router
    }

    private func record(_ request: Request) async throws {
        let body = try await request.body.collect(upTo: 1 << 20)
        recorded.withLock {
            $0.append(
                Hit(
                    path: request.uri.path, authority: request.head.authority, headers: request.headers,
                    body: String(buffer: body)))
        }
    }
}
