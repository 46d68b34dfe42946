import Foundation
import Persistence
import Synchronization
import Testing

/// A loop that finds no work waits longer and longer between unprompted runs (an idle service
/// costs next to nothing), while a wake still runs it at once and work found brings the pace back.
@Suite struct WakeupsTests {
    final class Runs: Sendable {
        let times = Mutex<[ContinuousClock.Instant]>([])
        let findsWork = Atomic<Bool>(false)

        func record() -> Bool {
            times.withLock { $0.append(.now) }
            return findsWork.load(ordering: .relaxed)
        }
        var count: Int { times.withLock { $0.count } }
        var lastGap: Duration { times.withLock { $0.count < 2 ? .zero : $0[$0.count - 1] - $0[$0.count - 2] } }
        var last: ContinuousClock.Instant? { times.withLock { $0.last } }
    }

    /// What the loop's runs answer, set by the test as it goes.
    final class Plan: Sendable {
        let next = Mutex<NextRun>(.dueIn(.milliseconds(300)))
        let expectDuringRun = Atomic<Bool>(false)
    }

    func until(_ condition: () -> Bool, within limit: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anIdleLoopBacksOffWhileWakesAndFoundWorkKeepTheirPace() async throws {
        let wakeups = Wakeups()
        let runs = Runs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await wakeups.run(every: .milliseconds(20), idleUpTo: .milliseconds(640)) { runs.record() }
            }
            // Unprompted runs after 20, 40, 80, 160, 320, 640 ms: the wait doubles up to the ceiling.
            try await until { runs.count >= 6 }
            #expect(runs.lastGap >= .milliseconds(250), "\(runs.lastGap)")

            // A wake does not wait for the backed-off tick.
            let before = runs.count
            let woken = ContinuousClock.now
            wakeups.wake()
            try await until { runs.count > before }
            #expect(runs.last! - woken < .milliseconds(200))

            // Work found: the next unprompted runs come at the base interval again.
            runs.findsWork.store(true, ordering: .relaxed)
            wakeups.wake()
            let busy = runs.count
            try await until { runs.count >= busy + 4 }
            #expect(runs.lastGap < .milliseconds(200), "\(runs.lastGap)")
            group.cancelAll()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLoopSleepsUntilItsNextWorkIsDueAndAnExpectedInstantComesFirst() async throws {
        let wakeups = Wakeups()
        let runs = Runs()
        let plan = Plan()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await wakeups.run(every: .milliseconds(20), idleUpTo: .seconds(30)) { () -> NextRun in
                    _ = runs.record()
                    // A commit of this process landing while the run looks: its instant must hold.
                    if plan.expectDuringRun.exchange(false, ordering: .relaxed) {
                        wakeups.expect(at: Date().addingTimeInterval(0.2))
                    }
                    return plan.next.withLock { $0 }
                }
            }
            // The first run after the interval, the next when its work is due, not at the interval.
            try await until { runs.count >= 2 }
            #expect(runs.lastGap >= .milliseconds(280) && runs.lastGap < .seconds(2), "\(runs.lastGap)")

            // Work due far off: the loop would sleep 20 s, but an instant expected sooner comes first.
            plan.next.withLock { $0 = .dueIn(.seconds(20)) }
            try await until { runs.count >= 3 }
            var before = runs.count
            var expected = ContinuousClock.now
            wakeups.expect(at: Date().addingTimeInterval(0.2))
            try await until { runs.count > before }
            #expect(runs.last! - expected >= .milliseconds(180) && runs.last! - expected < .seconds(2))

            // The same when the instant is expected during a run that then asks for 20 s.
            plan.expectDuringRun.store(true, ordering: .relaxed)
            before = runs.count
            expected = ContinuousClock.now
            wakeups.wake()
            try await until { runs.count >= before + 2 }
            #expect(runs.lastGap >= .milliseconds(180) && runs.lastGap < .seconds(2), "\(runs.lastGap)")
            #expect(runs.last! - expected < .seconds(3))
            group.cancelAll()
        }
    }
}
