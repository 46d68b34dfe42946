import Liveness
import Logging
import PostgresNIO

extension PostgresClient {
    /// The platform's transaction: BEGIN, `body`, COMMIT; ROLLBACK when `body` throws. It differs
    /// from postgres-nio's `withTransaction` in what matters when Postgres restarts:
    /// - a failure of `body` is rethrown as itself (not wrapped), so callers can map their own
    ///   errors to 4xx and the consumer loop can tell a data error from a lost connection;
    /// - no ROLLBACK is sent on a connection that has closed (the server ends the transaction
    ///   anyway): postgres-nio never completes a query written to a closed connection, and that
    ///   ROLLBACK used to hang every loop that was inside a transaction when Postgres restarted.
    /// A commit counts as progress of the loop the task works for (`LoopProgress.current`).
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        let result = try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            let value: Result
            do {
                value = try await body(connection)
            } catch {
                if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
                throw error
            }
            try await connection.query("COMMIT", logger: logger)
            return value
        }
        LoopProgress.current?.progressed()
        return result
    }
}
