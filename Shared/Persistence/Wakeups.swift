import Liveness
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
    /// current run of `body` finishes first. With a `loop` name, each run counts as work in hand
    /// for the health probes: a run that neither ends nor commits a transaction for too long
    /// marks the loop as stalled (see `LoopProgress`).
    public func run(every interval: Duration, loop name: String? = nil, _ body: @escaping @Sendable () async -> Void)
        async
    {
        let progress = name.map { LoopMonitor.shared.register($0) }
        let body: @Sendable () async -> Void = {
            guard let progress else { return await body() }
            progress.busy()
            await LoopProgress.$current.withValue(progress) { await body() }
            progress.idle()
        }
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
