import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ServiceKit

/// How one provider call ended, as the message state machine needs it.
public enum SendOutcome: Sendable, Equatable {
    /// The provider took the message: its id, and the status it reported (Twilio's `queued`...).
    case accepted(providerMessageId: String, status: String?)
    /// Not taken, and safe to try again (429, 5xx, no connection made): after `after` if the provider said.
    case retry(after: Duration?, code: String, message: String)
    /// Refused for good (4xx): the provider's error code and message.
    case failed(code: String, message: String)
    /// The request may have reached the provider but no answer came: never re-sent blindly.
    case unknown(String)
}

/// The HTTP part shared by the provider clients: one call, with the transport errors classified.
struct ProviderHTTP: Sendable {
    let client: HTTPClient
    let timeout: Duration

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    enum CallError: Error {
        /// The connection was never made: nothing reached the provider.
        case notConnected(String)
        /// Sent (or maybe sent) without an answer.
        case noAnswer(String)
    }

    func call(_ request: HTTPClientRequest) async throws(CallError) -> Answer {
        do {
            let response = try await client.execute(
                request,
                timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
            let body = try await response.body.collect(upTo: 1 << 20)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
        } catch {
            if Self.isConnectFailure(error) { throw .notConnected("\(error)") }
            throw .noAnswer("\(error)")
        }
    }

    /// A send call: the provider's answer as `interpret` reads it, or, without an answer, a retry
    /// when nothing reached the provider and `unknown` when it may have (never sent again blindly).
    func send(_ request: HTTPClientRequest, interpret: (Answer) -> SendOutcome) async -> SendOutcome {
        do {
            return interpret(try await call(request))
        } catch {
            switch error {
            case .notConnected(let reason): return .retry(after: nil, code: "connection_failed", message: reason)
            case .noAnswer(let reason): return .unknown(reason)
            }
        }
    }

    /// Connection refused, DNS failure or connect timeout: the request never left this process.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let client = error as? HTTPClientError, client == .connectTimeout { return true }
        let text = String(reflecting: error)
        return text.contains("NIOConnectionError") || text.contains("connectionRefused")
            || text.contains("Connection refused")
            || text.contains("connectTimeout")
    }

    /// `Retry-After` in seconds (the form both providers use).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        RetryBackoff.retryAfter(headers.first(name: "Retry-After"))
    }
}
