import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Synchronization

/// Open connections of one server, counted across event loops.
final class OpenConnections: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection if there is room for it.
    func admit() -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}

/// Wraps a server's per-connection setup to cap open connections. Hummingbird's own
/// `MaximumAvailableConnections` stops accepting instead, which leaves further clients waiting in
/// the kernel's backlog; closing them at once tells a client (or balancer) to go elsewhere now.
struct ConnectionLimitedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let openConnections: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard openConnections.admit() else {
            Counter(label: "engage_http_connections_closed_total", dimensions: [("reason", "connection_limit")])
                .increment()
            logger.debug("connection refused: at the connection limit", metadata: ["limit": "\(openConnections.limit)"])
            // A failed setup is dropped by NIO without closing the channel, so close it here.
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ConnectionLimitReached())
        }
        let openConnections = self.openConnections
        channel.closeFuture.whenComplete { _ in openConnections.release() }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

struct ConnectionLimitReached: Error {}
