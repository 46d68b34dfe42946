import Liveness
import ServiceLifecycle
import Synchronization

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
        await run(every: interval, idleUpTo: interval, loop: name) {
            await body()
            return true
        }
    }

    /// The same for a loop whose runs say whether they found work: after each run that found none,
    /// the wait before the next unprompted run doubles, up to `ceiling`, so that an idle service
    /// costs next to nothing; a run that found work brings it back to `interval`. Wakes are never
    /// delayed: the ceiling bounds only how late work that nobody announced is noticed.
    public func run(
        every interval: Duration, idleUpTo ceiling: Duration, loop name: String? = nil,
        _ body: @escaping @Sendable () async -> Bool
    ) async {
        let progress = name.map { LoopMonitor.shared.register($0) }
        let body: @Sendable () async -> Bool = {
            guard let progress else { return await body() }
            progress.busy()
            defer { progress.idle() }
            return await LoopProgress.$current.withValue(progress) { await body() }
        }
        let wait = SharedDuration(interval)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { [continuation] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: wait.value.withLock { $0 })
                        continuation.yield()
                    }
                }
                for await _ in stream {
                    let foundWork = await body()
                    wait.value.withLock { $0 = foundWork ? interval : min($0 * 2, ceiling) }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
    }
}

/// The wait between unprompted runs, shared by the ticker and the loop.
private final class SharedDuration: Sendable {
    let value: Mutex<Duration>
    init(_ initial: Duration) { value = Mutex(initial) }
}
