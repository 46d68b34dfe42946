import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP client for tests that need to misbehave: send half a request, or a byte at a time,
/// and see what the server answers and whether it hangs up.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: ReceivedBytes

    private init(channel: any Channel, received: ReceivedBytes) {
        self.channel = channel
        self.received = received
    }

    static func open(port: Int) async throws -> RawConnection {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, received: received)
    }

    var isOpen: Bool { channel.isActive }
    var receivedText: String { received.text }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func close() async {
        try? await channel.close()
    }

    /// Polls until the server has closed the connection; false if it is still open at the deadline.
    func closed(within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while isOpen, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return !isOpen
    }

    /// Polls until what came back contains `text` `count` times.
    func received(_ text: String, count: Int = 1, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if receivedText.components(separatedBy: text).count - 1 >= count { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Sends `text` one byte every `interval` until the server hangs up. Returns how long that took,
    /// or nil when the connection was still open after `limit`.
    func trickle(_ text: String, every interval: Duration, closedWithin limit: Duration) async throws -> Duration? {
        let start = ContinuousClock.now
        var bytes = Array(text.utf8)[...]
        while ContinuousClock.now - start < limit {
            if let byte = bytes.popFirst() {
                try? await channel.writeAndFlush(ByteBuffer(bytes: [byte]))
            }
            if try await closed(within: interval) { return ContinuousClock.now - start }
        }
        return nil
    }
}

private final class ReceivedBytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ buffer: ByteBuffer) { bytes.withLock { $0 += buffer.readableBytesView } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: ReceivedBytes
    init(received: ReceivedBytes) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)  // a reset from the server is a close, for these tests
    }
}
