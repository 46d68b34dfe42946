import Synchronization

/// Whether one long-running loop (a consumer, a relay, a worker) is getting its work done.
///
/// A loop is *busy* while it holds work it has not finished (a polled batch, a claimed job, a run of
/// its body). It *progresses* when a unit of that work is done (a batch committed, a transaction
/// committed, a run finished). A loop busy for longer than a threshold without progress is stalled:
/// `/health` then fails so that an orchestrator restarts the process, and `/ready` names the loop.
public final class LoopProgress: Sendable {
    public let name: String
    private struct State {
        var busySince: ContinuousClock.Instant?
        var lastProgress: ContinuousClock.Instant
        var lastError: String?
    }
    private let state: Mutex<State>

    init(name: String) {
        self.name = name
        state = Mutex(State(lastProgress: .now))
    }

    /// Work is in hand; the clock starts unless it already runs.
    public func busy() {
        state.withLock { if $0.busySince == nil { $0.busySince = .now } }
    }

    /// A unit of work is done. The loop stays busy if it still holds more; the clock restarts.
    public func progressed() {
        state.withLock { state in
            state.lastProgress = .now
            state.lastError = nil
            if state.busySince != nil { state.busySince = .now }
        }
    }

    /// Nothing is in hand any more.
    public func idle() {
        state.withLock { state in
            state.busySince = nil
            state.lastProgress = .now
            state.lastError = nil
        }
    }

    /// The last attempt failed; the loop keeps its work and its clock.
    public func failed(_ reason: String) {
        state.withLock { state in
            if state.busySince == nil { state.busySince = .now }
            state.lastError = String(reason.prefix(300))
        }
    }

    /// The stall, when the loop has been busy without progress for longer than `threshold`.
    public func stall(threshold: Duration, now: ContinuousClock.Instant = .now) -> LoopStall? {
        state.withLock { state in
            guard let since = state.busySince, now - since > threshold else { return nil }
            return LoopStall(loop: name, seconds: Int((now - since).components.seconds), lastError: state.lastError)
        }
    }

    /// The loop the current task works for, so that code deep inside it (a committed transaction)
    /// can report progress without being handed the loop.
    @TaskLocal public static var current: LoopProgress?
}

/// A loop that has been busy without progress for too long.
public struct LoopStall: Sendable, Codable, Equatable {
    public var loop: String
    public var seconds: Int
    public var lastError: String?
}

/// Every loop of the process, for the health probes.
public final class LoopMonitor: Sendable {
    public static let shared = LoopMonitor()
    private let loops = Mutex<[LoopProgress]>([])

    public init() {}

    /// A new loop to track; names should say what the loop does (`consumer engage-profiles`).
    public func register(_ name: String) -> LoopProgress {
        let loop = LoopProgress(name: name)
        loops.withLock { $0.append(loop) }
        return loop
    }

    public func stalls(threshold: Duration) -> [LoopStall] {
        let now = ContinuousClock.now
        return loops.withLock { $0.compactMap { $0.stall(threshold: threshold, now: now) } }
    }
}
