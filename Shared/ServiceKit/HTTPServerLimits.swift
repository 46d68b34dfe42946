import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// How long a client may take to send a request, and how many connections one instance holds.
/// Without these, clients that trickle a request a byte at a time keep connections open for ever.
/// Variables and defaults are listed in docs/configuration.md.
public struct HTTPServerLimits: Sendable {
    /// A request head must be complete this long after its first byte arrived.
    public var headerTimeout: Duration
    /// A body in progress is abandoned after this long without a byte arriving.
    public var bodyIdleTimeout: Duration
    /// A whole body must arrive within this long after its head (stops a byte-every-few-seconds body).
    public var bodyTimeout: Duration
    /// A connection with no request in progress is closed after this long (keep-alive idle).
    /// Keep it above the load balancer's idle timeout, so the balancer closes first.
    public var idleTimeout: Duration
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int

    public init(
        headerTimeout: Duration = .seconds(10), bodyIdleTimeout: Duration = .seconds(30),
        bodyTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(75), maxConnections: Int = 1_000
    ) {
        self.headerTimeout = headerTimeout
        self.bodyIdleTimeout = bodyIdleTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    public static func fromEnvironment(_ env: EnvironmentVariables) throws -> HTTPServerLimits {
        let defaults = HTTPServerLimits()
        func milliseconds(_ name: String, default value: Duration) throws -> Duration {
            let number = try env.int(name, default: Int(value / .milliseconds(1)))
            guard number > 0 else { throw ServiceConfigError("\(name) must be a positive number of milliseconds") }
            return .milliseconds(number)
        }
        let maxConnections = try env.int("ENGAGE_HTTP_MAX_CONNECTIONS", default: defaults.maxConnections)
        guard maxConnections > 0 else { throw ServiceConfigError("ENGAGE_HTTP_MAX_CONNECTIONS must be positive") }
        return HTTPServerLimits(
            headerTimeout: try milliseconds("ENGAGE_HTTP_HEADER_TIMEOUT_MS", default: defaults.headerTimeout),
            bodyIdleTimeout: try milliseconds("ENGAGE_HTTP_BODY_IDLE_TIMEOUT_MS", default: defaults.bodyIdleTimeout),
            bodyTimeout: try milliseconds("ENGAGE_HTTP_BODY_TIMEOUT_MS", default: defaults.bodyTimeout),
            idleTimeout: try milliseconds("ENGAGE_HTTP_IDLE_TIMEOUT_MS", default: defaults.idleTimeout),
            maxConnections: maxConnections)
    }

    /// Hummingbird's HTTP/1 server with these limits: its own `idleTimeout` for idle connections,
    /// `RequestReadDeadlineHandler` for slow heads and bodies, `ConnectionLimitedChannel` for the cap.
    public func http1Server(logger: Logger) -> HTTPServerBuilder {
        let limits = self
        let openConnections = OpenConnections(limit: maxConnections)
        return HTTPServerBuilder { responder in
            let http1 = HTTP1Channel(
                responder: responder,
                configuration: .init(
                    additionalChannelHandlers: [RequestReadDeadlineHandler(limits: limits, logger: logger)],
                    idleTimeout: TimeAmount(limits.idleTimeout)))
            return ConnectionLimitedChannel(base: http1, openConnections: openConnections)
        }
    }
}
