import Kafka
import Liveness
import Logging
import NIOCore
import PostgresNIO
import Synchronization
import Tracing

extension PostgresClient {
    /// The platform's transaction: BEGIN, `body`, COMMIT; ROLLBACK when `body` throws. It differs
    /// from postgres-nio's `withTransaction` in what matters when Postgres restarts or stalls:
    /// - a failure of `body` is rethrown as itself (not wrapped), so callers can map their own
    ///   errors to 4xx and the consumer loop can tell a data error from a lost connection;
    /// - it never hangs on a connection that closed under it. postgres-nio never completes a query
    ///   written to a closed connection (the next query of `body`, or the ROLLBACK), and that hung
    ///   every loop after a Postgres restart. The work runs in a task of its own; when the
    ///   connection closes it is abandoned (`TransactionAbandoned`, a transient failure);
    /// - past `TransactionLimits.deadline` the connection is closed, which ends it the same way.
    /// A commit counts as progress of the loop the task works for (`LoopProgress.current`).
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        // A span only within traced work (a request, a consumed record): polling loops that find
        // nothing to do would otherwise start a trace of their own every few hundred milliseconds.
        guard TraceHeaders.isTracing, ServiceContext.current != nil else {
            return try await untracedTransaction(logger: logger, body)
        }
        return try await withSpan("db transaction", ofKind: .client) { span in
            span.attributes["db.system.name"] = "postgresql"
            return try await untracedTransaction(logger: logger, body)
        }
    }

    private func untracedTransaction<Result: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let progress = LoopProgress.current
        var attempt = 1
        while true {
            let began = BeginMark()
            let written = Outbox.Written()
            do {
                let result = try await Outbox.$written.withValue(written) {
                    try await withConnection { connection in
                        do {
                            return try await Self.runTransaction(on: connection, began: began, logger: logger, body)
                        } catch let error where error is CancellationError || error is TransactionAbandoned {
                            // The work may still be running on this connection: close it before the lease
                            // goes back to the pool, so that nothing of it commits and no one else gets it.
                            try? await connection.close().get()
                            throw error
                        }
                    }
                }
                progress?.progressed()
                if written.rows.load(ordering: .relaxed) { OutboxRelay.wakeAll() }
                return result
            } catch
                where attempt == 1 && !began.isSet && !(error is CancellationError)
                && TransientFailure.isTransient(error)
            {
                // The pool can hand out a connection in the moment it closes (a restart, a killed
                // backend): BEGIN then fails or never returns. Nothing of `body` ran, so one more
                // try on another connection is safe and spares the caller a retry with backoff.
                attempt += 1
            }
        }
    }

    private static func runTransaction<Result: Sendable>(
        on connection: PostgresConnection, began: BeginMark, logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        // The work's task inherits the caller's task-locals (`LoopProgress.current` among them).
        try await firstOf(
            {
                try await connection.query("BEGIN", logger: logger)
                began.set()
                let value: Result
                do {
                    value = try await body(connection)
                } catch {
                    if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
                    throw error
                }
                try await connection.query("COMMIT", logger: logger)
                return value
            }, orAbandonWhen: { await Self.abandonment(of: connection) })
    }

    /// Returns once the transaction on `connection` must be given up: the connection closed (after
    /// a moment in which failures already under way arrive as themselves), or the deadline passed.
    private static func abandonment(of connection: PostgresConnection) async -> (any Error)? {
        await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                // Polled: waiting on `closeFuture` cannot be cancelled, and would keep a task per
                // transaction alive until its connection closes.
                while !connection.isClosed {
                    guard (try? await Task.sleep(for: .milliseconds(250))) != nil else { return nil }
                }
                guard (try? await Task.sleep(for: .seconds(1))) != nil else { return nil }
                return TransactionAbandoned(reason: "the connection closed during the transaction")
            }
            group.addTask {
                guard (try? await Task.sleep(for: TransactionLimits.deadline)) != nil else { return nil }
                connection.close().whenComplete { _ in }
                return TransactionAbandoned(
                    reason: "the transaction did not finish within \(TransactionLimits.deadline)")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

extension PostgresClient {
    /// Runs `body` on one connection without the services' statement timeout, for the few reads
    /// that stream a whole table on purpose (an audience build over the event history).
    public func withoutStatementTimeout<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection { connection in
            try await connection.query("SET statement_timeout = 0", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("RESET statement_timeout", logger: logger)
                return result
            } catch {
                // The connection goes back to the pool: it must not keep the exemption.
                if !connection.isClosed { _ = try? await connection.query("RESET statement_timeout", logger: logger) }
                throw error
            }
        }
    }
}

/// Whether a transaction's BEGIN went through, so that its body may have run.
final class BeginMark: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// A transaction given up because its connection closed or it ran past its deadline. Transient:
/// the same work is retried on a new connection.
public struct TransactionAbandoned: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { "transaction abandoned: \(reason)" }
}

/// How long a transaction may take before it is abandoned. Set once at startup from
/// `ENGAGE_DB_TRANSACTION_TIMEOUT_MS`; generous, since it exists to end hangs, not slow work.
public enum TransactionLimits {
    nonisolated(unsafe) public static var deadline: Duration = .seconds(60)
}
