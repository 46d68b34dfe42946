import ServiceLifecycle

/// The loop of a background worker that has a poll interval but should react at once when its own
/// process just queued work (outbox rows, a job): `wake()` cuts the wait short.
public struct Wakeups: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() { continuation.yield() }

    /// Runs `body` after each wake and at least every `interval`, until graceful shutdown; the
    /// current run of `body` finishes first.
    public func run(every interval: Duration, _ body: @Sendable () async -> Void) async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { [continuation] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        continuation.yield()
                    }
                }
                for await _ in stream { await body() }
                group.cancelAll()
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
    }
}
