import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// Makes one webhook call: checks the destination's address (`EgressGuard`), connects to that
/// address only, sends the request and reduces the answer to its status. Redirects are not
/// followed (a 3xx is a failed delivery) and the receiver's body is read and dropped, never kept.
struct WebhookSender: Sendable {
    struct Answer: Sendable {
        var status: Int?
        var failure: DeliveryFailure?
        var retryAfter: String?
        /// The underlying error, for the service log only.
        var detail: String?
    }

    let egress: EgressGuard
    let clients: PinnedClients
    let timeout: Duration

    init(egress: EgressGuard, timeout: Duration, connectionsPerHost: Int) {
        self.egress = egress
        self.timeout = timeout
        clients = PinnedClients(
            configuration: .init(
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)),
                connectionPool: .init(
                    idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)))
    }

    func post(_ url: String, headers: HTTPHeaders, body: [UInt8]) async -> Answer {
        guard let target = WebhookTarget(url: url) else { return Answer(failure: .invalidURL) }
        let address: IPAddress
        do {
            address = try await egress.address(for: target)
        } catch {
            return Answer(failure: error)
        }
        let key = PinnedClients.Key(host: target.host, address: address)
        let client = await clients.lease(key)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        let answer: Answer
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
            // Read (and drop) a short answer so the connection can be reused; a long one is cut off.
            var budget = 64 * 1024
            do {
                for try await chunk in response.body {
                    budget -= chunk.readableBytes
                    if budget < 0 { break }
                }
            } catch {}
            answer = Answer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"))
        } catch {
            answer = Answer(failure: Self.failure(error), detail: String(reflecting: error))
        }
        await clients.release(key)
        return answer
    }

    /// Shuts down the connections of hosts not called for a while.
    func closeIdleConnections() async { await clients.closeIdle() }

    func shutdown() async { await clients.shutdown() }

    /// A transport error in the fixed vocabulary: everything before an answer (refused, unreachable,
    /// connect timeout, TLS) is `connection failed`.
    static func failure(_ error: any Error) -> DeliveryFailure {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return .timedOut
            default: return .connectionFailed
            }
        }
        if error is HTTPParserError { return .invalidAnswer }
        return .connectionFailed
    }
}
