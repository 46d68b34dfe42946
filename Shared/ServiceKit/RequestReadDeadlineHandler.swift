import Logging
import Metrics
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request arrives too slowly: the head must be complete within
/// `headerTimeout` of its first byte; the body may pause at most `bodyIdleTimeout` and must be
/// complete within `bodyTimeout` of the head. Waiting for the next request on a kept-alive connection
/// is not timed here (HTTP1Channel's `idleTimeout` does that), so idle keep-alive stays cheap.
///
/// It sits after the HTTP decoder. `channelReadComplete` still passes it when the decoder has not
/// produced a part yet, which is how the first bytes of a head are noticed. Body pauses are timed
/// only while the server asks for more (an outbound `read`): a handler that has not read its body yet
/// holds reads back, and that wait is not the client's fault.
final class RequestReadDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        case betweenRequests
        case readingHead
        case readingBody(complete: NIODeadline)
    }

    private let limits: HTTPServerLimits
    private let logger: Logger
    private var phase = Phase.betweenRequests
    /// Requests read whose response has not ended; bytes arriving meanwhile are pipelined, not timed.
    private var unanswered = 0
    private var timer: Scheduled<Void>?

    init(limits: HTTPServerLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            cancelTimer()
            phase = .readingBody(complete: .now() + TimeAmount(limits.bodyTimeout))
        case .body:
            break
        case .end:
            cancelTimer()
            phase = .betweenRequests
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        switch phase {
        case .betweenRequests where unanswered == 0:
            phase = .readingHead
            arm(context, at: .now() + TimeAmount(limits.headerTimeout), reason: "header_timeout")
        case .readingBody:
            cancelTimer()  // bytes came; the next `read` starts the next wait
        case .betweenRequests, .readingHead:
            break
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if case .readingBody(let complete) = phase {
            let idle = NIODeadline.now() + TimeAmount(limits.bodyIdleTimeout)
            arm(context, at: min(idle, complete), reason: idle < complete ? "body_idle_timeout" : "body_timeout")
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // An error answer may have no request.
        if case .end = unwrapOutboundIn(data) { unanswered = max(0, unanswered - 1) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    private func arm(_ context: ChannelHandlerContext, at deadline: NIODeadline, reason: String) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [logger] in
            Counter(label: "engage_http_connections_closed_total", dimensions: [("reason", reason)]).increment()
            logger.debug("closing a connection whose request arrives too slowly", metadata: ["reason": "\(reason)"])
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension RequestReadDeadlineHandler: Sendable {}
