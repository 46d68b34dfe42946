import Kafka
import Liveness
import Logging
import Persistence
import PostgresNIO
import Testing

@Suite struct LoopProgressTests {
    @Test func aLoopBusyWithoutProgressPastTheThresholdIsStalled() {
        let monitor = LoopMonitor()
        let loop = monitor.register("consumer g")
        let start = ContinuousClock.now
        #expect(loop.stall(threshold: .seconds(5), now: start + .seconds(60)) == nil)  // idle: never stalled
        loop.busy()
        #expect(loop.stall(threshold: .seconds(5), now: .now + .seconds(4)) == nil)
        loop.failed("connection refused")
        let stall = loop.stall(threshold: .seconds(5), now: .now + .seconds(6))
        #expect(stall?.loop == "consumer g")
        #expect(stall?.lastError == "connection refused")
        loop.progressed()  // still busy, but the clock restarts
        #expect(loop.stall(threshold: .seconds(5), now: .now + .seconds(4)) == nil)
        loop.idle()
        #expect(monitor.stalls(threshold: .seconds(5)).isEmpty)
    }
}

@Suite struct TransientFailureTests {
    struct ConstraintViolation: Error {}
    struct ConcurrentChange: RetryableFailure {}

    @Test func brokerAndCancellationAreTransientButDataErrorsAreNot() {
        #expect(TransientFailure.isTransient(KafkaError(code: -195, message: "transport failure")))
        #expect(TransientFailure.isTransient(CancellationError()))
        #expect(!TransientFailure.isTransient(KafkaError(code: 10, message: "Message size too large")))
        #expect(!TransientFailure.isTransient(ConstraintViolation()))
        #expect(TransientFailure.isTransient(ConcurrentChange()))
    }
}

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct TransactionTests {
    /// The connection dies inside the transaction (as in a Postgres restart): the failure must come
    /// back, classified as transient, rather than the transaction hanging on a ROLLBACK written to a
    /// closed connection.
    @Test(.timeLimit(.minutes(1)))
    func aConnectionKilledInsideATransactionFailsPromptlyAsTransient() async throws {
        try await TestEnvironment.withDatabase { client, _ in
            let logger = TestEnvironment.logger
            let started = ContinuousClock.now
            do {
                try await client.transaction(logger: logger) { connection in
                    var pid: Int32 = 0
                    for try await value in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(
                        Int32.self)
                    { pid = value }
                    try await client.query("SELECT pg_terminate_backend(\(pid))", logger: logger)
                    try await connection.query("SELECT 1", logger: logger)
                }
                Issue.record("the transaction should have failed")
            } catch {
                #expect(TransientFailure.isTransient(error), "\(String(reflecting: error))")
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            // The pool recovers: a new transaction works. The pool may still lend the killed
            // connection once before it notices the close; that attempt fails as transient too.
            var one = 0
            let deadline = ContinuousClock.now + .seconds(10)
            while one != 1 {
                do {
                    one = try await client.transaction(logger: logger) { connection in
                        var result = 0
                        for try await value in try await connection.query("SELECT 1", logger: logger).decode(Int.self) {
                            result = value
                        }
                        return result
                    }
                } catch  where TransientFailure.isTransient(error) && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(one == 1)
        }
    }
}
