import Foundation
import Liveness
import ServiceLifecycle
import Synchronization

/// What one run of a background loop found, which sets when its next unprompted run happens.
public enum NextRun: Sendable, Equatable {
    /// Work (or maybe more of it): the next run after the loop's base interval.
    case soon
    /// Nothing: the wait doubles after each such run, up to the loop's ceiling.
    case idle
    /// Nothing due now; the earliest work the loop knows of comes due after this long, so the next
    /// run is then, though at most the ceiling away (work it does not know of may come). Zero or
    /// less (due, yet not taken: held by another instance) means after the base interval.
    case dueIn(Duration)
}

/// The loop of a background worker that has a poll interval but should react at once when its own
/// process just queued work (outbox rows, a job): `wake()` cuts the wait short, and `expect(at:)`
/// brings the next run forward to when work this process committed comes due (a timer).
public struct Wakeups: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let alarm: Alarm

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        alarm = Alarm(continuation)
    }

    public func wake() { continuation.yield() }

    /// Work comes due at `date` (committed by this process): the next run happens by then.
    public func expect(at date: Date) {
        alarm.expect(at: .now + .seconds(max(0, date.timeIntervalSinceNow)))
    }

    /// Runs `body` after each wake and at least every `interval`, until graceful shutdown; the
    /// current run of `body` finishes first. With a `loop` name, each run counts as work in hand
    /// for the health probes: a run that neither ends nor commits a transaction for too long
    /// marks the loop as stalled (see `LoopProgress`).
    public func run(every interval: Duration, loop name: String? = nil, _ body: @escaping @Sendable () async -> Void)
        async
    {
        await run(every: interval, idleUpTo: interval, loop: name) {
            await body()
            return .soon
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
        await run(every: interval, idleUpTo: ceiling, loop: name) { await body() ? .soon : .idle }
    }

    /// The same for a loop that also knows when its next work comes due (`NextRun.dueIn`): it
    /// sleeps until then rather than polling.
    public func run(
        every interval: Duration, idleUpTo ceiling: Duration, loop name: String? = nil,
        _ body: @escaping @Sendable () async -> NextRun
    ) async {
        let progress = name.map { LoopMonitor.shared.register($0) }
        let body: @Sendable () async -> NextRun = {
            guard let progress else { return await body() }
            progress.busy()
            defer { progress.idle() }
            return await LoopProgress.$current.withValue(progress) { await body() }
        }
        var idleWait = interval
        alarm.set(after: interval)
        await withGracefulShutdownHandler {
            for await _ in stream {
                let wait: Duration
                switch await body() {
                case .soon:
                    idleWait = interval
                    wait = interval
                case .idle:
                    idleWait = min(idleWait * 2, ceiling)
                    wait = idleWait
                case .dueIn(let due):
                    wait = due > .zero ? min(due, ceiling) : interval
                }
                alarm.set(after: wait)
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
        alarm.cancel()
    }
}

/// The next unprompted run: one sleeping task, replaced whenever the run is due sooner or later.
/// An expected instant (`expect(at:)`) holds until a run starts at or after it, so a loop that
/// sets its next wait from what it saw cannot push past work announced while it was looking.
private final class Alarm: Sendable {
    private struct State {
        var deadline: ContinuousClock.Instant?
        var expected: ContinuousClock.Instant?
        var sleeper: Task<Void, Never>?
    }
    private let state = Mutex(State())
    private let continuation: AsyncStream<Void>.Continuation

    init(_ continuation: AsyncStream<Void>.Continuation) { self.continuation = continuation }

    func set(after wait: Duration) {
        state.withLock { state in
            var deadline = ContinuousClock.now + wait
            if let expected = state.expected { deadline = min(deadline, expected) }
            arm(&state, at: deadline)
        }
    }

    func expect(at instant: ContinuousClock.Instant) {
        state.withLock { state in
            state.expected = min(state.expected ?? instant, instant)
            if let deadline = state.deadline, deadline <= instant { return }
            arm(&state, at: instant)
        }
    }

    func cancel() {
        state.withLock { state in
            state.sleeper?.cancel()
            state.sleeper = nil
            state.deadline = nil
        }
    }

    private func arm(_ state: inout State, at deadline: ContinuousClock.Instant) {
        state.sleeper?.cancel()
        state.deadline = deadline
        state.sleeper = Task { [weak self] in
            guard (try? await Task.sleep(until: deadline)) != nil, let self else { return }
            self.state.withLock { state in
                guard state.deadline == deadline else { return }
                state.deadline = nil
                if let expected = state.expected, expected <= .now { state.expected = nil }
            }
            self.continuation.yield()
        }
    }
}
